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

use super::load::LoadedLayer;
use crate::Error;
use crate::archive::{ArchiveError, TileBlob, TileSender};
use crate::config::{Layer, Limits, Raster, TileFormat, Tileset};
use crate::encode::{TileFeature, TileLayer, encode_capped};
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
}

type FullKey = Vec<(u16, u32, u8)>;

/// What became of one tile.
#[derive(Clone)]
enum Outcome {
    Stored(Arc<TileBlob>),
    /// Over its cap with nothing left that fits.
    Dropped,
    /// A raster tile with nothing but background.
    Blank,
}

/// What every zoom of a build shares.
pub struct ZoomContext<'a> {
    pub layers: &'a [(&'a Layer, LoadedLayer)],
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
        tileset: &Tileset,
        sender: TileSender,
        output: &'a std::path::Path,
        progress: &'a Progress,
        counters: &'a Counters,
    ) -> Self {
        ZoomContext {
            layers,
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

/// Zooms with more pieces than this are encoded straight from their sorted pieces, without first listing their
/// tiles (a list of every tile of a deep zoom would cost more memory than the pieces themselves).
const LISTED_ZOOM_PIECES: usize = 500_000;

/// Encodes every tile of a batch of sliced zooms in parallel and hands them to the writer.
fn encode_batch(batch: &[(u8, Vec<Record>)], ctx: &ZoomContext<'_>) -> Result<(), Error> {
    let (Some((first, _)), Some((last, _))) = (batch.first(), batch.last()) else { return Ok(()) };
    let same_tile = |a: &Record, b: &Record| a.tile == b.tile;
    let mut listed: Vec<(u8, &[Record])> = Vec::new();
    let mut tiles = 0u64;
    for (z, records) in batch {
        if records.len() <= LISTED_ZOOM_PIECES {
            listed.extend(records.chunk_by(same_tile).map(|group| (*z, group)));
        } else {
            tiles += records.par_windows(2).filter(|w| w[0].tile != w[1].tile).count() as u64 + 1;
        }
    }
    tiles += listed.len() as u64;
    ctx.progress.start_zooms(*first, *last, tiles);
    // Largest tiles first, one tile per task: a few huge low-zoom tiles must not end up queued behind each
    // other on one core while the others are idle. (Order does not change the output.)
    listed.sort_by_key(|(_, group)| std::cmp::Reverse(group.len()));
    listed
        .par_iter()
        .with_max_len(1)
        .try_for_each_with(ctx.sender.clone(), |sender, (z, group)| encode_and_send(*z, group, sender, ctx))?;
    for (z, records) in batch.iter().filter(|(_, r)| r.len() > LISTED_ZOOM_PIECES) {
        records
            .par_chunk_by(same_tile)
            .try_for_each_with(ctx.sender.clone(), |sender, group| encode_and_send(*z, group, sender, ctx))?;
    }
    ctx.progress.finish_zooms(*first, *last);
    Ok(())
}

fn encode_and_send(z: u8, group: &[Record], sender: &mut TileSender, ctx: &ZoomContext<'_>) -> Result<(), Error> {
    let tile = TileId { z, x: (group[0].tile >> 32) as u32, y: group[0].tile as u32 };
    let outcome = encode_group(tile, group, ctx)?;
    ctx.progress.inc(1);
    match outcome {
        Outcome::Stored(blob) => {
            sender.send((tile, blob)).map_err(|_| ArchiveError::WriterGone { path: ctx.output.to_owned() })?;
        }
        Outcome::Dropped => {
            ctx.counters.tiles_dropped.fetch_add(1, Ordering::Relaxed);
        }
        Outcome::Blank => {
            ctx.counters.tiles_blank.fetch_add(1, Ordering::Relaxed);
        }
    }
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
                let mut out = Vec::new();
                if feature.minzoom > z {
                    return out;
                }
                let b = feature.bounds.map(|v| v * scale);
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

fn encode_group(tile: TileId, group: &[Record], ctx: &ZoomContext<'_>) -> Result<Outcome, Error> {
    let raster = match ctx.format {
        TileFormat::Png(raster) => Some(raster),
        TileFormat::Mvt => None,
    };
    // A full piece draws the same whatever its feature: raster tiles share by layer alone.
    let full_key: Option<FullKey> = group.iter().all(|r| r.geom == PieceGeom::Full).then(|| {
        group.iter().map(|r| if raster.is_some() { (r.layer, 0, 0) } else { (r.layer, r.feature, r.part) }).collect()
    });
    if let Some(key) = &full_key
        && let Some(hit) = lock(&ctx.full_cache).get(key)
    {
        if matches!(hit, Outcome::Stored(_)) {
            ctx.counters.features_written.fetch_add(group.len() as u64, Ordering::Relaxed);
        }
        return Ok(hit.clone());
    }
    let outcome = match raster {
        None => encode_vector(tile, group, ctx)?,
        Some(raster) => render_raster(tile, group, &raster, ctx)?,
    };
    if let Some(key) = full_key {
        let mut cache = lock(&ctx.full_cache);
        if cache.len() < FULL_CACHE_ENTRIES {
            cache.insert(key, outcome.clone());
        }
    }
    Ok(outcome)
}

fn encode_vector(tile: TileId, group: &[Record], ctx: &ZoomContext<'_>) -> Result<Outcome, Error> {
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
    Ok(match encode_capped(&layers, &ctx.limits, &tile.to_string())? {
        Some(e) => {
            ctx.counters.features_written.fetch_add(e.features, Ordering::Relaxed);
            ctx.counters.features_dropped.fetch_add(e.dropped, Ordering::Relaxed);
            Outcome::Stored(Arc::new(TileBlob::new(e.data)))
        }
        None => {
            ctx.counters.features_dropped.fetch_add(group.len() as u64, Ordering::Relaxed);
            Outcome::Dropped
        }
    })
}

fn render_raster(tile: TileId, group: &[Record], raster: &Raster, ctx: &ZoomContext<'_>) -> Result<Outcome, Error> {
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
            ctx.counters.features_written.fetch_add(features, Ordering::Relaxed);
            ctx.counters.features_dropped.fetch_add(dropped, Ordering::Relaxed);
            Outcome::Stored(Arc::new(TileBlob::new(png)))
        }
        Rendered::Blank => Outcome::Blank,
        Rendered::TooBig { features } => {
            ctx.counters.features_dropped.fetch_add(features, Ordering::Relaxed);
            Outcome::Dropped
        }
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
