//! Tiles in any order → a clustered, deduplicated PMTiles v3 archive.
//!
//! `add` spools each distinct tile's bytes (by SHA-256) once to an unnamed temporary file and keeps 12 bytes
//! per address. `finish` sorts the addresses by tile id, gives each distinct tile its place in the data
//! section at its first address (so the tile data is in tile-id order), merges consecutive ids holding the same
//! bytes into run lengths, builds the directories and writes header, root directory, metadata, leaf
//! directories and tile data to a temporary path beside the output, renamed into place once complete. Nothing
//! depends on the order of `add`s: the same tiles give the same bytes.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::compress::compress;
use super::directory::{self, Entry};
use super::header::{Compression, HEADER_LEN, Header, TileType};
use super::{PmtilesSummary, hilbert, metadata};
use crate::archive::ArchiveError;
use crate::tiling::TileId;

/// Writes one PMTiles file; see the module doc.
pub struct PmtilesWriter {
    final_path: PathBuf,
    temp_path: PathBuf,
    spool: File,
    spool_len: u64,
    /// Each distinct tile: where it is in the spool, and its length.
    blobs: Vec<(u64, u32)>,
    seen: HashMap<[u8; 32], u32>,
    /// Every address: tile id and the index of its bytes in `blobs`.
    addresses: Vec<(u64, u32)>,
    gzipped: u64,
    zooms: Option<(u8, u8)>,
}

impl PmtilesWriter {
    /// Prepares a writer for `path` (its folder is created; nothing appears at `path` before `finish`).
    pub fn create(path: &Path) -> Result<PmtilesWriter, ArchiveError> {
        let io = |p: &Path| {
            let p = p.to_owned();
            move |source| ArchiveError::Io { path: p, source }
        };
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(io(parent))?;
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let temp_path = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
        let spool = tempfile::tempfile_in(parent).map_err(io(parent))?;
        Ok(PmtilesWriter {
            final_path: path.to_owned(),
            temp_path,
            spool,
            spool_len: 0,
            blobs: Vec::new(),
            seen: HashMap::new(),
            addresses: Vec::new(),
            gzipped: 0,
            zooms: None,
        })
    }

    /// Adds one tile (XYZ). A tile may be added once; empty tiles cannot be addressed in PMTiles.
    pub fn add(&mut self, tile: TileId, data: &[u8]) -> Result<(), ArchiveError> {
        let length = u32::try_from(data.len()).ok().filter(|l| *l > 0).ok_or_else(|| {
            self.malformed(format!("tile {tile} has {} bytes (PMTiles needs 1 to 4 GiB)", data.len()))
        })?;
        let sha: [u8; 32] = Sha256::digest(data).into();
        let index = match self.seen.get(&sha) {
            Some(i) => *i,
            None => {
                self.spool
                    .write_all_at(data, self.spool_len)
                    .map_err(|source| ArchiveError::Io { path: self.temp_path.clone(), source })?;
                let i = u32::try_from(self.blobs.len()).map_err(|_| self.malformed("over 4 billion tiles".into()))?;
                self.blobs.push((self.spool_len, length));
                self.spool_len += u64::from(length);
                self.seen.insert(sha, i);
                i
            }
        };
        self.gzipped += u64::from(data.starts_with(&[0x1f, 0x8b]));
        self.zooms = Some(self.zooms.map_or((tile.z, tile.z), |(lo, hi)| (lo.min(tile.z), hi.max(tile.z))));
        self.addresses.push((hilbert::tile_id(tile), index));
        Ok(())
    }

    /// Writes the archive with `rows` (MBTiles-style metadata: name, format, bounds, center, json, …) and moves
    /// it into place.
    pub fn finish(mut self, rows: &[(String, String)]) -> Result<PmtilesSummary, ArchiveError> {
        self.addresses.sort_unstable();
        if let Some(w) = self.addresses.windows(2).find(|w| w[0].0 == w[1].0) {
            let tile = hilbert::tile_of(w[0].0).map(|t| t.to_string()).unwrap_or_default();
            return Err(self.malformed(format!("tile {tile} added twice")));
        }
        // Each distinct tile's offset in the data section, given at its first address in tile-id order.
        let mut placed: Vec<Option<u64>> = vec![None; self.blobs.len()];
        let mut order: Vec<u32> = Vec::with_capacity(self.blobs.len());
        let mut data_length = 0u64;
        let mut entries: Vec<Entry> = Vec::new();
        for (tile_id, index) in &self.addresses {
            let length = self.blobs[*index as usize].1;
            let offset = *placed[*index as usize].get_or_insert_with(|| {
                order.push(*index);
                data_length += u64::from(length);
                data_length - u64::from(length)
            });
            match entries.last_mut() {
                Some(last)
                    if last.offset == offset
                        && last.tile_id + u64::from(last.run_length) == *tile_id
                        && last.run_length < u32::MAX =>
                {
                    last.run_length += 1
                }
                _ => entries.push(Entry { tile_id: *tile_id, offset, length, run_length: 1 }),
            }
        }
        let dirs = directory::build(&entries, Compression::Gzip);
        let json = metadata::json_of_rows(rows);
        let metadata = compress(json.to_string().as_bytes(), Compression::Gzip);
        let header = self.header(rows, &dirs, metadata.len() as u64, data_length, entries.len() as u64);
        let summary = PmtilesSummary {
            path: self.final_path.clone(),
            sha256: String::new(),
            bytes: header.data_offset + data_length,
            tiles: self.addresses.len() as u64,
            tile_entries: entries.len() as u64,
            tile_contents: self.blobs.len() as u64,
            leaf_directories: dirs.leaf_count as u64,
            root_directory_bytes: dirs.root.len() as u64,
            tile_bytes: data_length,
        };
        let sha = self.write_file(&header, &dirs, &metadata, &order).inspect_err(|_| {
            let _ = std::fs::remove_file(&self.temp_path);
        })?;
        std::fs::rename(&self.temp_path, &self.final_path)
            .map_err(|source| ArchiveError::Io { path: self.final_path.clone(), source })?;
        Ok(PmtilesSummary { sha256: sha, ..summary })
    }

    fn header(
        &self,
        rows: &[(String, String)],
        dirs: &directory::Directories,
        metadata: u64,
        data: u64,
        entries: u64,
    ) -> Header {
        let row = |key: &str| rows.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let numbers = |key: &str| -> Vec<f64> {
            row(key).map(|v| v.split(',').filter_map(|p| p.trim().parse().ok()).collect()).unwrap_or_default()
        };
        let e7 = |v: f64| (v * 1e7).round() as i32;
        let zoom_row = |key: &str| row(key).and_then(|v| v.trim().parse::<u8>().ok());
        let (min_zoom, max_zoom) =
            self.zooms.unwrap_or((zoom_row("minzoom").unwrap_or(0), zoom_row("maxzoom").unwrap_or(0)));
        let bounds = <[f64; 4]>::try_from(numbers("bounds")).unwrap_or([-180.0, -85.051_129, 180.0, 85.051_129]);
        let center = numbers("center");
        let (center_lon, center_lat, center_zoom) = match center.as_slice() {
            [lon, lat, z, ..] => (*lon, *lat, (*z as u8).clamp(min_zoom, max_zoom)),
            [lon, lat] => (*lon, *lat, min_zoom),
            _ => ((bounds[0] + bounds[2]) / 2.0, (bounds[1] + bounds[3]) / 2.0, min_zoom),
        };
        let tile_type = TileType::from_mbtiles_format(row("format").unwrap_or(""));
        let n = self.addresses.len() as u64;
        let tile_compression = match self.gzipped {
            g if g == n && n > 0 => Compression::Gzip,
            0 => Compression::None,
            _ => Compression::Unknown,
        };
        let root_offset = HEADER_LEN as u64;
        let metadata_offset = root_offset + dirs.root.len() as u64;
        let leaf_offset = metadata_offset + metadata;
        let data_offset = leaf_offset + dirs.leaves.len() as u64;
        Header {
            root_offset,
            root_length: dirs.root.len() as u64,
            metadata_offset,
            metadata_length: metadata,
            leaf_offset,
            leaf_length: dirs.leaves.len() as u64,
            data_offset,
            data_length: data,
            addressed_tiles: n,
            tile_entries: entries,
            tile_contents: self.blobs.len() as u64,
            clustered: true,
            internal_compression: Compression::Gzip,
            tile_compression,
            tile_type,
            min_zoom,
            max_zoom,
            min_lon_e7: e7(bounds[0]),
            min_lat_e7: e7(bounds[1]),
            max_lon_e7: e7(bounds[2]),
            max_lat_e7: e7(bounds[3]),
            center_zoom,
            center_lon_e7: e7(center_lon),
            center_lat_e7: e7(center_lat),
        }
    }

    /// Writes every section to the temporary path; returns the file's SHA-256 (hex).
    fn write_file(
        &self,
        header: &Header,
        dirs: &directory::Directories,
        metadata: &[u8],
        order: &[u32],
    ) -> Result<String, ArchiveError> {
        let io = |source| ArchiveError::Io { path: self.temp_path.clone(), source };
        let file = File::create(&self.temp_path).map_err(io)?;
        let mut out = HashingWriter { inner: BufWriter::with_capacity(1 << 20, file), sha: Sha256::new() };
        out.write_all(&header.to_bytes()).map_err(io)?;
        out.write_all(&dirs.root).map_err(io)?;
        out.write_all(metadata).map_err(io)?;
        out.write_all(&dirs.leaves).map_err(io)?;
        let mut buf = Vec::new();
        for index in order {
            let (at, length) = self.blobs[*index as usize];
            buf.resize(length as usize, 0);
            self.spool.read_exact_at(&mut buf, at).map_err(io)?;
            out.write_all(&buf).map_err(io)?;
        }
        let HashingWriter { inner, sha } = out;
        let file = inner.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        Ok(hex::encode(sha.finalize()))
    }

    fn malformed(&self, detail: String) -> ArchiveError {
        ArchiveError::Malformed { path: self.final_path.clone(), detail }
    }
}

struct HashingWriter<W> {
    inner: W,
    sha: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
