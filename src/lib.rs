//! tilepress: vector geodata → map tiles (vector or PNG) in MBTiles, fingerprinted and published.
//!
//! The pipeline, in stage order (see ARCHITECTURE.md): a [`config::Tileset`] names sources and zooms; [`source`]
//! streams features from geodata files; [`tiling`] projects, simplifies and slices them into per-tile pieces;
//! [`encode`] turns the pieces of one tile into Mapbox Vector Tile bytes, or for a raster tileset [`render`]
//! draws them into a PNG; [`archive`] writes the tiles into an MBTiles file through one writer thread;
//! [`manifest`] fingerprints every tile (SHA-256) into a deterministic manifest and diffs two of them.
//! [`pipeline::build`] runs them all; [`publish`] then makes a build a new immutable version in a store, live
//! after one atomic pointer swap, with [`delta`] packages that take a device from an earlier version to it.

pub mod archive;
pub mod config;
pub mod delta;
pub mod encode;
pub mod expr;
pub mod manifest;
pub mod metrics;
pub mod pipeline;
pub mod publish;
pub mod render;
pub mod source;
pub mod sync;
pub mod tiling;

mod error;
mod progress;

pub use config::Tileset;
pub use error::{Error, Result};
pub use pipeline::{BuildOptions, BuildSummary, build};
pub use tiling::Bbox;
