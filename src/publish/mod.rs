//! A built tileset (MBTiles + manifest) → a new immutable version in a store, made live by one atomic pointer
//! swap; and the operations around it: rollback, versions, verify, promote (one store to another), gc.
//!
//! Layout and protocol are DESIGN.md's: content-addressed tiles (`tiles/ab/<sha256>`), the archive, each
//! version's manifest and record (create-only), `current.json` swapped by compare-and-swap, and one history
//! record per swap. Everything before the swap only adds objects, so a crash leaves the old version live and a
//! rerun uploads only what is missing.

mod drill;
mod file;
mod gc;
mod lease;
mod manage;
mod promote;
mod records;
mod s3;
mod store;
mod upload;

use std::path::PathBuf;

pub use drill::{Aftermath, DrillCause, DrillError, DrillReport, DrillStep, DrillTiming, drill};
pub use gc::{GcReport, GcRequest, gc, parse_grace};
pub use manage::{RollbackReport, VerifyReport, VersionInfo, rollback, verify, versions};
pub use promote::{PromoteReport, PromoteRequest, promote};
pub use records::{DiffSummary, HistoryRecord, Layout, Pointer, VersionRecord, check_set_name};
pub use store::{Condition, Listed, PutOptions, Store, StoreError, open, open_with_endpoint};
pub use upload::{PublishReport, PublishRequest, publish};

use crate::manifest::ManifestError;

pub use crate::config::DEFAULT_MAX_SHRINK;

/// The error of the publish stage; every variant names the set, key or file at fault.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("`{set}` is not a safe set name (letters, digits, `-`, `_`, and `.` between them)")]
    UnsafeSet { set: String },
    #[error("{store}: nothing is published as `{set}`")]
    NothingPublished { set: String, store: String },
    #[error("{key}: unreadable pointer: {detail}")]
    BrokenPointer { key: String, detail: String },
    #[error(
        "{key}: unreadable gc lease: {detail} (if no gc of the set is running, delete it; the next gc writes a new one)"
    )]
    BrokenLease { key: String, detail: String },
    #[error("{key}: missing from the store")]
    MissingObject { key: String },
    #[error("{key}: its content does not match its SHA-256 (damaged in the source store)")]
    DamagedObject { key: String },
    #[error(
        "{set} {version}: {problems} objects missing or damaged in the target after copying (first: {first}); pointer not swapped"
    )]
    Unverified { set: String, version: String, problems: u64, first: String },
    #[error("{set}: no version `{version}` in the store")]
    UnknownVersion { set: String, version: String },
    #[error("{set}: the live version has no previous version to roll back to")]
    NoPrevious { set: String },
    #[error(
        "{set}: another publisher swapped the pointer first (live version is now {winner}); nothing was overwritten"
    )]
    LostRace { set: String, winner: String },
    #[error(
        "{set}: refusing to publish: it removes {removed_tiles} of {old_tiles} live tiles ({removed_bytes} of {old_bytes} bytes), over the {limit_percent}% limit; pass --allow-shrink if that is intended"
    )]
    Shrink { set: String, removed_tiles: u64, old_tiles: u64, removed_bytes: u64, old_bytes: u64, limit_percent: f64 },
    #[error("{set}: a gc is running on this set ({holder}); run gc again when it is done")]
    GcRunning { set: String, holder: String },
    #[error(
        "{set}: a gc ({holder}) has held the set for over {minutes} minutes; gave up waiting, nothing was swapped: run again when it is done"
    )]
    GcTooLong { set: String, holder: String, minutes: u64 },
    #[error("{set}: gc lost its lease ({why}); it stopped deleting, the next gc finishes the work")]
    GcLeaseLost { set: String, why: String },
    #[error("{path}: the MBTiles lacks {missing} tiles of its manifest (were they built together?)")]
    MbtilesMismatch { path: PathBuf, missing: usize },
    #[error("{path}: SQLite: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

/// Reads and parses a set's pointer with its ETag, or `None` before the first publish.
pub(crate) fn read_pointer(store: &dyn Store, layout: &Layout) -> Result<Option<(Pointer, String)>, PublishError> {
    let key = layout.pointer();
    let Some((bytes, etag)) = store.get(&key)? else { return Ok(None) };
    let pointer: Pointer = serde_json::from_slice(&bytes)
        .map_err(|e| PublishError::BrokenPointer { key: key.clone(), detail: e.to_string() })?;
    Ok(Some((pointer, etag)))
}

/// Swaps the pointer (compare-and-swap against `etag`, or create-only) and writes the history record.
pub(crate) fn swap_pointer(
    store: &dyn Store,
    set: &str,
    layout: &Layout,
    pointer: &Pointer,
    etag: Option<String>,
    action: &str,
) -> Result<(), PublishError> {
    let condition = etag.map_or(Condition::IfAbsent, Condition::IfMatch);
    let options = PutOptions {
        content_type: "application/json",
        content_encoding: None,
        cache_control: store::SHORT_LIVED,
        condition,
    };
    let body = serde_json::to_vec_pretty(pointer)
        .map_err(|e| StoreError::Io { location: layout.pointer(), source: std::io::Error::other(e) })?;
    match store.put(&layout.pointer(), &body, &options) {
        Ok(_) => {}
        Err(StoreError::PreconditionFailed { .. }) => {
            let winner = read_pointer(store, layout)?.map_or_else(|| "none".to_owned(), |(p, _)| p.version);
            return Err(PublishError::LostRace { set: set.to_owned(), winner });
        }
        Err(e) => return Err(e.into()),
    }
    let record = HistoryRecord {
        generation: pointer.generation,
        action: action.to_owned(),
        version: pointer.version.clone(),
        previous: pointer.previous.clone(),
        swapped_at: pointer.swapped_at.clone(),
    };
    let body = serde_json::to_vec_pretty(&record).map_err(|e| StoreError::Io {
        location: layout.history(pointer.generation),
        source: std::io::Error::other(e),
    })?;
    let options = PutOptions {
        content_type: "application/json",
        content_encoding: None,
        cache_control: store::IMMUTABLE,
        condition: Condition::IfAbsent,
    };
    if let Err(err) = store.put(&layout.history(pointer.generation), &body, &options) {
        // The swap happened; a missing history record is worth a warning, not a failed publish.
        tracing::warn!(set, generation = pointer.generation, error = %err, "could not write the history record");
    }
    Ok(())
}
