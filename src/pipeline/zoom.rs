//! One zoom level: every feature sliced into per-tile pieces in parallel, the pieces sorted by tile, then each
//! tile encoded (MVT) or rendered (PNG) in parallel and handed to the MBTiles writer.
//!
//! Tiles made only of [`PieceGeom::Full`] pieces (land and lake interiors) are encoded once per distinct set of
//! features (for PNG: of layers, since a full piece draws the same whatever its feature) and reused; the writer
//! stores identical bytes once anyway.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use super::generalize::{LayerPlan, budget, small};
use super::load::LoadedLayer;
use super::summary::ZoomReport;
use crate::Error;
use crate::archive::{ArchiveError, TileBlob, TileSender};
use crate::config::{AsNeeded, Layer, Limits, Raster, TileFormat, Tileset};
use crate::encode::{EncodedTile, TileFeature, TileLayer, encode_capped, encode_whole};
use crate::progress::Progress;
use crate::render::{RenderLayer, Rendered, render_tile};
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
    pub tiles_blank: AtomicU64,
    pub pieces: AtomicU64,
    /// What generalization did, per zoom.
    pub zooms: Mutex<std::collections::BTreeMap<u8, ZoomReport>>,
}

impl Counters {
    fn zoom(&self, z: u8, update: impl FnOnce(&mut ZoomReport)) {
        let mut zooms = lock(&self.zooms);
        update(zooms.entry(z).or_insert_with(|| ZoomReport { zoom: z, ..ZoomReport::default() }));
    }
}

type FullKey = Vec<(u16, u32, u8)>;

/// What became of one tile.
#[derive(Clone)]
enum Outcome {
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
struct Cut {
    /// Features whose budget key is below this are left out.
    threshold: Option<u64>,
    per_tile_cap: bool,
}

/// What every zoom of a build shares.
pub struct ZoomContext<'a> {
    pub layers: &'a [(&'a Layer, LoadedLayer)],
    pub plans: &'a [LayerPlan],
    pub policy: AsNeeded,
    pub format: TileFormat,
    pub limits: Limits,
    pub sender: TileSender,
    pub output: &'a std::path::Path,
    pub progress: &'a Progress,
    pub counters: &'a Counters,
    full_cache: Mutex<HashMap<FullKey, Outcome>>,
}

impl<'a> ZoomContext<'a> {
    pub fn new(
        layers: &'a [(&'a Layer, LoadedLayer)],
        plans: &'a [LayerPlan],
        tileset: &Tileset,
        sender: TileSender,
        output: &'a std::path::Path,
        progress: &'a Progress,
        counters: &'a Counters,
    ) -> Self {
        ZoomContext {
            layers,
            plans,
            policy: tileset.generalize.as_needed,
            format: tileset.format,
            limits: tileset.limits,
            sender,
            output,
            progress,
            counters,
            full_cache: Mutex::new(HashMap::new()),
        }
    }
}

/// Pieces held in memory at most before a batch of zooms is encoded (low zooms are small: several of them
/// are sliced first and then encoded together, so that every core has tiles to work on).
const BATCH_PIECES: usize = 2_000_000;

/// A zoom expected to hold more pieces than this is built in bands of tile columns, one band at a time, so that
/// memory stays bounded however deep the zoom (a band's pieces are estimated from the zoom above: ×4).
const BAND_PIECES: usize = 3_000_000;

/// Tiles and encodes the zooms of `ranges` (in order), batching consecutive small zooms and banding big ones.
pub fn build_zooms(ranges: &[TileRange], ctx: &ZoomContext<'_>) -> Result<(), Error> {
    let mut batch: Vec<(u8, Vec<Record>)> = Vec::new();
    let mut held = 0;
    let mut previous = 0usize;
    for range in ranges {
        let bands = bands_for(*range, previous.saturating_mul(4));
        if bands.len() > 1 {
            encode_batch(&batch, ctx)?;
            batch.clear();
            held = 0;
            previous = 0;
            for band in bands {
                let records = slice_logged(band, ctx);
                previous += records.len();
                encode_batch(&[(band.z, records)], ctx)?;
            }
            continue;
        }
        let records = slice_logged(*range, ctx);
        previous = records.len();
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

/// Splits a zoom's range into bands of whole columns when `expected` pieces would not fit [`BAND_PIECES`].
fn bands_for(range: TileRange, expected: usize) -> Vec<TileRange> {
    let columns = range.x_max - range.x_min + 1;
    let count = (expected.div_ceil(BAND_PIECES) as u32).clamp(1, columns);
    let width = columns.div_ceil(count);
    (0..count)
        .map(|i| range.x_min + i * width)
        .take_while(|x| *x <= range.x_max)
        .map(|x| TileRange { x_min: x, x_max: (x + width - 1).min(range.x_max), ..range })
        .collect()
}

fn slice_logged(range: TileRange, ctx: &ZoomContext<'_>) -> Vec<Record> {
    let sliced = std::time::Instant::now();
    let records = slice_all(range, ctx);
    tracing::debug!(
        zoom = range.z,
        columns = format!("{}..={}", range.x_min, range.x_max),
        pieces = records.len(),
        seconds = sliced.elapsed().as_secs_f64(),
        "sliced"
    );
    ctx.counters.pieces.fetch_add(records.len() as u64, Ordering::Relaxed);
    records
}

/// Encodes every tile of a batch of sliced zooms in parallel and hands them to the writer. A zoom whose tiles are
/// over the budget is brought under it as a whole (see `generalize::budget`) before any of its tiles is sent.
fn encode_batch(batch: &[(u8, Vec<Record>)], ctx: &ZoomContext<'_>) -> Result<(), Error> {
    let (Some((first, _)), Some((last, _))) = (batch.first(), batch.last()) else { return Ok(()) };
    let same_tile = |a: &Record, b: &Record| a.tile == b.tile;
    let mut groups: Vec<(u8, &[Record])> =
        batch.iter().flat_map(|(z, records)| records.chunk_by(same_tile).map(move |group| (*z, group))).collect();
    ctx.progress.start_zooms(*first, *last, groups.len() as u64);
    // Largest tiles first, one tile per task: a few huge low-zoom tiles must not end up queued behind each
    // other on one core while the others are idle. (Order does not change the output.)
    groups.sort_by_key(|(_, group)| std::cmp::Reverse(group.len()));
    let whole_zoom = ctx.policy != AsNeeded::None;
    let first_pass = Cut { threshold: None, per_tile_cap: !whole_zoom };
    let mut outcomes: Vec<Outcome> = groups
        .par_iter()
        .with_max_len(1)
        .map(|(z, group)| encode_group(*z, group, first_pass, ctx))
        .collect::<Result<_, Error>>()?;
    if whole_zoom {
        for (z, _) in batch {
            meet_budget(*z, &groups, &mut outcomes, ctx)?;
        }
    }
    groups
        .par_iter()
        .zip(outcomes)
        .with_max_len(1)
        .try_for_each_with(ctx.sender.clone(), |sender, ((z, group), outcome)| send(*z, group, outcome, sender, ctx))?;
    ctx.progress.finish_zooms(*first, *last);
    Ok(())
}

/// Brings zoom `z` under the budget: one threshold for the whole zoom, found on its over-budget tiles, applied to
/// every tile of the zoom; what still does not fit goes to the per-tile cap.
fn meet_budget(
    z: u8,
    groups: &[(u8, &[Record])],
    outcomes: &mut [Outcome],
    ctx: &ZoomContext<'_>,
) -> Result<(), Error> {
    let over: Vec<usize> =
        (0..groups.len()).filter(|&i| groups[i].0 == z && matches!(outcomes[i], Outcome::Over)).collect();
    if over.is_empty() {
        return Ok(());
    }
    let key = |r: &Record| budget::key(&ctx.plans[usize::from(r.layer)].features[r.feature as usize], ctx.policy);
    let mut candidates: Vec<u64> =
        over.iter().flat_map(|&i| groups[i].1.iter().map(key)).filter(|k| *k != u64::MAX).collect();
    candidates.par_sort_unstable();
    candidates.dedup();
    let threshold = budget::search(&candidates, &mut |t| {
        let cut = Cut { threshold: Some(t), per_tile_cap: false };
        over.par_iter()
            .with_max_len(1)
            .try_fold(
                || true,
                |fits, &i| Ok::<bool, Error>(fits && !matches!(encode_group(z, groups[i].1, cut, ctx)?, Outcome::Over)),
            )
            .try_reduce(|| true, |a, b| Ok(a && b))
    })?;
    // The threshold holds for every tile of the zoom, so neighbours agree on every feature; only tiles that lose a
    // feature to it are encoded again.
    let cut = Cut { threshold: Some(threshold), per_tile_cap: false };
    let touched: Vec<usize> = (0..groups.len())
        .into_par_iter()
        .filter(|&i| groups[i].0 == z && groups[i].1.iter().any(|r| key(r) < threshold))
        .collect();
    let again: Vec<(usize, Outcome)> = touched
        .par_iter()
        .with_max_len(1)
        .map(|&i| Ok((i, encode_group(z, groups[i].1, cut, ctx)?)))
        .collect::<Result<_, Error>>()?;
    for (i, outcome) in again {
        outcomes[i] = outcome;
    }
    // The last resort, for a tile no threshold helps (one huge feature): it drops features on its own.
    let last_resort = Cut { threshold: Some(threshold), per_tile_cap: true };
    let mut capped = 0;
    for &i in &over {
        if matches!(outcomes[i], Outcome::Over) {
            outcomes[i] = encode_group(z, groups[i].1, last_resort, ctx)?;
            capped += 1;
        }
    }
    let mut dropped: Vec<(u16, u32)> = groups
        .par_iter()
        .filter(|(gz, _)| *gz == z)
        .flat_map_iter(|(_, group)| group.iter().filter(|r| key(r) < threshold).map(|r| (r.layer, r.feature)))
        .collect();
    dropped.par_sort_unstable();
    dropped.dedup();
    let zoom_features: std::collections::HashSet<(u16, u32)> = groups
        .iter()
        .filter(|(gz, _)| *gz == z)
        .flat_map(|(_, group)| group.iter().map(|r| (r.layer, r.feature)))
        .collect();
    tracing::info!(
        zoom = z,
        policy = ctx.policy.name(),
        over_tiles = over.len(),
        dropped = dropped.len(),
        of = zoom_features.len(),
        capped_tiles = capped,
        "zoom over the tile budget: one threshold for the whole zoom"
    );
    ctx.counters.features_dropped.fetch_add(dropped.len() as u64, Ordering::Relaxed);
    ctx.counters.zoom(z, |report| {
        report.over_budget_tiles = over.len() as u64;
        report.budget_dropped = dropped.len() as u64;
        report.budget_share = dropped.len() as f64 / zoom_features.len().max(1) as f64;
        report.capped_tiles = capped;
    });
    Ok(())
}

fn send(
    z: u8,
    group: &[Record],
    outcome: Outcome,
    sender: &mut TileSender,
    ctx: &ZoomContext<'_>,
) -> Result<(), Error> {
    let tile = TileId { z, x: (group[0].tile >> 32) as u32, y: group[0].tile as u32 };
    ctx.progress.inc(1);
    match outcome {
        Outcome::Stored { blob, features, dropped } => {
            ctx.counters.features_written.fetch_add(features, Ordering::Relaxed);
            ctx.counters.features_dropped.fetch_add(dropped, Ordering::Relaxed);
            sender.send((tile, blob)).map_err(|_| ArchiveError::WriterGone { path: ctx.output.to_owned() })?;
        }
        Outcome::Dropped { features } => {
            ctx.counters.features_dropped.fetch_add(features, Ordering::Relaxed);
            ctx.counters.tiles_dropped.fetch_add(1, Ordering::Relaxed);
        }
        Outcome::Blank => {
            ctx.counters.tiles_blank.fetch_add(1, Ordering::Relaxed);
        }
        Outcome::Over => {
            // `meet_budget` leaves no tile over; should one remain, it is left out, not stored oversized.
            ctx.counters.tiles_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// Slices every feature of every layer active at this zoom, sorted by (tile, layer, feature, part). Features
/// thinned out of this zoom or too small to draw are left out; tiny polygons that stand for their neighbours
/// become one pixel square.
fn slice_all(range: TileRange, ctx: &ZoomContext<'_>) -> Vec<Record> {
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

fn encode_group(z: u8, group: &[Record], cut: Cut, ctx: &ZoomContext<'_>) -> Result<Outcome, Error> {
    let tile = TileId { z, x: (group[0].tile >> 32) as u32, y: group[0].tile as u32 };
    let raster = match ctx.format {
        TileFormat::Png(raster) => Some(raster),
        TileFormat::Mvt => None,
    };
    let kept = |r: &&Record| {
        cut.threshold
            .is_none_or(|t| budget::key(&ctx.plans[usize::from(r.layer)].features[r.feature as usize], ctx.policy) >= t)
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
        None => encode_vector(tile, &records, cut, ctx)?,
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

fn encode_vector(tile: TileId, group: &[&Record], cut: Cut, ctx: &ZoomContext<'_>) -> Result<Outcome, Error> {
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
    if group.is_empty() {
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
        None => Outcome::Dropped { features: group.len() as u64 },
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

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_cover_the_range_exactly_once() {
        let range = TileRange { z: 12, x_min: 10, y_min: 0, x_max: 4095, y_max: 4095 };
        assert_eq!(bands_for(range, 100), vec![range]);
        let bands = bands_for(range, 7 * BAND_PIECES + 1);
        assert_eq!(bands.len(), 8);
        assert_eq!(bands[0].x_min, 10);
        assert_eq!(bands[7].x_max, 4095);
        for pair in bands.windows(2) {
            assert_eq!(pair[0].x_max + 1, pair[1].x_min);
        }
        // Never more bands than columns.
        let narrow = TileRange { x_min: 5, x_max: 6, ..range };
        assert_eq!(bands_for(narrow, usize::MAX).len(), 2);
    }
}
