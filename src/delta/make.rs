//! A delta from a base version to a target: the manifests' diff says which tiles to remove and which to put,
//! and the target MBTiles gives the bytes of the put ones (checked against the target manifest).

use std::io::Cursor;
use std::path::{Path, PathBuf};

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
}

/// The versions a delta joins: (version id, manifest SHA-256 hex, manifest bytes), the bytes already checked
/// against the SHA-256 by the caller.
pub struct Side<'a> {
    pub version: &'a str,
    pub manifest_sha256: &'a str,
    pub manifest: &'a [u8],
}

/// Writes the delta `base → target` of `set` to `out`. `target_mbtiles` holds the target's tiles and metadata.
pub fn make_delta(
    set: &str,
    base: &Side<'_>,
    target: &Side<'_>,
    target_mbtiles: &Path,
    out: &Path,
) -> Result<MadeDelta, DeltaError> {
    let mut old = ManifestReader::new(format!("manifest of {}", base.version), Cursor::new(base.manifest))?;
    let mut new = ManifestReader::new(format!("manifest of {}", target.version), Cursor::new(target.manifest))?;
    let mut removed: Vec<TileId> = Vec::new();
    let mut puts: Vec<manifest::Entry> = Vec::new();
    manifest::diff(&mut old, &mut new, &mut |change| match change {
        Change::Removed(e) => removed.push(e.tile),
        Change::Added(e) | Change::Changed { new: e, .. } => puts.push(e),
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
    for entry in &puts {
        let data = reader.tile(entry.tile)?.ok_or_else(|| DeltaError::Tile {
            tile: entry.tile,
            detail: format!("in the manifest but not in {}", target_mbtiles.display()),
        })?;
        if manifest::sha256(&data) != entry.sha256 {
            return Err(DeltaError::Tile {
                tile: entry.tile,
                detail: format!("{} holds other bytes than its manifest says", target_mbtiles.display()),
            });
        }
        writer.put(entry.tile, &data)?;
    }
    let (sha256, bytes) = writer.finish()?;
    Ok(MadeDelta { path: out.to_owned(), sha256, bytes, puts: header.puts, removes: header.removes })
}
