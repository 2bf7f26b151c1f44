//! Encoded tiles → an MBTiles 1.3 file, written by one thread fed through a channel.
//!
//! The file uses the "normalized" layout of martin's `mbtiles` tool: `images(tile_id, tile_data)` holds each
//! distinct tile once (`tile_id` = upper-case hex MD5 of the bytes), `map(zoom_level, tile_column, tile_row,
//! tile_id)` addresses it, and a `tiles` view joins them for every MBTiles reader. It is written to a temporary
//! path beside the output and renamed into place only once complete. [`MbtilesReader`] reads any MBTiles back
//! (this layout or a flat `tiles` table), read-only.

mod mbtiles;
mod metadata;
mod reader;

use std::path::PathBuf;

pub use mbtiles::{ArchiveSummary, FinishedMbtiles, MbtilesWriter, TileBlob, TileSender};
pub use metadata::{FieldType, Metadata, VectorLayer};
pub use reader::{MbtilesReader, StoredTile};

/// The error of the archive stage (writing or reading an MBTiles); every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{path}: SQLite: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: the tile writer stopped unexpectedly")]
    WriterGone { path: PathBuf },
}
