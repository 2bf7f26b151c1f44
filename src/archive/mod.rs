//! Encoded tiles → an MBTiles 1.3 file, written by one thread fed through a channel.
//!
//! The file uses the "normalized" layout of martin's `mbtiles` tool: `images(tile_id, tile_data)` holds each
//! distinct tile once (`tile_id` = upper-case hex MD5 of the bytes), `map(zoom_level, tile_column, tile_row,
//! tile_id)` addresses it, and a `tiles` view joins them for every MBTiles reader. It is written to a temporary
//! path beside the output and renamed into place only once complete. [`MbtilesReader`] reads any MBTiles back
//! (this layout or a flat `tiles` table), read-only.
//!
//! [`pmtiles`] writes and reads PMTiles v3, [`ArchiveReader`] (`any.rs`) reads either format, and
//! [`convert`](mod@convert) turns one into the other.

mod any;
pub mod convert;
mod mbtiles;
mod metadata;
pub mod pmtiles;
mod reader;

use std::path::PathBuf;

pub use any::{ArchiveKind, ArchiveReader};
pub use convert::{ConvertSummary, convert, write_pmtiles_from_mbtiles};
pub use mbtiles::{ArchiveSummary, FinishedMbtiles, MbtilesWriter, TileBlob, TileSender};
pub use metadata::{FieldType, Metadata, VectorLayer};
pub use pmtiles::{PmtilesReader, PmtilesSummary, PmtilesWriter};
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
    /// A file that should be a PMTiles does not start with its magic bytes.
    #[error("{path}: not a PMTiles archive (bad magic bytes)")]
    NotPmtiles { path: PathBuf },
    /// A PMTiles feature this reader does not handle (another spec version, brotli).
    #[error("{path}: unsupported: {detail}")]
    Unsupported { path: PathBuf, detail: String },
    /// A damaged or inconsistent archive (truncated, bad varint, offsets out of range, a directory loop), or
    /// tiles that cannot be written (one added twice, an empty one).
    #[error("{path}: malformed archive: {detail}")]
    Malformed { path: PathBuf, detail: String },
    /// The archive's format cannot be told from its name or its first bytes.
    #[error("{path}: neither an MBTiles nor a PMTiles (name it .mbtiles or .pmtiles)")]
    UnknownFormat { path: PathBuf },
}
