//! Delta packages: what turns one published version into another on a device. A delta holds the tiles added
//! or changed from its base version to its target, the list of removed tiles, the target's metadata rows, and
//! the SHA-256 of both manifests, so it is refused against any other base. Byte layout: `docs/delta.md`.
//!
//! The rooms: `format` (the file, written and read with every check), `make` (a delta from two manifests and
//! the target MBTiles, for publish), `patch` (a changed vector tile as a zstd patch against the base's tile),
//! `apply` (a delta applied to a copy of a base MBTiles, checked against the target manifest, for sync).

mod apply;
mod format;
mod make;
mod patch;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use apply::{AppliedDelta, apply_to_mbtiles, archive_manifest_sha256, mbtiles_manifest_sha256};
pub use format::{DeltaReader, DeltaTile, DeltaWriter, FORMAT_VERSION};
pub use make::{BaseTiles, MadeDelta, Side, make_delta};
pub use patch::{apply_patch, make_patch};

use crate::archive::ArchiveError;
use crate::manifest::ManifestError;
use crate::tiling::TileId;

/// The header of a delta (canonical JSON in the file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeltaHeader {
    /// The published set it belongs to.
    pub set: String,
    pub base_version: String,
    pub base_manifest_sha256: String,
    pub target_version: String,
    pub target_manifest_sha256: String,
    /// Every MBTiles metadata row of the target (name → value), sorted.
    pub metadata: std::collections::BTreeMap<String, String>,
    /// How many tiles the delta puts (added or changed) and removes.
    pub puts: u64,
    pub removes: u64,
}

/// The error of the delta stage; every variant names the delta (a path or a store key) or the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum DeltaError {
    #[error("{name}: {source}")]
    Io {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{name}: not a tilepress delta (bad magic bytes)")]
    NotADelta { name: String },
    #[error("{name}: delta format version {version} is not supported (this tilepress reads version {FORMAT_VERSION})")]
    UnsupportedVersion { name: String, version: u32 },
    #[error("{name}: delta is truncated ({detail})")]
    Truncated { name: String, detail: String },
    #[error("{name}: delta is corrupted: {detail}")]
    Corrupt { name: String, detail: String },
    #[error(
        "{name}: this delta applies to the version with manifest {expected}, but {file} holds the one with manifest {found}: refused"
    )]
    WrongBase { name: String, file: String, expected: String, found: String },
    #[error(
        "{file}: after applying {name} its tiles do not match the target version's manifest ({expected}, got {found}): refused, the original is untouched"
    )]
    WrongResult { name: String, file: String, expected: String, found: String },
    #[error("{path}: SQLite: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("tile {tile}: {detail}")]
    Tile { tile: TileId, detail: String },
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}
