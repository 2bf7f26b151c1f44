//! `build`: a tileset → an MBTiles file, stage by stage as in ARCHITECTURE.md.
//!
//! 1. resolve the build area and zooms (tileset bounds, `--region` or `--bbox`, `--minzoom`/`--maxzoom`);
//! 2. read each source into memory once, handing every feature to the layers that use it (`load`); a tileset
//!    without `bounds` is then narrowed to the data's extent (`extent`), which the tile ranges and the metadata's
//!    bounds and center follow; `maxzoom = "auto"` is guessed from the data (`depth`);
//! 3. for each zoom, slice and encode (MVT) or render (PNG) every tile in parallel (`zoom`), feeding one MBTiles
//!    writer thread; with `extend_zooms_if_still_dropping`, one zoom deeper at a time while the deepest still
//!    drops features;
//! 4. write metadata and `agg_tiles_hash`, and move the file into place; for a `.pmtiles` output the MBTiles
//!    is built to a hidden file beside it, converted, and removed.

mod depth;
mod extent;
pub mod generalize;
mod load;
mod summary;
mod zoom;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;

use tracing::info;

pub use generalize::maxzoom::MaxzoomGuess;
pub use summary::{BuildSummary, LayerSummary, OsmSummary, ZoomReport};

use crate::archive::{ArchiveKind, MbtilesWriter, Metadata, VectorLayer};
use crate::config::{TileFormat, Tileset};
use crate::manifest;
use crate::progress::Progress;
use crate::tiling::Bbox;
use crate::tiling::TileRange;
use crate::{Error, Result};

/// How to run one build: where to write, and which part of the tileset.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub output: PathBuf,
    /// Build only this named region of the tileset.
    pub region: Option<String>,
    /// Build only this box (intersected with the tileset bounds).
    pub bbox: Option<Bbox>,
    pub minzoom: Option<u8>,
    pub maxzoom: Option<u8>,
    /// Worker threads; `None` uses every core.
    pub threads: Option<usize>,
    /// Show a progress bar (on a terminal); otherwise progress goes to the log every few seconds.
    pub progress_bar: bool,
    /// Build deeper zooms while the deepest still drops features (as the tileset's
    /// `generalize.extend_zooms_if_still_dropping`).
    pub extend_zooms: bool,
}

/// The error of the pipeline's own checks (everything else comes from a stage).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{path}: no region named `{region}` (known: {known})")]
    UnknownRegion { path: PathBuf, region: String, known: String },
    #[error("{path}: the requested area does not overlap the tileset bounds")]
    NoOverlap { path: PathBuf },
    #[error("{path}: zoom {zoom} ({which}) lies outside the tileset's zooms {minzoom}..={maxzoom}")]
    ZoomOutOfRange { path: PathBuf, which: &'static str, zoom: u8, minzoom: u8, maxzoom: u8 },
    #[error("{path}: --minzoom {minzoom} is greater than --maxzoom {maxzoom}")]
    ZoomOrder { path: PathBuf, minzoom: u8, maxzoom: u8 },
    #[error("cannot start {threads} worker threads: {message}")]
    Threads { threads: usize, message: String },
}

/// The area and zooms a build covers, resolved from the tileset and the options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BuildScope {
    /// What is built, and the metadata's bounds: `area`, or the data's extent within it (`from_data`).
    pub bounds: Bbox,
    /// The requested area: the tileset bounds ∩ `--region` ∩ `--bbox`. Features wholly outside it are not loaded.
    pub area: Bbox,
    pub minzoom: u8,
    pub maxzoom: u8,
    /// The tileset gives no `bounds`, so `bounds` is (once the sources are read) the data's extent within the
    /// requested area ([`BuildScope::fit_to_data`]; fitting again changes nothing).
    pub from_data: bool,
}

impl BuildScope {
    /// The scope narrowed to `extent` (the loaded features' lon/lat box) when its bounds come from the data:
    /// their intersection. Unchanged when the tileset gives bounds, or there is no extent (no feature) or no
    /// overlap.
    pub fn fit_to_data(self, extent: Option<Bbox>) -> BuildScope {
        match extent.filter(|_| self.from_data).and_then(|e| e.intersection(self.bounds)) {
            Some(bounds) => BuildScope { bounds, ..self },
            None => self,
        }
    }

    /// The tiles to build at each zoom: those `bounds` touches, and `margin` more on every side (for the clip
    /// buffer of features near the edge: 1 when any layer has a buffer), but none outside `area`'s tiles.
    pub fn tile_ranges(&self, margin: u32) -> Vec<TileRange> {
        (self.minzoom..=self.maxzoom).map(|z| self.tile_range(z, margin)).collect()
    }

    /// The tiles to build at zoom `z` (see [`BuildScope::tile_ranges`]).
    pub fn tile_range(&self, z: u8, margin: u32) -> TileRange {
        let (r, limit) = (TileRange::covering(self.bounds, z), TileRange::covering(self.area, z));
        TileRange {
            z,
            x_min: r.x_min.saturating_sub(margin).max(limit.x_min),
            y_min: r.y_min.saturating_sub(margin).max(limit.y_min),
            x_max: r.x_max.saturating_add(margin).min(limit.x_max),
            y_max: r.y_max.saturating_add(margin).min(limit.y_max),
        }
    }
}

/// Resolves `--region`, `--bbox` and the zoom overrides against the tileset.
pub fn resolve_scope(tileset: &Tileset, options: &BuildOptions) -> Result<BuildScope, BuildError> {
    let path = tileset.path.clone();
    let mut area = tileset.bounds;
    if let Some(name) = &options.region {
        let region = tileset.regions.get(name).ok_or_else(|| BuildError::UnknownRegion {
            path: path.clone(),
            region: name.clone(),
            known: if tileset.regions.is_empty() {
                "none".to_owned()
            } else {
                tileset.regions.keys().cloned().collect::<Vec<_>>().join(", ")
            },
        })?;
        area = area.intersection(region.bbox).ok_or_else(|| BuildError::NoOverlap { path: path.clone() })?;
    }
    if let Some(bbox) = options.bbox {
        area = area.intersection(bbox).ok_or_else(|| BuildError::NoOverlap { path: path.clone() })?;
    }
    let area = area.clamped_to_mercator();
    let (lo, hi) = (tileset.minzoom, tileset.maxzoom);
    let check = |zoom: u8, which| {
        if zoom < lo || zoom > hi {
            Err(BuildError::ZoomOutOfRange { path: path.clone(), which, zoom, minzoom: lo, maxzoom: hi })
        } else {
            Ok(zoom)
        }
    };
    let minzoom = options.minzoom.map_or(Ok(lo), |z| check(z, "--minzoom"))?;
    let maxzoom = options.maxzoom.map_or(Ok(hi), |z| check(z, "--maxzoom"))?;
    if minzoom > maxzoom {
        return Err(BuildError::ZoomOrder { path, minzoom, maxzoom });
    }
    // `Bbox::WORLD` is what the tileset reader puts in when the file has no `bounds`.
    Ok(BuildScope { bounds: area, area, minzoom, maxzoom, from_data: tileset.bounds == Bbox::WORLD })
}

/// Builds a tileset into `options.output`. On error nothing is left at the output path.
pub fn build(tileset: &Tileset, options: &BuildOptions) -> Result<BuildSummary> {
    let threads = options.threads.unwrap_or(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("tile-worker-{i}"))
        .build()
        .map_err(|e| BuildError::Threads { threads, message: e.to_string() })?;
    pool.install(|| build_in_pool(tileset, options, pool.current_num_threads()))
}

fn build_in_pool(tileset: &Tileset, options: &BuildOptions, threads: usize) -> Result<BuildSummary> {
    let started = Instant::now();
    let scope = resolve_scope(tileset, options)?;
    info!(
        tileset = %tileset.name,
        region = options.region.as_deref().unwrap_or("all"),
        minzoom = scope.minzoom,
        maxzoom = scope.maxzoom,
        threads,
        "build started"
    );
    let active: Vec<_> =
        tileset.layers.iter().filter(|l| l.minzoom <= scope.maxzoom && l.maxzoom >= scope.minzoom).collect();
    let (mut loaded, totals, osm_loads) = load::load_layers(&active, scope.area)?;
    let depth = depth::resolve(tileset, &scope, options.maxzoom.is_some(), options.extend_zooms, &active, &loaded);
    if let Some(g) = &depth.guess {
        info!(
            maxzoom = g.zoom,
            feature_spacing_m = g.feature_spacing_m,
            spacing_zoom = g.spacing_zoom,
            vertex_spacing_m = g.vertex_spacing_m,
            vertex_zoom = g.vertex_zoom,
            "maxzoom guessed from the data"
        );
    }
    for (layer, loaded) in depth.layers.iter().zip(&mut loaded) {
        depth::trim(layer, loaded);
    }
    // Layers that start deeper than the guessed max zoom are not built.
    let layers: Vec<_> = depth.layers.iter().zip(loaded).filter(|(l, _)| l.minzoom <= depth.maxzoom).collect();
    let mut scope = BuildScope { maxzoom: depth.maxzoom, ..scope };
    if scope.from_data {
        scope = scope.fit_to_data(extent::data_extent(&layers));
        let b = scope.bounds;
        info!(west = b.west, south = b.south, east = b.east, north = b.north, "bounds from the data's extent");
    }
    let sources = fingerprint_sources(&layers)?;
    let plans: Vec<generalize::LayerPlan> = layers
        .iter()
        .map(|(layer, loaded)| generalize::plan_layer(layer, &loaded.features, &|i| loaded.features[i].minzoom))
        .collect();
    let read_seconds = started.elapsed().as_secs_f64();
    let pmtiles = ArchiveKind::of_extension(&options.output) == Some(ArchiveKind::Pmtiles);
    let mbtiles_path = if pmtiles { hidden_mbtiles_beside(&options.output) } else { options.output.clone() };
    let writer = MbtilesWriter::create(&mbtiles_path)?;
    let sender =
        writer.sender().ok_or_else(|| crate::archive::ArchiveError::WriterGone { path: options.output.clone() })?;
    let progress = Progress::new(options.progress_bar);
    let counters = zoom::Counters::default();
    let ctx = zoom::ZoomContext::new(&layers, &plans, tileset, sender, &options.output, &progress, &counters);
    let margin = layers.iter().map(|(l, _)| l.buffer.div_ceil(crate::tiling::EXTENT)).max().unwrap_or(0);
    let ranges = scope.tile_ranges(margin);
    let tiled = zoom::build_zooms(&ranges, &ctx).and_then(|()| {
        while let Some(limit) = depth.extend_to
            && scope.maxzoom < limit
            && depth::still_dropping(&counters, scope.maxzoom)
        {
            info!(zoom = scope.maxzoom + 1, "the deepest zoom still drops features: building one zoom deeper");
            scope.maxzoom += 1;
            zoom::build_zooms(&[scope.tile_range(scope.maxzoom, margin)], &ctx)?;
        }
        Ok(())
    });
    drop(ctx);
    let mut layers = layers;
    for index in counters.coalesced_layers.lock().map(|l| l.clone()).unwrap_or_default() {
        if let Some((_, loaded)) = layers.get_mut(index) {
            loaded.fields.insert(generalize::coalesce::COUNT_PROPERTY.to_owned(), crate::archive::FieldType::Number);
        }
    }
    if let Err(err) = tiled {
        progress.finish();
        return Err(writer.abandon().map_or(err, Error::from));
    }
    progress.finish();
    let metadata = metadata(tileset, &scope, &layers, &sources)?;
    let finished = writer.finish(&metadata)?;
    let manifest_path = manifest_path_for(&options.output);
    let rows: std::collections::BTreeMap<String, String> = metadata.rows().into_iter().collect();
    let header = manifest::Header::from_metadata(&rows, &tileset.name);
    let entries = finished.tiles.iter().map(|(tile, index)| {
        let blob = &finished.blobs[*index as usize];
        manifest::Entry { tile: *tile, size: blob.data.len() as u32, sha256: blob.sha256 }
    });
    let manifest = manifest::write_manifest(&manifest_path, &header, entries)?;
    let archive = finished.commit().inspect_err(|_| {
        let _ = std::fs::remove_file(&manifest_path);
    })?;
    let pmtiles = if pmtiles {
        let written = crate::archive::write_pmtiles_from_mbtiles(&mbtiles_path, &options.output);
        let _ = std::fs::remove_file(&mbtiles_path);
        Some(written.inspect_err(|_| {
            let _ = std::fs::remove_file(&manifest_path);
        })?)
    } else {
        None
    };
    let wall = started.elapsed().as_secs_f64();
    let summary = BuildSummary {
        tileset: tileset.name.clone(),
        region: options.region.clone(),
        output: options.output.clone(),
        bounds: [scope.bounds.west, scope.bounds.south, scope.bounds.east, scope.bounds.north],
        minzoom: scope.minzoom,
        maxzoom: scope.maxzoom,
        maxzoom_guess: depth.guess,
        extended_from: (scope.maxzoom > depth.maxzoom).then_some(depth.maxzoom),
        threads,
        tiles: archive.tiles,
        unique_tiles: archive.unique_tiles,
        tile_bytes: archive.tile_bytes,
        unique_bytes: archive.unique_bytes,
        tiles_per_zoom: archive.tiles_per_zoom,
        features_read: totals.read,
        features_empty: totals.empty,
        features_skipped: totals.skipped,
        features_outside: totals.outside,
        features_filtered: layers.iter().map(|(_, l)| l.filtered).sum(),
        features_dropped: counters.features_dropped.load(Ordering::Relaxed),
        tiles_dropped: counters.tiles_dropped.load(Ordering::Relaxed),
        tiles_blank: counters.tiles_blank.load(Ordering::Relaxed),
        generalized: ZoomReport::nonempty(
            counters.zooms.lock().map(|z| z.values().cloned().collect::<Vec<_>>()).unwrap_or_default(),
        ),
        agg_tiles_hash: archive.agg_tiles_hash,
        pmtiles,
        manifest: manifest.path,
        manifest_sha256: manifest.sha256,
        read_seconds,
        wall_seconds: wall,
        tiles_per_second: if wall > 0.0 { archive.tiles as f64 / wall } else { 0.0 },
        layers: layers
            .iter()
            .map(|(layer, loaded)| LayerSummary {
                id: layer.id.clone(),
                source: layer.source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                features: loaded.features.len() as u64,
                read: loaded.read,
                skipped: loaded.skipped,
                outside: loaded.outside,
                filtered: loaded.filtered,
            })
            .collect(),
        osm: osm_loads.iter().map(|(path, load)| OsmSummary::new(path, load)).collect(),
    };
    info!(
        tileset = %tileset.name,
        tiles = summary.tiles,
        unique = summary.unique_tiles,
        bytes = summary.tile_bytes,
        features = summary.features_read,
        empty = summary.features_empty,
        skipped = summary.features_skipped,
        dropped = summary.features_dropped,
        seconds = wall,
        "build finished"
    );
    Ok(summary)
}

/// The hidden MBTiles a `.pmtiles` build writes first: `out/.x.pmtiles.PID.mbtiles`.
fn hidden_mbtiles_beside(output: &std::path::Path) -> PathBuf {
    let name = output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    output.with_file_name(format!(".{name}.{}.mbtiles", std::process::id()))
}

/// Where `build` writes the manifest of `output`: `out/a.mbtiles` → `out/a.manifest.zst`.
pub fn manifest_path_for(output: &std::path::Path) -> PathBuf {
    output.with_extension("manifest.zst")
}

/// SHA-256 of every source file, by layer (file names only: no folders in the manifest).
fn fingerprint_sources(
    layers: &[(&crate::config::Layer, load::LoadedLayer)],
) -> Result<Vec<manifest::SourceFingerprint>> {
    let mut hashed: Vec<(&std::path::Path, ([u8; 32], u64))> = Vec::new();
    layers
        .iter()
        .map(|(layer, _)| {
            let (sha, bytes) = match hashed.iter().find(|(path, _)| *path == layer.source) {
                Some((_, done)) => *done,
                None => {
                    let done = manifest::sha256_file(&layer.source)
                        .map_err(|source| crate::source::SourceError::Io { path: layer.source.clone(), source })?;
                    hashed.push((layer.source.as_path(), done));
                    done
                }
            };
            Ok(manifest::SourceFingerprint {
                layer: layer.id.clone(),
                file: layer.source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                bytes,
                sha256: hex::encode(sha),
            })
        })
        .collect()
}

fn metadata(
    tileset: &Tileset,
    scope: &BuildScope,
    layers: &[(&crate::config::Layer, load::LoadedLayer)],
    sources: &[manifest::SourceFingerprint],
) -> Result<Metadata> {
    let b = scope.bounds;
    let center = tileset
        .center
        .filter(|(lon, lat, z)| {
            (b.west..=b.east).contains(lon)
                && (b.south..=b.north).contains(lat)
                && (scope.minzoom..=scope.maxzoom).contains(z)
        })
        .unwrap_or((
            (b.west + b.east) / 2.0,
            (b.south + b.north) / 2.0,
            extent::fitting_zoom(b, scope.minzoom, scope.maxzoom),
        ));
    let sources_json = serde_json::to_string(sources).map_err(|e| crate::archive::ArchiveError::Io {
        path: tileset.path.clone(),
        source: std::io::Error::other(e),
    })?;
    Ok(Metadata {
        name: tileset.name.clone(),
        description: tileset.description.clone(),
        attribution: tileset.attribution.clone(),
        format: tileset.format.mbtiles_name().to_owned(),
        baselayer: matches!(tileset.format, TileFormat::Png(raster) if raster.background.a == 255),
        bounds: b,
        center,
        minzoom: scope.minzoom,
        maxzoom: scope.maxzoom,
        vector_layers: (tileset.format == TileFormat::Mvt).then(|| {
            layers
                .iter()
                .map(|(layer, loaded)| VectorLayer {
                    id: layer.id.clone(),
                    description: layer.description.clone(),
                    minzoom: layer.minzoom.max(scope.minzoom),
                    maxzoom: layer.maxzoom.min(scope.maxzoom),
                    fields: loaded.fields.clone(),
                })
                .collect()
        }),
        extra: std::collections::BTreeMap::from([(manifest::SOURCES_KEY.to_owned(), sources_json)]),
    })
}

impl From<BuildError> for Error {
    fn from(e: BuildError) -> Self {
        Error::Build(e)
    }
}
