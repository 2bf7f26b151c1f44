//! PMTiles v3 (protomaps/PMTiles, `spec/v3/spec.md`), written and read by hand: no Rust crate gives the
//! clustered, deduplicated, deterministic writer from unordered tiles that we need.
//!
//! - [`hilbert`]: `(z, x, y)` ↔ tile id;
//! - [`header`]: the 127-byte header, every field;
//! - [`directory`]: varint columnar directories, run lengths, the root / leaf split;
//! - [`metadata`]: MBTiles metadata rows ↔ the JSON metadata;
//! - [`PmtilesWriter`] (`writer.rs`) and [`PmtilesReader`] (`reader.rs`).

mod compress;
pub mod directory;
pub mod header;
pub mod hilbert;
pub mod metadata;
mod reader;
mod writer;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use directory::Entry;
pub use header::{Compression, Header, TileType};
pub use reader::PmtilesReader;
pub use writer::PmtilesWriter;

use super::ArchiveError;

/// What a [`PmtilesWriter`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PmtilesSummary {
    pub path: PathBuf,
    /// SHA-256 of the whole file (hex).
    pub sha256: String,
    pub bytes: u64,
    /// Tiles addressed.
    pub tiles: u64,
    /// Directory entries pointing at tiles (consecutive identical tiles share one).
    pub tile_entries: u64,
    /// Distinct tiles stored.
    pub tile_contents: u64,
    pub leaf_directories: u64,
    /// Compressed bytes of the root directory.
    pub root_directory_bytes: u64,
    /// Bytes of the tile data section.
    pub tile_bytes: u64,
}

/// What is wrong with a file, before its path is attached ([`FormatError::at`]).
#[derive(Debug)]
pub enum FormatError {
    NotPmtiles,
    Unsupported(String),
    Malformed(String),
}

impl FormatError {
    /// The archive error naming `path`.
    pub fn at(self, path: &Path) -> ArchiveError {
        let path = path.to_owned();
        match self {
            FormatError::NotPmtiles => ArchiveError::NotPmtiles { path },
            FormatError::Unsupported(detail) => ArchiveError::Unsupported { path, detail },
            FormatError::Malformed(detail) => ArchiveError::Malformed { path, detail },
        }
    }
}

#[cfg(test)]
mod tests;
