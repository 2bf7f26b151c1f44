//! The `file://` store: objects are files under a folder, which may be shared by several hosts (NFS, a pod
//! volume). Every write goes to a temporary file (the `tempfile` crate: random name, `O_EXCL`) in the store's
//! `.tmp/`, is fsynced, then put in place by `rename(2)` or `link(2)`, and the folder is fsynced after it.
//!
//! Conditional writes need neither locks, process ids nor clocks (see `docs/store-protocol.md`):
//! - create-only ([`Condition::IfAbsent`]) is `link(2)` of the temporary file to the key, which fails if the key
//!   exists: atomic on local filesystems and on NFS alike;
//! - compare-and-swap ([`Condition::IfMatch`] with ETag E) is a create-only *claim*: `KEY.cas/E`, a hard link to
//!   the new content. Only one writer can create the claim for E, so only one can replace E. The claim is then
//!   renamed over the key as well. A reader that finds a claim for the content it read follows it (the key file
//!   lags behind a writer that stalled or died between its claim and its rename), so every reader sees the
//!   winner, and writers put the newest content back in the key file when it lags.
//!
//! ETags are the SHA-256 of the content; an object written by compare-and-swap must never come back to an earlier
//! content (pointers carry their generation, leases a random token), which keeps claims unambiguous. Links are
//! never followed: a symbolic link anywhere under the store is refused, and listings report and skip them.

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::store::{Condition, Listed, PutOptions, Store, StoreError, check_key};

/// Suffix of the folder of compare-and-swap claims beside a key.
const CLAIMS: &str = ".cas";
/// Claims followed at most in one read (a cycle would mean an object came back to an earlier content).
const MAX_CHAIN: usize = 100_000;

pub struct FileStore {
    root: PathBuf,
}

impl FileStore {
    /// A store at `root`; nothing is created until the first write (read-only commands create nothing).
    pub fn new(root: PathBuf) -> Result<FileStore, StoreError> {
        Ok(FileStore { root })
    }

    /// The path of a key, refusing one that passes through a symbolic link.
    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        check_key(key)?;
        let mut path = self.root.clone();
        for part in key.split('/') {
            path.push(part);
            match fs::symlink_metadata(&path) {
                Ok(meta) if meta.file_type().is_symlink() => return Err(StoreError::Symlink { key: key.to_owned() }),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => break,
                Err(e) => return Err(io(&path, e)),
            }
        }
        Ok(self.root.join(key))
    }

    fn claims(path: &Path) -> PathBuf {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(CLAIMS);
        path.with_file_name(name)
    }

    /// A temporary file holding `data`, fsynced, in the store's own `.tmp/` (same filesystem as the keys).
    fn temp_with(&self, data: &[u8]) -> Result<tempfile::NamedTempFile, StoreError> {
        let dir = self.root.join(".tmp");
        fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let mut temp = tempfile::Builder::new().prefix("put-").tempfile_in(&dir).map_err(|e| io(&dir, e))?;
        temp.write_all(data).and_then(|()| temp.as_file().sync_all()).map_err(|e| io(temp.path(), e))?;
        Ok(temp)
    }

    /// The key's content as readers must see it: the key file, then every claim that replaced it.
    fn resolve(&self, path: &Path) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        let Some(mut data) = read_file(path, u64::MAX)? else { return Ok(None) };
        let claims = Self::claims(path);
        let mut tag = etag(&data);
        for _ in 0..MAX_CHAIN {
            match read_file(&claims.join(&tag), u64::MAX)? {
                Some(next) => {
                    data = next;
                    tag = etag(&data);
                }
                None => return Ok(Some((data, tag))),
            }
        }
        Err(io(path, std::io::Error::other("compare-and-swap claims form a cycle")))
    }

    /// Puts the newest content back in the key file when it lags behind its claims (a writer stalled or died
    /// between its claim and its rename, or renamed late over a newer one).
    fn repair(&self, path: &Path) -> Result<(), StoreError> {
        for _ in 0..8 {
            let on_disk = read_file(path, u64::MAX)?.map(|d| etag(&d));
            let Some((data, tag)) = self.resolve(path)? else { return Ok(()) };
            if on_disk.as_deref() == Some(tag.as_str()) {
                return Ok(());
            }
            let temp = self.temp_with(&data)?;
            temp.persist(path).map_err(|e| io(path, e.error))?;
            sync_parent(path)?;
        }
        Ok(())
    }
}

fn io(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io { location: path.display().to_string(), source }
}

fn etag(data: &[u8]) -> String {
    hex::encode(crate::manifest::sha256(data))
}

/// A file's bytes (at most `max_bytes`), `None` if absent.
fn read_file(path: &Path, max_bytes: u64) -> Result<Option<Vec<u8>>, StoreError> {
    let mut file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(path, e)),
    };
    let size = file.metadata().map_err(|e| io(path, e))?.len();
    if size > max_bytes {
        return Err(StoreError::TooLarge { key: path.display().to_string(), size, limit: max_bytes });
    }
    let mut data = Vec::with_capacity(size as usize);
    Read::by_ref(&mut file).take(max_bytes.saturating_add(1)).read_to_end(&mut data).map_err(|e| io(path, e))?;
    if data.len() as u64 > max_bytes {
        return Err(StoreError::TooLarge {
            key: path.display().to_string(),
            size: data.len() as u64,
            limit: max_bytes,
        });
    }
    Ok(Some(data))
}

/// fsync of the folder holding `path`, so that a rename or link survives a power loss.
fn sync_parent(path: &Path) -> Result<(), StoreError> {
    let Some(parent) = path.parent() else { return Ok(()) };
    fs::File::open(parent).and_then(|dir| dir.sync_all()).map_err(|e| io(parent, e))
}

/// Creates `path` as a hard link to `temp` (create-only); `false` if something is there already.
fn link_new(temp: &Path, path: &Path) -> Result<bool, StoreError> {
    match fs::hard_link(temp, path) {
        Ok(()) => {
            sync_parent(path)?;
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io(path, e)),
    }
}

impl Store for FileStore {
    fn location(&self) -> String {
        let abs = fs::canonicalize(&self.root).unwrap_or_else(|_| self.root.clone());
        format!("file://{}", abs.display())
    }

    fn get(&self, key: &str, max_bytes: u64) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        let path = self.path(key)?;
        if Self::claims(&path).is_dir() {
            let resolved = self.resolve(&path)?;
            if let Some((data, _)) = &resolved
                && data.len() as u64 > max_bytes
            {
                return Err(StoreError::TooLarge { key: key.to_owned(), size: data.len() as u64, limit: max_bytes });
            }
            return Ok(resolved);
        }
        let too_large = |e: StoreError| match e {
            StoreError::TooLarge { size, limit, .. } => StoreError::TooLarge { key: key.to_owned(), size, limit },
            e => e,
        };
        Ok(read_file(&path, max_bytes).map_err(too_large)?.map(|data| {
            let tag = etag(&data);
            (data, tag)
        }))
    }

    fn read_into(&self, key: &str, sink: &mut dyn std::io::Write) -> Result<bool, StoreError> {
        let path = self.path(key)?;
        match fs::File::open(&path) {
            Ok(mut file) => {
                std::io::copy(&mut file, sink).map_err(|e| io(&path, e))?;
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io(&path, e)),
        }
    }

    fn head(&self, key: &str) -> Result<Option<u64>, StoreError> {
        let path = self.path(key)?;
        match fs::metadata(&path) {
            Ok(meta) => Ok(Some(meta.len())),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path, e)),
        }
    }

    fn put(&self, key: &str, data: &[u8], options: &PutOptions) -> Result<String, StoreError> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        // The temporary file is removed when `temp` drops, on every path (also when a link was made: the key
        // keeps the content).
        let temp = self.temp_with(data)?;
        let new_tag = etag(data);
        match &options.condition {
            Condition::Always => {
                temp.persist(&path).map_err(|e| io(&path, e.error))?;
                sync_parent(&path)?;
            }
            Condition::IfAbsent => {
                if !link_new(temp.path(), &path)? {
                    return Err(StoreError::PreconditionFailed { key: key.to_owned() });
                }
            }
            Condition::IfMatch(expected) => {
                let current = self.resolve(&path)?.map(|(_, tag)| tag);
                if current.as_deref() != Some(expected.as_str()) {
                    return Err(StoreError::PreconditionFailed { key: key.to_owned() });
                }
                if new_tag == *expected {
                    // The same bytes again: nothing changes (as if it had happened just before any rival write).
                    return Ok(new_tag);
                }
                let claims = Self::claims(&path);
                fs::create_dir_all(&claims).map_err(|e| io(&claims, e))?;
                // The claim: whoever creates it replaced `expected`; everyone else lost. The claim keeps its own
                // file (inode): whatever later happens to the key file, it stays the record of this swap.
                if !link_new(temp.path(), &claims.join(expected))? {
                    return Err(StoreError::PreconditionFailed { key: key.to_owned() });
                }
                drop(temp);
                let copy = self.temp_with(data)?;
                copy.persist(&path).map_err(|e| io(&path, e.error))?;
                sync_parent(&path)?;
                self.repair(&path)?;
            }
        }
        Ok(new_tag)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path(key)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&path, e)),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<Listed>, StoreError> {
        self.walk(self.path(prefix.trim_end_matches('/'))?, "")
    }

    fn list_part(&self, folder: &str, start: &str) -> Result<Vec<Listed>, StoreError> {
        if !start.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(StoreError::UnsafeKey { key: format!("{folder}{start}") });
        }
        self.walk(self.path(folder.trim_end_matches('/'))?, start)
    }

    fn sweep_temp(&self, older_than: Duration) -> Result<u64, StoreError> {
        let dir = self.root.join(".tmp");
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(io(&dir, e)),
        };
        let mut removed = 0;
        for entry in entries {
            let entry = entry.map_err(|e| io(&dir, e))?;
            // A writer's temp file may be renamed into place (or dropped) between the listing and this look:
            // gone is not an error.
            let meta = match entry.metadata() {
                Ok(meta) => meta,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(io(&entry.path(), e)),
            };
            let age = meta.modified().ok().and_then(|t| t.elapsed().ok()).unwrap_or_default();
            // Files only, and links themselves (never what they point at); not anything younger than the grace.
            if !meta.is_dir() && age >= older_than {
                match fs::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(io(&entry.path(), e)),
                }
            }
        }
        Ok(removed)
    }
}

impl FileStore {
    /// Every object under the folder `top`, sorted by key; in `top` itself, only the entries whose name
    /// starts with `start` (one slice of a folder: see [`Store::list_part`]).
    fn walk(&self, top: PathBuf, start: &str) -> Result<Vec<Listed>, StoreError> {
        let mut out = Vec::new();
        let mut stack = vec![top.clone()];
        while let Some(dir) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == ErrorKind::NotFound || e.kind() == ErrorKind::NotADirectory => continue,
                Err(e) => return Err(io(&dir, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| io(&dir, e))?;
                if dir == top && !entry.file_name().to_string_lossy().starts_with(start) {
                    continue;
                }
                let path = entry.path();
                let Ok(rel) = path.strip_prefix(&self.root) else { continue };
                let key = rel.to_string_lossy().replace('\\', "/");
                // The entry itself, never what a link points at.
                let meta = entry.metadata().map_err(|e| io(&path, e))?;
                if meta.file_type().is_symlink() {
                    tracing::warn!(key, "a symbolic link in the store: skipped (never followed)");
                } else if meta.is_dir() {
                    if !key.ends_with(CLAIMS) {
                        stack.push(path);
                    }
                } else if meta.is_file() && !key.ends_with(".lock") {
                    let age = meta.modified().ok().and_then(|t| t.elapsed().ok()).unwrap_or_default();
                    out.push(Listed { key, age, size: meta.len() });
                }
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
