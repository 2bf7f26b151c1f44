//! Tileset files (`tilesets/*.toml`) → a validated [`Tileset`]: what to build, from which sources, at which zooms.
//!
//! Parsing happens in two steps: `raw` mirrors the file with serde (unknown keys are errors), then
//! [`Tileset::from_raw`] checks every value and resolves source paths relative to the tileset file.
//! Every error names the tileset file and the key at fault.

mod expressions;
mod generalize;
mod osm;
mod raw;
mod style;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use expressions::OutputProperties;
pub use generalize::{AsNeeded, BaseZoom, DEFAULT_POINT_RATE, Generalize, Thinning};
pub use osm::{OsmGeometry, OsmKeys};
pub use raw::RawTileset;
pub use style::{Color, DEFAULT_TILE_SIZE, LayerStyle, MAX_STYLE_PIXELS, Raster, TILE_SIZES, ZoomCurve};

use crate::expr::Expr;
use crate::source::InvalidPolicy;
/// Re-exported from [`crate::tiling`], where the geometry that uses them lives.
pub use crate::tiling::{Bbox, MAX_LATITUDE};

/// The deepest zoom a tileset may ask for.
pub const MAX_ZOOM: u8 = 20;
/// The deepest zoom `maxzoom = "auto"` guesses (a guess beyond it is cut to it; `--maxzoom` goes deeper).
pub const AUTO_MAXZOOM_LIMIT: u8 = 16;
/// Default clip buffer around a tile, in tile units of the 4096 extent.
pub const DEFAULT_BUFFER: u32 = 64;
/// Default Douglas–Peucker tolerance, in tile units of the 4096 extent.
pub const DEFAULT_SIMPLIFY: f64 = 1.0;
/// Default cap on one stored (gzip-compressed) tile.
pub const DEFAULT_MAX_TILE_BYTES: usize = 500 * 1024;
/// Default cap on one tile's uncompressed MVT bytes: a tile that gzip shrinks a hundredfold (millions of
/// identical points) is small on disk but a memory bomb for every client that opens it.
pub const DEFAULT_MAX_TILE_RAW_BYTES: usize = 4 << 20;
/// Default share of the live version's tiles or bytes a publish may remove without `--allow-shrink`.
pub const DEFAULT_MAX_SHRINK: f64 = 0.20;
/// Deltas a publish writes by default: from each of the last 3 versions that were live.
pub const DEFAULT_DELTAS: usize = 3;
/// The most deltas per publish a tileset may ask for (each is a diff and an upload).
pub const MAX_DELTAS: usize = 30;
/// Default cap on the features of one tile.
pub const DEFAULT_MAX_TILE_FEATURES: usize = 200_000;

/// The longest tileset, region or layer name: a set name (`NAME.REGION`) becomes a folder of the store and part
/// of every object key, which S3 limits to 1,024 bytes.
pub const MAX_NAME_LEN: usize = 64;

/// The error of the config stage; every variant names the tileset file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read tileset: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {key}: {message}")]
    Invalid { path: PathBuf, key: String, message: String },
}

/// Tile formats a tileset can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileFormat {
    /// Mapbox Vector Tiles 2.1, gzip-compressed.
    Mvt,
    /// PNG images drawn from the same pieces, each layer by its [`LayerStyle`].
    Png(Raster),
}

impl TileFormat {
    /// The MBTiles `format` metadata value.
    pub fn mbtiles_name(self) -> &'static str {
        match self {
            TileFormat::Mvt => "pbf",
            TileFormat::Png(_) => "png",
        }
    }
}

/// Caps on one tile, with a deterministic drop policy when exceeded (see `encode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_tile_bytes: usize,
    /// Uncompressed MVT bytes (the size a client inflates the tile to).
    pub max_tile_raw_bytes: usize,
    pub max_tile_features: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_tile_bytes: DEFAULT_MAX_TILE_BYTES,
            max_tile_raw_bytes: DEFAULT_MAX_TILE_RAW_BYTES,
            max_tile_features: DEFAULT_MAX_TILE_FEATURES,
        }
    }
}

/// A named sub-area of a tileset that can be built and published on its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub bbox: Bbox,
    pub description: String,
}

/// One layer: the features of one source file that pass its `filter` (several layers may share a source).
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub id: String,
    /// The source file, resolved against the tileset file's folder.
    pub source: PathBuf,
    pub description: String,
    pub minzoom: u8,
    pub maxzoom: u8,
    /// The layer gives its own `maxzoom` (otherwise it follows the tileset's, which `"auto"` may change).
    pub own_maxzoom: bool,
    /// Which properties go into the tiles: all, a list to keep, or computed ones.
    pub properties: OutputProperties,
    /// Features for which this is not true are left out of the layer.
    pub filter: Option<Expr>,
    /// A per-feature minimum zoom (rounded down; below `minzoom` counts as `minzoom`, above `maxzoom` leaves the
    /// feature out; a result that is no number means `minzoom`).
    pub minzoom_by: Option<Expr>,
    /// Douglas–Peucker tolerance in tile units.
    pub simplify: f64,
    /// Clip buffer in tile units.
    pub buffer: u32,
    pub invalid: InvalidPolicy,
    /// How the layer is drawn: set for raster tilesets (every layer has one), `None` for vector ones.
    pub style: Option<LayerStyle>,
    /// How its points thin out below the base zoom.
    pub thinning: Thinning,
    /// Keep lines and polygons smaller than a pixel.
    pub keep_small: bool,
    /// `geometry` (OSM sources), `min_area` and `min_length`.
    pub osm: OsmKeys,
}

/// A validated tileset definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Tileset {
    /// The file it was read from (used in messages).
    pub path: PathBuf,
    pub name: String,
    pub description: String,
    pub attribution: String,
    pub format: TileFormat,
    pub minzoom: u8,
    /// The deepest zoom; with `maxzoom_auto`, the deepest the guess may pick ([`AUTO_MAXZOOM_LIMIT`]).
    pub maxzoom: u8,
    /// `maxzoom = "auto"`: the build guesses the max zoom from the spacing of the data (see
    /// `pipeline::generalize::maxzoom`).
    pub maxzoom_auto: bool,
    pub bounds: Bbox,
    /// `(lon, lat, zoom)`; defaults to the middle of the bounds.
    pub center: Option<(f64, f64, u8)>,
    pub limits: Limits,
    pub generalize: Generalize,
    /// Share of the live version's tiles or bytes a publish may remove without `--allow-shrink`.
    pub max_shrink: f64,
    /// Deltas a publish writes: one from each of the last N versions that were live (`[publish] deltas`).
    pub deltas: usize,
    pub regions: BTreeMap<String, Region>,
    pub layers: Vec<Layer>,
}

impl Tileset {
    /// Reads and validates a tileset file.
    pub fn load(path: &Path) -> Result<Tileset, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io { path: path.to_owned(), source })?;
        Tileset::parse(&text, path)
    }

    /// Parses and validates tileset text; `path` names it in errors and anchors relative source paths.
    pub fn parse(text: &str, path: &Path) -> Result<Tileset, ConfigError> {
        let raw: RawTileset = toml::from_str(text)
            .map_err(|err| ConfigError::Parse { path: path.to_owned(), message: one_line(&err.to_string()) })?;
        Tileset::from_raw(raw, path)
    }

    /// Checks every value of a parsed file.
    pub fn from_raw(raw: RawTileset, path: &Path) -> Result<Tileset, ConfigError> {
        let invalid =
            |key: &str, message: String| ConfigError::Invalid { path: path.to_owned(), key: key.to_owned(), message };
        if raw.name.trim().is_empty() {
            return Err(invalid("name", "must not be empty".to_owned()));
        }
        if raw.name.len() > MAX_NAME_LEN {
            return Err(invalid("name", format!("is {} characters long; at most {MAX_NAME_LEN}", raw.name.len())));
        }
        if !raw.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(invalid("name", format!("`{}` may hold only letters, digits, `-` and `_`", raw.name)));
        }
        let format = match raw.format.as_str() {
            "mvt" | "pbf" => {
                let raster_key = [("tile_size", raw.tile_size.is_some()), ("background", raw.background.is_some())];
                if let Some((key, _)) = raster_key.iter().find(|(_, set)| *set) {
                    return Err(invalid(key, RASTER_ONLY.to_owned()));
                }
                TileFormat::Mvt
            }
            "png" => TileFormat::Png(
                style::check_raster(raw.tile_size, raw.background.as_deref()).map_err(|(k, m)| invalid(&k, m))?,
            ),
            other => {
                return Err(invalid("format", format!("`{other}` is not a supported format (\"mvt\" or \"png\")")));
            }
        };
        let minzoom = zoom(raw.minzoom.unwrap_or(0)).map_err(|m| invalid("minzoom", m))?;
        let (maxzoom, maxzoom_auto) = match &raw.maxzoom {
            None => (14, false),
            Some(toml::Value::String(s)) if s == "auto" => (AUTO_MAXZOOM_LIMIT, true),
            Some(toml::Value::Integer(z)) => (zoom(*z).map_err(|m| invalid("maxzoom", m))?, false),
            Some(other) => {
                return Err(invalid("maxzoom", format!("{other} must be a zoom level in [0, {MAX_ZOOM}] or \"auto\"")));
            }
        };
        if minzoom > maxzoom {
            return Err(invalid("minzoom", format!("{minzoom} is greater than maxzoom {maxzoom}")));
        }
        let bounds = match &raw.bounds {
            Some(values) => Bbox::from_slice(values).map_err(|m| invalid("bounds", m))?,
            None => Bbox::WORLD,
        };
        let center = match &raw.center {
            None => None,
            Some(values) => Some(parse_center(values, minzoom, maxzoom).map_err(|m| invalid("center", m))?),
        };
        let generalize =
            generalize::check(&raw.generalize, MAX_ZOOM).map_err(|(k, m)| invalid(&format!("generalize.{k}"), m))?;
        let (bytes_key, max_tile_bytes) = match (raw.limits.max_tile_bytes, raw.generalize.max_tile_bytes) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "generalize.max_tile_bytes",
                    "is the same budget as limits.max_tile_bytes: give one of them".to_owned(),
                ));
            }
            (None, Some(bytes)) => ("generalize.max_tile_bytes", Some(bytes)),
            (bytes, None) => ("limits.max_tile_bytes", bytes),
        };
        let limits = Limits {
            max_tile_bytes: positive(max_tile_bytes, DEFAULT_MAX_TILE_BYTES).map_err(|m| invalid(bytes_key, m))?,
            max_tile_raw_bytes: positive(raw.limits.max_tile_raw_bytes, DEFAULT_MAX_TILE_RAW_BYTES)
                .map_err(|m| invalid("limits.max_tile_raw_bytes", m))?,
            max_tile_features: positive(raw.limits.max_tile_features, DEFAULT_MAX_TILE_FEATURES)
                .map_err(|m| invalid("limits.max_tile_features", m))?,
        };
        let max_shrink = raw.publish.max_shrink.unwrap_or(DEFAULT_MAX_SHRINK);
        let deltas = raw.publish.deltas.unwrap_or(DEFAULT_DELTAS);
        if deltas > MAX_DELTAS {
            return Err(invalid("publish.deltas", format!("{deltas} is more than {MAX_DELTAS}")));
        }
        if !(0.0..=1.0).contains(&max_shrink) {
            return Err(invalid("publish.max_shrink", format!("{max_shrink} must lie in [0, 1]")));
        }
        let mut regions = BTreeMap::new();
        for (name, region) in raw.regions {
            let key = format!("regions.{name}");
            if name.is_empty() || name.len() > MAX_NAME_LEN {
                return Err(invalid(&key, format!("a region name has 1 to {MAX_NAME_LEN} characters")));
            }
            if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(invalid(&key, "a region name may hold only letters, digits, `-` and `_`".to_owned()));
            }
            let bbox = Bbox::from_slice(&region.bbox).map_err(|m| invalid(&format!("{key}.bbox"), m))?;
            regions.insert(name, Region { bbox, description: region.description });
        }
        if raw.layers.is_empty() {
            return Err(invalid("layers", "the tileset has no layers (add at least one [[layers]] table)".to_owned()));
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let mut layers: Vec<Layer> = Vec::with_capacity(raw.layers.len());
        for (index, layer) in raw.layers.into_iter().enumerate() {
            let key = |field: &str| format!("layers[{index}].{field}");
            if layer.id.is_empty() || layer.id.len() > 255 {
                return Err(invalid(&key("id"), "must be 1 to 255 characters".to_owned()));
            }
            if layers.iter().any(|other| other.id == layer.id) {
                return Err(invalid(
                    &key("id"),
                    format!("`{}` is used by another layer; layer ids must be unique", layer.id),
                ));
            }
            let lmin = zoom(layer.minzoom.unwrap_or(i64::from(minzoom))).map_err(|m| invalid(&key("minzoom"), m))?;
            let lmax = zoom(layer.maxzoom.unwrap_or(i64::from(maxzoom))).map_err(|m| invalid(&key("maxzoom"), m))?;
            if lmin > lmax {
                return Err(invalid(&key("minzoom"), format!("{lmin} is greater than maxzoom {lmax}")));
            }
            let simplify = layer.simplify.unwrap_or(DEFAULT_SIMPLIFY);
            if !simplify.is_finite() || !(0.0..=4096.0).contains(&simplify) {
                return Err(invalid(&key("simplify"), format!("{simplify} must lie in [0, 4096] tile units")));
            }
            let style = match (&format, &layer.style) {
                (TileFormat::Mvt, None) => None,
                (TileFormat::Mvt, Some(raw_style)) => {
                    let field = raw_style.first_key().map_or("style".to_owned(), |k| format!("style.{k}"));
                    return Err(invalid(&key(&field), RASTER_ONLY.to_owned()));
                }
                (TileFormat::Png(_), None) => {
                    return Err(invalid(
                        &key("style"),
                        "a png tileset draws every layer by its style: add a [layers.style] table".to_owned(),
                    ));
                }
                (TileFormat::Png(_), Some(raw_style)) => {
                    Some(style::check_style(raw_style, &key("style")).map_err(|(k, m)| invalid(&k, m))?)
                }
            };
            let buffer = layer.buffer.unwrap_or(i64::from(DEFAULT_BUFFER));
            if !(0..=2048).contains(&buffer) {
                return Err(invalid(&key("buffer"), format!("{buffer} must lie in [0, 2048] tile units")));
            }
            // A raster layer's buffer must hold what is drawn from beyond a tile's edge (see `render`).
            let buffer = match (&format, &style) {
                (TileFormat::Png(raster), Some(style)) => {
                    let needed = i64::from(style::buffer_needed(style, raster));
                    if layer.buffer.is_some_and(|b| b < needed) {
                        return Err(invalid(
                            &key("buffer"),
                            format!(
                                "{buffer} tile units is less than the {needed} this style needs at tile_size {} \
                                 (half the widest stroke or outline, or the point radius, plus 1 pixel)",
                                raster.tile_size
                            ),
                        ));
                    }
                    buffer.max(needed)
                }
                _ => buffer,
            };
            if buffer > 2048 {
                return Err(invalid(&key("buffer"), format!("the style needs a buffer of {buffer}, over 2048")));
            }
            let source = base.join(&layer.source);
            let is_osm = crate::source::SourceFormat::detect(&source).ok() == Some(crate::source::SourceFormat::OsmPbf);
            let osm = osm::check(&layer, is_osm, &key).map_err(|(k, m)| invalid(&k, m))?;
            let invalid_policy = match layer.invalid.as_deref() {
                None | Some("error") => InvalidPolicy::Error,
                Some("skip") => InvalidPolicy::Skip,
                Some(other) => {
                    return Err(invalid(&key("invalid"), format!("`{other}` must be \"error\" or \"skip\"")));
                }
            };
            let thinning = match &layer.generalize {
                None => generalize.thinning,
                Some(raw) => generalize::check_layer(raw, generalize.thinning, MAX_ZOOM)
                    .map_err(|(k, m)| invalid(&key(&format!("generalize.{k}")), m))?,
            };
            let filter =
                expressions::check_filter(layer.filter.as_ref(), &key("filter")).map_err(|(k, m)| invalid(&k, m))?;
            let minzoom_by = expressions::check_minzoom_by(layer.minzoom_by.as_ref(), &key("minzoom_by"))
                .map_err(|(k, m)| invalid(&k, m))?;
            let properties = expressions::check_properties(layer.properties.as_ref(), &key("properties"))
                .map_err(|(k, m)| invalid(&k, m))?;
            if !source.is_file() {
                return Err(invalid(&key("source"), format!("source file {} does not exist", source.display())));
            }
            layers.push(Layer {
                id: layer.id,
                source,
                description: layer.description,
                minzoom: lmin,
                maxzoom: lmax,
                own_maxzoom: layer.maxzoom.is_some(),
                properties,
                filter,
                minzoom_by,
                simplify,
                buffer: buffer as u32,
                invalid: invalid_policy,
                style,
                thinning,
                keep_small: layer.keep_small.unwrap_or(false),
                osm,
            });
        }
        Ok(Tileset {
            path: path.to_owned(),
            name: raw.name,
            description: raw.description,
            attribution: raw.attribution,
            format,
            minzoom,
            maxzoom,
            maxzoom_auto,
            bounds,
            center,
            limits,
            generalize,
            max_shrink,
            deltas,
            regions,
            layers,
        })
    }
}

/// The message for a raster key in a vector tileset.
const RASTER_ONLY: &str = "applies only to raster tilesets (format = \"png\"); this one is format = \"mvt\"";

fn zoom(value: i64) -> Result<u8, String> {
    u8::try_from(value)
        .ok()
        .filter(|z| *z <= MAX_ZOOM)
        .ok_or_else(|| format!("{value} is not a zoom level in [0, {MAX_ZOOM}]"))
}

fn positive(value: Option<i64>, default: usize) -> Result<usize, String> {
    match value {
        None => Ok(default),
        Some(v) if v > 0 => usize::try_from(v).map_err(|_| format!("{v} is too large")),
        Some(v) => Err(format!("{v} must be a positive number")),
    }
}

fn parse_center(values: &[f64], minzoom: u8, maxzoom: u8) -> Result<(f64, f64, u8), String> {
    let [lon, lat, z] = values else {
        return Err(format!("expected [lon, lat, zoom], got {} numbers", values.len()));
    };
    if !(-180.0..=180.0).contains(lon) || !(-90.0..=90.0).contains(lat) {
        return Err(format!("({lon}, {lat}) is not a lon/lat position"));
    }
    if z.fract() != 0.0 || *z < f64::from(minzoom) || *z > f64::from(maxzoom) {
        return Err(format!("zoom {z} must be a whole number in [{minzoom}, {maxzoom}]"));
    }
    Ok((*lon, *lat, *z as u8))
}

/// toml's messages span several lines (with a source excerpt); keep the first line and the excerpt compact.
fn one_line(message: &str) -> String {
    message.lines().map(str::trim).filter(|line| !line.is_empty() && *line != "|").collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests;
