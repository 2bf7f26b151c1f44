//! A raster MBTiles, one zoom and an area → one PNG of its tiles side by side (north up), for an operator to
//! look at a build. Missing tiles (left out as blank, or never drawn) show the given background, or stay
//! transparent.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{RenderError, decode_png, encode_png};
use crate::archive::MbtilesReader;
use crate::config::Color;
use crate::tiling::{Bbox, TileId, TileRange};

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
    let reader = MbtilesReader::open(path)?;
    // Unreadable metadata reads as no format, which is refused just below.
    let format = reader.metadata_value("format").ok().flatten().unwrap_or_default();
    if format != "png" {
        return Err(fail(format!("a mosaic needs PNG tiles; this MBTiles has format `{format}`")));
    }
    let range = match request.bbox {
        Some(bbox) => TileRange::covering(bbox.clamped_to_mercator(), request.zoom),
        None => reader.stored_range(request.zoom)?.ok_or_else(|| fail(format!("no tiles at zoom {}", request.zoom)))?,
    };
    let (columns, rows) = (range.x_max - range.x_min + 1, range.y_max - range.y_min + 1);
    let tiles = reader.tiles_in(range)?;
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
