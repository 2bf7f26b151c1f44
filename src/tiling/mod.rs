//! Features in lon/lat → pieces of geometry per tile: Web Mercator projection, tile math, simplification and
//! clipping.
//!
//! For one zoom, each feature is scaled to world tile units (tile × 4096 + offset), simplified in those units,
//! then *sliced* into every tile it touches by recursive bisection of the tile range ([`mod@slice`]): each step clips
//! the piece against one axis-aligned rectangle, so a country's ring is walked O(log tiles) times, not once per
//! tile, and a range of tiles that a polygon covers whole is emitted as [`PieceGeom::Full`] without clipping.

mod bbox;
pub mod clip;
pub mod mercator;
pub mod piece;
pub mod shape;
pub mod simplify;
pub mod slice;
mod tile;
pub mod valid;

pub use bbox::{Bbox, MAX_LATITUDE};
pub use mercator::{TileRange, lonlat_to_unit, unit_to_lonlat};
pub use piece::{Coord, Piece, PieceGeom};
pub use shape::{Point, Shape};
pub use slice::{SliceParams, slice_shape, valid_polygons};
pub use tile::{MAX_TILE_ZOOM, TileId};

/// Tile extent of every vector tile: coordinates run from 0 to 4096 inside a tile.
pub const EXTENT: u32 = 4096;
