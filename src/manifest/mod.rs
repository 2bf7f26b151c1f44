//! Tiles → a manifest: every tile `(z, x, y) → SHA-256, size`, sorted, with a header describing the tileset;
//! and the streaming diff of two manifests.
//!
//! The manifest is the identity of a build's content: the same inputs give a byte-identical file, and the
//! SHA-256 of that file names the version. The byte layout is in `docs/manifest.md` ([`mod@format`]).

mod diff;
pub mod format;
mod from_mbtiles;
#[cfg(test)]
mod props;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use diff::{Change, Diff, ZoomDiff, diff};
pub use format::{ManifestInfo, ManifestReader, ManifestWriter, write_manifest};
pub use from_mbtiles::{SOURCES_KEY, manifest_of_archive, manifest_of_mbtiles};

use crate::archive::ArchiveError;
use crate::tiling::TileId;

/// The current manifest format version (the `version` field of the file's preamble).
pub const FORMAT_VERSION: u32 = 1;

/// The error of the manifest stage; every variant names the manifest (a path or a store key).
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{name}: {source}")]
    Io {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{name}: not a tilepress manifest (bad magic bytes)")]
    NotAManifest { name: String },
    #[error(
        "{name}: manifest format version {version} is not supported (this tilepress reads version {FORMAT_VERSION})"
    )]
    UnsupportedVersion { name: String, version: u32 },
    #[error("{name}: manifest is truncated ({detail})")]
    Truncated { name: String, detail: String },
    #[error("{name}: manifest is corrupted: {detail}")]
    Corrupt { name: String, detail: String },
    #[error("{name}: tiles out of order: {previous} then {next}")]
    OutOfOrder { name: String, previous: TileId, next: TileId },
    #[error("{name}: tile {tile} lies outside the grid of its zoom (a reader would refuse the manifest)")]
    OffGrid { name: String, tile: TileId },
    /// The MBTiles could not be read.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("{name}: {detail}")]
    Mbtiles { name: String, detail: String },
}

/// One tile of a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub tile: TileId,
    /// Bytes of the stored tile.
    pub size: u32,
    /// SHA-256 of the stored tile bytes (what a client downloads): the tile's content address.
    pub sha256: [u8; 32],
}

impl Entry {
    /// The hash as lower-case hex.
    pub fn hash_hex(&self) -> String {
        hex::encode(self.sha256)
    }
}

/// A source file that went into a build: its name (no folder, so the manifest holds no machine paths), size
/// and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFingerprint {
    pub layer: String,
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
}

/// The manifest header: what the tiles are, without anything (time, path) that would differ between two
/// builds of the same content. Serialized as canonical JSON (fields in this order, maps sorted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub name: String,
    /// MBTiles `format`: `pbf`, `png`, …
    pub format: String,
    pub minzoom: u8,
    pub maxzoom: u8,
    /// `[west, south, east, north]`.
    pub bounds: [f64; 4],
    /// The MBTiles `json` metadata's `vector_layers`, as JSON.
    pub vector_layers: serde_json::Value,
    pub sources: Vec<SourceFingerprint>,
    /// The tool and version that wrote the tiles (`tilepress 0.1.0`, or the MBTiles `generator`).
    pub generator: String,
    /// Other MBTiles metadata that describes the content (attribution, description), sorted.
    pub metadata: BTreeMap<String, String>,
}

/// SHA-256 of bytes.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

/// SHA-256 of a file, read in chunks.
pub fn sha256_file(path: &std::path::Path) -> std::io::Result<([u8; 32], u64)> {
    use sha2::Digest;
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hasher.finalize().into(), total))
}
