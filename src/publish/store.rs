//! The object store behind publishing: a small trait (get, head, conditional put, list, delete) so that no
//! backend type leaks into the publish logic, and [`open`] to pick a backend from a `--to` URL.
//!
//! A conditional put is the store's compare-and-swap: [`Condition::IfAbsent`] creates only if no object is
//! there, [`Condition::IfMatch`] replaces only if the object still has the ETag read before. A lost race is
//! [`StoreError::PreconditionFailed`], never a silent overwrite.

use std::path::PathBuf;

/// When a put may happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Always (immutable, content-addressed objects: writing the same bytes twice is harmless).
    Always,
    /// Only if there is no object at the key.
    IfAbsent,
    /// Only if the object at the key still has this ETag.
    IfMatch(String),
}

/// HTTP-style metadata sent with an object (kept by S3; the file store ignores it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutOptions {
    pub content_type: &'static str,
    pub content_encoding: Option<&'static str>,
    pub cache_control: &'static str,
    pub condition: Condition,
}

/// Largest pointer, history record, lease or version record read from a store.
pub const MAX_SMALL_OBJECT: u64 = 1 << 20;
/// Largest manifest read from a store (a million tiles take about 40 MB).
pub const MAX_MANIFEST: u64 = 1 << 30;
/// Largest tile read from a store.
pub const MAX_TILE: u64 = 64 << 20;

/// Cache-Control of objects that never change.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache-Control of the pointer.
pub const SHORT_LIVED: &str = "public, max-age=30";
/// The content type of a PMTiles archive.
pub const PMTILES_TYPE: &str = "application/vnd.pmtiles";

/// Options of an immutable, create-only object (archive, manifest, record).
pub fn immutable(content_type: &'static str) -> PutOptions {
    PutOptions { content_type, content_encoding: None, cache_control: IMMUTABLE, condition: Condition::IfAbsent }
}

/// Writes an immutable object unless the store has it; `false` if it was already there. A create that loses
/// to a concurrent identical one counts as written (the key names the content, so it is the same object).
pub fn put_immutable(
    store: &dyn Store,
    key: &str,
    data: &[u8],
    content_type: &'static str,
) -> Result<bool, StoreError> {
    if store.head(key)?.is_some() {
        return Ok(false);
    }
    match store.put(key, data, &immutable(content_type)) {
        Ok(_) | Err(StoreError::PreconditionFailed { .. }) => Ok(true),
        Err(e) => Err(e),
    }
}

/// The error of a store; every variant names the store location or key.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{key}: the object changed or appeared since it was read (another publisher?)")]
    PreconditionFailed { key: String },
    #[error("{location}: {source}")]
    Io {
        location: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{key}: {size} bytes, over the {limit} bytes such an object may have (refused unread)")]
    TooLarge { key: String, size: u64, limit: u64 },
    #[error("{key}: a symbolic link in the store (refused: the store never follows links out of itself)")]
    Symlink { key: String },
    #[error("`{key}` is not a safe object key")]
    UnsafeKey { key: String },
    #[error("`{url}`: unsupported store (expected file://DIR or s3://BUCKET/PREFIX)")]
    UnsupportedUrl { url: String },
}

/// An object store holding published tilesets.
pub trait Store: Send + Sync {
    /// Where it is, for messages (`file:///abs/dir`).
    fn location(&self) -> String;
    /// The object and its ETag, or `None` if absent; an object larger than `max_bytes` is refused
    /// ([`StoreError::TooLarge`]) before it is read, so that nothing read from a store can exhaust memory.
    fn get(&self, key: &str, max_bytes: u64) -> Result<Option<(Vec<u8>, String)>, StoreError>;
    /// The object's size, or `None` if absent.
    fn head(&self, key: &str) -> Result<Option<u64>, StoreError>;
    /// Stores an object under `options.condition`; returns its new ETag.
    fn put(&self, key: &str, data: &[u8], options: &PutOptions) -> Result<String, StoreError>;
    /// Every object under a prefix (ending in `/`), sorted by key.
    fn list(&self, prefix: &str) -> Result<Vec<Listed>, StoreError>;
    /// One slice of a folder: the objects under `folder` (ending in `/`) whose key goes on with `start` (for
    /// example the tiles whose hash begins with `0`), sorted by key. Slices of a big folder can then be listed
    /// side by side, with no more requests than one listing. The default lists the folder and filters; the S3
    /// and file stores list only the slice.
    fn list_part(&self, folder: &str, start: &str) -> Result<Vec<Listed>, StoreError> {
        let from = format!("{}/{start}", folder.trim_end_matches('/'));
        Ok(self.list(folder)?.into_iter().filter(|l| l.key.starts_with(&from)).collect())
    }
    /// Removes an object (absent is fine).
    fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Removes many objects (absent ones are fine); S3 sends them in batches of 1,000 per request.
    fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        keys.iter().try_for_each(|key| self.delete(key))
    }
    /// Streams an object into `sink` (an archive: possibly larger than memory); `false` if absent. The default
    /// reads it whole with [`Store::get`]; the S3 and file stores stream it.
    fn read_into(&self, key: &str, sink: &mut dyn std::io::Write) -> Result<bool, StoreError> {
        let Some((data, _)) = self.get(key, u64::MAX)? else { return Ok(false) };
        sink.write_all(&data).map_err(|source| StoreError::Io { location: key.to_owned(), source })?;
        Ok(true)
    }
    /// Removes the store's own temporary files older than `older_than` (left by writers that died); how many.
    /// Only stores that keep such files (`file://`) have any.
    fn sweep_temp(&self, older_than: std::time::Duration) -> Result<u64, StoreError> {
        let _ = older_than;
        Ok(0)
    }
    /// Requests retried so far (transient errors, throttling, conflicts); for metrics.
    fn retries(&self) -> u64 {
        0
    }
    /// Stores a file's content (an archive: possibly large). The default reads it whole and calls [`Store::put`];
    /// the S3 store streams it in a multipart upload.
    fn put_file(&self, key: &str, path: &std::path::Path, options: &PutOptions) -> Result<String, StoreError> {
        let data =
            std::fs::read(path).map_err(|source| StoreError::Io { location: path.display().to_string(), source })?;
        self.put(key, &data, options)
    }
}

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    /// Time since it was last written.
    pub age: std::time::Duration,
    /// Its size in bytes.
    pub size: u64,
}

/// Opens the store a `--to` URL names: `file://DIR` (relative or absolute; created if missing) or
/// `s3://BUCKET/PREFIX` (standard AWS configuration; see the `s3` module).
pub fn open(url: &str) -> Result<Box<dyn Store>, StoreError> {
    open_with_endpoint(url, None)
}

/// [`open`], with an S3 endpoint that overrides the AWS configuration's (for S3-compatible servers).
pub fn open_with_endpoint(url: &str, endpoint: Option<&str>) -> Result<Box<dyn Store>, StoreError> {
    if url.starts_with("s3://") {
        return Ok(Box::new(super::s3::S3Store::new(url, endpoint)?));
    }
    if let Some(dir) = url.strip_prefix("file://") {
        if dir.is_empty() {
            return Err(StoreError::UnsupportedUrl { url: url.to_owned() });
        }
        return Ok(Box::new(super::file::FileStore::new(PathBuf::from(dir))?));
    }
    Err(StoreError::UnsupportedUrl { url: url.to_owned() })
}

/// Checks an object key: relative, `/`-separated, made of letters, digits, `.`, `_`, `-`, no `..` part.
pub fn check_key(key: &str) -> Result<(), StoreError> {
    let ok = !key.is_empty()
        && !key.starts_with('/')
        && key.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'));
    if ok { Ok(()) } else { Err(StoreError::UnsafeKey { key: key.to_owned() }) }
}

/// A writer that hashes what goes through it (SHA-256) and passes it on, counting bytes.
pub struct HashingWriter<W> {
    inner: W,
    hasher: sha2::Sha256,
    bytes: u64,
}

impl<W: std::io::Write> HashingWriter<W> {
    pub fn new(inner: W) -> HashingWriter<W> {
        use sha2::Digest;
        HashingWriter { inner, hasher: sha2::Sha256::new(), bytes: 0 }
    }

    /// The SHA-256 and size of everything written, and the inner writer.
    pub fn finish(self) -> ([u8; 32], u64, W) {
        use sha2::Digest;
        (self.hasher.finalize().into(), self.bytes, self.inner)
    }
}

impl<W: std::io::Write> std::io::Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_be_safe() {
        for good in ["current.json", "tiles/ab/abcdef", "versions/20261122T031500Z-3f9a1c2b7d4e/manifest.zst"] {
            assert!(check_key(good).is_ok(), "{good}");
        }
        for bad in ["", "/etc/passwd", "a/../b", "a//b", "a/./b", "sp ace", "x\\y", "../x"] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_urls_are_refused() {
        assert!(matches!(open("ftp://bucket/x"), Err(StoreError::UnsupportedUrl { .. })));
        assert!(matches!(open("s3:///x"), Err(StoreError::UnsupportedUrl { .. })));
        assert!(matches!(open("s3://bucket/../x"), Err(StoreError::UnsafeKey { .. })));
        assert!(matches!(open("file://"), Err(StoreError::UnsupportedUrl { .. })));
    }
}
