//! A delta from a base version to a target: the manifests' diff says which tiles to remove and which to put,
//! and the target MBTiles gives the bytes of the put ones (checked against the target manifest). A changed tile
//! goes as a patch against the base's tile when the caller can give that tile and the patch is smaller.

use std::io::Cursor;

use rayon::prelude::*;
use std::path::{Path, PathBuf};

use super::patch::make_patch;
use super::{DeltaError, DeltaHeader, DeltaWriter};
use crate::archive::MbtilesReader;
use crate::manifest::{self, Change, ManifestReader};
use crate::tiling::TileId;

/// A delta written to disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MadeDelta {
    pub path: PathBuf,
    /// SHA-256 (hex) of the file: its name in the store.
    pub sha256: String,
    pub bytes: u64,
    pub puts: u64,
    pub removes: u64,
    /// Of the puts, the changed tiles sent as patches.
    pub patched: u64,
}

/// Tiles patched per batch: read in order, patched in parallel, written in order.
const PATCH_BATCH: usize = 256;

/// The bytes of a base tile by its SHA-256 (from the store), or `None` when they cannot be had: that tile then
/// goes whole.
pub type BaseTiles<'a> = dyn Fn(&[u8; 32]) -> Option<Vec<u8>> + Sync + 'a;

/// The versions a delta joins: (version id, manifest SHA-256 hex, manifest bytes), the bytes already checked
/// against the SHA-256 by the caller.
pub struct Side<'a> {
    pub version: &'a str,
    pub manifest_sha256: &'a str,
    pub manifest: &'a [u8],
}

/// Writes the delta `base → target` of `set` to `out`. `target_mbtiles` holds the target's tiles and metadata;
/// `base_tiles` gives the base's tiles that changed, to patch against.
pub fn make_delta(
    set: &str,
    base: &Side<'_>,
    target: &Side<'_>,
    target_mbtiles: &Path,
    base_tiles: &BaseTiles<'_>,
    out: &Path,
) -> Result<MadeDelta, DeltaError> {
    let mut old = ManifestReader::new(format!("manifest of {}", base.version), Cursor::new(base.manifest))?;
    let mut new = ManifestReader::new(format!("manifest of {}", target.version), Cursor::new(target.manifest))?;
    let mut removed: Vec<TileId> = Vec::new();
    // Each put with the SHA-256 of the base's tile it replaces, if any.
    let mut puts: Vec<(manifest::Entry, Option<[u8; 32]>)> = Vec::new();
    manifest::diff(&mut old, &mut new, &mut |change| match change {
        Change::Removed(e) => removed.push(e.tile),
        Change::Added(e) => puts.push((e, None)),
        Change::Changed { old, new } => puts.push((new, Some(old.sha256))),
    })?;
    let reader = MbtilesReader::open(target_mbtiles)?;
    let header = DeltaHeader {
        set: set.to_owned(),
        base_version: base.version.to_owned(),
        base_manifest_sha256: base.manifest_sha256.to_owned(),
        target_version: target.version.to_owned(),
        target_manifest_sha256: target.manifest_sha256.to_owned(),
        metadata: reader.metadata()?,
        puts: puts.len() as u64,
        removes: removed.len() as u64,
    };
    let mut writer = DeltaWriter::create(out, &header)?;
    for tile in &removed {
        writer.remove(*tile)?;
    }
    let mut patched = 0;
    for batch in puts.chunks(PATCH_BATCH) {
        let mut tiles = Vec::with_capacity(batch.len());
        for (entry, old) in batch {
            tiles.push((entry, *old, target_tile(&reader, entry, target_mbtiles)?));
        }
        let patches: Vec<Option<Vec<u8>>> =
            tiles.par_iter().map(|(_, old, data)| old.and_then(|sha| make_patch(&base_tiles(&sha)?, data))).collect();
        for ((entry, old, data), patch) in tiles.iter().zip(patches) {
            match (old, patch) {
                (Some(old), Some(patch)) => {
                    writer.put_patch(entry.tile, &entry.sha256, old, &patch)?;
                    patched += 1;
                }
                _ => writer.put(entry.tile, data)?,
            }
        }
    }
    let (sha256, bytes) = writer.finish()?;
    Ok(MadeDelta { path: out.to_owned(), sha256, bytes, puts: header.puts, removes: header.removes, patched })
}

/// A put tile's bytes from the target MBTiles, checked against the target manifest.
fn target_tile(reader: &MbtilesReader, entry: &manifest::Entry, path: &Path) -> Result<Vec<u8>, DeltaError> {
    let data = reader.tile(entry.tile)?.ok_or_else(|| DeltaError::Tile {
        tile: entry.tile,
        detail: format!("in the manifest but not in {}", path.display()),
    })?;
    if manifest::sha256(&data) != entry.sha256 {
        return Err(DeltaError::Tile {
            tile: entry.tile,
            detail: format!("{} holds other bytes than its manifest says", path.display()),
        });
    }
    Ok(data)
}
