//! Any MBTiles (ours, or another tool's flat `tiles` table or `map` + `images`) → a manifest.
//!
//! The header comes from the `metadata` table only (see [`Header::from_metadata`]), so the manifest that
//! `build` writes and the one computed later from its MBTiles are byte-identical.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use tracing::warn;

use super::{Entry, Header, ManifestError, ManifestInfo, ManifestWriter, SourceFingerprint, sha256};
use crate::tiling::TileId;

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
    let sqlite = |source| ManifestError::Sqlite { name: name.clone(), source };
    if !mbtiles.is_file() {
        return Err(ManifestError::Io {
            name: name.clone(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    let conn = Connection::open_with_flags(mbtiles, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sqlite)?;
    let rows = read_metadata(&conn).map_err(sqlite)?;
    let stem = mbtiles.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut header = Header::from_metadata(&rows, &stem);
    if !rows.contains_key("minzoom") || !rows.contains_key("maxzoom") {
        let (lo, hi): (Option<u8>, Option<u8>) = conn
            .query_row("SELECT min(zoom_level), max(zoom_level) FROM tiles", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sqlite)?;
        header.minzoom = lo.unwrap_or(0);
        header.maxzoom = hi.unwrap_or(0);
    }
    let mut writer = ManifestWriter::create(output, &header)?;
    // XYZ order: ascending y is descending TMS row.
    let mut stmt = conn
        .prepare(
            "SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles
             ORDER BY zoom_level, tile_column, tile_row DESC",
        )
        .map_err(sqlite)?;
    let mut query = stmt.query([]).map_err(sqlite)?;
    let mut nulls = 0u64;
    while let Some(row) = query.next().map_err(sqlite)? {
        let (z, x, tms_row): (i64, i64, i64) =
            (row.get(0).map_err(sqlite)?, row.get(1).map_err(sqlite)?, row.get(2).map_err(sqlite)?);
        let tile = u8::try_from(z)
            .ok()
            .zip(u32::try_from(x).ok())
            .zip(u32::try_from(tms_row).ok())
            .and_then(|((z, x), r)| TileId::from_tms(z, x, r))
            .ok_or_else(|| ManifestError::Mbtiles {
                name: name.clone(),
                detail: format!("tile z={z} column={x} row={tms_row} lies outside the grid of its zoom"),
            })?;
        let data: Option<Vec<u8>> = row.get(3).map_err(sqlite)?;
        let Some(data) = data else {
            nulls += 1;
            continue;
        };
        let size = u32::try_from(data.len()).map_err(|_| ManifestError::Mbtiles {
            name: name.clone(),
            detail: format!("tile {tile} is larger than 4 GiB"),
        })?;
        writer.push(&Entry { tile, size, sha256: sha256(&data) })?;
    }
    if nulls > 0 {
        warn!(mbtiles = %name, tiles = nulls, "tiles with NULL tile_data left out of the manifest");
    }
    writer.finish()
}

fn read_metadata(conn: &Connection) -> rusqlite::Result<BTreeMap<String, String>> {
    let exists: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE name = 'metadata' AND type IN ('table', 'view')",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(BTreeMap::new());
    }
    let mut stmt = conn.prepare("SELECT name, value FROM metadata")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)))?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (k, v) = row?;
        if let Some(v) = v {
            out.insert(k, v);
        }
    }
    Ok(out)
}
