//! The sync stage's transfer layer: a published set's objects brought to a field device over slow links that
//! drop. A [`Source`] (`https://` CDN or web server in front of a store, `file://` folder, `s3://` store) hands
//! small JSON whole ([`Source::get_small`]) and downloads large objects into `DEST.part` with a sidecar
//! (`part.rs`), resuming with `Range`/`If-Range` after drops and process restarts, retrying with backoff,
//! throttled by [`rate`], and checked against their SHA-256 and size before they are renamed into place
//! (`download.rs`).

mod download;
mod part;
pub mod rate;
mod source;

pub use download::{ByteProgress, DownloadOptions, DownloadReport, Expected};
pub use rate::parse_rate;
pub use source::Source;

use std::path::PathBuf;

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
}

/// An [`SyncError::Io`] for `path`.
pub(crate) fn io_error(path: &std::path::Path, source: std::io::Error) -> SyncError {
    SyncError::Io { path: path.to_owned(), source }
}
