//! The `file://` store: objects are files under a folder. A put writes a temporary file and renames it into
//! place (readers see the old object or the new one); a conditional put takes a lock file (created with
//! O_EXCL) around its check-and-rename, which makes it a compare-and-swap among publishers on one machine or
//! one shared filesystem. ETags are the SHA-256 of the content.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::store::{Condition, Listed, PutOptions, Store, StoreError, check_key};

/// How long a conditional put waits for another publisher's lock before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(10);
/// A lock older than this was left by a crashed publisher and may be broken (sooner when its process is gone).
const STALE_LOCK: Duration = Duration::from_secs(120);

pub struct FileStore {
    root: PathBuf,
}

impl FileStore {
    pub fn new(root: PathBuf) -> Result<FileStore, StoreError> {
        fs::create_dir_all(root.join(".tmp")).map_err(|source| io(&root, source))?;
        Ok(FileStore { root })
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        check_key(key)?;
        Ok(self.root.join(key))
    }
}

fn io(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io { location: path.display().to_string(), source }
}

fn etag(data: &[u8]) -> String {
    hex::encode(crate::manifest::sha256(data))
}

impl Store for FileStore {
    fn location(&self) -> String {
        let abs = fs::canonicalize(&self.root).unwrap_or_else(|_| self.root.clone());
        format!("file://{}", abs.display())
    }

    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        let path = self.path(key)?;
        match fs::read(&path) {
            Ok(data) => {
                let tag = etag(&data);
                Ok(Some((data, tag)))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path, e)),
        }
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
        let temp = self.root.join(".tmp").join(format!("{}-{}", std::process::id(), unique()));
        {
            let mut file = fs::File::create(&temp).map_err(|e| io(&temp, e))?;
            file.write_all(data).and_then(|()| file.sync_all()).map_err(|e| io(&temp, e))?;
        }
        let result = match &options.condition {
            Condition::Always => fs::rename(&temp, &path).map_err(|e| io(&path, e)),
            condition => {
                let _lock = Lock::take(&path)?;
                let current = match fs::read(&path) {
                    Ok(bytes) => Some(etag(&bytes)),
                    Err(e) if e.kind() == ErrorKind::NotFound => None,
                    Err(e) => return Err(io(&path, e)),
                };
                let allowed = match condition {
                    Condition::IfAbsent => current.is_none(),
                    Condition::IfMatch(expected) => current.as_deref() == Some(expected.as_str()),
                    Condition::Always => true,
                };
                if allowed {
                    fs::rename(&temp, &path).map_err(|e| io(&path, e))
                } else {
                    Err(StoreError::PreconditionFailed { key: key.to_owned() })
                }
            }
        };
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result.map(|()| etag(data))
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
        let base = self.path(prefix.trim_end_matches('/'))?;
        let mut out = Vec::new();
        let mut stack = vec![base];
        while let Some(dir) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(io(&dir, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| io(&dir, e))?;
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(rel) = path.strip_prefix(&self.root) {
                    let key = rel.to_string_lossy().replace('\\', "/");
                    if !key.ends_with(".lock") {
                        let age = entry
                            .metadata()
                            .and_then(|m| m.modified())
                            .ok()
                            .and_then(|t| t.elapsed().ok())
                            .unwrap_or_default();
                        out.push(Listed { key, age });
                    }
                }
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (NEXT.fetch_add(1, Ordering::Relaxed) << 48)
}

/// A lock file beside an object, removed on drop.
struct Lock {
    path: PathBuf,
}

impl Lock {
    fn take(object: &Path) -> Result<Lock, StoreError> {
        let path = object.with_extension(match object.extension() {
            Some(ext) => format!("{}.lock", ext.to_string_lossy()),
            None => "lock".to_owned(),
        });
        let started = Instant::now();
        loop {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    // The holder's process id, so that a lock left by a killed publisher can be recognised.
                    let _ = write!(file, "{}", std::process::id());
                    return Ok(Lock { path });
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    let old = fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age > STALE_LOCK);
                    let stale = old || holder_is_gone(&path);
                    if stale {
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    if started.elapsed() > LOCK_WAIT {
                        return Err(io(&path, std::io::Error::new(ErrorKind::WouldBlock, "lock held too long")));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(io(&path, e)),
            }
        }
    }
}

/// True when the lock file names a process that no longer runs (Linux: no `/proc/PID`), or is still empty a
/// while after it was made (its writer died between creating it and writing its pid).
fn holder_is_gone(lock: &Path) -> bool {
    let Ok(text) = fs::read_to_string(lock) else { return false };
    let Ok(pid) = text.trim().parse::<u32>() else {
        let age = fs::metadata(lock).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
        return text.trim().is_empty() && age.is_some_and(|a| a > Duration::from_secs(2));
    };
    Path::new("/proc/self").exists() && !Path::new(&format!("/proc/{pid}")).exists()
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::store::{IMMUTABLE, SHORT_LIVED};

    fn opts(condition: Condition) -> PutOptions {
        PutOptions { content_type: "application/json", content_encoding: None, cache_control: SHORT_LIVED, condition }
    }

    #[test]
    fn conditional_puts_are_a_compare_and_swap() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileStore::new(dir.path().to_owned()).expect("store");
        let first = store.put("set/current.json", b"v1", &opts(Condition::IfAbsent)).expect("create");
        assert!(matches!(
            store.put("set/current.json", b"v1b", &opts(Condition::IfAbsent)),
            Err(StoreError::PreconditionFailed { .. })
        ));
        let second = store.put("set/current.json", b"v2", &opts(Condition::IfMatch(first.clone()))).expect("swap");
        assert!(matches!(
            store.put("set/current.json", b"v3", &opts(Condition::IfMatch(first))),
            Err(StoreError::PreconditionFailed { .. })
        ));
        assert_eq!(store.get("set/current.json").expect("get"), Some((b"v2".to_vec(), second)));
        let immutable = PutOptions { cache_control: IMMUTABLE, ..opts(Condition::Always) };
        store.put("set/tiles/ab/abcd", b"tile", &immutable).expect("put");
        assert_eq!(store.head("set/tiles/ab/abcd").expect("head"), Some(4));
        let keys: Vec<String> = store.list("set/").expect("list").into_iter().map(|l| l.key).collect();
        assert_eq!(keys, vec!["set/current.json", "set/tiles/ab/abcd"]);
        store.delete("set/tiles/ab/abcd").expect("delete");
        store.delete("set/tiles/ab/abcd").expect("deleting an absent object is fine");
        assert_eq!(store.head("set/tiles/ab/abcd").expect("head"), None);
        assert!(store.get("set/../x").is_err());
    }

    #[test]
    fn a_lock_left_by_a_dead_process_is_broken() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileStore::new(dir.path().to_owned()).expect("store");
        // A lock naming a process id that cannot exist (above Linux's pid_max).
        std::fs::write(dir.path().join("current.json.lock"), "4294967295").expect("lock");
        let started = Instant::now();
        store.put("current.json", b"v1", &opts(Condition::IfAbsent)).expect("the dead holder's lock is broken");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(!dir.path().join("current.json.lock").exists());
    }

    #[test]
    fn racing_publishers_get_one_winner() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = std::sync::Arc::new(FileStore::new(dir.path().to_owned()).expect("store"));
        let start = store.put("p.json", b"0", &opts(Condition::IfAbsent)).expect("create");
        let winners: usize = (0..8)
            .map(|i| {
                let store = store.clone();
                let start = start.clone();
                std::thread::spawn(move || {
                    store.put("p.json", format!("writer {i}").as_bytes(), &opts(Condition::IfMatch(start))).is_ok()
                })
            })
            .map(|h| usize::from(h.join().expect("thread")))
            .sum();
        assert_eq!(winners, 1);
    }
}
