//! A download in progress: `DEST.part` holds the bytes so far and `DEST.part.json` (the sidecar, written before
//! the first byte) says what they are of: the source URL, the expected SHA-256 and size, and the validators the
//! server gave (ETag, Last-Modified) for `If-Range`. A part file survives a process restart; a later download
//! of the same URL and SHA-256 re-hashes it and goes on from its end.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::download::Expected;
use super::{SyncError, io_error};

/// How often the part file is fsynced while it grows.
const SYNC_EVERY: u64 = 1 << 20;

/// The sidecar `DEST.part.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sidecar {
    pub url: String,
    pub sha256: String,
    pub bytes: u64,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Sidecar {
    /// The `If-Range` value: the ETag if strong, else Last-Modified.
    pub fn validator(&self) -> Option<&str> {
        self.etag.as_deref().filter(|e| !e.starts_with("W/")).or(self.last_modified.as_deref())
    }
}

/// The part file of one download, hashed as it grows.
pub struct Part {
    path: PathBuf,
    sidecar_path: PathBuf,
    dest: PathBuf,
    file: File,
    hasher: Sha256,
    len: u64,
    unsynced: u64,
    pub sidecar: Sidecar,
}

fn with_suffix(dest: &Path, suffix: &str) -> PathBuf {
    let mut name = dest.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

impl Part {
    /// Opens the part of `dest`: the one left by an earlier run if its sidecar names the same URL, SHA-256 and
    /// size (re-hashed, to go on from its end), else a new empty one (any stale part removed).
    pub fn open(dest: &Path, url: &str, expect: &Expected) -> Result<Part, SyncError> {
        let path = with_suffix(dest, ".part");
        let sidecar_path = with_suffix(dest, ".part.json");
        let fresh = Sidecar {
            url: url.to_owned(),
            sha256: expect.sha256.clone(),
            bytes: expect.bytes,
            etag: None,
            last_modified: None,
        };
        let old: Option<Sidecar> = fs::read(&sidecar_path).ok().and_then(|b| serde_json::from_slice(&b).ok());
        if let Some(old) = old.filter(|o| o.url == fresh.url && o.sha256 == fresh.sha256 && o.bytes == fresh.bytes) {
            match OpenOptions::new().read(true).append(true).open(&path) {
                Ok(mut file) => {
                    let mut hasher = Sha256::new();
                    let len = std::io::copy(&mut (&mut file).take(expect.bytes + 1), &mut HashSink(&mut hasher))
                        .map_err(|e| io_error(&path, e))?;
                    if len <= expect.bytes {
                        return Ok(Part {
                            path,
                            sidecar_path,
                            dest: dest.to_owned(),
                            file,
                            hasher,
                            len,
                            unsynced: 0,
                            sidecar: old,
                        });
                    }
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(io_error(&path, e)),
            }
        }
        if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| io_error(&path, e))?;
        let part = Part {
            path,
            sidecar_path,
            dest: dest.to_owned(),
            file,
            hasher: Sha256::new(),
            len: 0,
            unsynced: 0,
            sidecar: fresh,
        };
        part.write_sidecar()?;
        Ok(part)
    }

    /// Bytes on disk.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Writes the sidecar (temp file, fsync, rename).
    pub fn write_sidecar(&self) -> Result<(), SyncError> {
        let temp = with_suffix(&self.sidecar_path, ".tmp");
        let text = serde_json::to_vec_pretty(&self.sidecar).map_err(|e| io_error(&temp, e.into()))?;
        let mut file = File::create(&temp).map_err(|e| io_error(&temp, e))?;
        file.write_all(&text).and_then(|()| file.sync_all()).map_err(|e| io_error(&temp, e))?;
        fs::rename(&temp, &self.sidecar_path).map_err(|e| io_error(&self.sidecar_path, e))
    }

    /// Starts over from byte 0 with new validators (the object changed, or the server sent it whole).
    pub fn restart(&mut self, etag: Option<String>, last_modified: Option<String>) -> Result<(), SyncError> {
        self.file
            .set_len(0)
            .and_then(|()| self.file.seek(SeekFrom::Start(0)).map(|_| ()))
            .map_err(|e| io_error(&self.path, e))?;
        self.hasher = Sha256::new();
        self.len = 0;
        self.unsynced = 0;
        self.sidecar.etag = etag;
        self.sidecar.last_modified = last_modified;
        self.write_sidecar()
    }

    /// Appends bytes, fsyncing every [`SYNC_EVERY`].
    pub fn append(&mut self, data: &[u8]) -> Result<(), SyncError> {
        self.file.write_all(data).map_err(|e| io_error(&self.path, e))?;
        self.hasher.update(data);
        self.len += data.len() as u64;
        self.unsynced += data.len() as u64;
        if self.unsynced >= SYNC_EVERY {
            self.file.sync_data().map_err(|e| io_error(&self.path, e))?;
            self.unsynced = 0;
        }
        Ok(())
    }

    /// Checks size and SHA-256, then fsyncs and renames the part to `dest` and removes the sidecar; on a
    /// mismatch removes both and fails with [`SyncError::Verify`].
    pub fn finish(self, url: &str, expect: &Expected) -> Result<(), SyncError> {
        let found = hex::encode(self.hasher.clone().finalize());
        if self.len != expect.bytes || !found.eq_ignore_ascii_case(&expect.sha256) {
            let (expected, found) = if self.len != expect.bytes {
                (format!("{} bytes", expect.bytes), format!("{} bytes", self.len))
            } else {
                (format!("SHA-256 {}", expect.sha256), format!("SHA-256 {found}"))
            };
            self.discard();
            return Err(SyncError::Verify { url: url.to_owned(), expected, found });
        }
        self.file.sync_all().map_err(|e| io_error(&self.path, e))?;
        fs::rename(&self.path, &self.dest).map_err(|e| io_error(&self.dest, e))?;
        if let Some(dir) = self.dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            // Makes the rename durable; a failure here loses nothing that a rerun would not redo.
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        let _ = fs::remove_file(&self.sidecar_path);
        Ok(())
    }

    /// Removes the part and its sidecar.
    pub fn discard(self) {
        let _ = fs::remove_file(&self.path);
        let _ = fs::remove_file(&self.sidecar_path);
    }

    /// Fsyncs what has been written (before giving up, so that a later run resumes from it).
    pub fn sync(&mut self) {
        let _ = self.file.sync_data();
    }

    /// The file, for a whole-object copy (S3); [`Part::append`] is the way for everything else.
    pub fn writer(&mut self) -> PartWriter<'_> {
        PartWriter(self)
    }
}

/// A [`Write`] into a [`Part`].
pub struct PartWriter<'a>(&'a mut Part);

impl Write for PartWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.append(buf).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct HashSink<'a>(&'a mut Sha256);

impl Write for HashSink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
