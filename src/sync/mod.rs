//! The sync stage's transfer layer: a published set's objects brought to a field device over slow links that
//! drop. A [`Source`] (`https://` CDN or web server in front of a store, `file://` folder, `s3://` store) hands
//! small JSON whole ([`Source::get_small`]) and downloads large objects into `DEST.part` with a sidecar
//! (`part.rs`), resuming with `Range`/`If-Range` after drops and process restarts, retrying with backoff,
//! throttled by [`rate`], and checked against their SHA-256 and size before they are renamed into place
//! (`download.rs`).
//!
//! On top of it, one sync run (`run.rs`): the pointer and version record, the device's file identified by its
//! manifest (`local.rs`), a delta or the whole archive fetched, the new file built and verified in a work
//! folder beside the old one (`workdir.rs`), then renamed over it.

mod download;
mod local;
mod part;
pub mod rate;
mod run;
mod source;
mod workdir;

pub use download::{ByteProgress, DownloadOptions, DownloadReport, Expected};
pub use local::LocalFormat;
pub use rate::parse_rate;
pub use run::{SyncReport, SyncRequest, sync};
pub use source::Source;

use std::path::PathBuf;

use crate::archive::ArchiveError;
use crate::delta::DeltaError;
use crate::manifest::ManifestError;
use crate::publish::StoreError;

/// An error of the sync transfer; every variant names the URL, key or path at fault.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Retries exhausted: connection refused, DNS failure, reset, timeout or 5xx answers.
    #[error("{url}: {detail} (gave up after {attempts} attempts)")]
    Network { url: String, detail: String, attempts: u32 },
    /// No object at the URL (404 or 410, a missing file).
    #[error("{url}: not found")]
    NotFound { url: String },
    /// An HTTP status that retrying cannot fix.
    #[error("{url}: HTTP status {status}")]
    Http { url: String, status: u16 },
    /// The object is not what was expected (its SHA-256 or size); the partial download was deleted.
    #[error("{url}: expected {expected}, found {found} (partial download deleted)")]
    Verify { url: String, expected: String, found: String },
    /// A local file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A small object larger than it may be (refused unread where the size is announced).
    #[error("{url}: larger than {max} bytes (refused)")]
    TooLarge { url: String, max: u64 },
    /// The object kept changing under the download, which could not restart cleanly.
    #[error("{url}: the object changed during the download and restarting did not help")]
    Changed { url: String },
    /// A source URL that cannot be used.
    #[error("`{url}`: {detail}")]
    BadUrl { url: String, detail: String },
    /// An error of the store behind an `s3://` (or `file://`) source.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A set name that cannot be published.
    #[error("`{set}` is not a set name (NAME or NAME.REGION: letters, digits, '-' and '_')")]
    BadSet { set: String },
    /// The device's file must be `.mbtiles` or `.pmtiles`.
    #[error("{}: the file must end in .mbtiles or .pmtiles", path.display())]
    BadOutput { path: PathBuf },
    /// The source has no pointer for the set.
    #[error("{at}: set {set} is not published there (no current.json)")]
    NotPublished { set: String, at: String },
    /// A pointer or version record that cannot be used.
    #[error("{url}: unusable record: {detail}")]
    BadRecord { url: String, detail: String },
    /// Another sync of the same file is running.
    #[error("{}: another tilepress sync of this file is running", path.display())]
    Busy { path: PathBuf },
    /// The new file's tiles are not the live version's: not installed.
    #[error(
        "{}: the new file's manifest is {found}, not version {version}'s {expected}: not installed", file.display()
    )]
    WrongResult { file: PathBuf, version: String, expected: String, found: String },
    #[error(transparent)]
    Delta(#[from] DeltaError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

impl SyncError {
    /// The reason of `tilepress_sync_failures_total`: network, verify, apply or refused.
    pub fn reason(&self) -> &'static str {
        match self {
            SyncError::Network { .. } | SyncError::Changed { .. } => "network",
            SyncError::Verify { .. } | SyncError::WrongResult { .. } => "verify",
            SyncError::Io { .. } | SyncError::Delta(_) | SyncError::Archive(_) | SyncError::Manifest(_) => "apply",
            SyncError::Store(StoreError::Io { .. }) => "network",
            _ => "refused",
        }
    }

    /// The exit code (README, "Exit codes"): 10 no network (rerun to resume), 8 a download or the result did
    /// not verify, 7 refused (not published, a bad record, busy), 5 the local file could not be written or read,
    /// 3 bad arguments.
    pub fn exit_code(&self) -> u8 {
        match self {
            SyncError::BadSet { .. } | SyncError::BadOutput { .. } | SyncError::BadUrl { .. } => 3,
            _ => match self.reason() {
                "network" => 10,
                "verify" => 8,
                "apply" => 5,
                _ => 7,
            },
        }
    }
}

/// An [`SyncError::Io`] for `path`.
pub(crate) fn io_error(path: &std::path::Path, source: std::io::Error) -> SyncError {
    SyncError::Io { path: path.to_owned(), source }
}
