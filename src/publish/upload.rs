//! `publish`: diff the new manifest against the live one, refuse a large shrink, upload the tiles the store
//! lacks (in parallel), the archives (MBTiles and its PMTiles), the manifest and the version record, then swap the pointer.

use std::io::Cursor;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;
use tracing::{info, warn};

use super::deltas::{DeltaTarget, put_deltas, recent_live_versions};
use super::error::PublishError;
use super::guard::check_shrink;
use super::lease::LeaseWatch;
use super::objects::read_live;
use super::pointer::{Target, read_pointer, swap};
use super::records::{DiffSummary, Layout, VersionRecord, check_set_name, unix_ns_now, utc_now, version_id};
use super::store::{PMTILES_TYPE, Store, StoreError, immutable, put_immutable};
use super::tiles::{missing_tiles, put_tile, tile_blobs, tile_put_options};
use crate::archive::{PmtilesSummary, write_pmtiles_from_mbtiles};
use crate::manifest::{self, Change, ManifestReader};

/// Uploads in flight at once.
const UPLOAD_THREADS: usize = 8;

/// What to publish, and how carefully.
#[derive(Debug, Clone)]
pub struct PublishRequest<'a> {
    /// `NAME` or `NAME.REGION`.
    pub set: &'a str,
    pub mbtiles: &'a Path,
    /// The manifest of `mbtiles`.
    pub manifest: &'a Path,
    /// Report what would happen; upload nothing, swap nothing.
    pub dry_run: bool,
    pub allow_shrink: bool,
    /// Share of live tiles or bytes a publish may remove without `allow_shrink`.
    pub max_shrink: f64,
    /// Deltas to write: one from each of the last N versions that were live.
    pub deltas: usize,
}

/// What a publish did.
#[derive(Debug, Clone, Serialize)]
pub struct PublishReport {
    pub set: String,
    pub store: String,
    /// `published`, `unchanged` (identical to the live version: nothing uploaded, no swap) or `dry-run`.
    pub outcome: String,
    pub version: String,
    pub previous: Option<String>,
    pub diff: DiffSummary,
    pub objects_uploaded: u64,
    pub bytes_uploaded: u64,
    /// Objects already in the store (from an earlier version or an interrupted run).
    pub objects_skipped: u64,
    /// The base versions of the deltas written to this version.
    pub deltas: Vec<String>,
    /// Tiles and tile bytes of the published content.
    pub tiles: u64,
    pub bytes: u64,
    pub seconds: f64,
}

pub fn publish(store: &dyn Store, request: &PublishRequest<'_>) -> Result<PublishReport, PublishError> {
    let started = Instant::now();
    let set = request.set;
    if !check_set_name(set) {
        return Err(PublishError::UnsafeSet { set: set.to_owned() });
    }
    let layout = Layout::new(set);
    let manifest_name = request.manifest.display().to_string();
    let manifest_bytes = std::fs::read(request.manifest)
        .map_err(|source| manifest::ManifestError::Io { name: manifest_name.clone(), source })?;
    let manifest_sha = hex::encode(manifest::sha256(&manifest_bytes));
    let (tiles, bytes) = ManifestReader::new(manifest_name.clone(), Cursor::new(&manifest_bytes))?.verify()?;
    info!(set, store = %store.location(), tiles, bytes, dry_run = request.dry_run, "publish started");
    let live = read_pointer(store, &layout)?;
    let mut report = PublishReport {
        set: set.to_owned(),
        store: store.location(),
        outcome: String::new(),
        version: String::new(),
        previous: live.as_ref().map(|(p, _)| p.version.clone()),
        diff: DiffSummary::default(),
        objects_uploaded: 0,
        bytes_uploaded: 0,
        objects_skipped: 0,
        deltas: Vec::new(),
        tiles,
        bytes,
        seconds: 0.0,
    };
    if let Some((pointer, _)) = &live
        && pointer.manifest_sha256 == manifest_sha
    {
        report.outcome = "unchanged".to_owned();
        report.version = pointer.version.clone();
        report.seconds = started.elapsed().as_secs_f64();
        info!(set, version = %report.version, seconds = report.seconds, "publish finished: identical to the live version, nothing uploaded");
        return Ok(report);
    }

    // How the new content differs from the live one (for the report and the shrink guard).
    let mut new = ManifestReader::new(manifest_name.clone(), Cursor::new(&manifest_bytes))?;
    let header = new.header().clone();
    let (mut old_tiles, mut old_bytes) = (0u64, 0u64);
    let mut removed_bytes = 0u64;
    match &live {
        Some((pointer, _)) => {
            // The diff base is checked against the pointer before it is trusted.
            let (_, bytes) = read_live(store, &layout, set, pointer)?;
            let key = layout.manifest(&pointer.version);
            (old_tiles, old_bytes) = ManifestReader::new(key.clone(), Cursor::new(&bytes))?.verify()?;
            let mut old = ManifestReader::new(key, Cursor::new(bytes))?;
            let t = manifest::diff(&mut old, &mut new, &mut |_: Change| {})?.total();
            report.diff =
                DiffSummary { added: t.added, changed: t.changed, removed: t.removed, unchanged: t.unchanged };
            removed_bytes = t.removed_bytes;
        }
        None => report.diff.added = tiles,
    }
    check_shrink(
        request.allow_shrink,
        request.max_shrink,
        set,
        report.diff.removed,
        old_tiles,
        removed_bytes,
        old_bytes,
    )?;

    let (compact, stamp) = utc_now();
    report.version = version_id(&compact, &manifest_sha);
    if request.dry_run {
        report.outcome = "dry-run".to_owned();
        report.objects_uploaded = missing_tiles(store, &layout, manifest_name, &manifest_bytes)?.tiles.len() as u64;
        report.seconds = started.elapsed().as_secs_f64();
        return Ok(report);
    }

    // 1. Tiles the store lacks (noting the gc lease first: see `lease.rs`): one listing of the tiles folder (a
    // request per 1,000 tiles) tells which are there, and with which size. A tile whose stored size differs
    // from the manifest's (truncated in the store) is put again, not reused.
    let mut watch = LeaseWatch::start(store, &layout)?;
    let missing = missing_tiles(store, &layout, manifest_name.clone(), &manifest_bytes)?;
    if missing.damaged > 0 {
        warn!(
            set,
            tiles = missing.damaged,
            "tiles in the store differ in size from the manifest (damaged): putting them again"
        );
    }
    let mut needed = missing.tiles;
    // Tiles found in the store (from an earlier version or an interrupted run) count as skipped objects.
    let already_there = missing.distinct - needed.len() as u64;
    let blobs = tile_blobs(request.mbtiles, &mut needed)?;
    let tile_options = tile_put_options(&header.format);
    let uploaded = AtomicU64::new(0);
    let uploaded_bytes = AtomicU64::new(0);
    let skipped = AtomicU64::new(already_there);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(UPLOAD_THREADS)
        .build()
        .map_err(|e| StoreError::Io { location: store.location(), source: std::io::Error::other(e) })?;
    pool.install(|| {
        blobs.par_iter().try_for_each(|(sha, data)| {
            let key = layout.tile(&hex::encode(sha));
            put_tile(store, &key, data, &tile_options)?;
            uploaded.fetch_add(1, Ordering::Relaxed);
            uploaded_bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
            Ok::<(), StoreError>(())
        })
    })?;

    // 2. The archive, the manifest and the version record (immutable, create-only).
    let (archive_sha, archive_size) = manifest::sha256_file(request.mbtiles)
        .map_err(|source| StoreError::Io { location: request.mbtiles.display().to_string(), source })?;
    let archive_sha = hex::encode(archive_sha);
    let put_once = |key: String, data: &[u8], content_type: &'static str| -> Result<(), PublishError> {
        if put_immutable(store, &key, data, content_type)? {
            uploaded.fetch_add(1, Ordering::Relaxed);
            uploaded_bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
        } else {
            skipped.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    };
    let archive_key = layout.archive(&archive_sha);
    if store.head(&archive_key)?.is_some() {
        skipped.fetch_add(1, Ordering::Relaxed);
    } else {
        store.put_file(&archive_key, request.mbtiles, &immutable("application/vnd.sqlite3"))?;
        uploaded.fetch_add(1, Ordering::Relaxed);
        uploaded_bytes.fetch_add(archive_size, Ordering::Relaxed);
    }
    // The PMTiles of the same tiles (deterministic: a rerun makes the same file, found already there).
    let pmtiles = Pmtiles::write(request.mbtiles)?;
    let pmtiles_key = layout.pmtiles_archive(&pmtiles.summary.sha256);
    if store.head(&pmtiles_key)?.is_some() {
        skipped.fetch_add(1, Ordering::Relaxed);
    } else {
        store.put_file(&pmtiles_key, &pmtiles.summary.path, &immutable(PMTILES_TYPE))?;
        uploaded.fetch_add(1, Ordering::Relaxed);
        uploaded_bytes.fetch_add(pmtiles.summary.bytes, Ordering::Relaxed);
    }
    put_once(layout.manifest(&report.version), &manifest_bytes, "application/zstd")?;
    // Deltas from the recent live versions, before the record that lists them.
    let bases = recent_live_versions(store, &layout, request.deltas, &report.version)?;
    let deltas = put_deltas(
        store,
        &layout,
        &bases,
        &DeltaTarget {
            set,
            version: &report.version,
            manifest_sha256: &manifest_sha,
            manifest: &manifest_bytes,
            mbtiles: request.mbtiles,
            archive_bytes: archive_size,
        },
    )?;
    uploaded.fetch_add(deltas.objects, Ordering::Relaxed);
    uploaded_bytes.fetch_add(deltas.bytes, Ordering::Relaxed);
    report.deltas = deltas.refs.iter().map(|d| d.base_version.clone()).collect();
    let record = VersionRecord {
        version: report.version.clone(),
        manifest_sha256: manifest_sha.clone(),
        archive_sha256: archive_sha,
        archive_bytes: archive_size,
        pmtiles_sha256: Some(pmtiles.summary.sha256.clone()),
        pmtiles_bytes: pmtiles.summary.bytes,
        tiles,
        bytes,
        created_at: stamp.clone(),
        created_ns: unix_ns_now(),
        sources: header.sources.clone(),
        tool: format!("tilepress {}", env!("CARGO_PKG_VERSION")),
        parent: report.previous.clone(),
        diff: report.diff,
        deltas: deltas.refs.clone(),
    };
    let body = serde_json::to_vec_pretty(&record).map_err(|e| StoreError::Io {
        location: layout.version_record(&report.version),
        source: std::io::Error::other(e),
    })?;
    put_once(layout.version_record(&report.version), &body, "application/json")?;

    // 3. If a gc ran meanwhile, it may have removed an old tile this publish found and skipped: put back every
    // tile of the version that is missing now.
    // 4. The swap, the only step readers can see (see `pointer.rs`: it waits for a running gc first, and
    // tries again after a gc fence).
    let target = Target { version: &report.version, manifest_sha256: &manifest_sha, action: "publish" };
    swap(store, &layout, set, live, &target, &mut watch, &mut || {
        let mut missing = missing_tiles(store, &layout, manifest_name.clone(), &manifest_bytes)?.tiles;
        let missing = tile_blobs(request.mbtiles, &mut missing)?;
        pool.install(|| {
            missing.par_iter().try_for_each(|(sha, data)| {
                put_tile(store, &layout.tile(&hex::encode(sha)), data, &tile_options)?;
                uploaded.fetch_add(1, Ordering::Relaxed);
                uploaded_bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
                Ok::<(), StoreError>(())
            })
        })?;
        if store.head(&archive_key)?.is_none() {
            store.put_file(&archive_key, request.mbtiles, &immutable("application/vnd.sqlite3"))?;
        }
        if store.head(&pmtiles_key)?.is_none() {
            store.put_file(&pmtiles_key, &pmtiles.summary.path, &immutable(PMTILES_TYPE))?;
        }
        put_immutable(store, &layout.manifest(&report.version), &manifest_bytes, "application/zstd")?;
        deltas.put_back(store)?;
        put_immutable(store, &layout.version_record(&report.version), &body, "application/json")?;
        if !missing.is_empty() {
            info!(set, tiles = missing.len(), "put back tiles a gc removed during this publish");
        }
        Ok(())
    })?;

    report.outcome = "published".to_owned();
    report.objects_uploaded = uploaded.load(Ordering::Relaxed);
    report.bytes_uploaded = uploaded_bytes.load(Ordering::Relaxed);
    report.objects_skipped = skipped.load(Ordering::Relaxed);
    report.seconds = started.elapsed().as_secs_f64();
    info!(
        set,
        version = %report.version,
        previous = report.previous.as_deref().unwrap_or("none"),
        added = report.diff.added,
        changed = report.diff.changed,
        removed = report.diff.removed,
        uploaded = report.objects_uploaded,
        uploaded_bytes = report.bytes_uploaded,
        skipped = report.objects_skipped,
        seconds = report.seconds,
        "publish finished: pointer swapped"
    );
    Ok(report)
}

/// The PMTiles of a publish's MBTiles, in a temporary folder (beside the MBTiles if it can be, else the system's)
/// removed when this drops.
struct Pmtiles {
    summary: PmtilesSummary,
    _dir: tempfile::TempDir,
}

impl Pmtiles {
    fn write(mbtiles: &Path) -> Result<Pmtiles, PublishError> {
        let beside = mbtiles.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let dir = tempfile::Builder::new()
            .prefix(".tilepress-pmtiles-")
            .tempdir_in(beside)
            .or_else(|_| tempfile::tempdir())
            .map_err(|source| StoreError::Io { location: beside.display().to_string(), source })?;
        let summary = write_pmtiles_from_mbtiles(mbtiles, &dir.path().join("archive.pmtiles"))?;
        Ok(Pmtiles { summary, _dir: dir })
    }
}
