//! A delta applied to an MBTiles: the base file is identified by computing its manifest (no sidecar is
//! trusted), copied, changed in one transaction, and the copy's manifest must then be the target's. The base
//! file is never written to.

use std::path::Path;

use md5::{Digest, Md5};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::Sha256;

use super::patch::apply_patch;
use super::{DeltaError, DeltaReader, DeltaTile};
use crate::manifest::manifest_of_archive;

/// What an apply did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedDelta {
    pub puts: u64,
    pub removes: u64,
    /// The manifest SHA-256 of the result (the target's).
    pub manifest_sha256: String,
}

/// The manifest SHA-256 (hex) of an MBTiles, computed from its tiles and metadata.
pub fn mbtiles_manifest_sha256(mbtiles: &Path) -> Result<String, DeltaError> {
    archive_manifest_sha256(mbtiles)
}

/// The manifest SHA-256 (hex) of an MBTiles or PMTiles file (by extension), computed from its tiles and
/// metadata: the same for an MBTiles and the PMTiles converted from it.
pub fn archive_manifest_sha256(mbtiles: &Path) -> Result<String, DeltaError> {
    let dir = mbtiles.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let temp = tempfile::Builder::new()
        .prefix(".manifest-")
        .suffix(".zst")
        .tempfile_in(dir)
        .map_err(|source| DeltaError::Io { name: dir.display().to_string(), source })?;
    let info = manifest_of_archive(mbtiles, temp.path())?;
    Ok(info.sha256)
}

/// Applies `delta` to `base`, writing the result to `out` (which must not be `base`). Refuses a base whose
/// manifest is not the delta's base, and a result whose manifest is not the delta's target; `out` is removed
/// on every error.
pub fn apply_to_mbtiles(base: &Path, delta: &Path, out: &Path) -> Result<AppliedDelta, DeltaError> {
    let result = apply(base, delta, out);
    if result.is_err() {
        let _ = std::fs::remove_file(out);
    }
    result
}

fn apply(base: &Path, delta: &Path, out: &Path) -> Result<AppliedDelta, DeltaError> {
    let mut reader = DeltaReader::open(delta)?;
    let header = reader.header().clone();
    let found = mbtiles_manifest_sha256(base)?;
    if found != header.base_manifest_sha256 {
        return Err(DeltaError::WrongBase {
            name: reader.name().to_owned(),
            file: base.display().to_string(),
            expected: header.base_manifest_sha256,
            found,
        });
    }
    std::fs::copy(base, out).map_err(|source| DeltaError::Io { name: out.display().to_string(), source })?;
    let sqlite = |source| DeltaError::Sqlite { path: out.to_owned(), source };
    let mut conn = Connection::open(out).map_err(sqlite)?;
    let normalized: bool = conn
        .query_row(
            "SELECT count(*) = 2 FROM sqlite_master WHERE type = 'table' AND name IN ('map', 'images')",
            [],
            |r| r.get(0),
        )
        .map_err(sqlite)?;
    let tx = conn.transaction().map_err(sqlite)?;
    {
        let (remove_sql, put_sql) = if normalized {
            (
                "DELETE FROM map WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3",
                "INSERT OR REPLACE INTO map (zoom_level, tile_column, tile_row, tile_id) VALUES (?1, ?2, ?3, ?4)",
            )
        } else {
            (
                "DELETE FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3",
                "INSERT OR REPLACE INTO tiles (zoom_level, tile_column, tile_row, tile_data) VALUES (?1, ?2, ?3, ?4)",
            )
        };
        let mut remove = tx.prepare(remove_sql).map_err(sqlite)?;
        while let Some(tile) = reader.next_removed()? {
            remove.execute(params![tile.z, tile.x, tile.tms_row()]).map_err(sqlite)?;
        }
        let mut put = tx.prepare(put_sql).map_err(sqlite)?;
        let mut image =
            tx.prepare("INSERT OR IGNORE INTO images (tile_id, tile_data) VALUES (?1, ?2)").map_err(sqlite)?;
        let mut stored = tx
            .prepare("SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3")
            .map_err(sqlite)?;
        while let Some(mut t) = reader.next_put()? {
            if let Some(base_sha256) = t.patch_of {
                let base: Option<Vec<u8>> = stored
                    .query_row(params![t.tile.z, t.tile.x, t.tile.tms_row()], |r| r.get(0))
                    .optional()
                    .map_err(sqlite)?;
                t.data = rebuild(&t, base_sha256, base.as_deref())
                    .map_err(|detail| DeltaError::Corrupt { name: reader.name().to_owned(), detail })?;
            }
            if normalized {
                let id = hex::encode_upper(Md5::digest(&t.data));
                image.execute(params![id, t.data]).map_err(sqlite)?;
                put.execute(params![t.tile.z, t.tile.x, t.tile.tms_row(), id]).map_err(sqlite)?;
            } else {
                put.execute(params![t.tile.z, t.tile.x, t.tile.tms_row(), t.data]).map_err(sqlite)?;
            }
        }
        if normalized {
            tx.execute("DELETE FROM images WHERE tile_id NOT IN (SELECT tile_id FROM map)", []).map_err(sqlite)?;
        }
        tx.execute("DELETE FROM metadata", []).map_err(sqlite)?;
        let mut row = tx.prepare("INSERT INTO metadata (name, value) VALUES (?1, ?2)").map_err(sqlite)?;
        for (name, value) in &header.metadata {
            row.execute(params![name, value]).map_err(sqlite)?;
        }
    }
    tx.commit().map_err(sqlite)?;
    conn.execute_batch("VACUUM").map_err(sqlite)?;
    drop(conn);
    let result = mbtiles_manifest_sha256(out)?;
    if result != header.target_manifest_sha256 {
        return Err(DeltaError::WrongResult {
            name: delta.display().to_string(),
            file: out.display().to_string(),
            expected: header.target_manifest_sha256,
            found: result,
        });
    }
    Ok(AppliedDelta { puts: header.puts, removes: header.removes, manifest_sha256: result })
}

/// The stored bytes of a patched tile, from the base file's tile at its address (which must be the one the
/// patch was made against), checked against the target's SHA-256. A mismatch means a damaged delta, or a
/// device whose gzip differs from the publisher's: either way the delta cannot be used.
fn rebuild(t: &DeltaTile, base_sha256: [u8; 32], base: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let tile = t.tile;
    let base = base.ok_or_else(|| format!("tile {tile}: a patch for a tile the file lacks"))?;
    if <[u8; 32]>::from(Sha256::digest(base)) != base_sha256 {
        return Err(format!("tile {tile}: the file's tile is not the one the patch was made against"));
    }
    let data = apply_patch(base, &t.data).map_err(|detail| format!("tile {tile}: {detail}"))?;
    if <[u8; 32]>::from(Sha256::digest(&data)) != t.sha256 {
        return Err(format!("tile {tile}: the patched tile does not match its checksum"));
    }
    Ok(data)
}
