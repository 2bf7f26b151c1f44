//! Slicing one zoom: every feature of every layer active at the zoom cut into per-tile pieces in parallel, the
//! generalization verdicts applied (thinned, too small, tiny polygons as pixel squares), then sorted by tile.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use super::ZoomContext;
use crate::pipeline::generalize::small;
use crate::tiling::simplify::simplify_shape;
use crate::tiling::{EXTENT, Piece, PieceGeom, SliceParams, TileRange, slice_shape};

/// One piece of one feature in one tile; the sort key makes the order (and so the output) independent of
/// thread scheduling.
pub struct Record {
    pub tile: u64,
    pub layer: u16,
    pub feature: u32,
    pub part: u8,
    pub geom: PieceGeom,
}

/// Slices every feature of every layer active at this zoom, sorted by (tile, layer, feature, part). Features
/// thinned out of this zoom or too small to draw are left out; tiny polygons that stand for their neighbours
/// become one pixel square.
pub fn slice_all(range: TileRange, ctx: &ZoomContext<'_>) -> Vec<Record> {
    let z = range.z;
    let scale = f64::from(EXTENT) * f64::from(1u32 << z);
    let mut records: Vec<Record> = Vec::new();
    for (layer_index, (layer, loaded)) in ctx.layers.iter().enumerate() {
        if z < layer.minzoom || z > layer.maxzoom {
            continue;
        }
        let plan = &ctx.plans[layer_index].features;
        let verdicts = small::verdicts(plan, z, layer.keep_small);
        let params = SliceParams { range, buffer: f64::from(layer.buffer) };
        let margin = f64::from(layer.buffer);
        let rect = [
            f64::from(range.x_min) * f64::from(EXTENT) - margin,
            f64::from(range.y_min) * f64::from(EXTENT) - margin,
            f64::from(range.x_max + 1) * f64::from(EXTENT) + margin,
            f64::from(range.y_max + 1) * f64::from(EXTENT) + margin,
        ];
        let (thinned, too_small, pixels) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
        let layer_records: Vec<Record> = loaded
            .features
            .par_iter()
            .enumerate()
            .flat_map_iter(|(feature_index, feature)| {
                let mut out = Vec::new();
                if feature.minzoom > z {
                    return out;
                }
                let b = feature.bounds.map(|v| v * scale);
                if b[0] > rect[2] || b[2] < rect[0] || b[1] > rect[3] || b[3] < rect[1] {
                    return out;
                }
                let fp = &plan[feature_index];
                if fp.shown_from > z {
                    if fp.minzoom <= z {
                        thinned.fetch_add(1, Ordering::Relaxed);
                    }
                    return out;
                }
                let verdict = verdicts.as_ref().map_or(small::Verdict::Keep, |v| v[feature_index]);
                let mut emit = |part: usize, world: &crate::tiling::Shape| {
                    slice_shape(world, &params, &mut |piece: Piece| {
                        out.push(Record {
                            tile: (u64::from(piece.x) << 32) | u64::from(piece.y),
                            layer: layer_index as u16,
                            feature: feature_index as u32,
                            part: part as u8,
                            geom: piece.geom,
                        });
                    });
                };
                match verdict {
                    small::Verdict::Drop => {
                        too_small.fetch_add(1, Ordering::Relaxed);
                    }
                    small::Verdict::Pixel => {
                        pixels.fetch_add(1, Ordering::Relaxed);
                        emit(0, &small::pixel_square(fp.center, z));
                    }
                    small::Verdict::Keep => {
                        for (part, shape) in feature.shapes.iter().enumerate() {
                            emit(part, &simplify_shape(shape.scaled(scale), layer.simplify));
                        }
                    }
                }
                out
            })
            .collect();
        records.extend(layer_records);
        ctx.counters.zoom(z, |report| {
            report.thinned += thinned.into_inner();
            report.too_small += too_small.into_inner();
            report.tiny_pixels += pixels.into_inner();
        });
    }
    records.par_sort_unstable_by_key(|r| (r.tile, r.layer, r.feature, r.part));
    records
}
