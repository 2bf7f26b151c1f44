//! The manifest file, byte for byte (documented in `docs/manifest.md`): a preamble, a canonical JSON header,
//! fixed-size tile records sorted by (z, x, y), and a footer with the count, the byte total and a SHA-256 of
//! everything before it — all inside one zstd frame that carries its own content checksum.
//!
//! Reading checks the magic, the version, the order of the records, the footer and that nothing follows it,
//! so a truncated, corrupted or unknown file is an error, never a short list of tiles.

use std::fs::File;
use std::io::{BufReader, BufWriter, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{Entry, FORMAT_VERSION, Header, ManifestError};
use crate::tiling::TileId;

/// First bytes of the uncompressed stream.
pub const MAGIC: &[u8; 4] = b"TPMF";
/// Last bytes of the uncompressed stream.
pub const END_MAGIC: &[u8; 4] = b"TPME";
/// The tag byte that starts the footer (records start with their zoom, 0..=30).
pub const FOOTER_TAG: u8 = 0xFF;
/// zstd level: fast, and fixed so that the same content gives the same file.
const ZSTD_LEVEL: i32 = 3;
/// A header larger than this is taken as corruption.
const MAX_HEADER_BYTES: u32 = 16 << 20;
const RECORD_BYTES: usize = 44;

/// What a written manifest is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ManifestInfo {
    pub path: PathBuf,
    /// SHA-256 of the manifest file: the identity of the content.
    pub sha256: String,
    pub tiles: u64,
    /// Total bytes of the tiles.
    pub bytes: u64,
}

/// Writes a manifest to a temporary file and renames it into place on [`ManifestWriter::finish`].
pub struct ManifestWriter {
    name: String,
    final_path: PathBuf,
    temp_path: PathBuf,
    encoder: Option<zstd::Encoder<'static, BufWriter<File>>>,
    hasher: Sha256,
    count: u64,
    total: u64,
    last: Option<TileId>,
}

impl ManifestWriter {
    /// Starts a manifest at `path` with its header.
    pub fn create(path: &Path, header: &Header) -> Result<ManifestWriter, ManifestError> {
        let name = path.display().to_string();
        let io = |source| ManifestError::Io { name: name.clone(), source };
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let temp_path = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
        let file = File::create(&temp_path).map_err(io)?;
        let mut encoder = zstd::Encoder::new(BufWriter::with_capacity(1 << 16, file), ZSTD_LEVEL).map_err(io)?;
        encoder.include_checksum(true).map_err(io)?;
        let json = serde_json::to_vec(header).map_err(|e| io(std::io::Error::other(e)))?;
        let mut writer = ManifestWriter {
            name: name.clone(),
            final_path: path.to_owned(),
            temp_path,
            encoder: Some(encoder),
            hasher: Sha256::new(),
            count: 0,
            total: 0,
            last: None,
        };
        writer.put(MAGIC)?;
        writer.put(&FORMAT_VERSION.to_le_bytes())?;
        writer.put(&(json.len() as u32).to_le_bytes())?;
        writer.put(&json)?;
        Ok(writer)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), ManifestError> {
        self.hasher.update(bytes);
        let encoder = self.encoder.as_mut().ok_or_else(|| ManifestError::Io {
            name: self.name.clone(),
            source: std::io::Error::other("manifest already finished"),
        })?;
        encoder.write_all(bytes).map_err(|source| ManifestError::Io { name: self.name.clone(), source })
    }

    /// Adds a tile; tiles must come in strictly increasing (z, x, y) order, and lie in the grid of their zoom.
    pub fn push(&mut self, entry: &Entry) -> Result<(), ManifestError> {
        let t = entry.tile;
        if TileId::new(t.z, t.x, t.y).is_none() {
            return Err(ManifestError::OffGrid { name: self.name.clone(), tile: t });
        }
        if let Some(previous) = self.last
            && previous >= entry.tile
        {
            return Err(ManifestError::OutOfOrder { name: self.name.clone(), previous, next: entry.tile });
        }
        let mut record = [0u8; 1 + RECORD_BYTES];
        record[0] = entry.tile.z;
        record[1..5].copy_from_slice(&entry.tile.x.to_le_bytes());
        record[5..9].copy_from_slice(&entry.tile.y.to_le_bytes());
        record[9..13].copy_from_slice(&entry.size.to_le_bytes());
        record[13..45].copy_from_slice(&entry.sha256);
        self.put(&record)?;
        self.last = Some(entry.tile);
        self.count += 1;
        self.total += u64::from(entry.size);
        Ok(())
    }

    /// Writes the footer, closes the zstd frame and moves the file into place.
    pub fn finish(mut self) -> Result<ManifestInfo, ManifestError> {
        let digest: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
        let mut footer = Vec::with_capacity(1 + 8 + 8 + 32 + 4);
        footer.push(FOOTER_TAG);
        footer.extend_from_slice(&self.count.to_le_bytes());
        footer.extend_from_slice(&self.total.to_le_bytes());
        footer.extend_from_slice(&digest);
        footer.extend_from_slice(END_MAGIC);
        self.put(&footer)?;
        let io = |name: &str| {
            let name = name.to_owned();
            move |source| ManifestError::Io { name, source }
        };
        if let Some(encoder) = self.encoder.take() {
            let mut buffered = encoder.finish().map_err(io(&self.name))?;
            buffered.flush().map_err(io(&self.name))?;
            let file = buffered
                .into_inner()
                .map_err(|e| ManifestError::Io { name: self.name.clone(), source: e.into_error() })?;
            file.sync_all().map_err(io(&self.name))?;
        }
        std::fs::rename(&self.temp_path, &self.final_path).map_err(io(&self.name))?;
        let (sha, _) = super::sha256_file(&self.final_path).map_err(io(&self.name))?;
        Ok(ManifestInfo {
            path: self.final_path.clone(),
            sha256: hex::encode(sha),
            tiles: self.count,
            bytes: self.total,
        })
    }
}

impl Drop for ManifestWriter {
    fn drop(&mut self) {
        if self.encoder.is_some() {
            let _ = std::fs::remove_file(&self.temp_path);
        }
    }
}

/// Writes a whole manifest from sorted entries.
pub fn write_manifest(
    path: &Path,
    header: &Header,
    entries: impl IntoIterator<Item = Entry>,
) -> Result<ManifestInfo, ManifestError> {
    let mut writer = ManifestWriter::create(path, header)?;
    for entry in entries {
        writer.push(&entry)?;
    }
    writer.finish()
}

/// Reads a manifest record by record, checking everything on the way (see the module doc).
pub struct ManifestReader<R: Read> {
    name: String,
    input: BufReader<zstd::Decoder<'static, BufReader<R>>>,
    hasher: Sha256,
    header: Header,
    count: u64,
    total: u64,
    last: Option<TileId>,
    done: bool,
}

impl ManifestReader<File> {
    /// Opens a manifest file.
    pub fn open(path: &Path) -> Result<ManifestReader<File>, ManifestError> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|source| ManifestError::Io { name: name.clone(), source })?;
        ManifestReader::new(name, file)
    }
}

impl<R: Read> ManifestReader<R> {
    /// Reads the preamble and header from any byte source; `name` names it in errors.
    pub fn new(name: String, reader: R) -> Result<ManifestReader<R>, ManifestError> {
        let decoder = zstd::Decoder::new(reader).map_err(|source| ManifestError::Io { name: name.clone(), source })?;
        let mut input = BufReader::with_capacity(1 << 16, decoder);
        let mut hasher = Sha256::new();
        let mut preamble = [0u8; 12];
        read_exact(&mut input, &mut preamble, &name, "the preamble").map_err(|e| match e {
            ManifestError::Corrupt { .. } | ManifestError::Truncated { .. } => {
                ManifestError::NotAManifest { name: name.clone() }
            }
            other => other,
        })?;
        if &preamble[0..4] != MAGIC {
            return Err(ManifestError::NotAManifest { name });
        }
        let version = u32::from_le_bytes([preamble[4], preamble[5], preamble[6], preamble[7]]);
        if version != FORMAT_VERSION {
            return Err(ManifestError::UnsupportedVersion { name, version });
        }
        let header_len = u32::from_le_bytes([preamble[8], preamble[9], preamble[10], preamble[11]]);
        if header_len > MAX_HEADER_BYTES {
            return Err(ManifestError::Corrupt { name, detail: format!("header length {header_len} is implausible") });
        }
        let mut json = vec![0u8; header_len as usize];
        read_exact(&mut input, &mut json, &name, "the header")?;
        hasher.update(preamble);
        hasher.update(&json);
        let header: Header = serde_json::from_slice(&json)
            .map_err(|e| ManifestError::Corrupt { name: name.clone(), detail: format!("header: {e}") })?;
        Ok(ManifestReader { name, input, hasher, header, count: 0, total: 0, last: None, done: false })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next tile, or `None` after the footer has been read and checked.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, ManifestError> {
        if self.done {
            return Ok(None);
        }
        let mut tag = [0u8; 1];
        read_exact(&mut self.input, &mut tag, &self.name, "a tile record or the footer")?;
        if tag[0] == FOOTER_TAG {
            self.read_footer()?;
            return Ok(None);
        }
        self.hasher.update(tag);
        let mut record = [0u8; RECORD_BYTES];
        read_exact(&mut self.input, &mut record, &self.name, "a tile record")?;
        self.hasher.update(record);
        let u32_at = |i: usize| u32::from_le_bytes([record[i], record[i + 1], record[i + 2], record[i + 3]]);
        let (z, x, y, size) = (tag[0], u32_at(0), u32_at(4), u32_at(8));
        let tile = TileId::new(z, x, y).ok_or_else(|| ManifestError::Corrupt {
            name: self.name.clone(),
            detail: format!("record {} names tile {z}/{x}/{y}, outside the grid", self.count),
        })?;
        if let Some(previous) = self.last
            && previous >= tile
        {
            return Err(ManifestError::OutOfOrder { name: self.name.clone(), previous, next: tile });
        }
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(&record[12..44]);
        self.last = Some(tile);
        self.count += 1;
        self.total += u64::from(size);
        Ok(Some(Entry { tile, size, sha256 }))
    }

    fn read_footer(&mut self) -> Result<(), ManifestError> {
        let digest: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
        let mut footer = [0u8; 8 + 8 + 32 + 4];
        read_exact(&mut self.input, &mut footer, &self.name, "the footer")?;
        let corrupt = |detail: String| ManifestError::Corrupt { name: self.name.clone(), detail };
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&footer[i..i + 8]);
            u64::from_le_bytes(b)
        };
        if &footer[48..52] != END_MAGIC {
            return Err(corrupt("bad end marker".to_owned()));
        }
        if u64_at(0) != self.count {
            return Err(corrupt(format!("footer counts {} tiles, the file holds {}", u64_at(0), self.count)));
        }
        if u64_at(8) != self.total {
            return Err(corrupt(format!("footer counts {} bytes, the records {}", u64_at(8), self.total)));
        }
        if footer[16..48] != digest {
            return Err(corrupt("checksum mismatch".to_owned()));
        }
        let mut extra = [0u8; 1];
        match self.input.read(&mut extra) {
            Ok(0) => {}
            Ok(_) => return Err(corrupt("data after the footer".to_owned())),
            Err(e) => return Err(io_error(e, &self.name, "the end of the file")),
        }
        self.done = true;
        Ok(())
    }

    /// Reads to the end, checking everything; returns (tiles, bytes).
    pub fn verify(mut self) -> Result<(u64, u64), ManifestError> {
        while self.next_entry()?.is_some() {}
        Ok((self.count, self.total))
    }
}

fn read_exact(input: &mut impl Read, buf: &mut [u8], name: &str, what: &str) -> Result<(), ManifestError> {
    input.read_exact(buf).map_err(|e| io_error(e, name, what))
}

fn io_error(e: std::io::Error, name: &str, what: &str) -> ManifestError {
    match e.kind() {
        ErrorKind::UnexpectedEof => {
            ManifestError::Truncated { name: name.to_owned(), detail: format!("ended while reading {what}") }
        }
        // zstd reports damaged frames and checksum mismatches as other I/O errors.
        ErrorKind::Other | ErrorKind::InvalidData | ErrorKind::InvalidInput => {
            ManifestError::Corrupt { name: name.to_owned(), detail: format!("while reading {what}: {e}") }
        }
        _ => ManifestError::Io { name: name.to_owned(), source: e },
    }
}

#[cfg(test)]
mod tests;
