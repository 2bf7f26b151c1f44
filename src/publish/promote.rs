//! `promote`: put the very version that is live (or named) in one store live in another — staging to
//! production — without rebuilding. Copies only the objects the target lacks (each checked against its
//! SHA-256 on the way), writes the version's manifest and record, verifies the whole version in the target,
//! and only then swaps the target's pointer (compare-and-swap, with the shrink guard against its live version).

use std::collections::HashSet;
use std::io::Cursor;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;
use tracing::info;

use super::error::PublishError;
use super::guard::check_shrink;
use super::lease::LeaseWatch;
use super::objects::{checked, read_live, read_manifest, read_record, version_or_live};
use super::pointer::{Target, read_pointer, swap};
use super::records::DiffSummary;
use super::store::{
    HashingWriter, MAX_SMALL_OBJECT, MAX_TILE, PMTILES_TYPE, PutOptions, Store, StoreError, immutable, put_immutable,
};
use super::tiles::{put_tile, tile_put_options};
use super::verify::verify;
use crate::manifest::{self, Change, ManifestReader};

/// Copies in flight at once.
const COPY_THREADS: usize = 8;

/// What to promote.
#[derive(Debug, Clone)]
pub struct PromoteRequest<'a> {
    /// `NAME` or `NAME.REGION`.
    pub set: &'a str,
    /// The version to promote [default: the source's live one].
    pub version: Option<&'a str>,
    /// Report what would be copied; copy nothing, swap nothing.
    pub dry_run: bool,
    pub allow_shrink: bool,
    /// Share of the target's live tiles or bytes the promoted version may remove without `allow_shrink`.
    pub max_shrink: f64,
}

/// What a promote did.
#[derive(Debug, Clone, Serialize)]
pub struct PromoteReport {
    pub set: String,
    pub from: String,
    pub to: String,
    /// `promoted`, `unchanged` (already live in the target) or `dry-run`.
    pub outcome: String,
    pub version: String,
    /// The target's live version before.
    pub previous: Option<String>,
    /// The promoted version against the target's live one.
    pub diff: DiffSummary,
    pub tiles: u64,
    pub bytes: u64,
    pub objects_copied: u64,
    pub bytes_copied: u64,
    /// Objects the target already had.
    pub objects_skipped: u64,
    pub seconds: f64,
}

/// Promotes a version from `source` to `target` (see the module docs).
pub fn promote(
    source: &dyn Store,
    target: &dyn Store,
    request: &PromoteRequest<'_>,
) -> Result<PromoteReport, PublishError> {
    let started = Instant::now();
    let set = request.set;
    let layout = checked(set)?;
    let version = version_or_live(source, &layout, set, request.version)?;
    let record = read_record(source, &layout, set, &version)?;
    let manifest_key = layout.manifest(&version);
    let manifest_bytes = read_manifest(source, &layout, &version, &record.manifest_sha256)?;
    let live = read_pointer(target, &layout)?;
    let mut report = PromoteReport {
        set: set.to_owned(),
        from: source.location(),
        to: target.location(),
        outcome: String::new(),
        version: version.clone(),
        previous: live.as_ref().map(|(p, _)| p.version.clone()),
        diff: DiffSummary::default(),
        tiles: record.tiles,
        bytes: record.bytes,
        objects_copied: 0,
        bytes_copied: 0,
        objects_skipped: 0,
        seconds: 0.0,
    };
    if report.previous.as_deref() == Some(version.as_str()) {
        report.outcome = "unchanged".to_owned();
        report.seconds = started.elapsed().as_secs_f64();
        return Ok(report);
    }

    // The distinct tiles of the version, and how it differs from the target's live version.
    let new = || ManifestReader::new(manifest_key.clone(), Cursor::new(&manifest_bytes));
    let header = new()?.header().clone();
    let mut needed: HashSet<[u8; 32]> = HashSet::new();
    let mut reader = new()?;
    while let Some(entry) = reader.next_entry()? {
        needed.insert(entry.sha256);
    }
    match &live {
        Some((pointer, _)) => {
            let key = layout.manifest(&pointer.version);
            let (_, bytes) = read_live(target, &layout, set, pointer)?;
            let (old_tiles, old_bytes) = ManifestReader::new(key.clone(), Cursor::new(&bytes))?.verify()?;
            let mut old = ManifestReader::new(key, Cursor::new(bytes))?;
            let d = manifest::diff(&mut old, &mut new()?, &mut |_: Change| {})?;
            let t = d.total();
            report.diff =
                DiffSummary { added: t.added, changed: t.changed, removed: t.removed, unchanged: t.unchanged };
            check_shrink(
                request.allow_shrink,
                request.max_shrink,
                set,
                t.removed,
                old_tiles,
                t.removed_bytes,
                old_bytes,
            )?;
        }
        None => report.diff.added = record.tiles,
    }
    if request.dry_run {
        report.outcome = "dry-run".to_owned();
        report.objects_copied = needed.len() as u64;
        report.seconds = started.elapsed().as_secs_f64();
        return Ok(report);
    }

    // 1. Tiles the target lacks, each checked against its name on the way; 2. the archive, the manifest and
    // the version record, byte for byte (create-only). Run again (counting no skips) if a gc ran on the target
    // meanwhile, since it may have removed an old tile found and skipped here (see `lease.rs`).
    let copied = AtomicU64::new(0);
    let copied_bytes = AtomicU64::new(0);
    let skipped = AtomicU64::new(0);
    let tile_options = tile_put_options(&header.format);
    let hashes: Vec<[u8; 32]> = needed.into_iter().collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(COPY_THREADS)
        .build()
        .map_err(|e| StoreError::Io { location: target.location(), source: std::io::Error::other(e) })?;
    let archive_key = layout.archive(&record.archive_sha256);
    let record_key = layout.version_record(&version);
    let (record_bytes, _) = source
        .get(&record_key, MAX_SMALL_OBJECT)?
        .ok_or_else(|| PublishError::MissingObject { key: record_key.clone() })?;
    let copy_missing = |count_skips: bool| -> Result<(), PublishError> {
        let skip = || {
            if count_skips {
                skipped.fetch_add(1, Ordering::Relaxed);
            }
        };
        pool.install(|| {
            hashes.par_iter().try_for_each(|sha| {
                let key = layout.tile(&hex::encode(sha));
                if target.head(&key)?.is_some() {
                    skip();
                    return Ok(());
                }
                let (data, _) =
                    source.get(&key, MAX_TILE)?.ok_or_else(|| PublishError::MissingObject { key: key.clone() })?;
                if manifest::sha256(&data) != *sha {
                    return Err(PublishError::DamagedObject { key: format!("{}/{key}", source.location()) });
                }
                put_tile(target, &key, &data, &tile_options)?;
                copied.fetch_add(1, Ordering::Relaxed);
                copied_bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
                Ok(())
            })
        })?;
        if target.head(&archive_key)?.is_some() {
            skip();
        } else {
            let size = copy_archive(
                source,
                target,
                &archive_key,
                &record.archive_sha256,
                &immutable("application/vnd.sqlite3"),
            )?;
            copied.fetch_add(1, Ordering::Relaxed);
            copied_bytes.fetch_add(size, Ordering::Relaxed);
        }
        if let Some((key, sha)) = record.pmtiles(&layout) {
            if target.head(&key)?.is_some() {
                skip();
            } else {
                let size = copy_archive(source, target, &key, sha, &immutable(PMTILES_TYPE))?;
                copied.fetch_add(1, Ordering::Relaxed);
                copied_bytes.fetch_add(size, Ordering::Relaxed);
            }
        }
        // The deltas to this version (whose bases may or may not be in the target: a device that holds a base
        // from either store can use them).
        for delta in &record.deltas {
            let key = layout.delta(&delta.base_version, &delta.sha256);
            if target.head(&key)?.is_some() {
                skip();
                continue;
            }
            let size = copy_archive(source, target, &key, &delta.sha256, &immutable("application/octet-stream"))?;
            copied.fetch_add(1, Ordering::Relaxed);
            copied_bytes.fetch_add(size, Ordering::Relaxed);
        }
        for (key, data, content_type) in
            [(&manifest_key, &manifest_bytes, "application/zstd"), (&record_key, &record_bytes, "application/json")]
        {
            if !put_immutable(target, key, data, content_type)? {
                skip();
                continue;
            }
            copied.fetch_add(1, Ordering::Relaxed);
            copied_bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
        }
        Ok(())
    };
    // 3. What was checked is what goes live: the whole version, read back from the target. Then, just before
    // the swap, wait for a gc of the target; if one ran meanwhile, copy again what it removed and check again.
    let check_target = || -> Result<(), PublishError> {
        let check = verify(target, set, Some(&version))?;
        if check.problem_count > 0 {
            return Err(PublishError::Unverified {
                set: set.to_owned(),
                version: version.clone(),
                problems: check.problem_count,
                first: check.problems.first().cloned().unwrap_or_default(),
            });
        }
        Ok(())
    };
    let mut watch = LeaseWatch::start(target, &layout)?;
    copy_missing(true)?;
    check_target()?;

    // 4. The swap (after waiting for a gc of the target; if one ran meanwhile, copy again what it removed and
    // check again).
    let target_ref = Target { version: &version, manifest_sha256: &record.manifest_sha256, action: "promote" };
    swap(target, &layout, set, live, &target_ref, &mut watch, &mut || {
        copy_missing(false)?;
        check_target()
    })?;
    report.outcome = "promoted".to_owned();
    report.objects_copied = copied.load(Ordering::Relaxed);
    report.bytes_copied = copied_bytes.load(Ordering::Relaxed);
    report.objects_skipped = skipped.load(Ordering::Relaxed);
    report.seconds = started.elapsed().as_secs_f64();
    info!(set, version = %version, from = %report.from, to = %report.to, copied = report.objects_copied, "promoted");
    Ok(report)
}

/// Copies an archive from `source` to `target`, streamed through a temporary file (an archive may be larger
/// than memory) and hashed on the way; a large one goes up as a multipart upload. Returns its size.
fn copy_archive(
    source: &dyn Store,
    target: &dyn Store,
    key: &str,
    sha256_hex: &str,
    options: &PutOptions,
) -> Result<u64, PublishError> {
    // A random name opened with O_EXCL (the `tempfile` crate), removed on every path when it drops.
    let temp = tempfile::Builder::new()
        .prefix("tilepress-promote-")
        .suffix(".mbtiles")
        .tempfile()
        .map_err(|source| StoreError::Io { location: std::env::temp_dir().display().to_string(), source })?;
    let local = |source| StoreError::Io { location: temp.path().display().to_string(), source };
    let file = temp.reopen().map_err(local)?;
    let mut hashing = HashingWriter::new(std::io::BufWriter::new(file));
    if !source.read_into(key, &mut hashing)? {
        return Err(PublishError::MissingObject { key: key.to_owned() });
    }
    let (sha, size, mut writer) = hashing.finish();
    std::io::Write::flush(&mut writer).map_err(local)?;
    drop(writer);
    if hex::encode(sha) != sha256_hex {
        return Err(PublishError::DamagedObject { key: format!("{}/{key}", source.location()) });
    }
    target.put_file(key, temp.path(), options)?;
    Ok(size)
}
