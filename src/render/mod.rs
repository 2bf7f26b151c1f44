//! The pieces of one tile → a PNG tile, for raster tilesets (`format = "png"`): each layer's style resolved at
//! the tile's zoom ([`style`]), drawn with anti-aliasing by tiny-skia on a canvas a little larger than the tile
//! ([`raster`]), cropped and encoded as a small PNG ([`mod@png`]); and [`mod@mosaic`], which lays the tiles of
//! one zoom of a raster MBTiles side by side in one image to look at.
//!
//! The pieces are the ones the MVT encoder gets (tile-local integers, clipped to the tile plus its buffer), so
//! raster and vector builds share config, slicing, archive, manifest and publish. Neighbouring tiles agree
//! along their shared edge because both draw the same geometry under the same transform (tile units × an exact
//! power-of-two scale, plus a whole-pixel margin), and each layer's buffer holds everything drawn from beyond
//! the edge (see [`crate::config::LayerStyle::reach_pixels`]).
//!
//! Policy: a tile on which nothing differs from the background is left out and counted as blank (whatever the
//! background; a client shows its own background there); a tile over `max_tile_features` loses its smallest
//! features first (as in [`crate::encode`]); a PNG over `max_tile_bytes` is left out and counted as dropped.

pub mod mosaic;
pub mod png;
pub mod raster;
pub mod style;

use std::path::PathBuf;

use crate::archive::ArchiveError;
use crate::config::{LayerStyle, Limits, Raster};
use crate::tiling::PieceGeom;

pub use mosaic::{MosaicReport, MosaicRequest, mosaic};
pub use png::{decode_png, encode_png};
pub use raster::Canvas;

/// The error of the render stage (and of `mosaic`); every variant names the tile or file at fault.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// PNG encoding failed (an internal error: the image is always well-formed); `what` names the tile or file.
    #[error("{what}: PNG encoding failed: {message}")]
    Encode { what: String, message: String },
    /// The canvas could not be made (a zero or absurd size).
    #[error("tile {tile}: cannot allocate a {size}×{size} canvas")]
    Canvas { tile: String, size: u32 },
    /// An MBTiles could not be read.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// A file could not be written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The MBTiles does not hold what a mosaic needs (PNG tiles at that zoom, a sane size).
    #[error("{path}: {message}")]
    Mosaic { path: PathBuf, message: String },
    /// A stored tile is not a PNG of the expected size.
    #[error("{path}: tile {tile}: {message}")]
    BadTile { path: PathBuf, tile: String, message: String },
}

/// One layer's pieces in one tile, with how to draw them.
#[derive(Debug, Clone)]
pub struct RenderLayer<'a> {
    pub style: &'a LayerStyle,
    /// The layer's clip buffer in tile units (how far its pieces reach beyond the tile).
    pub buffer: u32,
    /// The pieces, in feature order.
    pub geoms: Vec<&'a PieceGeom>,
}

/// What became of one tile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendered {
    /// PNG bytes, with the pieces drawn and those dropped by the feature cap.
    Tile { png: Vec<u8>, features: u64, dropped: u64 },
    /// Nothing on the tile differs from the background: left out.
    Blank,
    /// The PNG is over `max_tile_bytes`: left out.
    TooBig { features: u64 },
}

/// Draws and encodes one tile at `zoom`; `tile` names it in errors.
pub fn render_tile(
    layers: &[RenderLayer<'_>],
    raster: &Raster,
    zoom: u8,
    limits: &Limits,
    tile: &str,
) -> Result<Rendered, RenderError> {
    let total: usize = layers.iter().map(|l| l.geoms.len()).sum();
    let capped;
    let layers = if total > limits.max_tile_features {
        capped = keep_largest(layers, limits.max_tile_features);
        &capped[..]
    } else {
        layers
    };
    let kept: usize = layers.iter().map(|l| l.geoms.len()).sum();
    let dropped = (total - kept) as u64;
    let mut canvas = Canvas::new(raster, raster::margin_for(layers, raster))
        .ok_or(RenderError::Canvas { tile: tile.to_owned(), size: raster.tile_size })?;
    canvas.draw(layers, zoom);
    if canvas.is_blank() {
        return Ok(Rendered::Blank);
    }
    let png = encode_png(&canvas.tile_rgba(), raster.tile_size, raster.tile_size)
        .map_err(|e| RenderError::Encode { what: format!("tile {tile}"), message: e.to_string() })?;
    if png.len() > limits.max_tile_bytes {
        return Ok(Rendered::TooBig { features: total as u64 });
    }
    Ok(Rendered::Tile { png, features: kept as u64, dropped })
}

/// The layers with only the `cap` largest pieces (area, length; points weigh nothing), the MVT cap's order:
/// smallest first, later pieces first among equals.
fn keep_largest<'a>(layers: &[RenderLayer<'a>], cap: usize) -> Vec<RenderLayer<'a>> {
    let mut order: Vec<(f64, usize, usize)> = layers
        .iter()
        .enumerate()
        .flat_map(|(li, l)| l.geoms.iter().enumerate().map(move |(gi, g)| (g.weight(l.buffer), li, gi)))
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)).then(b.2.cmp(&a.2)));
    let mut keep: Vec<Vec<bool>> = layers.iter().map(|l| vec![true; l.geoms.len()]).collect();
    for &(_, li, gi) in order.iter().take(order.len().saturating_sub(cap)) {
        keep[li][gi] = false;
    }
    layers
        .iter()
        .zip(&keep)
        .map(|(layer, keep)| RenderLayer {
            geoms: layer.geoms.iter().zip(keep).filter(|(_, k)| **k).map(|(g, _)| *g).collect(),
            ..layer.clone()
        })
        .collect()
}

#[cfg(test)]
mod tests;
