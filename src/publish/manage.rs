//! Operating published sets: list `versions`, `rollback` (a pointer swap to an earlier version, O(1) in the
//! size of the tileset) and `verify` (every object of a version present with the right checksum).

use std::collections::HashSet;
use std::io::Cursor;
use std::sync::Mutex;

use rayon::prelude::*;
use serde::Serialize;
use tracing::info;

use super::lease::LeaseWatch;
use super::records::{Layout, Pointer, VersionRecord, utc_now};
use super::store::{HashingWriter, Store};
use super::{PublishError, check_set_name, read_pointer, swap_pointer};
use crate::manifest::{self, ManifestReader};

/// One version of a set, for `versions`.
#[derive(Debug, Clone, Serialize)]
pub struct VersionInfo {
    pub record: VersionRecord,
    pub live: bool,
}

/// Every version of a set (oldest first), marking the live one.
pub fn versions(store: &dyn Store, set: &str) -> Result<Vec<VersionInfo>, PublishError> {
    let layout = checked(set)?;
    let live = read_pointer(store, &layout)?.map(|(p, _)| p.version);
    let mut out = Vec::new();
    for key in store.list(&layout.versions_prefix())?.into_iter().map(|l| l.key) {
        if !key.ends_with("/version.json") {
            continue;
        }
        let (bytes, _) = store.get(&key)?.ok_or_else(|| PublishError::MissingObject { key: key.clone() })?;
        let record: VersionRecord = serde_json::from_slice(&bytes)
            .map_err(|e| PublishError::BrokenPointer { key: key.clone(), detail: e.to_string() })?;
        let is_live = live.as_deref() == Some(record.version.as_str());
        out.push(VersionInfo { record, live: is_live });
    }
    if out.is_empty() && live.is_none() {
        return Err(PublishError::NothingPublished { set: set.to_owned(), store: store.location() });
    }
    Ok(out)
}

/// What a rollback did.
#[derive(Debug, Clone, Serialize)]
pub struct RollbackReport {
    pub set: String,
    pub from: String,
    pub to: String,
    pub generation: u64,
    /// Tiles and tile bytes of the version now live.
    pub tiles: u64,
    pub bytes: u64,
}

/// Makes an earlier version live (default: the live version's previous one), after checking that its
/// objects are in the store: its record, manifest and archive. For the previous version that is enough for
/// its tiles too, and keeps rollback O(1): it was live, so complete, and gc removes a version's manifest
/// before any tile only it needed (and holds the lease while it does, which rollback waits for). Any other
/// version also has its tiles checked, with one listing of the tiles folder.
pub fn rollback(store: &dyn Store, set: &str, target: Option<&str>) -> Result<RollbackReport, PublishError> {
    let layout = checked(set)?;
    let mut watch = LeaseWatch::start(store, &layout)?;
    let (live, etag) = read_pointer(store, &layout)?
        .ok_or_else(|| PublishError::NothingPublished { set: set.to_owned(), store: store.location() })?;
    let target = match target {
        Some(t) => t.to_owned(),
        None => live.previous.clone().ok_or_else(|| PublishError::NoPrevious { set: set.to_owned() })?,
    };
    // The previous version was live, so complete; any other may be one that never went live (its publish died
    // waiting for a gc that removed a tile it had reused): check its tiles too.
    let check_tiles = live.previous.as_deref() != Some(target.as_str());
    let check = || -> Result<VersionRecord, PublishError> {
        let record = read_record(store, &layout, set, &target)?;
        for key in [layout.manifest(&target), layout.archive(&record.archive_sha256)] {
            if store.head(&key)?.is_none() {
                return Err(PublishError::MissingObject { key });
            }
        }
        if check_tiles && let Some(key) = first_missing_tile(store, &layout, &target)? {
            return Err(PublishError::MissingObject { key });
        }
        Ok(record)
    };
    let mut record = check()?;
    watch.settle(store, &layout, set, &mut || {
        record = check()?;
        Ok(())
    })?;
    let manifest_sha256 = record.manifest_sha256.clone();
    let pointer = Pointer {
        version: target.clone(),
        manifest_sha256,
        previous: Some(live.version.clone()),
        generation: live.generation + 1,
        swapped_at: utc_now().1,
    };
    swap_pointer(store, set, &layout, &pointer, Some(etag), "rollback")?;
    info!(set, from = %live.version, to = %target, generation = pointer.generation, "rolled back");
    Ok(RollbackReport {
        set: set.to_owned(),
        from: live.version,
        to: target,
        generation: pointer.generation,
        tiles: record.tiles,
        bytes: record.bytes,
    })
}

/// What `verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub set: String,
    pub version: String,
    pub tiles: u64,
    /// Distinct tile objects checked.
    pub objects: u64,
    /// Keys missing or whose content does not match its SHA-256 (the first 20).
    pub problems: Vec<String>,
    pub problem_count: u64,
}

/// Checks a version (default: the live one): its manifest verifies, and every tile object and the archive
/// exist with the content their SHA-256 names.
pub fn verify(store: &dyn Store, set: &str, version: Option<&str>) -> Result<VerifyReport, PublishError> {
    let layout = checked(set)?;
    let version = version_or_live(store, &layout, set, version)?;
    let record = read_record(store, &layout, set, &version)?;
    let key = layout.manifest(&version);
    let (bytes, _) = store.get(&key)?.ok_or_else(|| PublishError::MissingObject { key: key.clone() })?;
    if hex::encode(manifest::sha256(&bytes)) != record.manifest_sha256 {
        return Err(manifest::ManifestError::Corrupt {
            name: key,
            detail: "its SHA-256 differs from the version record".to_owned(),
        }
        .into());
    }
    let mut reader = ManifestReader::new(key, Cursor::new(bytes))?;
    let mut hashes = Vec::new();
    while let Some(entry) = reader.next_entry()? {
        hashes.push(entry.sha256);
    }
    let tiles = hashes.len() as u64;
    hashes.sort_unstable();
    hashes.dedup();
    let problems = Mutex::new(Vec::new());
    hashes.par_iter().try_for_each(|sha| {
        let key = layout.tile(&hex::encode(sha));
        let ok = store.get(&key)?.is_some_and(|(data, _)| manifest::sha256(&data) == *sha);
        if !ok {
            problems.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(key);
        }
        Ok::<(), PublishError>(())
    })?;
    let mut problems = problems.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    // The offline archive too.
    let archive = layout.archive(&record.archive_sha256);
    let mut hashing = HashingWriter::new(std::io::sink());
    let archive_ok =
        store.read_into(&archive, &mut hashing)? && hex::encode(hashing.finish().0) == record.archive_sha256;
    if !archive_ok {
        problems.push(archive);
    }
    problems.sort();
    let problem_count = problems.len() as u64;
    problems.truncate(20);
    Ok(VerifyReport { set: set.to_owned(), version, tiles, objects: hashes.len() as u64, problems, problem_count })
}

/// The tiles of a manifest that are not in the store, from one listing of the tiles folder (a request per 1,000
/// tiles).
pub(crate) fn missing_tiles(
    store: &dyn Store,
    layout: &Layout,
    manifest_name: String,
    manifest_bytes: &[u8],
) -> Result<HashSet<[u8; 32]>, PublishError> {
    let present: HashSet<String> = store.list(&layout.tiles_prefix())?.into_iter().map(|l| l.key).collect();
    let mut reader = ManifestReader::new(manifest_name, Cursor::new(manifest_bytes))?;
    let mut missing = HashSet::new();
    while let Some(entry) = reader.next_entry()? {
        if !present.contains(&layout.tile(&entry.hash_hex())) {
            missing.insert(entry.sha256);
        }
    }
    Ok(missing)
}

/// The first tile of a version that is not in the store.
fn first_missing_tile(store: &dyn Store, layout: &Layout, version: &str) -> Result<Option<String>, PublishError> {
    let key = layout.manifest(version);
    let (bytes, _) = store.get(&key)?.ok_or_else(|| PublishError::MissingObject { key: key.clone() })?;
    Ok(missing_tiles(store, layout, key, &bytes)?.iter().map(|sha| layout.tile(&hex::encode(sha))).min())
}

pub(crate) fn checked(set: &str) -> Result<Layout, PublishError> {
    if check_set_name(set) { Ok(Layout::new(set)) } else { Err(PublishError::UnsafeSet { set: set.to_owned() }) }
}

/// `version`, or the live version of the set when `None`.
pub(crate) fn version_or_live(
    store: &dyn Store,
    layout: &Layout,
    set: &str,
    version: Option<&str>,
) -> Result<String, PublishError> {
    match version {
        Some(v) => Ok(v.to_owned()),
        None => Ok(read_pointer(store, layout)?
            .ok_or_else(|| PublishError::NothingPublished { set: set.to_owned(), store: store.location() })?
            .0
            .version),
    }
}

pub(crate) fn read_record(
    store: &dyn Store,
    layout: &Layout,
    set: &str,
    version: &str,
) -> Result<VersionRecord, PublishError> {
    if super::store::check_key(version).is_err() || version.contains('/') {
        return Err(PublishError::UnknownVersion { set: set.to_owned(), version: version.to_owned() });
    }
    let key = layout.version_record(version);
    let (bytes, _) = store
        .get(&key)?
        .ok_or_else(|| PublishError::UnknownVersion { set: set.to_owned(), version: version.to_owned() })?;
    serde_json::from_slice(&bytes).map_err(|e| PublishError::BrokenPointer { key, detail: e.to_string() })
}
