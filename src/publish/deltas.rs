//! The delta packages a publish writes: one from each of the last K versions that were live (the history,
//! newest first) to the version being published, uploaded create-only to `deltas/<base>/<sha256>` before the
//! version record that lists them. A base whose record or manifest cannot be read (gc removed it) is skipped;
//! a delta no smaller than the full archive is not worth a download and is not written.

use std::path::Path;

use tracing::{info, warn};

use super::error::PublishError;
use super::objects::{read_manifest, read_record};
use super::records::{DeltaRef, HistoryRecord, Layout};
use super::store::{MAX_SMALL_OBJECT, Store, StoreError, immutable};
use crate::delta::{self, Side};

/// History records read at most per delta asked for (gc fences repeat the live version).
const HISTORY_PER_DELTA: usize = 8;

/// The versions that were live, newest first, at most `k`, leaving out `target`.
pub fn recent_live_versions(
    store: &dyn Store,
    layout: &Layout,
    k: usize,
    target: &str,
) -> Result<Vec<String>, PublishError> {
    if k == 0 {
        return Ok(Vec::new());
    }
    let mut keys: Vec<String> = store.list(&layout.history_prefix())?.into_iter().map(|l| l.key).collect();
    keys.sort_unstable_by(|a, b| b.cmp(a));
    let mut versions: Vec<String> = Vec::new();
    for key in keys.iter().take(k.saturating_mul(HISTORY_PER_DELTA)) {
        let Some((bytes, _)) = store.get(key, MAX_SMALL_OBJECT)? else { continue };
        let Ok(record) = serde_json::from_slice::<HistoryRecord>(&bytes) else {
            warn!(key = %key, "an unreadable history record: left out of the delta bases");
            continue;
        };
        if record.version != target && !versions.contains(&record.version) {
            versions.push(record.version);
            if versions.len() == k {
                break;
            }
        }
    }
    Ok(versions)
}

/// What the publish knows of the version it writes deltas to.
pub struct DeltaTarget<'a> {
    pub set: &'a str,
    pub version: &'a str,
    pub manifest_sha256: &'a str,
    pub manifest: &'a [u8],
    pub mbtiles: &'a Path,
    /// Bytes of the full archive: a delta must be smaller.
    pub archive_bytes: u64,
}

/// A base tile to patch against, from the store by its content address; checked, and `None` (the tile then
/// goes whole) if it is missing, damaged or cannot be read.
fn stored_tile(store: &dyn Store, layout: &Layout, sha256: &[u8; 32]) -> Option<Vec<u8>> {
    let (data, _) = store.get(&layout.tile(&hex::encode(sha256)), MAX_TILE_BYTES).ok()??;
    (crate::manifest::sha256(&data) == *sha256).then_some(data)
}

/// The largest tile fetched to patch against.
const MAX_TILE_BYTES: u64 = 64 << 20;

/// Writes and uploads the deltas from each of `bases` to `target`; returns what the version record lists and
/// the objects and bytes uploaded.
pub fn put_deltas(
    store: &dyn Store,
    layout: &Layout,
    bases: &[String],
    target: &DeltaTarget<'_>,
) -> Result<WrittenDeltas, PublishError> {
    let dir =
        tempfile::tempdir().map_err(|source| StoreError::Io { location: "a temporary folder".to_owned(), source })?;
    let mut written = WrittenDeltas { refs: Vec::new(), files: Vec::new(), objects: 0, bytes: 0, dir };
    for base in bases {
        // A base that gc removed, or whose record or manifest is damaged, gets no delta: the publish goes on
        // (devices on it download the full archive), and the damage is said.
        let base_objects = read_record(store, layout, target.set, base).and_then(|record| {
            read_manifest(store, layout, base, &record.manifest_sha256).map(|manifest| (record, manifest))
        });
        let (record, base_manifest) = match base_objects {
            Ok(objects) => objects,
            Err(PublishError::UnknownVersion { .. } | PublishError::MissingObject { .. }) => continue,
            Err(PublishError::Store(e)) => return Err(PublishError::Store(e)),
            Err(e) => {
                warn!(set = target.set, base = %base, error = %e, "no delta from this version: its objects are damaged");
                continue;
            }
        };
        let path = written.dir.path().join(format!("{base}.delta"));
        let made = delta::make_delta(
            target.set,
            &Side { version: base, manifest_sha256: &record.manifest_sha256, manifest: &base_manifest },
            &Side { version: target.version, manifest_sha256: target.manifest_sha256, manifest: target.manifest },
            target.mbtiles,
            &|sha| stored_tile(store, layout, sha),
            &path,
        )?;
        if made.bytes >= target.archive_bytes {
            info!(set = target.set, base = %base, bytes = made.bytes, archive = target.archive_bytes, "delta not smaller than the archive: not written");
            continue;
        }
        let key = layout.delta(base, &made.sha256);
        if put_once(store, &key, &path)? {
            written.objects += 1;
            written.bytes += made.bytes;
        }
        written.files.push((key, path));
        written.refs.push(DeltaRef {
            base_version: base.clone(),
            base_manifest_sha256: record.manifest_sha256.clone(),
            sha256: made.sha256,
            bytes: made.bytes,
            puts: made.puts,
            removes: made.removes,
        });
    }
    Ok(written)
}

/// The deltas of one publish: what the record lists, the local files (kept until the swap, to put back what a
/// gc may remove meanwhile), and what was uploaded.
pub struct WrittenDeltas {
    pub refs: Vec<DeltaRef>,
    files: Vec<(String, std::path::PathBuf)>,
    pub objects: u64,
    pub bytes: u64,
    dir: tempfile::TempDir,
}

impl WrittenDeltas {
    /// Puts back any delta that is no longer in the store (a gc ran during the publish); returns how many.
    pub fn put_back(&self, store: &dyn Store) -> Result<u64, PublishError> {
        let mut n = 0;
        for (key, path) in &self.files {
            if store.head(key)?.is_none() && put_once(store, key, path)? {
                n += 1;
            }
        }
        Ok(n)
    }
}

/// A create-only upload; `false` if another writer put it first.
fn put_once(store: &dyn Store, key: &str, path: &Path) -> Result<bool, PublishError> {
    if store.head(key)?.is_some() {
        return Ok(false);
    }
    match store.put_file(key, path, &immutable("application/octet-stream")) {
        Ok(_) => Ok(true),
        Err(StoreError::PreconditionFailed { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
