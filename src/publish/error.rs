//! The error of the publish stage: one enum for every verb, each variant naming the set, key or file at fault.

use std::path::PathBuf;

use super::store::StoreError;
use crate::archive::ArchiveError;
use crate::manifest::ManifestError;

/// The error of the publish stage; every variant names the set, key or file at fault.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Delta(#[from] crate::delta::DeltaError),
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
    #[error("{key}: refused: {detail}; nothing was deleted or swapped (run `tilepress verify` and see the runbook)")]
    Untrusted { key: String, detail: String },
    #[error("{set}: {version} is already the live version; nothing to roll back to")]
    AlreadyLive { set: String, version: String },
    #[error(
        "{set}: the live version is {live}, not {expected} (--expect-live): the set changed since you looked; \
         nothing was swapped (see `tilepress versions`)"
    )]
    LiveChanged { set: String, expected: String, live: String },
    #[error("{set}: {what} would overflow")]
    Overflow { set: String, what: String },
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
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}
