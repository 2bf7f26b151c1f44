//! `verify`: every object of a version present with the content its SHA-256 names: the manifest (against the
//! record), every distinct tile, and the offline archive.

use std::io::Cursor;
use std::sync::Mutex;

use rayon::prelude::*;
use serde::Serialize;

use super::error::PublishError;
use super::objects::{checked, read_manifest, read_record, version_or_live};
use super::store::{HashingWriter, MAX_TILE, Store, StoreError};
use crate::manifest::{self, ManifestReader};

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
    let bytes = read_manifest(store, &layout, &version, &record.manifest_sha256)?;
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
        let ok = match store.get(&key, MAX_TILE) {
            Ok(found) => found.is_some_and(|(data, _)| manifest::sha256(&data) == *sha),
            // A tile grown past any tile's size is damaged too.
            Err(StoreError::TooLarge { .. }) => false,
            Err(e) => return Err(e.into()),
        };
        if !ok {
            problems.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(key);
        }
        Ok::<(), PublishError>(())
    })?;
    let mut problems = problems.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    // The offline archive and the deltas to this version too.
    let downloads = std::iter::once((layout.archive(&record.archive_sha256), record.archive_sha256.as_str()))
        .chain(record.pmtiles(&layout))
        .chain(record.deltas.iter().map(|d| (layout.delta(&d.base_version, &d.sha256), d.sha256.as_str())));
    for (key, sha256) in downloads {
        let mut hashing = HashingWriter::new(std::io::sink());
        if !(store.read_into(&key, &mut hashing)? && hex::encode(hashing.finish().0) == *sha256) {
            problems.push(key);
        }
    }
    problems.sort();
    let problem_count = problems.len() as u64;
    problems.truncate(20);
    Ok(VerifyReport { set: set.to_owned(), version, tiles, objects: hashes.len() as u64, problems, problem_count })
}
