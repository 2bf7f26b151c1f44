//! The tileset file as written: serde types that mirror the TOML one to one and reject unknown keys.
//!
//! Nothing here is checked beyond types; [`super::Tileset::from_raw`] turns a [`RawTileset`] into a
//! validated tileset.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTileset {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub attribution: String,
    #[serde(default = "default_format")]
    pub format: String,
    #[serde(default)]
    pub minzoom: Option<i64>,
    /// A zoom level, or `"auto"` (guessed from the data).
    #[serde(default)]
    pub maxzoom: Option<toml::Value>,
    #[serde(default)]
    pub bounds: Option<Vec<f64>>,
    #[serde(default)]
    pub center: Option<Vec<f64>>,
    /// Raster tilesets only: pixels a side, 256 or 512.
    pub tile_size: Option<i64>,
    /// Raster tilesets only: `"#rrggbb"` or `"#rrggbbaa"` painted under everything.
    pub background: Option<String>,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub publish: RawPublish,
    #[serde(default)]
    pub generalize: super::generalize::RawGeneralize,
    #[serde(default)]
    pub regions: BTreeMap<String, RawRegion>,
    #[serde(default)]
    pub layers: Vec<RawLayer>,
}

fn default_format() -> String {
    "mvt".to_owned()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub max_tile_bytes: Option<i64>,
    pub max_tile_raw_bytes: Option<i64>,
    pub max_tile_features: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPublish {
    /// Share (0–1) of the live version's tiles or bytes a publish may remove without `--allow-shrink`.
    pub max_shrink: Option<f64>,
    /// Deltas written per publish: one from each of the last N versions that were live (default 3, 0 = none).
    pub deltas: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegion {
    pub bbox: Vec<f64>,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLayer {
    pub id: String,
    pub source: String,
    #[serde(default)]
    pub description: String,
    pub minzoom: Option<i64>,
    pub maxzoom: Option<i64>,
    /// A list of property names to keep (absent keeps all, an empty list keeps none), or a table of output
    /// properties, each computed by an expression; kept as a TOML value until checked.
    pub properties: Option<toml::Value>,
    /// An expression: features for which it is not true are left out of the layer.
    pub filter: Option<toml::Value>,
    /// An expression giving a feature's minimum zoom (see `expr`).
    pub minzoom_by: Option<toml::Value>,
    /// Douglas–Peucker tolerance in tile units (of the 4096 extent).
    pub simplify: Option<f64>,
    /// Clip buffer around each tile, in tile units (of the 4096 extent).
    pub buffer: Option<i64>,
    /// `"error"` (default) or `"skip"`: what an invalid feature does.
    pub invalid: Option<String>,
    /// Raster tilesets only: how the layer is drawn.
    pub style: Option<RawStyle>,
    /// Keep lines and polygons smaller than a pixel (by default short lines are dropped and tiny polygons
    /// accumulated into a few representative pixels).
    pub keep_small: Option<bool>,
    /// The layer's own point thinning (`base_zoom`, `point_rate`).
    pub generalize: Option<super::generalize::RawLayerGeneralize>,
    /// OpenStreetMap sources only: `"point"`, `"line"`, `"polygon"` or `"centroid"`.
    pub geometry: Option<String>,
    /// Square pixels a polygon must cover at a zoom to be shown there.
    pub min_area: Option<f64>,
    /// Pixels a line must be long at a zoom to be shown there.
    pub min_length: Option<f64>,
}

/// A layer's `[layers.style]` table (raster tilesets). Widths and the radius are a number of pixels or a list of
/// `[zoom, value]` stops, kept as TOML values until checked.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStyle {
    pub fill_color: Option<String>,
    pub fill_opacity: Option<f64>,
    pub outline_color: Option<String>,
    pub outline_width: Option<toml::Value>,
    pub stroke_color: Option<String>,
    pub stroke_width: Option<toml::Value>,
    pub point_color: Option<String>,
    pub point_radius: Option<toml::Value>,
    pub order: Option<i64>,
}

impl RawStyle {
    /// The first key set in the table (in the order above), to name in a message; `None` for an empty table.
    pub fn first_key(&self) -> Option<&'static str> {
        let keys: [(&'static str, bool); 9] = [
            ("fill_color", self.fill_color.is_some()),
            ("fill_opacity", self.fill_opacity.is_some()),
            ("outline_color", self.outline_color.is_some()),
            ("outline_width", self.outline_width.is_some()),
            ("stroke_color", self.stroke_color.is_some()),
            ("stroke_width", self.stroke_width.is_some()),
            ("point_color", self.point_color.is_some()),
            ("point_radius", self.point_radius.is_some()),
            ("order", self.order.is_some()),
        ];
        keys.iter().find(|(_, set)| *set).map(|(key, _)| *key)
    }
}
