//! `publish`: diff the new manifest against the live one, refuse a large shrink, upload the tiles the store
//! lacks (in parallel), the archive, the manifest and the version record, then swap the pointer.

use std::collections::HashSet;
use std::io::Cursor;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;
use tracing::info;

use super::lease::LeaseWatch;
use super::manage::missing_tiles;
use super::records::{DiffSummary, Layout, Pointer, VersionRecord, utc_now, version_id};
use super::store::{Condition, IMMUTABLE, PutOptions, Store, StoreError, immutable, put_immutable};
use super::{PublishError, check_set_name, read_pointer, swap_pointer};
use crate::manifest::{self, Change, ManifestReader};

/// Keys per listing request (S3's page size).
const LIST_PAGE: u64 = 1000;
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

    // What the store must gain: the content of every added or changed tile.
    let mut new = ManifestReader::new(manifest_name.clone(), Cursor::new(&manifest_bytes))?;
    let header = new.header().clone();
    let mut needed: HashSet<[u8; 32]> = HashSet::new();
    let (mut old_tiles, mut old_bytes) = (0u64, 0u64);
    let mut removed_bytes = 0u64;
    match &live {
        Some((pointer, _)) => {
            let key = layout.manifest(&pointer.version);
            let (bytes, _) = store.get(&key)?.ok_or(PublishError::MissingObject { key: key.clone() })?;
            (old_tiles, old_bytes) = ManifestReader::new(key.clone(), Cursor::new(&bytes))?.verify()?;
            let mut old = ManifestReader::new(key, Cursor::new(bytes))?;
            let d = manifest::diff(&mut old, &mut new, &mut |change| match change {
                Change::Added(n) | Change::Changed { new: n, .. } => {
                    needed.insert(n.sha256);
                }
                Change::Removed(_) => {}
            })?;
            let t = d.total();
            report.diff =
                DiffSummary { added: t.added, changed: t.changed, removed: t.removed, unchanged: t.unchanged };
            removed_bytes = t.removed_bytes;
        }
        None => {
            while let Some(entry) = new.next_entry()? {
                report.diff.added += 1;
                needed.insert(entry.sha256);
            }
        }
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
        report.objects_uploaded = needed.len() as u64;
        report.seconds = started.elapsed().as_secs_f64();
        return Ok(report);
    }

    // 1. Tiles the store lacks (noting the gc lease first: see `lease.rs`). Which are there already: one listing of the tiles folder (1,000 keys per
    // request) when that costs fewer requests than a HEAD per needed tile — always on a first publish.
    let mut watch = LeaseWatch::start(store, &layout)?;
    let listed: Option<HashSet<String>> = if needed.len() as u64 > old_tiles / LIST_PAGE + 1 {
        Some(store.list(&layout.tiles_prefix())?.into_iter().map(|l| l.key).collect())
    } else {
        None
    };
    let blobs = tile_blobs(request.mbtiles, &mut needed)?;
    let tile_options = tile_put_options(&header.format);
    let uploaded = AtomicU64::new(0);
    let uploaded_bytes = AtomicU64::new(0);
    let skipped = AtomicU64::new(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(UPLOAD_THREADS)
        .build()
        .map_err(|e| StoreError::Io { location: store.location(), source: std::io::Error::other(e) })?;
    pool.install(|| {
        blobs.par_iter().try_for_each(|(sha, data)| {
            let key = layout.tile(&hex::encode(sha));
            let present = match &listed {
                Some(listed) => listed.contains(&key),
                None => store.head(&key)?.is_some(),
            };
            if present {
                skipped.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
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
    put_once(layout.manifest(&report.version), &manifest_bytes, "application/zstd")?;
    let record = VersionRecord {
        version: report.version.clone(),
        manifest_sha256: manifest_sha.clone(),
        archive_sha256: archive_sha,
        tiles,
        bytes,
        created_at: stamp.clone(),
        sources: header.sources.clone(),
        tool: format!("tilepress {}", env!("CARGO_PKG_VERSION")),
        parent: report.previous.clone(),
        diff: report.diff,
    };
    let body = serde_json::to_vec_pretty(&record).map_err(|e| StoreError::Io {
        location: layout.version_record(&report.version),
        source: std::io::Error::other(e),
    })?;
    put_once(layout.version_record(&report.version), &body, "application/json")?;

    // 3. If a gc ran meanwhile, it may have removed an old tile this publish found and skipped: put back every
    // tile of the version that is missing now.
    watch.settle(store, &layout, set, &mut || {
        let mut missing = missing_tiles(store, &layout, manifest_name.clone(), &manifest_bytes)?;
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
        put_immutable(store, &layout.manifest(&report.version), &manifest_bytes, "application/zstd")?;
        put_immutable(store, &layout.version_record(&report.version), &body, "application/json")?;
        if !missing.is_empty() {
            info!(set, tiles = missing.len(), "put back tiles a gc removed during this publish");
        }
        Ok(())
    })?;

    // 4. The swap: the only step readers can see.
    let pointer = Pointer {
        version: report.version.clone(),
        manifest_sha256: manifest_sha,
        previous: report.previous.clone(),
        generation: live.as_ref().map_or(1, |(p, _)| p.generation + 1),
        swapped_at: stamp,
    };
    swap_pointer(store, set, &layout, &pointer, live.map(|(_, etag)| etag), "publish")?;
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

/// The guard: refuses a new live version that removes more than `max_shrink` of the live tiles or bytes.
pub(crate) fn check_shrink(
    allow_shrink: bool,
    max_shrink: f64,
    set: &str,
    removed_tiles: u64,
    old_tiles: u64,
    removed_bytes: u64,
    old_bytes: u64,
) -> Result<(), PublishError> {
    if allow_shrink || old_tiles == 0 {
        return Ok(());
    }
    let tile_share = removed_tiles as f64 / old_tiles as f64;
    let byte_share = if old_bytes == 0 { 0.0 } else { removed_bytes as f64 / old_bytes as f64 };
    if tile_share > max_shrink || byte_share > max_shrink {
        return Err(PublishError::Shrink {
            set: set.to_owned(),
            removed_tiles,
            old_tiles,
            removed_bytes,
            old_bytes,
            limit_percent: max_shrink * 100.0,
        });
    }
    Ok(())
}

pub(crate) fn tile_put_options(format: &str) -> PutOptions {
    let content_type = match format {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        _ => "application/vnd.mapbox-vector-tile",
    };
    PutOptions { content_type, content_encoding: None, cache_control: IMMUTABLE, condition: Condition::Always }
}

/// Uploads one tile (marked gzip-encoded when it is).
pub(crate) fn put_tile(store: &dyn Store, key: &str, data: &[u8], tile_options: &PutOptions) -> Result<(), StoreError> {
    let mut options = tile_options.clone();
    if data.starts_with(&[0x1f, 0x8b]) {
        options.content_encoding = Some("gzip");
    }
    store.put(key, data, &options).map(drop)
}

/// The distinct tiles of an MBTiles whose SHA-256 is in `needed` (which is emptied as they are found).
/// A tile's SHA-256 and its stored bytes.
type Blob = ([u8; 32], Vec<u8>);

fn tile_blobs(mbtiles: &Path, needed: &mut HashSet<[u8; 32]>) -> Result<Vec<Blob>, PublishError> {
    let sqlite = |source| PublishError::Sqlite { path: mbtiles.to_owned(), source };
    let conn =
        rusqlite::Connection::open_with_flags(mbtiles, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sqlite)?;
    let normalized: bool = conn
        .query_row("SELECT count(*) > 0 FROM sqlite_master WHERE name = 'images' AND type = 'table'", [], |r| r.get(0))
        .map_err(sqlite)?;
    let sql = if normalized { "SELECT tile_data FROM images" } else { "SELECT tile_data FROM tiles" };
    let mut stmt = conn.prepare(sql).map_err(sqlite)?;
    let mut rows = stmt.query([]).map_err(sqlite)?;
    let mut out = Vec::with_capacity(needed.len());
    while let Some(row) = rows.next().map_err(sqlite)? {
        let Some(data): Option<Vec<u8>> = row.get(0).map_err(sqlite)? else { continue };
        let sha = manifest::sha256(&data);
        if needed.remove(&sha) {
            out.push((sha, data));
        }
    }
    if !needed.is_empty() {
        return Err(PublishError::MbtilesMismatch { path: mbtiles.to_owned(), missing: needed.len() });
    }
    Ok(out)
}
