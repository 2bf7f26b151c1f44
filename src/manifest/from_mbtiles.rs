//! Any MBTiles (ours, or another tool's flat `tiles` table or `map` + `images`) → a manifest.
//!
//! The header comes from the `metadata` table only (see [`Header::from_metadata`]), so the manifest that
//! `build` writes and the one computed later from its MBTiles are byte-identical.

use std::collections::BTreeMap;
use std::path::Path;

use tracing::warn;

use super::{Entry, Header, ManifestError, ManifestInfo, ManifestWriter, SourceFingerprint, sha256};
use crate::archive::{ArchiveKind, ArchiveReader, MbtilesReader};

/// The metadata key where tilepress records the source fingerprints of a build.
pub const SOURCES_KEY: &str = "tilepress_sources";
/// Metadata keys copied into the header's `metadata` map.
const DESCRIPTIVE_KEYS: [&str; 3] = ["attribution", "description", "type"];

impl Header {
    /// A header from MBTiles metadata rows; `fallback_name` is used when there is no `name`.
    pub fn from_metadata(rows: &BTreeMap<String, String>, fallback_name: &str) -> Header {
        let get = |key: &str| rows.get(key).map(String::as_str);
        let zoom = |key: &str| get(key).and_then(|v| v.trim().parse::<u8>().ok());
        let bounds = get("bounds")
            .and_then(|b| {
                let v: Vec<f64> = b.split(',').filter_map(|p| p.trim().parse().ok()).collect();
                <[f64; 4]>::try_from(v).ok()
            })
            .unwrap_or([-180.0, -85.051_128_779_806_59, 180.0, 85.051_128_779_806_59]);
        let vector_layers = get("json")
            .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
            .and_then(|j| j.get("vector_layers").cloned())
            .unwrap_or(serde_json::Value::Null);
        let sources: Vec<SourceFingerprint> =
            get(SOURCES_KEY).and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default();
        Header {
            name: get("name").unwrap_or(fallback_name).to_owned(),
            format: get("format").unwrap_or("unknown").to_owned(),
            minzoom: zoom("minzoom").unwrap_or(0),
            maxzoom: zoom("maxzoom").unwrap_or(0),
            bounds,
            vector_layers,
            sources,
            generator: get("generator").unwrap_or("").to_owned(),
            metadata: DESCRIPTIVE_KEYS
                .iter()
                .filter_map(|k| rows.get(*k).map(|v| ((*k).to_owned(), v.clone())))
                .collect(),
        }
    }
}

/// Writes the manifest of an MBTiles file: every tile of its `tiles` table or view, hashed as stored.
pub fn manifest_of_mbtiles(mbtiles: &Path, output: &Path) -> Result<ManifestInfo, ManifestError> {
    let name = mbtiles.display().to_string();
    let reader = MbtilesReader::open(mbtiles)?;
    let rows = reader.metadata()?;
    let stem = mbtiles.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut header = Header::from_metadata(&rows, &stem);
    if !rows.contains_key("minzoom") || !rows.contains_key("maxzoom") {
        let (lo, hi) = reader.zoom_extent()?;
        header.minzoom = lo.unwrap_or(0);
        header.maxzoom = hi.unwrap_or(0);
    }
    let mut writer = ManifestWriter::create(output, &header)?;
    let mut nulls = 0u64;
    reader.for_each_tile(|stored| {
        let tile = stored.tile().ok_or_else(|| ManifestError::Mbtiles {
            name: name.clone(),
            detail: format!(
                "tile z={} column={} row={} lies outside the grid of its zoom",
                stored.zoom, stored.column, stored.row
            ),
        })?;
        let Some(data) = stored.data else {
            nulls += 1;
            return Ok(());
        };
        let size = u32::try_from(data.len()).map_err(|_| ManifestError::Mbtiles {
            name: name.clone(),
            detail: format!("tile {tile} is larger than 4 GiB"),
        })?;
        writer.push(&Entry { tile, size, sha256: sha256(&data) })
    })?;
    if nulls > 0 {
        warn!(mbtiles = %name, tiles = nulls, "tiles with NULL tile_data left out of the manifest");
    }
    writer.finish()
}

/// Writes the manifest of an MBTiles or a PMTiles (told as [`ArchiveKind::detect`] does). A PMTiles made from an
/// MBTiles has that MBTiles's manifest: the same metadata rows and the same tile bytes.
pub fn manifest_of_archive(archive: &Path, output: &Path) -> Result<ManifestInfo, ManifestError> {
    let reader = match ArchiveKind::detect(archive)? {
        ArchiveKind::Mbtiles => return manifest_of_mbtiles(archive, output),
        ArchiveKind::Pmtiles => ArchiveReader::open(archive)?,
    };
    let name = archive.display().to_string();
    let rows = reader.metadata()?;
    let stem = archive.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut header = Header::from_metadata(&rows, &stem);
    if !rows.contains_key("minzoom") || !rows.contains_key("maxzoom") {
        let (lo, hi) = reader.zoom_extent()?;
        header.minzoom = lo.unwrap_or(0);
        header.maxzoom = hi.unwrap_or(0);
    }
    // Tile-id order → the manifest's (z, x, y) order; the bytes of a run are hashed once.
    let mut entries = Vec::new();
    let mut last: Option<(Vec<u8>, [u8; 32])> = None;
    reader.for_each_tile(|tile, data| {
        let sha = match &last {
            Some((bytes, sha)) if bytes.as_slice() == data => *sha,
            _ => {
                let sha = sha256(data);
                last = Some((data.to_vec(), sha));
                sha
            }
        };
        let size = u32::try_from(data.len()).map_err(|_| ManifestError::Mbtiles {
            name: name.clone(),
            detail: format!("tile {tile} is larger than 4 GiB"),
        })?;
        entries.push(Entry { tile, size, sha256: sha });
        Ok::<(), ManifestError>(())
    })?;
    entries.sort_unstable_by_key(|e| e.tile);
    super::write_manifest(output, &header, entries)
}
