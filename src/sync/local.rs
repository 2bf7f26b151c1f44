//! The device's file: which format it is (by extension), which version it holds (its manifest, computed from
//! its tiles: no sidecar is trusted), and a delta applied to it into a new file of the same format.

use std::path::Path;

use super::SyncError;
use super::workdir::WorkDir;
use crate::delta::{apply_to_mbtiles, archive_manifest_sha256};

/// The format of the device's file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalFormat {
    Mbtiles,
    Pmtiles,
}

impl LocalFormat {
    /// The format named by the file's extension (`.mbtiles` or `.pmtiles`).
    pub fn of(path: &Path) -> Result<LocalFormat, SyncError> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("mbtiles") => Ok(LocalFormat::Mbtiles),
            Some("pmtiles") => Ok(LocalFormat::Pmtiles),
            _ => Err(SyncError::BadOutput { path: path.to_owned() }),
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            LocalFormat::Mbtiles => "mbtiles",
            LocalFormat::Pmtiles => "pmtiles",
        }
    }
}

/// The manifest SHA-256 of a tile archive of either format: the same for an MBTiles and the PMTiles
/// converted from it, so it names the version whatever the device keeps.
pub fn manifest_sha256(path: &Path, format: LocalFormat) -> Result<String, SyncError> {
    let _ = format;
    Ok(archive_manifest_sha256(path)?)
}

/// Applies `delta` to the device's file `base`, into `result` in the work folder (same format). The delta
/// checks the base's manifest before it changes anything, and the result's after.
pub fn apply_delta(
    base: &Path,
    format: LocalFormat,
    delta: &Path,
    work: &WorkDir,
    result: &Path,
) -> Result<(), SyncError> {
    match format {
        LocalFormat::Mbtiles => {
            apply_to_mbtiles(base, delta, result)?;
        }
        LocalFormat::Pmtiles => {
            // MBTiles is the format a delta is applied in; a PMTiles is rewritten whole from it (clustered
            // files cannot be patched in place). Two extra passes, both local.
            let base_mbtiles = work.discard("base.mbtiles")?;
            let next_mbtiles = work.discard("next-from-delta.mbtiles")?;
            crate::archive::convert(base, &base_mbtiles)?;
            apply_to_mbtiles(&base_mbtiles, delta, &next_mbtiles)?;
            crate::archive::convert(&next_mbtiles, result)?;
            let _ = std::fs::remove_file(&base_mbtiles);
            let _ = std::fs::remove_file(&next_mbtiles);
        }
    }
    Ok(())
}
