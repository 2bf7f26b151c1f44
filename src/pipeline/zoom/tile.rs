//! One tile: its pieces encoded (MVT) or rendered (PNG) under a [`Cut`], the zoom's decision of what to leave out
//! (and, under `coalesce-densest`, what merges into what).

use std::borrow::Cow;
use std::sync::Arc;

use super::slice::Record;
use super::{ZoomContext, lock};
use crate::Error;
use crate::archive::TileBlob;
use crate::config::{Raster, TileFormat};
use crate::encode::{EncodedTile, TileFeature, TileLayer, encode_capped, encode_whole};
use crate::pipeline::generalize::coalesce::{self, Coalesced};
use crate::pipeline::generalize::{Kind, budget};
use crate::render::{RenderLayer, Rendered, render_tile};
use crate::source::Value;
use crate::tiling::{PieceGeom, TileId};

/// Full-only tile encodings kept for reuse at most (per build).
const FULL_CACHE_ENTRIES: usize = 200_000;

pub type FullKey = Vec<(u16, u32, u8)>;

/// What became of one tile.
#[derive(Clone)]
pub enum Outcome {
    Stored {
        blob: Arc<TileBlob>,
        features: u64,
        dropped: u64,
    },
    /// Over its cap with nothing left that fits (its features are all dropped).
    Dropped {
        features: u64,
    },
    /// A raster tile with nothing but background.
    Blank,
    /// Over the budget as it stands (only when the whole zoom decides what to drop).
    Over,
}

/// How one tile is encoded: which features the zoom's budget leaves out, and whether the tile may still drop
/// features on its own (the per-tile cap, the last resort).
#[derive(Clone, Copy)]
pub struct Cut<'a> {
    /// Features whose budget key is below this are left out (or, with `coalesce`, merged into a neighbour).
    pub threshold: Option<u64>,
    pub per_tile_cap: bool,
    /// Under `coalesce-densest`: who stands for whom at this zoom and threshold.
    pub coalesce: Option<&'a Coalesced>,
}

impl Cut<'_> {
    pub const FIRST: Cut<'static> = Cut { threshold: None, per_tile_cap: false, coalesce: None };
}

/// One feature as drawn: its layer, the feature whose properties it carries, and its geometry.
struct Drawn<'r> {
    layer: u16,
    feature: u32,
    geom: Cow<'r, PieceGeom>,
}

pub fn encode_group(z: u8, group: &[Record], cut: Cut<'_>, ctx: &ZoomContext<'_>) -> Result<Outcome, Error> {
    let tile = TileId { z, x: (group[0].tile >> 32) as u32, y: group[0].tile as u32 };
    let raster = match ctx.format {
        TileFormat::Png(raster) => Some(raster),
        TileFormat::Mvt => None,
    };
    let plan = |r: &Record| &ctx.plans[usize::from(r.layer)].features[r.feature as usize];
    let kept = |r: &&Record| {
        cut.threshold.is_none_or(|t| {
            budget::key(plan(r), ctx.policy) >= t
                // A merged line or polygon is drawn by its neighbour; a merged point is not drawn at all.
                || cut.coalesce.is_some_and(|c| {
                    c.draw_merged && plan(r).kind != Kind::Point && c.owner(r.layer, r.feature).is_some()
                })
        })
    };
    // A full piece draws the same whatever its feature: raster tiles share by layer alone. (Only for the first
    // encoding of a tile: a threshold changes what a set of features makes.)
    let full_key: Option<FullKey> =
        (cut.threshold.is_none() && group.iter().all(|r| r.geom == PieceGeom::Full)).then(|| {
            group
                .iter()
                .map(|r| if raster.is_some() { (r.layer, 0, 0) } else { (r.layer, r.feature, r.part) })
                .collect()
        });
    if let Some(key) = &full_key
        && let Some(hit) = lock(&ctx.full_cache).get(key)
    {
        return Ok(hit.clone());
    }
    let records: Vec<&Record> = group.iter().filter(kept).collect();
    let outcome = match raster {
        None => {
            let drawn = match cut.coalesce {
                None => records
                    .iter()
                    .map(|r| Drawn { layer: r.layer, feature: r.feature, geom: Cow::Borrowed(&r.geom) })
                    .collect(),
                Some(coalesced) => merge_into_neighbours(&records, coalesced, ctx),
            };
            encode_vector(tile, &drawn, cut, ctx)?
        }
        Some(raster) => render_raster(tile, &records, &raster, ctx)?,
    };
    if let Some(key) = full_key
        && !matches!(outcome, Outcome::Over)
    {
        let mut cache = lock(&ctx.full_cache);
        if cache.len() < FULL_CACHE_ENTRIES {
            cache.insert(key, outcome.clone());
        }
    }
    Ok(outcome)
}

/// The records of a tile with every merged feature's pieces joined to its neighbour's, one geometry per
/// (layer, neighbour, geometry variant), in layer order.
fn merge_into_neighbours<'r>(records: &[&'r Record], coalesced: &Coalesced, ctx: &ZoomContext<'_>) -> Vec<Drawn<'r>> {
    let variant = |g: &PieceGeom| match g {
        PieceGeom::Points(_) => 0u8,
        PieceGeom::Lines(_) => 1,
        PieceGeom::Polygons(_) | PieceGeom::Full => 2,
    };
    let mut keyed: Vec<(u16, u32, u8, &'r Record)> = records
        .iter()
        .map(|r| (r.layer, coalesced.owner(r.layer, r.feature).unwrap_or(r.feature), variant(&r.geom), *r))
        .collect();
    // Records come sorted by (layer, feature, part): a stable sort keeps that order within each group.
    keyed.sort_by_key(|(layer, owner, variant, _)| (*layer, *owner, *variant));
    keyed
        .chunk_by(|a, b| (a.0, a.1, a.2) == (b.0, b.1, b.2))
        .map(|group| {
            let (layer, owner) = (group[0].0, group[0].1);
            let pieces: Vec<&PieceGeom> = group.iter().map(|(_, _, _, r)| &r.geom).collect();
            let buffer = ctx.layers[usize::from(layer)].0.buffer;
            Drawn { layer, feature: owner, geom: coalesce::merge(&pieces, buffer) }
        })
        .collect()
}

fn encode_vector(tile: TileId, drawn: &[Drawn<'_>], cut: Cut<'_>, ctx: &ZoomContext<'_>) -> Result<Outcome, Error> {
    let mut layers: Vec<TileLayer<'_>> = Vec::new();
    for item in drawn {
        let (layer, loaded) = &ctx.layers[usize::from(item.layer)];
        if layers.last().is_none_or(|l| l.name != layer.id) {
            layers.push(TileLayer { name: &layer.id, buffer: layer.buffer, features: Vec::new() });
        }
        let properties: &[(String, Value)] = cut
            .coalesce
            .and_then(|c| c.properties(item.layer, item.feature))
            .unwrap_or(&loaded.features[item.feature as usize].properties);
        if let Some(current) = layers.last_mut() {
            current.features.push(TileFeature { properties, geom: item.geom.as_ref() });
        }
    }
    if drawn.is_empty() {
        return Ok(Outcome::Dropped { features: 0 });
    }
    let name = tile.to_string();
    let encoded = if cut.per_tile_cap {
        encode_capped(&layers, &ctx.limits, &name)?
    } else {
        match encode_whole(&layers, &ctx.limits, &name)? {
            Some(e) => Some(e),
            None => return Ok(Outcome::Over),
        }
    };
    Ok(match encoded {
        Some(EncodedTile { data, features, dropped }) => {
            Outcome::Stored { blob: Arc::new(TileBlob::new(data)), features, dropped }
        }
        None => Outcome::Dropped { features: drawn.len() as u64 },
    })
}

fn render_raster(tile: TileId, group: &[&Record], raster: &Raster, ctx: &ZoomContext<'_>) -> Result<Outcome, Error> {
    let mut layers: Vec<RenderLayer<'_>> = Vec::new();
    let mut current = None;
    for record in group {
        let (layer, _) = &ctx.layers[usize::from(record.layer)];
        // Every layer of a raster tileset has a style (checked by config); one without is not drawn.
        let Some(style) = &layer.style else { continue };
        if current != Some(record.layer) {
            current = Some(record.layer);
            layers.push(RenderLayer { style, buffer: layer.buffer, geoms: Vec::new() });
        }
        if let Some(last) = layers.last_mut() {
            last.geoms.push(&record.geom);
        }
    }
    Ok(match render_tile(&layers, raster, tile.z, &ctx.limits, &tile.to_string())? {
        Rendered::Tile { png, features, dropped } => {
            Outcome::Stored { blob: Arc::new(TileBlob::new(png)), features, dropped }
        }
        Rendered::Blank => Outcome::Blank,
        Rendered::TooBig { features } => Outcome::Dropped { features },
    })
}
