//! A PMTiles v3 file → its header, metadata and tiles, read-only, checked as it is read: the magic and
//! version, every section inside the file, directories that parse and ascend, leaf pointers inside the leaf
//! section, no deeper than [`MAX_DEPTH`] (a loop of leaves ends there), tiles inside the data section. Every
//! error names the file; nothing in the file can make it panic.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::compress::decompress;
use super::directory::{self, Entry};
use super::header::{HEADER_LEN, Header};
use super::{FormatError, hilbert, metadata};
use crate::archive::ArchiveError;
use crate::tiling::TileId;

/// Root, leaf, leaf of a leaf: deeper is refused.
pub const MAX_DEPTH: usize = 4;
/// The most a directory or the metadata may decompress to.
const MAX_SECTION: u64 = 256 << 20;

/// A read-only PMTiles; see the module doc.
pub struct PmtilesReader {
    file: File,
    path: PathBuf,
    header: Header,
    root: Vec<Entry>,
}

impl PmtilesReader {
    /// Opens `path` and reads its header and root directory.
    pub fn open(path: &Path) -> Result<PmtilesReader, ArchiveError> {
        let file = File::open(path).map_err(|source| ArchiveError::Io { path: path.to_owned(), source })?;
        let len = file.metadata().map_err(|source| ArchiveError::Io { path: path.to_owned(), source })?.len();
        let mut head = vec![0u8; HEADER_LEN.min(len as usize)];
        file.read_exact_at(&mut head, 0).map_err(|source| ArchiveError::Io { path: path.to_owned(), source })?;
        let at = |e: FormatError| e.at(path);
        let header = Header::parse(&head).map_err(at)?;
        for (name, offset, length) in [
            ("root directory", header.root_offset, header.root_length),
            ("metadata", header.metadata_offset, header.metadata_length),
            ("leaf directories", header.leaf_offset, header.leaf_length),
            ("tile data", header.data_offset, header.data_length),
        ] {
            if offset.checked_add(length).is_none_or(|end| end > len) {
                return Err(at(FormatError::Malformed(format!(
                    "the {name} ({length} bytes at {offset}) lies beyond the end of the file ({len} bytes): truncated?"
                ))));
            }
        }
        let mut reader = PmtilesReader { file, path: path.to_owned(), header, root: Vec::new() };
        reader.root = reader.directory(reader.header.root_offset, reader.header.root_length)?;
        Ok(reader)
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The header, every field.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The JSON metadata.
    pub fn metadata(&self) -> Result<serde_json::Value, ArchiveError> {
        let h = &self.header;
        let raw = self.read(h.metadata_offset, h.metadata_length)?;
        let text = decompress(&raw, h.internal_compression, MAX_SECTION).map_err(|e| e.at(&self.path))?;
        if text.is_empty() {
            return Ok(serde_json::Value::Object(serde_json::Map::new()));
        }
        serde_json::from_slice(&text)
            .map_err(|e| FormatError::Malformed(format!("the metadata is not JSON: {e}")).at(&self.path))
    }

    /// The metadata as MBTiles-style rows (see `metadata.rs`).
    pub fn metadata_rows(&self) -> Result<BTreeMap<String, String>, ArchiveError> {
        Ok(metadata::rows_of_json(&self.metadata()?))
    }

    /// The bytes of one tile, or `None` if the archive does not address it.
    pub fn tile(&self, tile: TileId) -> Result<Option<Vec<u8>>, ArchiveError> {
        let id = hilbert::tile_id(tile);
        let mut dir = self.root.clone();
        for _ in 0..MAX_DEPTH {
            let Some(entry) = dir.iter().take_while(|e| e.tile_id <= id).last().copied() else { return Ok(None) };
            if entry.run_length > 0 {
                if id < entry.tile_id + u64::from(entry.run_length) {
                    return self.tile_bytes(&entry).map(Some);
                }
                return Ok(None);
            }
            dir = self.leaf(&entry)?;
        }
        Err(self.malformed(format!("leaf directories nest deeper than {MAX_DEPTH} levels (a loop?)")))
    }

    /// Every tile entry (run lengths not expanded), in tile-id order, leaves resolved.
    pub fn entries(&self) -> Result<Vec<Entry>, ArchiveError> {
        let mut out = Vec::new();
        self.collect(&self.root, 1, &mut out)?;
        Ok(out)
    }

    /// How many leaf directories the root points at.
    pub fn leaf_directories(&self) -> usize {
        self.root.iter().filter(|e| e.run_length == 0).count()
    }

    /// Hands every addressed tile to `f` in tile-id order (the bytes of a run read once), stopping at the first
    /// error.
    pub fn for_each_tile<E: From<ArchiveError>>(
        &self,
        mut f: impl FnMut(TileId, &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        for entry in self.entries()? {
            let data = self.tile_bytes(&entry)?;
            for id in entry.tile_id..entry.tile_id + u64::from(entry.run_length) {
                let tile =
                    hilbert::tile_of(id).ok_or_else(|| self.malformed(format!("tile id {id} lies beyond zoom 30")))?;
                f(tile, &data)?;
            }
        }
        Ok(())
    }

    fn collect(&self, dir: &[Entry], depth: usize, out: &mut Vec<Entry>) -> Result<(), ArchiveError> {
        for entry in dir {
            if entry.run_length == 0 {
                if depth >= MAX_DEPTH {
                    return Err(
                        self.malformed(format!("leaf directories nest deeper than {MAX_DEPTH} levels (a loop?)"))
                    );
                }
                let leaf = self.leaf(entry)?;
                self.collect(&leaf, depth + 1, out)?;
                continue;
            }
            let end = entry.tile_id.checked_add(u64::from(entry.run_length));
            if let Some(last) = out.last()
                && last.tile_id + u64::from(last.run_length) > entry.tile_id
            {
                return Err(
                    self.malformed(format!("directory entries overlap or go back at tile id {}", entry.tile_id))
                );
            }
            if end.is_none()
                || entry.offset.checked_add(u64::from(entry.length)).is_none_or(|e| e > self.header.data_length)
            {
                return Err(self.malformed(format!(
                    "tile id {}: {} bytes at {} lie outside the tile data ({} bytes)",
                    entry.tile_id, entry.length, entry.offset, self.header.data_length
                )));
            }
            out.push(*entry);
        }
        Ok(())
    }

    fn leaf(&self, entry: &Entry) -> Result<Vec<Entry>, ArchiveError> {
        let h = &self.header;
        if entry.offset.checked_add(u64::from(entry.length)).is_none_or(|e| e > h.leaf_length) {
            return Err(self.malformed(format!(
                "a leaf directory ({} bytes at {}) lies outside the leaf section ({} bytes)",
                entry.length, entry.offset, h.leaf_length
            )));
        }
        self.directory(h.leaf_offset + entry.offset, u64::from(entry.length))
    }

    fn directory(&self, offset: u64, length: u64) -> Result<Vec<Entry>, ArchiveError> {
        let raw = self.read(offset, length)?;
        let bytes = decompress(&raw, self.header.internal_compression, MAX_SECTION).map_err(|e| e.at(&self.path))?;
        directory::deserialize(&bytes).map_err(|e| e.at(&self.path))
    }

    fn tile_bytes(&self, entry: &Entry) -> Result<Vec<u8>, ArchiveError> {
        if entry.offset.checked_add(u64::from(entry.length)).is_none_or(|e| e > self.header.data_length) {
            return Err(self.malformed(format!("tile id {}: bytes outside the tile data", entry.tile_id)));
        }
        self.read(self.header.data_offset + entry.offset, u64::from(entry.length))
    }

    /// Reads `length` bytes at `offset` (the caller checked they lie inside the file).
    fn read(&self, offset: u64, length: u64) -> Result<Vec<u8>, ArchiveError> {
        let length = usize::try_from(length).map_err(|_| self.malformed("a section over the address space".into()))?;
        let mut buf = vec![0u8; length];
        self.file
            .read_exact_at(&mut buf, offset)
            .map_err(|source| ArchiveError::Io { path: self.path.clone(), source })?;
        Ok(buf)
    }

    fn malformed(&self, detail: String) -> ArchiveError {
        ArchiveError::Malformed { path: self.path.clone(), detail }
    }
}
