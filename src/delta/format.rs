//! The delta file, byte for byte (documented in `docs/delta.md`): a preamble, a canonical JSON header, the
//! removed tiles, the put tiles with their bytes, and a footer with a SHA-256 of everything before it — inside
//! one zstd frame that carries its own content checksum, as the manifest is.
//!
//! Reading checks the magic, the version, the order and grid of every tile, each put tile's SHA-256, the counts
//! the header promised, the footer and that nothing follows it: a truncated or damaged delta is an error, never
//! a partial change.

use std::fs::File;
use std::io::{BufReader, BufWriter, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{DeltaError, DeltaHeader};
use crate::tiling::TileId;

/// First bytes of the uncompressed stream.
pub const MAGIC: &[u8; 4] = b"TPDL";
/// Last bytes of the uncompressed stream.
pub const END_MAGIC: &[u8; 4] = b"TPDE";
/// The format version this tilepress writes; it also reads version 1 (put records without an encoding byte).
pub const FORMAT_VERSION: u32 = 2;
/// Put-record encodings (version 2): the stored bytes, or a patch against the base's tile ([`super::patch`]).
const ENCODING_BYTES: u8 = 0;
const ENCODING_PATCH: u8 = 1;
/// The tag byte that starts the footer.
const FOOTER_TAG: u8 = 0xFF;
const ZSTD_LEVEL: i32 = 3;
/// A header larger than this is taken as corruption.
const MAX_HEADER_BYTES: u32 = 16 << 20;
/// A tile larger than this is taken as corruption (the build's caps are far below it).
const MAX_TILE_BYTES: u32 = 64 << 20;

/// One tile a delta puts: its address, the SHA-256 of its stored bytes, and either those bytes (checked when
/// read) or, with `patch_of`, a patch against the base's tile of that SHA-256 (checked once rebuilt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeltaTile {
    pub tile: TileId,
    pub sha256: [u8; 32],
    pub data: Vec<u8>,
    pub patch_of: Option<[u8; 32]>,
}

/// Writes a delta to a temporary file beside `path`, moved into place by [`DeltaWriter::finish`]. The removed
/// tiles come first, then the put tiles, each in strictly increasing (z, x, y) order, as many as the header says.
pub struct DeltaWriter {
    name: String,
    path: PathBuf,
    temp: Option<tempfile::NamedTempFile>,
    encoder: Option<zstd::Encoder<'static, BufWriter<File>>>,
    hasher: Sha256,
    header: DeltaHeader,
    removed: u64,
    put: u64,
    last: Option<TileId>,
}

impl DeltaWriter {
    pub fn create(path: &Path, header: &DeltaHeader) -> Result<DeltaWriter, DeltaError> {
        let name = path.display().to_string();
        let io = |source| DeltaError::Io { name: name.clone(), source };
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let temp = tempfile::Builder::new().prefix(".delta-").suffix(".tmp").tempfile_in(dir).map_err(io)?;
        let file = temp.reopen().map_err(io)?;
        let mut encoder = zstd::Encoder::new(BufWriter::with_capacity(1 << 16, file), ZSTD_LEVEL).map_err(io)?;
        encoder.include_checksum(true).map_err(io)?;
        let json = serde_json::to_vec(header).map_err(|e| io(std::io::Error::other(e)))?;
        let mut writer = DeltaWriter {
            name: name.clone(),
            path: path.to_owned(),
            temp: Some(temp),
            encoder: Some(encoder),
            hasher: Sha256::new(),
            header: header.clone(),
            removed: 0,
            put: 0,
            last: None,
        };
        let len = u32::try_from(json.len()).ok().filter(|n| *n <= MAX_HEADER_BYTES).ok_or_else(|| {
            DeltaError::Corrupt { name: name.clone(), detail: "the header is larger than 16 MiB".to_owned() }
        })?;
        writer.write(MAGIC)?;
        writer.write(&FORMAT_VERSION.to_le_bytes())?;
        writer.write(&len.to_le_bytes())?;
        writer.write(&json)?;
        Ok(writer)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), DeltaError> {
        self.hasher.update(bytes);
        let encoder = self.encoder.as_mut().ok_or_else(|| DeltaError::Io {
            name: self.name.clone(),
            source: std::io::Error::other("delta already finished"),
        })?;
        encoder.write_all(bytes).map_err(|source| DeltaError::Io { name: self.name.clone(), source })
    }

    fn order(&mut self, tile: TileId) -> Result<(), DeltaError> {
        if TileId::new(tile.z, tile.x, tile.y).is_none() {
            return Err(DeltaError::Tile { tile, detail: "lies outside the grid of its zoom".to_owned() });
        }
        if self.last.is_some_and(|last| last >= tile) {
            return Err(DeltaError::Tile { tile, detail: "out of (z, x, y) order in the delta".to_owned() });
        }
        self.last = Some(tile);
        Ok(())
    }

    /// Lists a removed tile.
    pub fn remove(&mut self, tile: TileId) -> Result<(), DeltaError> {
        if self.put > 0 || self.removed == self.header.removes {
            return Err(DeltaError::Tile { tile, detail: "a removal beyond the header's count".to_owned() });
        }
        self.order(tile)?;
        self.removed += 1;
        if self.removed == self.header.removes {
            self.last = None;
        }
        self.write(&tile_bytes(tile))
    }

    /// Adds a tile that is new or changed in the target, whole.
    pub fn put(&mut self, tile: TileId, data: &[u8]) -> Result<(), DeltaError> {
        self.put_record(tile, &Sha256::digest(data).into(), None, data)
    }

    /// Adds a changed tile as a patch against the base's tile `base_sha256` ([`super::patch::make_patch`]);
    /// `sha256` is the target tile's.
    pub fn put_patch(
        &mut self,
        tile: TileId,
        sha256: &[u8; 32],
        base_sha256: &[u8; 32],
        patch: &[u8],
    ) -> Result<(), DeltaError> {
        self.put_record(tile, sha256, Some(base_sha256), patch)
    }

    fn put_record(
        &mut self,
        tile: TileId,
        sha256: &[u8; 32],
        base_sha256: Option<&[u8; 32]>,
        data: &[u8],
    ) -> Result<(), DeltaError> {
        if self.removed < self.header.removes || self.put == self.header.puts {
            return Err(DeltaError::Tile {
                tile,
                detail: "a put out of place or beyond the header's count".to_owned(),
            });
        }
        let size = u32::try_from(data.len()).ok().filter(|n| *n <= MAX_TILE_BYTES).ok_or_else(|| DeltaError::Tile {
            tile,
            detail: format!("{} bytes is more than a delta holds per tile", data.len()),
        })?;
        self.order(tile)?;
        self.put += 1;
        self.write(&tile_bytes(tile))?;
        self.write(&[if base_sha256.is_some() { ENCODING_PATCH } else { ENCODING_BYTES }])?;
        self.write(&size.to_le_bytes())?;
        self.write(sha256)?;
        if let Some(base) = base_sha256 {
            self.write(base)?;
        }
        self.write(data)
    }

    /// Writes the footer, closes the frame and moves the file into place; returns its SHA-256 (hex) and size.
    pub fn finish(mut self) -> Result<(String, u64), DeltaError> {
        if self.removed != self.header.removes || self.put != self.header.puts {
            return Err(DeltaError::Corrupt {
                name: self.name.clone(),
                detail: format!(
                    "the header promised {} removals and {} puts, {} and {} were written",
                    self.header.removes, self.header.puts, self.removed, self.put
                ),
            });
        }
        let digest: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
        let mut footer = Vec::with_capacity(1 + 32 + 4);
        footer.push(FOOTER_TAG);
        footer.extend_from_slice(&digest);
        footer.extend_from_slice(END_MAGIC);
        self.write(&footer)?;
        let io = |source| DeltaError::Io { name: self.name.clone(), source };
        let encoder = self.encoder.take().ok_or_else(|| io(std::io::Error::other("delta already finished")))?;
        let file = encoder.finish().map_err(io)?.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        drop(file);
        let temp = self.temp.take().ok_or_else(|| io(std::io::Error::other("delta already finished")))?;
        temp.persist(&self.path).map_err(|e| io(e.error))?;
        let (sha, size) = crate::manifest::sha256_file(&self.path).map_err(io)?;
        Ok((hex::encode(sha), size))
    }
}

fn tile_bytes(tile: TileId) -> [u8; 9] {
    let mut b = [0u8; 9];
    b[0] = tile.z;
    b[1..5].copy_from_slice(&tile.x.to_le_bytes());
    b[5..9].copy_from_slice(&tile.y.to_le_bytes());
    b
}

/// Reads a delta in order: [`DeltaReader::header`], every [`DeltaReader::next_removed`], every
/// [`DeltaReader::next_put`], and the footer is checked when the last put has been read.
pub struct DeltaReader<R: Read> {
    name: String,
    input: zstd::Decoder<'static, BufReader<R>>,
    hasher: Sha256,
    header: DeltaHeader,
    version: u32,
    removed: u64,
    put: u64,
    last: Option<TileId>,
    done: bool,
}

impl DeltaReader<File> {
    pub fn open(path: &Path) -> Result<DeltaReader<File>, DeltaError> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|source| DeltaError::Io { name: name.clone(), source })?;
        DeltaReader::new(name, file)
    }
}

impl<R: Read> DeltaReader<R> {
    pub fn new(name: String, reader: R) -> Result<DeltaReader<R>, DeltaError> {
        let mut input = zstd::Decoder::new(reader).map_err(|source| DeltaError::Io { name: name.clone(), source })?;
        let mut hasher = Sha256::new();
        let mut preamble = [0u8; 12];
        read_exact(&mut input, &mut preamble, &name, "the preamble")?;
        hasher.update(preamble);
        if &preamble[..4] != MAGIC {
            return Err(DeltaError::NotADelta { name });
        }
        let version = u32::from_le_bytes([preamble[4], preamble[5], preamble[6], preamble[7]]);
        if !(1..=FORMAT_VERSION).contains(&version) {
            return Err(DeltaError::UnsupportedVersion { name, version });
        }
        let len = u32::from_le_bytes([preamble[8], preamble[9], preamble[10], preamble[11]]);
        if len > MAX_HEADER_BYTES {
            return Err(DeltaError::Corrupt { name, detail: format!("a header of {len} bytes") });
        }
        let mut json = vec![0u8; len as usize];
        read_exact(&mut input, &mut json, &name, "the header")?;
        hasher.update(&json);
        let header: DeltaHeader = serde_json::from_slice(&json)
            .map_err(|e| DeltaError::Corrupt { name: name.clone(), detail: format!("header: {e}") })?;
        let mut reader =
            DeltaReader { name, input, hasher, header, version, removed: 0, put: 0, last: None, done: false };
        if reader.header.removes == 0 && reader.header.puts == 0 {
            reader.read_footer()?;
        }
        Ok(reader)
    }

    pub fn header(&self) -> &DeltaHeader {
        &self.header
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn read(&mut self, buf: &mut [u8], what: &str) -> Result<(), DeltaError> {
        read_exact(&mut self.input, buf, &self.name, what)?;
        self.hasher.update(&*buf);
        Ok(())
    }

    fn read_tile(&mut self, what: &str) -> Result<TileId, DeltaError> {
        let mut b = [0u8; 9];
        self.read(&mut b, what)?;
        let (z, x, y) =
            (b[0], u32::from_le_bytes([b[1], b[2], b[3], b[4]]), u32::from_le_bytes([b[5], b[6], b[7], b[8]]));
        let corrupt = |detail: String| DeltaError::Corrupt { name: self.name.clone(), detail };
        let tile = TileId::new(z, x, y).ok_or_else(|| corrupt(format!("{what} {z}/{x}/{y} lies outside the grid")))?;
        if self.last.is_some_and(|last| last >= tile) {
            return Err(corrupt(format!("{what} {tile} is out of (z, x, y) order")));
        }
        self.last = Some(tile);
        Ok(tile)
    }

    /// The next removed tile, or `None` when all have been read.
    pub fn next_removed(&mut self) -> Result<Option<TileId>, DeltaError> {
        if self.removed == self.header.removes {
            return Ok(None);
        }
        let tile = self.read_tile("removed tile")?;
        self.removed += 1;
        if self.removed == self.header.removes {
            self.last = None;
            if self.header.puts == 0 {
                self.read_footer()?;
            }
        }
        Ok(Some(tile))
    }

    /// The next put tile (whole bytes checked against its SHA-256; a patch is checked by whoever rebuilds it), or
    /// `None` after the footer has been checked.
    /// Call only once [`DeltaReader::next_removed`] has returned `None`.
    pub fn next_put(&mut self) -> Result<Option<DeltaTile>, DeltaError> {
        if self.removed < self.header.removes {
            return Err(DeltaError::Corrupt {
                name: self.name.clone(),
                detail: "the put tiles were read before the removed ones".to_owned(),
            });
        }
        if self.put == self.header.puts {
            return Ok(None);
        }
        let tile = self.read_tile("put tile")?;
        let mut encoding = [ENCODING_BYTES];
        if self.version >= 2 {
            self.read(&mut encoding, "a tile encoding")?;
        }
        if !matches!(encoding[0], ENCODING_BYTES | ENCODING_PATCH) {
            return Err(DeltaError::Corrupt {
                name: self.name.clone(),
                detail: format!("tile {tile}: unknown encoding {}", encoding[0]),
            });
        }
        let mut size = [0u8; 4];
        self.read(&mut size, "a tile size")?;
        let size = u32::from_le_bytes(size);
        if size > MAX_TILE_BYTES {
            return Err(DeltaError::Corrupt {
                name: self.name.clone(),
                detail: format!("tile {tile} of {size} bytes"),
            });
        }
        let mut sha256 = [0u8; 32];
        self.read(&mut sha256, "a tile hash")?;
        let patch_of = if encoding[0] == ENCODING_PATCH {
            let mut base = [0u8; 32];
            self.read(&mut base, "a base tile hash")?;
            Some(base)
        } else {
            None
        };
        let mut data = vec![0u8; size as usize];
        self.read(&mut data, "tile bytes")?;
        if patch_of.is_none() && <[u8; 32]>::from(Sha256::digest(&data)) != sha256 {
            return Err(DeltaError::Corrupt {
                name: self.name.clone(),
                detail: format!("tile {tile}: checksum mismatch"),
            });
        }
        self.put += 1;
        if self.put == self.header.puts {
            self.read_footer()?;
        }
        Ok(Some(DeltaTile { tile, sha256, data, patch_of }))
    }

    fn read_footer(&mut self) -> Result<(), DeltaError> {
        let digest: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
        let mut footer = [0u8; 1 + 32 + 4];
        read_exact(&mut self.input, &mut footer, &self.name, "the footer")?;
        let corrupt = |detail: &str| DeltaError::Corrupt { name: self.name.clone(), detail: detail.to_owned() };
        if footer[0] != FOOTER_TAG || &footer[33..37] != END_MAGIC {
            return Err(corrupt("bad footer (more tiles than the header says, or damage)"));
        }
        if footer[1..33] != digest {
            return Err(corrupt("checksum mismatch"));
        }
        let mut extra = [0u8; 1];
        match self.input.read(&mut extra) {
            Ok(0) => {}
            Ok(_) => return Err(corrupt("data after the footer")),
            Err(e) => return Err(io_error(e, &self.name, "the end of the file")),
        }
        self.done = true;
        Ok(())
    }

    /// True once the footer has been read and checked.
    pub fn is_done(&self) -> bool {
        self.done
    }
}

fn read_exact(input: &mut impl Read, buf: &mut [u8], name: &str, what: &str) -> Result<(), DeltaError> {
    input.read_exact(buf).map_err(|e| io_error(e, name, what))
}

fn io_error(e: std::io::Error, name: &str, what: &str) -> DeltaError {
    match e.kind() {
        ErrorKind::UnexpectedEof => DeltaError::Truncated { name: name.to_owned(), detail: format!("ends in {what}") },
        // zstd reports a damaged frame (its checksum, its blocks) as invalid data.
        ErrorKind::InvalidData | ErrorKind::InvalidInput | ErrorKind::Other => {
            DeltaError::Corrupt { name: name.to_owned(), detail: format!("{what}: {e}") }
        }
        _ => DeltaError::Io { name: name.to_owned(), source: e },
    }
}
