//! Tile objects shared by publish, promote and rollback: their put options (content type, gzip encoding), the
//! distinct tiles of an MBTiles to upload, and which tiles of a manifest a store lacks.

use std::collections::{HashMap, HashSet};
use std::io::Cursor;
use std::path::Path;

use super::error::PublishError;
use super::records::Layout;
use super::store::{Condition, IMMUTABLE, Listed, PutOptions, Store, StoreError};
use crate::archive::MbtilesReader;
use crate::manifest::{self, ManifestReader};

pub(crate) fn tile_put_options(format: &str) -> PutOptions {
    let content_type = match format {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        _ => "application/vnd.mapbox-vector-tile",
    };
    PutOptions { content_type, content_encoding: None, cache_control: IMMUTABLE, condition: Condition::Always }
}

/// Uploads one tile (marked gzip-encoded when it is).
pub(crate) fn put_tile(store: &dyn Store, key: &str, data: &[u8], tile_options: &PutOptions) -> Result<(), StoreError> {
    let mut options = tile_options.clone();
    if data.starts_with(&[0x1f, 0x8b]) {
        options.content_encoding = Some("gzip");
    }
    store.put(key, data, &options).map(drop)
}

/// Which tiles of a manifest a store lacks.
pub(crate) struct Missing {
    /// The distinct tiles the store lacks or holds with another size than the manifest's (damaged).
    pub tiles: HashSet<[u8; 32]>,
    /// How many of those were there, but damaged.
    pub damaged: u64,
    /// Distinct tiles of the manifest.
    pub distinct: u64,
}

/// The tiles of a manifest the store lacks, from one listing of the tiles folder (a request per 1,000 tiles).
/// The folder is listed in 16 slices side by side (by the first hex digit of the hash), so that a small publish
/// to a big set waits for one slice's pages, not for every page in turn.
pub(crate) fn missing_tiles(
    store: &dyn Store,
    layout: &Layout,
    manifest_name: String,
    manifest_bytes: &[u8],
) -> Result<Missing, PublishError> {
    let folder = layout.tiles_prefix();
    let slices: Vec<Result<Vec<Listed>, StoreError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16u32)
            .map(|digit| {
                let folder = &folder;
                scope.spawn(move || store.list_part(folder, &format!("{digit:x}")))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(listing_panicked(&folder)))).collect()
    });
    let mut present: HashMap<String, u64> = HashMap::new();
    for slice in slices {
        present.extend(slice?.into_iter().map(|l| (l.key, l.size)));
    }
    let mut reader = ManifestReader::new(manifest_name, Cursor::new(manifest_bytes))?;
    let mut missing = Missing { tiles: HashSet::new(), damaged: 0, distinct: 0 };
    let mut seen = HashSet::new();
    while let Some(entry) = reader.next_entry()? {
        if !seen.insert(entry.sha256) {
            continue;
        }
        missing.distinct += 1;
        match present.get(&layout.tile(&entry.hash_hex())) {
            Some(size) if *size == u64::from(entry.size) => {}
            Some(_) => {
                missing.tiles.insert(entry.sha256);
                missing.damaged += 1;
            }
            None => {
                missing.tiles.insert(entry.sha256);
            }
        }
    }
    Ok(missing)
}

fn listing_panicked(folder: &str) -> StoreError {
    StoreError::Io { location: folder.to_owned(), source: std::io::Error::other("a listing thread panicked") }
}

/// A tile's SHA-256 and its stored bytes.
pub(crate) type Blob = ([u8; 32], Vec<u8>);

/// The distinct tiles of an MBTiles whose SHA-256 is in `needed` (which is emptied as they are found).
pub(crate) fn tile_blobs(mbtiles: &Path, needed: &mut HashSet<[u8; 32]>) -> Result<Vec<Blob>, PublishError> {
    let reader = MbtilesReader::open(mbtiles)?;
    let mut out = Vec::with_capacity(needed.len());
    reader.for_each_blob(|data| {
        let sha = manifest::sha256(&data);
        if needed.remove(&sha) {
            out.push((sha, data));
        }
        Ok::<(), PublishError>(())
    })?;
    if !needed.is_empty() {
        return Err(PublishError::MbtilesMismatch { path: mbtiles.to_owned(), missing: needed.len() });
    }
    Ok(out)
}
