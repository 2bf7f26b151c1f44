//! A raster MBTiles, one zoom and an area → one PNG of its tiles side by side (north up), for an operator to
//! look at a build. Missing tiles (left out as blank, or never drawn) show the given background, or stay
//! transparent.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use super::{RenderError, decode_png, encode_png};
use crate::config::{Bbox, Color};
use crate::tiling::{TileId, TileRange};

/// The widest or tallest mosaic made, in pixels (a 8192² RGBA image is 256 MiB in memory).
pub const MAX_MOSAIC_PIXELS: u64 = 8192;

/// What to put in the mosaic.
#[derive(Debug, Clone)]
pub struct MosaicRequest {
    pub mbtiles: PathBuf,
    pub zoom: u8,
    /// The area; default: the extent of the tiles stored at that zoom.
    pub bbox: Option<Bbox>,
    pub output: PathBuf,
    /// Painted under the tiles (and where they are missing); default: transparent.
    pub background: Option<Color>,
}

/// What the mosaic holds.
#[derive(Debug, Clone, Serialize)]
pub struct MosaicReport {
    pub output: PathBuf,
    pub zoom: u8,
    /// Tile columns and rows (XYZ) covered, inclusive.
    pub columns: [u32; 2],
    pub rows: [u32; 2],
    pub width: u32,
    pub height: u32,
    pub tile_size: u32,
    pub tiles_found: u64,
    pub tiles_missing: u64,
}

/// Reads the tiles of `request.zoom` inside the area and writes them as one PNG.
pub fn mosaic(request: &MosaicRequest) -> Result<MosaicReport, RenderError> {
    let path = &request.mbtiles;
    let fail = |message: String| RenderError::Mosaic { path: path.clone(), message };
    if !path.is_file() {
        return Err(fail("no such file".to_owned()));
    }
    let sqlite = |source| RenderError::Sqlite { path: path.clone(), source };
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sqlite)?;
    let meta = |key: &str| -> Option<String> {
        conn.query_row("SELECT value FROM metadata WHERE name = ?1", [key], |r| r.get(0)).ok()
    };
    let format = meta("format").unwrap_or_default();
    if format != "png" {
        return Err(fail(format!("a mosaic needs PNG tiles; this MBTiles has format `{format}`")));
    }
    let range = match request.bbox {
        Some(bbox) => TileRange::covering(bbox.clamped_to_mercator(), request.zoom),
        None => stored_range(&conn, path, request.zoom)?
            .ok_or_else(|| fail(format!("no tiles at zoom {}", request.zoom)))?,
    };
    let (columns, rows) = (range.x_max - range.x_min + 1, range.y_max - range.y_min + 1);
    let tiles = read_tiles(&conn, path, range)?;
    let tile_size = match tiles.first() {
        Some((tile, png)) => decode(path, *tile, png)?.0,
        None => return Err(fail(format!("no tiles at zoom {} inside the area", request.zoom))),
    };
    let (width, height) = (u64::from(columns) * u64::from(tile_size), u64::from(rows) * u64::from(tile_size));
    if width > MAX_MOSAIC_PIXELS || height > MAX_MOSAIC_PIXELS {
        return Err(fail(format!(
            "{width}×{height} pixels at zoom {} is over the {MAX_MOSAIC_PIXELS}-pixel limit: pass a smaller --bbox \
             or a lower --zoom",
            request.zoom
        )));
    }
    let (width, height) = (width as u32, height as u32);
    let fill = request.background.unwrap_or(Color::TRANSPARENT);
    let mut image = [fill.r, fill.g, fill.b, fill.a].repeat(width as usize * height as usize);
    for (tile, png) in &tiles {
        let (size, pixels) = decode(path, *tile, png)?;
        if size != tile_size {
            return Err(RenderError::BadTile {
                path: path.clone(),
                tile: tile.to_string(),
                message: format!("{size} pixels a side, where the first tile has {tile_size}"),
            });
        }
        let left = ((tile.x - range.x_min) * tile_size) as usize;
        let top = ((tile.y - range.y_min) * tile_size) as usize;
        for (row, src) in pixels.chunks_exact(tile_size as usize * 4).enumerate() {
            let start = ((top + row) * width as usize + left) * 4;
            for (dst, px) in image[start..start + src.len()].chunks_exact_mut(4).zip(src.chunks_exact(4)) {
                over(dst, px);
            }
        }
    }
    let bytes = encode_png(&image, width, height)
        .map_err(|e| RenderError::Encode { what: request.output.display().to_string(), message: e.to_string() })?;
    write_file(&request.output, &bytes)?;
    let found = tiles.len() as u64;
    Ok(MosaicReport {
        output: request.output.clone(),
        zoom: request.zoom,
        columns: [range.x_min, range.x_max],
        rows: [range.y_min, range.y_max],
        width,
        height,
        tile_size,
        tiles_found: found,
        tiles_missing: u64::from(columns) * u64::from(rows) - found,
    })
}

/// The columns and rows (XYZ) that the tiles stored at `zoom` span, or `None` if there are none.
fn stored_range(conn: &Connection, path: &Path, zoom: u8) -> Result<Option<TileRange>, RenderError> {
    let sqlite = |source| RenderError::Sqlite { path: path.to_owned(), source };
    let extent: (Option<u32>, Option<u32>, Option<u32>, Option<u32>) = conn
        .query_row(
            "SELECT min(tile_column), max(tile_column), min(tile_row), max(tile_row) FROM tiles
             WHERE zoom_level = ?1",
            [zoom],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .map_err(sqlite)?;
    let (Some(x_min), Some(x_max), Some(row_min), Some(row_max)) = extent else { return Ok(None) };
    let (Some(north), Some(south)) = (TileId::from_tms(zoom, x_min, row_max), TileId::from_tms(zoom, x_min, row_min))
    else {
        return Ok(None);
    };
    Ok(Some(TileRange { z: zoom, x_min, x_max, y_min: north.y, y_max: south.y }))
}

/// Every stored tile of the range, as `(XYZ tile, PNG bytes)`.
fn read_tiles(conn: &Connection, path: &Path, range: TileRange) -> Result<Vec<(TileId, Vec<u8>)>, RenderError> {
    let sqlite = |source| RenderError::Sqlite { path: path.to_owned(), source };
    let z = range.z;
    let n = 1u32 << z;
    // TMS rows: the north (small y) is the high row.
    let (row_min, row_max) = (n - 1 - range.y_max, n - 1 - range.y_min);
    let mut stmt = conn
        .prepare(
            "SELECT tile_column, tile_row, tile_data FROM tiles WHERE zoom_level = ?1
               AND tile_column BETWEEN ?2 AND ?3 AND tile_row BETWEEN ?4 AND ?5
             ORDER BY tile_column, tile_row",
        )
        .map_err(sqlite)?;
    let rows = stmt
        .query_map(rusqlite::params![z, range.x_min, range.x_max, row_min, row_max], |r| {
            Ok((r.get::<_, u32>(0)?, r.get::<_, u32>(1)?, r.get::<_, Vec<u8>>(2)?))
        })
        .map_err(sqlite)?;
    let mut out = Vec::new();
    for row in rows {
        let (x, tms_row, data) = row.map_err(sqlite)?;
        if let Some(tile) = TileId::from_tms(z, x, tms_row) {
            out.push((tile, data));
        }
    }
    Ok(out)
}

fn decode(path: &Path, tile: TileId, png: &[u8]) -> Result<(u32, Vec<u8>), RenderError> {
    let bad = |message: String| RenderError::BadTile { path: path.to_owned(), tile: tile.to_string(), message };
    let (width, height, pixels) = decode_png(png).map_err(|e| bad(format!("not a readable PNG: {e}")))?;
    if width != height {
        return Err(bad(format!("{width}×{height} is not square")));
    }
    Ok((width, pixels))
}

/// `src` over `dst`, straight alpha.
fn over(dst: &mut [u8], src: &[u8]) {
    let sa = u32::from(src[3]);
    if sa == 255 || dst[3] == 0 {
        dst.copy_from_slice(src);
        return;
    }
    let da = u32::from(dst[3]) * (255 - sa) / 255;
    let out_a = sa + da;
    if out_a == 0 {
        return;
    }
    for k in 0..3 {
        dst[k] = ((u32::from(src[k]) * sa + u32::from(dst[k]) * da) / out_a) as u8;
    }
    dst[3] = out_a as u8;
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), RenderError> {
    let io = |source| RenderError::Io { path: path.to_owned(), source };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(path, bytes).map_err(io)
}
