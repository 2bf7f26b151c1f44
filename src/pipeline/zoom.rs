//! One zoom level: every feature sliced into per-tile pieces in parallel, the pieces sorted by tile, then each
//! tile encoded in parallel and handed to the MBTiles writer.
//!
//! Tiles made only of [`PieceGeom::Full`] pieces (land and lake interiors) are encoded once per distinct set of
//! features and reused; the writer stores identical bytes once anyway.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use super::load::LoadedLayer;
use crate::Error;
use crate::archive::{ArchiveError, TileBlob, TileSender};
use crate::config::{Layer, Limits};
use crate::encode::{TileFeature, TileLayer, encode_capped};
use crate::progress::Progress;
use crate::tiling::simplify::simplify_shape;
use crate::tiling::{EXTENT, Piece, PieceGeom, SliceParams, TileId, TileRange, slice_shape};

/// Full-only tile encodings kept for reuse at most (per build).
const FULL_CACHE_ENTRIES: usize = 200_000;

/// One piece of one feature in one tile; the sort key makes the order (and so the output) independent of
/// thread scheduling.
struct Record {
    tile: u64,
    layer: u16,
    feature: u32,
    part: u8,
    geom: PieceGeom,
}

/// Counters shared by the workers of a build.
#[derive(Default)]
pub struct Counters {
    pub features_written: AtomicU64,
    pub features_dropped: AtomicU64,
    pub tiles_dropped: AtomicU64,
    pub pieces: AtomicU64,
}

type FullKey = Vec<(u16, u32, u8)>;

/// What every zoom of a build shares.
pub struct ZoomContext<'a> {
    pub layers: &'a [(&'a Layer, LoadedLayer)],
    pub limits: Limits,
    pub sender: TileSender,
    pub output: &'a std::path::Path,
    pub progress: &'a Progress,
    pub counters: &'a Counters,
    full_cache: Mutex<HashMap<FullKey, Option<Arc<TileBlob>>>>,
}

impl<'a> ZoomContext<'a> {
    pub fn new(
        layers: &'a [(&'a Layer, LoadedLayer)],
        limits: Limits,
        sender: TileSender,
        output: &'a std::path::Path,
        progress: &'a Progress,
        counters: &'a Counters,
    ) -> Self {
        ZoomContext { layers, limits, sender, output, progress, counters, full_cache: Mutex::new(HashMap::new()) }
    }
}

/// Pieces held in memory at most before a batch of zooms is encoded (low zooms are small: several of them
/// are sliced first and then encoded together, so that every core has tiles to work on).
const BATCH_PIECES: usize = 2_000_000;

/// Tiles and encodes the zooms of `ranges` (in order), batching consecutive small zooms.
pub fn build_zooms(ranges: &[TileRange], ctx: &ZoomContext<'_>) -> Result<(), Error> {
    let mut batch: Vec<(u8, Vec<Record>)> = Vec::new();
    let mut held = 0;
    for range in ranges {
        let sliced = std::time::Instant::now();
        let records = slice_all(*range, ctx);
        tracing::debug!(zoom = range.z, pieces = records.len(), seconds = sliced.elapsed().as_secs_f64(), "sliced");
        ctx.counters.pieces.fetch_add(records.len() as u64, Ordering::Relaxed);
        held += records.len();
        batch.push((range.z, records));
        if held >= BATCH_PIECES {
            encode_batch(&batch, ctx)?;
            batch.clear();
            held = 0;
        }
    }
    encode_batch(&batch, ctx)
}

/// Encodes every tile of a batch of sliced zooms in parallel and hands them to the writer.
fn encode_batch(batch: &[(u8, Vec<Record>)], ctx: &ZoomContext<'_>) -> Result<(), Error> {
    let (Some((first, _)), Some((last, _))) = (batch.first(), batch.last()) else { return Ok(()) };
    let mut groups: Vec<(u8, &[Record])> = Vec::new();
    for (z, records) in batch {
        let mut start = 0;
        for i in 1..=records.len() {
            if i == records.len() || records[i].tile != records[start].tile {
                groups.push((*z, &records[start..i]));
                start = i;
            }
        }
    }
    // Largest tiles first, one tile per task: a few huge low-zoom tiles must not end up queued behind each
    // other on one core while the others are idle. (Order does not change the output.)
    groups.sort_by_key(|(_, group)| std::cmp::Reverse(group.len()));
    ctx.progress.start_zooms(*first, *last, groups.len() as u64);
    groups.par_iter().with_max_len(1).try_for_each_with(ctx.sender.clone(), |sender, (z, group)| {
        let tile = TileId { z: *z, x: (group[0].tile >> 32) as u32, y: group[0].tile as u32 };
        let blob = encode_group(tile, group, ctx)?;
        ctx.progress.inc(1);
        match blob {
            Some(blob) => {
                sender.send((tile, blob)).map_err(|_| ArchiveError::WriterGone { path: ctx.output.to_owned() })?;
            }
            None => {
                ctx.counters.tiles_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok::<(), Error>(())
    })?;
    ctx.progress.finish_zooms(*first, *last);
    Ok(())
}

/// Slices every feature of every layer active at this zoom, sorted by (tile, layer, feature, part).
fn slice_all(range: TileRange, ctx: &ZoomContext<'_>) -> Vec<Record> {
    let z = range.z;
    let scale = f64::from(EXTENT) * f64::from(1u32 << z);
    let mut records: Vec<Record> = Vec::new();
    for (layer_index, (layer, loaded)) in ctx.layers.iter().enumerate() {
        if z < layer.minzoom || z > layer.maxzoom {
            continue;
        }
        let params = SliceParams { range, buffer: f64::from(layer.buffer) };
        let margin = f64::from(layer.buffer);
        let rect = [
            f64::from(range.x_min) * f64::from(EXTENT) - margin,
            f64::from(range.y_min) * f64::from(EXTENT) - margin,
            f64::from(range.x_max + 1) * f64::from(EXTENT) + margin,
            f64::from(range.y_max + 1) * f64::from(EXTENT) + margin,
        ];
        let layer_records: Vec<Record> = loaded
            .features
            .par_iter()
            .enumerate()
            .flat_map_iter(|(feature_index, feature)| {
                let b = feature.bounds.map(|v| v * scale);
                let mut out = Vec::new();
                if b[0] > rect[2] || b[2] < rect[0] || b[1] > rect[3] || b[3] < rect[1] {
                    return out;
                }
                for (part, shape) in feature.shapes.iter().enumerate() {
                    let world = simplify_shape(shape.scaled(scale), layer.simplify);
                    slice_shape(&world, &params, &mut |piece: Piece| {
                        out.push(Record {
                            tile: (u64::from(piece.x) << 32) | u64::from(piece.y),
                            layer: layer_index as u16,
                            feature: feature_index as u32,
                            part: part as u8,
                            geom: piece.geom,
                        });
                    });
                }
                out
            })
            .collect();
        records.extend(layer_records);
    }
    records.par_sort_unstable_by_key(|r| (r.tile, r.layer, r.feature, r.part));
    records
}

fn encode_group(tile: TileId, group: &[Record], ctx: &ZoomContext<'_>) -> Result<Option<Arc<TileBlob>>, Error> {
    let full_key: Option<FullKey> = group
        .iter()
        .all(|r| r.geom == PieceGeom::Full)
        .then(|| group.iter().map(|r| (r.layer, r.feature, r.part)).collect());
    if let Some(key) = &full_key
        && let Some(hit) = lock(&ctx.full_cache).get(key)
    {
        if hit.is_some() {
            ctx.counters.features_written.fetch_add(group.len() as u64, Ordering::Relaxed);
        }
        return Ok(hit.clone());
    }
    let mut layers: Vec<TileLayer<'_>> = Vec::new();
    for record in group {
        let (layer, loaded) = &ctx.layers[usize::from(record.layer)];
        if layers.last().is_none_or(|l| l.name != layer.id) {
            layers.push(TileLayer { name: &layer.id, buffer: layer.buffer, features: Vec::new() });
        }
        let feature = &loaded.features[record.feature as usize];
        if let Some(current) = layers.last_mut() {
            current.features.push(TileFeature { properties: &feature.properties, geom: &record.geom });
        }
    }
    let encoded = encode_capped(&layers, &ctx.limits, &tile.to_string())?;
    let blob = encoded.map(|e| {
        ctx.counters.features_written.fetch_add(e.features, Ordering::Relaxed);
        ctx.counters.features_dropped.fetch_add(e.dropped, Ordering::Relaxed);
        Arc::new(TileBlob::new(e.data))
    });
    if blob.is_none() {
        ctx.counters.features_dropped.fetch_add(group.len() as u64, Ordering::Relaxed);
    }
    if let Some(key) = full_key {
        let mut cache = lock(&ctx.full_cache);
        if cache.len() < FULL_CACHE_ENTRIES {
            cache.insert(key, blob.clone());
        }
    }
    Ok(blob)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
