//! An MBTiles or a PMTiles → the operations both offer: metadata rows, and every tile with its address.
//!
//! The format is told by the extension (`.mbtiles`, `.pmtiles`), or else by the first bytes (`SQLite format 3`,
//! `PMTiles`).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use super::{ArchiveError, MbtilesReader, PmtilesReader};
use crate::tiling::TileId;

/// The archive formats tilepress reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    Mbtiles,
    Pmtiles,
}

impl ArchiveKind {
    /// The format a path's extension names, if it names one.
    pub fn of_extension(path: &Path) -> Option<ArchiveKind> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "mbtiles" => Some(ArchiveKind::Mbtiles),
            "pmtiles" => Some(ArchiveKind::Pmtiles),
            _ => None,
        }
    }

    /// The format of an existing file: by extension, else by its first bytes.
    pub fn detect(path: &Path) -> Result<ArchiveKind, ArchiveError> {
        if let Some(kind) = ArchiveKind::of_extension(path) {
            return Ok(kind);
        }
        let mut head = [0u8; 16];
        let n = std::fs::File::open(path)
            .and_then(|mut f| f.read(&mut head))
            .map_err(|source| ArchiveError::Io { path: path.to_owned(), source })?;
        match &head[..n] {
            h if h.starts_with(b"PMTiles") => Ok(ArchiveKind::Pmtiles),
            h if h.starts_with(b"SQLite format 3\0") => Ok(ArchiveKind::Mbtiles),
            _ => Err(ArchiveError::UnknownFormat { path: path.to_owned() }),
        }
    }
}

/// A read-only archive of either format.
pub enum ArchiveReader {
    Mbtiles(MbtilesReader),
    Pmtiles(PmtilesReader),
}

impl ArchiveReader {
    /// Opens `path` as the format [`ArchiveKind::detect`] finds.
    pub fn open(path: &Path) -> Result<ArchiveReader, ArchiveError> {
        Ok(match ArchiveKind::detect(path)? {
            ArchiveKind::Mbtiles => ArchiveReader::Mbtiles(MbtilesReader::open(path)?),
            ArchiveKind::Pmtiles => ArchiveReader::Pmtiles(PmtilesReader::open(path)?),
        })
    }

    pub fn kind(&self) -> ArchiveKind {
        match self {
            ArchiveReader::Mbtiles(_) => ArchiveKind::Mbtiles,
            ArchiveReader::Pmtiles(_) => ArchiveKind::Pmtiles,
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            ArchiveReader::Mbtiles(r) => r.path(),
            ArchiveReader::Pmtiles(r) => r.path(),
        }
    }

    /// The metadata as MBTiles rows (a PMTiles's JSON metadata mapped back).
    pub fn metadata(&self) -> Result<BTreeMap<String, String>, ArchiveError> {
        match self {
            ArchiveReader::Mbtiles(r) => r.metadata(),
            ArchiveReader::Pmtiles(r) => r.metadata_rows(),
        }
    }

    /// The lowest and highest zoom holding tiles, as stored (PMTiles: its header).
    pub fn zoom_extent(&self) -> Result<(Option<u8>, Option<u8>), ArchiveError> {
        match self {
            ArchiveReader::Mbtiles(r) => r.zoom_extent(),
            ArchiveReader::Pmtiles(r) => Ok((Some(r.header().min_zoom), Some(r.header().max_zoom))),
        }
    }

    /// Hands every tile to `f`: an MBTiles in XYZ order (z, x, y), a PMTiles in tile-id order. An MBTiles row
    /// off the grid is an error; a NULL `tile_data` is skipped and counted in the result.
    pub fn for_each_tile<E: From<ArchiveError>>(
        &self,
        mut f: impl FnMut(TileId, &[u8]) -> Result<(), E>,
    ) -> Result<u64, E> {
        match self {
            ArchiveReader::Pmtiles(r) => r.for_each_tile(f).map(|()| 0),
            ArchiveReader::Mbtiles(r) => {
                let mut nulls = 0u64;
                r.for_each_tile(|stored| {
                    let tile = stored.tile().ok_or_else(|| ArchiveError::Malformed {
                        path: r.path().to_owned(),
                        detail: format!(
                            "tile z={} column={} row={} lies outside the grid of its zoom",
                            stored.zoom, stored.column, stored.row
                        ),
                    })?;
                    match &stored.data {
                        Some(data) => f(tile, data),
                        None => {
                            nulls += 1;
                            Ok(())
                        }
                    }
                })?;
                Ok(nulls)
            }
        }
    }
}
