//! One archive → the same tiles and metadata in the other format: MBTiles → PMTiles, PMTiles → MBTiles (through
//! [`MbtilesWriter`], the metadata rows restored). Every tile's bytes are kept as they are, so both files have
//! the same manifest. The output is written beside its path and renamed into place: a failed conversion leaves
//! nothing there.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use tracing::warn;

use super::{ArchiveError, ArchiveKind, ArchiveReader, MbtilesWriter, PmtilesSummary, PmtilesWriter, TileBlob};

/// What a conversion wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ConvertSummary {
    pub input: PathBuf,
    pub output: PathBuf,
    /// `mbtiles` or `pmtiles`.
    pub format: String,
    pub tiles: u64,
    pub unique_tiles: u64,
    /// Bytes of the output file.
    pub bytes: u64,
    /// The PMTiles written, when the output is one.
    pub pmtiles: Option<PmtilesSummary>,
}

/// Converts `input` into `output`, each format told by its extension (the input's also by its first bytes).
pub fn convert(input: &Path, output: &Path) -> Result<ConvertSummary, ArchiveError> {
    let to =
        ArchiveKind::of_extension(output).ok_or_else(|| ArchiveError::UnknownFormat { path: output.to_owned() })?;
    if output.exists() && std::fs::canonicalize(input).ok() == std::fs::canonicalize(output).ok() {
        return Err(ArchiveError::Io {
            path: output.to_owned(),
            source: std::io::Error::other("the output is the input"),
        });
    }
    let reader = ArchiveReader::open(input)?;
    let rows: Vec<(String, String)> = reader.metadata()?.into_iter().collect();
    let (tiles, unique_tiles, pmtiles) = match to {
        ArchiveKind::Pmtiles => {
            let mut writer = PmtilesWriter::create(output)?;
            let nulls = reader.for_each_tile(|tile, data| writer.add(tile, data))?;
            warn_nulls(input, nulls);
            let summary = writer.finish(&rows)?;
            (summary.tiles, summary.tile_contents, Some(summary))
        }
        ArchiveKind::Mbtiles => {
            let writer = MbtilesWriter::create(output)?;
            let sender = writer.sender().ok_or_else(|| ArchiveError::WriterGone { path: output.to_owned() })?;
            let sent = reader.for_each_tile(|tile, data| {
                sender
                    .send((tile, Arc::new(TileBlob::new(data.to_vec()))))
                    .map_err(|_| ArchiveError::WriterGone { path: output.to_owned() })
            });
            drop(sender);
            let nulls = match sent {
                Ok(nulls) => nulls,
                Err(err) => return Err(writer.abandon().unwrap_or(err)),
            };
            warn_nulls(input, nulls);
            let summary = writer.finish_with_rows(&rows)?.commit()?;
            (summary.tiles, summary.unique_tiles, None)
        }
    };
    let bytes = std::fs::metadata(output).map_err(|source| ArchiveError::Io { path: output.to_owned(), source })?.len();
    Ok(ConvertSummary {
        input: input.to_owned(),
        output: output.to_owned(),
        format: match to {
            ArchiveKind::Mbtiles => "mbtiles",
            ArchiveKind::Pmtiles => "pmtiles",
        }
        .to_owned(),
        tiles,
        unique_tiles,
        bytes,
        pmtiles,
    })
}

/// Writes the PMTiles of an MBTiles.
pub fn write_pmtiles_from_mbtiles(mbtiles: &Path, out: &Path) -> Result<PmtilesSummary, ArchiveError> {
    let reader = super::MbtilesReader::open(mbtiles)?;
    let rows: Vec<(String, String)> = reader.metadata()?.into_iter().collect();
    let reader = ArchiveReader::Mbtiles(reader);
    let mut writer = PmtilesWriter::create(out)?;
    let nulls = reader.for_each_tile(|tile, data| writer.add(tile, data))?;
    warn_nulls(mbtiles, nulls);
    writer.finish(&rows)
}

fn warn_nulls(input: &Path, nulls: u64) {
    if nulls > 0 {
        warn!(archive = %input.display(), tiles = nulls, "tiles with NULL tile_data left out");
    }
}
