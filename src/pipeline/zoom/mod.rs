//! One zoom level: every feature sliced into per-tile pieces in parallel, the pieces sorted by tile, then each
//! tile encoded (MVT) or rendered (PNG) in parallel and handed to the MBTiles writer.
//!
//! Tiles made only of [`crate::tiling::PieceGeom::Full`] pieces (land and lake interiors) are encoded once per
//! distinct set of features (for PNG: of layers, since a full piece draws the same whatever its feature) and
//! reused; the writer stores identical bytes once anyway.
//!
//! - [`slice`]: the zoom's features → per-tile pieces, sorted by tile;
//! - [`tile`]: one tile's pieces → an encoded or rendered tile, under the zoom's [`tile::Cut`];
//! - here: batching and banding of zooms, the whole-zoom budget ([`meet_budget`]), and the hand-off to the writer.

mod slice;
mod tile;

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use super::generalize::coalesce::{self, Coalesced};
use super::generalize::{LayerPlan, budget};
use super::load::LoadedLayer;
use super::summary::ZoomReport;
use crate::Error;
use crate::archive::{ArchiveError, TileSender};
use crate::config::{AsNeeded, Layer, Limits, TileFormat, Tileset};
use crate::progress::Progress;
use crate::tiling::{TileId, TileRange};
use slice::{Record, slice_all};
use tile::{Cut, FullKey, Outcome, encode_group};

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
    /// Layers (by index) in which `coalesce-densest` merged features: their tiles carry
    /// [`coalesce::COUNT_PROPERTY`].
    pub coalesced_layers: Mutex<std::collections::BTreeSet<usize>>,
}

impl Counters {
    fn zoom(&self, z: u8, update: impl FnOnce(&mut ZoomReport)) {
        let mut zooms = lock(&self.zooms);
        update(zooms.entry(z).or_insert_with(|| ZoomReport { zoom: z, ..ZoomReport::default() }));
    }

    /// What generalization did at zoom `z` so far.
    pub fn report(&self, z: u8) -> Option<ZoomReport> {
        lock(&self.zooms).get(&z).cloned()
    }
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
    let first_pass = Cut { per_tile_cap: !whole_zoom, ..Cut::FIRST };
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
    let zoom_features: rustc_hash::FxHashSet<(u16, u32)> = groups
        .iter()
        .filter(|(gz, _)| *gz == z)
        .flat_map(|(_, group)| group.iter().map(|r| (r.layer, r.feature)))
        .collect();
    // Under coalesce-densest, who merges into whom depends on the threshold: planned again for each one tried.
    let present = |layer: u16, feature: u32| zoom_features.contains(&(layer, feature));
    let coalescing = ctx.policy == AsNeeded::CoalesceDensest;
    let merging = |t: u64, draw_merged: bool| {
        coalescing.then(|| coalesce::plan(z, t, ctx.layers, ctx.plans, &present, draw_merged))
    };
    let fits = |t: u64, draw_merged: bool| -> Result<bool, Error> {
        let merged = merging(t, draw_merged);
        let cut = Cut { threshold: Some(t), per_tile_cap: false, coalesce: merged.as_ref() };
        over.par_iter()
            .with_max_len(1)
            .try_fold(
                || true,
                |fits, &i| Ok::<bool, Error>(fits && !matches!(encode_group(z, groups[i].1, cut, ctx)?, Outcome::Over)),
            )
            .try_reduce(|| true, |a, b| Ok(a && b))
    };
    let (threshold, draw_merged) = if coalescing {
        // Merging keeps every outline, so it can only meet the budget while every kind of every layer keeps a
        // feature to merge into; when no such threshold fits (the outlines alone are over the budget), the merged
        // features' geometry is dropped instead and only counted by their neighbour.
        let cap = coalesce::keep_every_kind(z, ctx.plans, &zoom_features);
        let within: Vec<u64> = candidates.iter().copied().filter(|k| *k <= cap).collect();
        let t = budget::search(&within, &mut |t| fits(t, true))?;
        if !within.is_empty() && fits(t, true)? {
            (t, true)
        } else {
            (budget::search(&candidates, &mut |t| fits(t, false))?, false)
        }
    } else {
        (budget::search(&candidates, &mut |t| fits(t, false))?, false)
    };
    // The threshold holds for every tile of the zoom, so neighbours agree on every feature; only tiles that lose a
    // feature to it (or hold a neighbour that now counts others) are encoded again.
    let merged: Option<Coalesced> = merging(threshold, draw_merged);
    let cut = Cut { threshold: Some(threshold), per_tile_cap: false, coalesce: merged.as_ref() };
    let changes =
        |r: &Record| key(r) < threshold || merged.as_ref().is_some_and(|m| m.properties(r.layer, r.feature).is_some());
    let touched: Vec<usize> =
        (0..groups.len()).into_par_iter().filter(|&i| groups[i].0 == z && groups[i].1.iter().any(changes)).collect();
    let again: Vec<(usize, Outcome)> = touched
        .par_iter()
        .with_max_len(1)
        .map(|&i| Ok((i, encode_group(z, groups[i].1, cut, ctx)?)))
        .collect::<Result<_, Error>>()?;
    for (i, outcome) in again {
        outcomes[i] = outcome;
    }
    // The last resort, for a tile no threshold helps (one huge feature): it drops features on its own.
    let last_resort = Cut { per_tile_cap: true, ..cut };
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
    let coalesced: u64 = merged.as_ref().map_or(0, |m| m.merged.iter().sum());
    if let Some(m) = &merged {
        lock(&ctx.counters.coalesced_layers).extend((0..m.merged.len()).filter(|&l| m.merged[l] > 0));
    }
    tracing::info!(
        zoom = z,
        policy = ctx.policy.name(),
        over_tiles = over.len(),
        dropped = dropped.len(),
        coalesced,
        of = zoom_features.len(),
        capped_tiles = capped,
        "zoom over the tile budget: one threshold for the whole zoom"
    );
    // Merged features whose outline the neighbour draws are not lost; merged points, and merged outlines when the
    // zoom fell back to dropping them, are (their neighbour only counts them).
    let kept_outlines = if draw_merged { coalesced_outlines(merged.as_ref(), ctx) } else { 0 };
    ctx.counters.features_dropped.fetch_add(dropped.len() as u64 - kept_outlines, Ordering::Relaxed);
    ctx.counters.zoom(z, |report| {
        report.coalesced = coalesced;
        report.coalesced_outlines = kept_outlines;
        report.over_budget_tiles = over.len() as u64;
        report.budget_dropped = dropped.len() as u64;
        report.budget_share = dropped.len() as f64 / zoom_features.len().max(1) as f64;
        report.capped_tiles = capped;
    });
    Ok(())
}

/// How many of the merged features are lines or polygons (drawn by their neighbour).
fn coalesced_outlines(merged: Option<&Coalesced>, ctx: &ZoomContext<'_>) -> u64 {
    merged.map_or(0, |m| {
        (0..ctx.plans.len())
            .map(|l| {
                m.merged_features(l as u16)
                    .filter(|&f| ctx.plans[l].features[f as usize].kind != super::generalize::Kind::Point)
                    .count() as u64
            })
            .sum()
    })
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
            if dropped > 0 {
                ctx.counters.zoom(z, |report| report.cap_dropped += dropped);
            }
            sender.send((tile, blob)).map_err(|_| ArchiveError::WriterGone { path: ctx.output.to_owned() })?;
        }
        Outcome::Dropped { features } => {
            ctx.counters.features_dropped.fetch_add(features, Ordering::Relaxed);
            ctx.counters.tiles_dropped.fetch_add(1, Ordering::Relaxed);
            if features > 0 {
                ctx.counters.zoom(z, |report| report.cap_dropped += features);
            }
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

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
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
