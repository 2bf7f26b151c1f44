//! The MBTiles writer: one thread owns the SQLite connection, receives tiles over a bounded channel and inserts
//! them in batched transactions; `finish` writes the metadata and `agg_tiles_hash` and renames the file into
//! place.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, bounded};
use md5::{Digest, Md5};
use rusqlite::{Connection, params};

use super::{ArchiveError, Metadata};
use crate::tiling::TileId;

/// Tiles inserted per transaction.
const BATCH_SIZE: usize = 20_000;
/// Tiles that may wait in the channel before the workers block.
const CHANNEL_DEPTH: usize = 4096;

/// One distinct tile's bytes and their MBTiles id. Shared (`Arc`) by every address holding the same bytes.
#[derive(Debug, PartialEq, Eq)]
pub struct TileBlob {
    pub data: Vec<u8>,
    /// Upper-case hex MD5 of `data`: the MBTiles `tile_id`.
    pub id: String,
    /// SHA-256 of `data`: the content address the manifest and the store use.
    pub sha256: [u8; 32],
}

impl TileBlob {
    /// Wraps tile bytes, computing their ids.
    pub fn new(data: Vec<u8>) -> TileBlob {
        let id = hex::encode_upper(Md5::digest(&data));
        let sha256 = sha2::Sha256::digest(&data).into();
        TileBlob { data, id, sha256 }
    }
}

/// The sending side handed to the tile workers; cheap to clone.
pub type TileSender = Sender<(TileId, Arc<TileBlob>)>;

/// What the writer stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveSummary {
    /// Tile addresses written (rows of `map`).
    pub tiles: u64,
    /// Distinct tiles stored (rows of `images`).
    pub unique_tiles: u64,
    /// Bytes of all addressed tiles, counting repeats.
    pub tile_bytes: u64,
    /// Bytes of the distinct tiles.
    pub unique_bytes: u64,
    /// `agg_tiles_hash` as martin's `mbtiles` tool computes it.
    pub agg_tiles_hash: String,
    pub tiles_per_zoom: std::collections::BTreeMap<u8, u64>,
}

struct WriterState {
    conn: Connection,
    /// Every tile address with the index of its bytes in `blobs` (16 bytes a tile, whatever its size).
    entries: Vec<(TileId, u32)>,
    /// Each distinct tile once.
    blobs: Vec<Arc<TileBlob>>,
    unique_tiles: u64,
    unique_bytes: u64,
}

/// Writes one MBTiles file; see the module doc.
pub struct MbtilesWriter {
    final_path: PathBuf,
    temp_path: PathBuf,
    sender: Option<TileSender>,
    thread: Option<JoinHandle<Result<WriterState, ArchiveError>>>,
}

impl MbtilesWriter {
    /// Creates the temporary file with the schema and starts the writer thread.
    pub fn create(path: &Path) -> Result<MbtilesWriter, ArchiveError> {
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let temp_path = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| ArchiveError::Io { path: parent.to_owned(), source })?;
        }
        let _ = std::fs::remove_file(&temp_path);
        let sqlite = |source| ArchiveError::Sqlite { path: temp_path.clone(), source };
        let conn = Connection::open(&temp_path).map_err(sqlite)?;
        conn.execute_batch(
            "PRAGMA page_size = 4096;
             PRAGMA journal_mode = OFF;
             PRAGMA synchronous = OFF;
             PRAGMA encoding = 'UTF-8';
             CREATE TABLE metadata (name TEXT NOT NULL PRIMARY KEY, value TEXT);
             CREATE TABLE map (
                 zoom_level INTEGER NOT NULL,
                 tile_column INTEGER NOT NULL,
                 tile_row INTEGER NOT NULL,
                 tile_id TEXT,
                 PRIMARY KEY (zoom_level, tile_column, tile_row));
             CREATE TABLE images (tile_id TEXT NOT NULL PRIMARY KEY, tile_data BLOB);
             CREATE VIEW tiles AS
                 SELECT map.zoom_level AS zoom_level, map.tile_column AS tile_column,
                        map.tile_row AS tile_row, images.tile_data AS tile_data
                 FROM map JOIN images ON images.tile_id = map.tile_id;",
        )
        .map_err(sqlite)?;
        let (sender, receiver) = bounded(CHANNEL_DEPTH);
        let thread_path = temp_path.clone();
        let thread = std::thread::Builder::new()
            .name("mbtiles-writer".into())
            .spawn(move || write_loop(conn, &receiver, &thread_path))
            .map_err(|source| ArchiveError::Io { path: temp_path.clone(), source })?;
        Ok(MbtilesWriter { final_path: path.to_owned(), temp_path, sender: Some(sender), thread: Some(thread) })
    }

    /// A sender for the workers. The writer ends once every sender (and this writer's own) is dropped.
    pub fn sender(&self) -> Option<TileSender> {
        self.sender.clone()
    }

    /// Waits for the last tile and writes the metadata and `agg_tiles_hash`. The file stays at its temporary path
    /// until [`FinishedMbtiles::commit`].
    pub fn finish(self, metadata: &Metadata) -> Result<FinishedMbtiles, ArchiveError> {
        self.finish_with_rows(&metadata.rows())
    }

    /// As [`MbtilesWriter::finish`], with the metadata given as rows, written as they are (an `agg_tiles_hash`
    /// among them is left out: the writer computes its own).
    pub fn finish_with_rows(mut self, rows: &[(String, String)]) -> Result<FinishedMbtiles, ArchiveError> {
        let state = self.join()?;
        let sqlite = |source| ArchiveError::Sqlite { path: self.temp_path.clone(), source };
        let WriterState { conn, mut entries, blobs, unique_tiles, unique_bytes } = state;
        entries.sort_unstable_by_key(|(t, _)| (t.z, t.x, t.tms_row()));
        let mut summary = ArchiveSummary { unique_tiles, unique_bytes, ..ArchiveSummary::default() };
        let mut agg = Md5::new();
        for (tile, index) in &entries {
            let blob = &blobs[*index as usize];
            agg.update(tile.z.to_string());
            agg.update(tile.x.to_string());
            agg.update(tile.tms_row().to_string());
            agg.update(&blob.data);
            summary.tiles += 1;
            summary.tile_bytes += blob.data.len() as u64;
            *summary.tiles_per_zoom.entry(tile.z).or_default() += 1;
        }
        summary.agg_tiles_hash = hex::encode_upper(agg.finalize());
        entries.sort_unstable_by_key(|(t, _)| *t);
        {
            let mut insert = conn.prepare("INSERT INTO metadata (name, value) VALUES (?1, ?2)").map_err(sqlite)?;
            for (name, value) in rows.iter().filter(|(name, _)| name != "agg_tiles_hash") {
                insert.execute(params![name, value]).map_err(sqlite)?;
            }
            insert.execute(params!["agg_tiles_hash", summary.agg_tiles_hash]).map_err(sqlite)?;
        }
        conn.close().map_err(|(_, source)| sqlite(source))?;
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| ArchiveError::Io { path, source }
        };
        std::fs::File::open(&self.temp_path).and_then(|f| f.sync_all()).map_err(io(&self.temp_path))?;
        Ok(FinishedMbtiles {
            summary,
            tiles: entries,
            blobs,
            temp_path: std::mem::take(&mut self.temp_path),
            final_path: self.final_path.clone(),
        })
    }

    /// Stops a writer after a failed build: waits for its thread and returns its own error, if it had one (a
    /// full disk, say), which explains the failure better than a closed channel. The temporary file is removed.
    pub fn abandon(mut self) -> Option<ArchiveError> {
        self.join().err()
    }

    fn join(&mut self) -> Result<WriterState, ArchiveError> {
        self.sender = None;
        let gone = || ArchiveError::WriterGone { path: self.temp_path.clone() };
        let thread = self.thread.take().ok_or_else(gone)?;
        thread.join().map_err(|_| gone())?
    }
}

/// A complete MBTiles file still at its temporary path.
pub struct FinishedMbtiles {
    pub summary: ArchiveSummary,
    /// Every tile in (z, x, y) order with the index of its bytes in `blobs`.
    pub tiles: Vec<(TileId, u32)>,
    /// Each distinct tile once.
    pub blobs: Vec<Arc<TileBlob>>,
    temp_path: PathBuf,
    final_path: PathBuf,
}

impl FinishedMbtiles {
    /// Moves the file into place (atomically replacing an older file there).
    pub fn commit(mut self) -> Result<ArchiveSummary, ArchiveError> {
        std::fs::rename(&self.temp_path, &self.final_path)
            .map_err(|source| ArchiveError::Io { path: self.final_path.clone(), source })?;
        self.temp_path = PathBuf::new();
        Ok(std::mem::take(&mut self.summary))
    }
}

impl Drop for FinishedMbtiles {
    /// Not committed: nothing is left behind.
    fn drop(&mut self) {
        if !self.temp_path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.temp_path);
        }
    }
}

impl Drop for MbtilesWriter {
    /// A writer dropped without `finish` (an error, a panic) leaves nothing behind.
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.join();
        }
        if !self.temp_path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.temp_path);
        }
    }
}

fn write_loop(
    conn: Connection,
    receiver: &Receiver<(TileId, Arc<TileBlob>)>,
    path: &Path,
) -> Result<WriterState, ArchiveError> {
    let sqlite = |source| ArchiveError::Sqlite { path: path.to_owned(), source };
    let mut state = WriterState { conn, entries: Vec::new(), blobs: Vec::new(), unique_tiles: 0, unique_bytes: 0 };
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut pending = 0usize;
    state.conn.execute_batch("BEGIN").map_err(sqlite)?;
    {
        let mut insert_map = state
            .conn
            .prepare("INSERT INTO map (zoom_level, tile_column, tile_row, tile_id) VALUES (?1, ?2, ?3, ?4)")
            .map_err(sqlite)?;
        let mut insert_image =
            state.conn.prepare("INSERT INTO images (tile_id, tile_data) VALUES (?1, ?2)").map_err(sqlite)?;
        for (tile, blob) in receiver {
            let index = match seen.get(&blob.id) {
                Some(index) => *index,
                None => {
                    insert_image.execute(params![blob.id, blob.data]).map_err(sqlite)?;
                    let index = u32::try_from(state.blobs.len()).map_err(|_| ArchiveError::Io {
                        path: path.to_owned(),
                        source: std::io::Error::other("more than 4 billion distinct tiles"),
                    })?;
                    seen.insert(blob.id.clone(), index);
                    state.unique_tiles += 1;
                    state.unique_bytes += blob.data.len() as u64;
                    state.blobs.push(blob.clone());
                    index
                }
            };
            insert_map.execute(params![tile.z, tile.x, tile.tms_row(), blob.id]).map_err(sqlite)?;
            state.entries.push((tile, index));
            pending += 1;
            if pending >= BATCH_SIZE {
                state.conn.execute_batch("COMMIT; BEGIN").map_err(sqlite)?;
                pending = 0;
            }
        }
    }
    state.conn.execute_batch("COMMIT").map_err(sqlite)?;
    Ok(state)
}

#[cfg(test)]
mod tests;
