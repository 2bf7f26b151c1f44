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
    #[serde(default)]
    pub maxzoom: Option<i64>,
    #[serde(default)]
    pub bounds: Option<Vec<f64>>,
    #[serde(default)]
    pub center: Option<Vec<f64>>,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub publish: RawPublish,
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
    pub max_tile_features: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPublish {
    /// Share (0–1) of the live version's tiles or bytes a publish may remove without `--allow-shrink`.
    pub max_shrink: Option<f64>,
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
    /// Property names to keep; absent keeps all, an empty list keeps none.
    pub properties: Option<Vec<String>>,
    /// Douglas–Peucker tolerance in tile units (of the 4096 extent).
    pub simplify: Option<f64>,
    /// Clip buffer around each tile, in tile units (of the 4096 extent).
    pub buffer: Option<i64>,
    /// `"error"` (default) or `"skip"`: what an invalid feature does.
    pub invalid: Option<String>,
}
