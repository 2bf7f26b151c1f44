//! The `[generalize]` table (tileset-wide, a layer may override its point keys): how features thin out below the
//! base zoom and how a zoom meets the tile budget. See `pipeline::generalize` for what each setting does.

use serde::Deserialize;

/// Default kept-share factor per zoom below the base zoom (tippecanoe's `-r` default).
pub const DEFAULT_POINT_RATE: f64 = 2.5;

/// How a zoom whose tiles are over the budget (bytes or features) is brought under it: one threshold for the
/// whole zoom, so that neighbouring tiles agree on every feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AsNeeded {
    /// Drop the features that lie closest to their neighbour (along a space-filling curve) first.
    #[default]
    DropDensest,
    /// The features drop-densest would drop are merged into their nearest kept neighbour of the same kind, which
    /// then counts them (`coalesced_count`); see `pipeline::generalize::coalesce`.
    CoalesceDensest,
    /// Drop the smallest features first (polygon area, line length; points weigh nothing).
    DropSmallest,
    /// No whole-zoom threshold: a tile over the budget loses its smallest features on its own (the old
    /// per-tile rule, which can make seams between neighbours).
    None,
}

impl AsNeeded {
    pub fn name(self) -> &'static str {
        match self {
            AsNeeded::DropDensest => "drop-densest",
            AsNeeded::CoalesceDensest => "coalesce-densest",
            AsNeeded::DropSmallest => "drop-smallest",
            AsNeeded::None => "none",
        }
    }

    fn parse(text: &str) -> Result<AsNeeded, String> {
        match text {
            "drop-densest" => Ok(AsNeeded::DropDensest),
            "coalesce-densest" => Ok(AsNeeded::CoalesceDensest),
            "drop-smallest" => Ok(AsNeeded::DropSmallest),
            "none" => Ok(AsNeeded::None),
            other => {
                Err(format!("`{other}` must be \"drop-densest\", \"coalesce-densest\", \"drop-smallest\" or \"none\""))
            }
        }
    }
}

/// The zoom below which points thin out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BaseZoom {
    /// The layer's max zoom (every point is shown there).
    #[default]
    Max,
    Zoom(u8),
}

/// Point thinning of one layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thinning {
    pub base_zoom: BaseZoom,
    /// At zoom z below the base zoom, about `rate^-(base − z)` of the points are kept; 1 keeps every point.
    pub point_rate: f64,
}

impl Default for Thinning {
    fn default() -> Self {
        Thinning { base_zoom: BaseZoom::Max, point_rate: DEFAULT_POINT_RATE }
    }
}

/// The tileset-wide settings.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Generalize {
    pub thinning: Thinning,
    pub as_needed: AsNeeded,
    /// When the deepest zoom still drops features to meet the budget, build deeper zooms (up to
    /// [`super::MAX_ZOOM`]) until one drops none, as tippecanoe's `--extend-zooms-if-still-dropping`.
    pub extend_zooms: bool,
}

/// `[generalize]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGeneralize {
    pub base_zoom: Option<toml::Value>,
    pub point_rate: Option<f64>,
    pub as_needed: Option<String>,
    pub extend_zooms_if_still_dropping: Option<bool>,
    /// The budget of one stored tile; the same as `limits.max_tile_bytes` (either may be given, not both).
    pub max_tile_bytes: Option<i64>,
}

/// `[layers.generalize]` as written: a layer's own point thinning.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLayerGeneralize {
    pub base_zoom: Option<toml::Value>,
    pub point_rate: Option<f64>,
}

/// Checks `[generalize]`; errors are `(key, message)` with the key relative to the table.
pub fn check(raw: &RawGeneralize, max_zoom: u8) -> Result<Generalize, (String, String)> {
    let thinning = check_thinning(raw.base_zoom.as_ref(), raw.point_rate, Thinning::default(), max_zoom)?;
    let as_needed = match raw.as_needed.as_deref() {
        None => AsNeeded::default(),
        Some(text) => AsNeeded::parse(text).map_err(|m| ("as_needed".to_owned(), m))?,
    };
    Ok(Generalize { thinning, as_needed, extend_zooms: raw.extend_zooms_if_still_dropping.unwrap_or(false) })
}

/// Checks a layer's `[layers.generalize]` over the tileset's settings.
pub fn check_layer(raw: &RawLayerGeneralize, base: Thinning, max_zoom: u8) -> Result<Thinning, (String, String)> {
    check_thinning(raw.base_zoom.as_ref(), raw.point_rate, base, max_zoom)
}

fn check_thinning(
    base_zoom: Option<&toml::Value>,
    point_rate: Option<f64>,
    default: Thinning,
    max_zoom: u8,
) -> Result<Thinning, (String, String)> {
    let base_zoom = match base_zoom {
        None => default.base_zoom,
        Some(toml::Value::String(s)) if s == "max" => BaseZoom::Max,
        Some(toml::Value::Integer(z)) if (0..=i64::from(max_zoom)).contains(z) => BaseZoom::Zoom(*z as u8),
        Some(other) => {
            return Err((
                "base_zoom".to_owned(),
                format!("{other} must be \"max\" or a zoom level in [0, {max_zoom}]"),
            ));
        }
    };
    let point_rate = point_rate.unwrap_or(default.point_rate);
    if !point_rate.is_finite() || !(1.0..=1000.0).contains(&point_rate) {
        return Err(("point_rate".to_owned(), format!("{point_rate} must lie in [1, 1000] (1 keeps every point)")));
    }
    Ok(Thinning { base_zoom, point_rate })
}
