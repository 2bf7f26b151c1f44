//! Stores for tests of the protocol (used by the integration tests, so public): [`MemoryStore`], an in-memory
//! backend with the same compare-and-swap semantics as S3, and [`SlowStore`], a wrapper that sleeps before the
//! operations on chosen keys, to reproduce a slow PUT (S3 retries) inside a swap while a gc runs.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::store::{Condition, Listed, PutOptions, Store, StoreError, check_key};

/// Each object: its bytes, its ETag and when it was written.
type Objects = BTreeMap<String, (Vec<u8>, String, Instant)>;

/// An in-memory store: one mutex over a map, so every conditional put is atomic.
#[derive(Default)]
pub struct MemoryStore {
    objects: Mutex<Objects>,
    writes: std::sync::atomic::AtomicU64,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Objects> {
        self.objects.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Store for MemoryStore {
    fn location(&self) -> String {
        "memory://".to_owned()
    }

    fn get(&self, key: &str, max_bytes: u64) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        check_key(key)?;
        match self.lock().get(key) {
            Some((data, _, _)) if data.len() as u64 > max_bytes => {
                Err(StoreError::TooLarge { key: key.to_owned(), size: data.len() as u64, limit: max_bytes })
            }
            Some((data, etag, _)) => Ok(Some((data.clone(), etag.clone()))),
            None => Ok(None),
        }
    }

    fn head(&self, key: &str) -> Result<Option<u64>, StoreError> {
        check_key(key)?;
        Ok(self.lock().get(key).map(|(data, _, _)| data.len() as u64))
    }

    fn put(&self, key: &str, data: &[u8], options: &PutOptions) -> Result<String, StoreError> {
        check_key(key)?;
        let mut objects = self.lock();
        let allowed = match (&options.condition, objects.get(key)) {
            (Condition::Always, _) | (Condition::IfAbsent, None) => true,
            (Condition::IfMatch(expected), Some((_, etag, _))) => etag == expected,
            _ => false,
        };
        if !allowed {
            return Err(StoreError::PreconditionFailed { key: key.to_owned() });
        }
        // Like S3: an ETag per write, even of the same bytes.
        let write = self.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let etag = format!("{}-{write}", hex::encode(crate::manifest::sha256(data)));
        objects.insert(key.to_owned(), (data.to_vec(), etag.clone(), Instant::now()));
        Ok(etag)
    }

    fn list(&self, prefix: &str) -> Result<Vec<Listed>, StoreError> {
        let prefix = format!("{}/", prefix.trim_end_matches('/'));
        Ok(self
            .lock()
            .range(prefix.clone()..)
            .take_while(|(key, _)| key.starts_with(&prefix))
            .map(|(key, (data, _, written))| Listed {
                key: key.clone(),
                age: written.elapsed(),
                size: data.len() as u64,
            })
            .collect())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        check_key(key)?;
        self.lock().remove(key);
        Ok(())
    }
}

/// A store that sleeps `delay` before each put to a key ending in one of `suffixes`, then passes it on.
pub struct SlowStore<'a> {
    pub inner: &'a dyn Store,
    pub suffixes: Vec<String>,
    pub delay: Duration,
}

impl SlowStore<'_> {
    fn pause(&self, key: &str) {
        if self.suffixes.iter().any(|s| key.ends_with(s.as_str())) {
            std::thread::sleep(self.delay);
        }
    }
}

impl Store for SlowStore<'_> {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn get(&self, key: &str, max_bytes: u64) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        self.inner.get(key, max_bytes)
    }
    fn head(&self, key: &str) -> Result<Option<u64>, StoreError> {
        self.inner.head(key)
    }
    fn put(&self, key: &str, data: &[u8], options: &PutOptions) -> Result<String, StoreError> {
        self.pause(key);
        self.inner.put(key, data, options)
    }
    fn list(&self, prefix: &str) -> Result<Vec<Listed>, StoreError> {
        self.inner.list(prefix)
    }
    fn list_part(&self, folder: &str, start: &str) -> Result<Vec<Listed>, StoreError> {
        self.inner.list_part(folder, start)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key)
    }
    fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        self.inner.delete_many(keys)
    }
    fn read_into(&self, key: &str, sink: &mut dyn std::io::Write) -> Result<bool, StoreError> {
        self.inner.read_into(key, sink)
    }
    fn put_file(&self, key: &str, path: &std::path::Path, options: &PutOptions) -> Result<String, StoreError> {
        self.pause(key);
        self.inner.put_file(key, path, options)
    }
}
