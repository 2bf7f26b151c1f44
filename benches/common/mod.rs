//! What the benches share: fixtures loaded into tiler shapes, and the whole-world tile range of a zoom.
// Each bench uses a part of it (the render bench draws shapes and needs no properties).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use tilepress::source::{InvalidPolicy, Value, read_features};
use tilepress::tiling::{Shape, TileRange};

/// One source feature as the tiler holds it: its properties and its shapes (one per geometry kind).
pub struct Loaded {
    pub properties: Vec<(String, Value)>,
    pub shapes: Vec<Shape>,
}

/// A fixture of the repository by file name.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

/// Reads every feature of a fixture (invalid geometry is an error) and projects it into unit shapes.
pub fn load(name: &str) -> Vec<Loaded> {
    let path = fixture(name);
    let mut out = Vec::new();
    read_features(&path, InvalidPolicy::Error, &mut |feature| {
        out.push(Loaded { shapes: Shape::from_geo(&feature.geometry), properties: feature.properties });
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    out
}

/// Every tile of zoom `z`.
pub fn world_range(z: u8) -> TileRange {
    let last = (1u32 << z) - 1;
    TileRange { z, x_min: 0, y_min: 0, x_max: last, y_max: last }
}

/// World tile units per unit-square unit at zoom `z` (the extent times the tiles across).
pub fn world_scale(z: u8) -> f64 {
    f64::from(tilepress::tiling::EXTENT) * f64::from(1u32 << z)
}
