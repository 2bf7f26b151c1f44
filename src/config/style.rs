//! Raster settings of a `format = "png"` tileset → checked values: the tile size and background of the tileset,
//! and each layer's style (colours, opacity, widths that may vary by zoom, draw order).
//!
//! The raw values come from [`super::raw`]; every error is `(key, message)` so that [`super::Tileset::from_raw`]
//! can name the file and the full key.

use super::raw::RawStyle;
use crate::tiling::EXTENT;

/// The tile sizes (pixels a side) a raster tileset may ask for.
pub const TILE_SIZES: [u32; 2] = [256, 512];
/// The tile size when the tileset names none.
pub const DEFAULT_TILE_SIZE: u32 = 256;
/// The widest stroke or outline, and the largest point radius, a style may ask for (pixels).
pub const MAX_STYLE_PIXELS: f64 = 64.0;
/// Pixels beyond a stroke's edge that anti-aliasing may touch; the clip buffer must cover them too.
pub const ANTIALIAS_PIXELS: f64 = 1.0;

/// An sRGB colour with straight (not premultiplied) alpha.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Color {
    pub r: u8,
    pub g: u8,
    pub b: u8,
    pub a: u8,
}

impl Color {
    /// Nothing at all.
    pub const TRANSPARENT: Color = Color { r: 0, g: 0, b: 0, a: 0 };

    /// Parses `#rrggbb` or `#rrggbbaa` (hex digits in either case).
    ///
    /// ```
    /// use tilepress::config::Color;
    /// assert_eq!(Color::parse("#aad3df"), Ok(Color { r: 0xaa, g: 0xd3, b: 0xdf, a: 255 }));
    /// assert_eq!(Color::parse("#00000080").map(|c| c.a), Ok(0x80));
    /// assert!(Color::parse("blue").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Color, String> {
        let bad = || format!("`{text}` is not a colour: write \"#rrggbb\" or \"#rrggbbaa\" in hex");
        let hex = text.strip_prefix('#').ok_or_else(bad)?;
        if !(hex.len() == 6 || hex.len() == 8) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad());
        let a = if hex.len() == 8 { byte(6)? } else { 255 };
        Ok(Color { r: byte(0)?, g: byte(2)?, b: byte(4)?, a })
    }

    /// This colour with its alpha multiplied by `opacity` (0..=1), rounded.
    pub fn with_opacity(self, opacity: f64) -> Color {
        Color { a: (f64::from(self.a) * opacity.clamp(0.0, 1.0)).round() as u8, ..self }
    }
}

/// A width or radius in pixels, either one number or linear between `[zoom, value]` stops (and held at the
/// first and last stop outside them).
#[derive(Debug, Clone, PartialEq)]
pub struct ZoomCurve {
    /// `(zoom, value)`, zooms strictly increasing; at least one stop.
    stops: Vec<(f64, f64)>,
}

impl ZoomCurve {
    /// The same value at every zoom.
    pub fn constant(value: f64) -> ZoomCurve {
        ZoomCurve { stops: vec![(0.0, value)] }
    }

    /// The value at a zoom.
    ///
    /// ```
    /// use tilepress::config::ZoomCurve;
    /// let width = ZoomCurve::from_stops(vec![(10.0, 0.5), (14.0, 3.0)]).expect("valid stops");
    /// assert_eq!((width.at(8), width.at(12), width.at(16)), (0.5, 1.75, 3.0));
    /// ```
    pub fn at(&self, zoom: u8) -> f64 {
        let z = f64::from(zoom);
        let Some(&(first_zoom, first)) = self.stops.first() else { return 0.0 };
        if z <= first_zoom {
            return first;
        }
        for pair in self.stops.windows(2) {
            let ((z0, v0), (z1, v1)) = (pair[0], pair[1]);
            if z <= z1 {
                return v0 + (v1 - v0) * (z - z0) / (z1 - z0);
            }
        }
        self.stops.last().map_or(0.0, |s| s.1)
    }

    /// The largest value at any zoom (a stop's, since values are linear between stops).
    pub fn max(&self) -> f64 {
        self.stops.iter().map(|s| s.1).fold(0.0, f64::max)
    }

    /// Checks stops: at least one, zooms in `0..=30` strictly increasing, values in `0..=MAX_STYLE_PIXELS`.
    pub fn from_stops(stops: Vec<(f64, f64)>) -> Result<ZoomCurve, String> {
        if stops.is_empty() {
            return Err("a list of stops needs at least one [zoom, value] pair".to_owned());
        }
        for (zoom, value) in &stops {
            if !zoom.is_finite() || !(0.0..=30.0).contains(zoom) {
                return Err(format!("stop zoom {zoom} must lie in [0, 30]"));
            }
            check_pixels(*value)?;
        }
        if let Some(pair) = stops.windows(2).find(|pair| pair[1].0 <= pair[0].0) {
            return Err(format!("stop zooms must increase: {} then {}", pair[0].0, pair[1].0));
        }
        Ok(ZoomCurve { stops })
    }
}

fn check_pixels(value: f64) -> Result<f64, String> {
    if value.is_finite() && (0.0..=MAX_STYLE_PIXELS).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} must lie in [0, {MAX_STYLE_PIXELS}] pixels"))
    }
}

/// What a raster tileset draws on: its tile size and background.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raster {
    /// Pixels a side: 256 or 512.
    pub tile_size: u32,
    /// Painted first on every tile; a tile where nothing else shows is left out.
    pub background: Color,
}

impl Raster {
    /// Tile units (of the 4096 extent) per pixel.
    pub fn units_per_pixel(&self) -> f64 {
        f64::from(EXTENT) / f64::from(self.tile_size)
    }
}

/// How one layer is drawn: polygons filled and outlined, lines stroked, points as discs; layers in ascending
/// `order` (ties in file order), and within a layer fills, then outlines, then lines, then points.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerStyle {
    pub fill_color: Option<Color>,
    /// Multiplies the fill colour's alpha.
    pub fill_opacity: f64,
    pub outline_color: Option<Color>,
    pub outline_width: ZoomCurve,
    pub stroke_color: Option<Color>,
    pub stroke_width: ZoomCurve,
    pub point_color: Option<Color>,
    pub point_radius: ZoomCurve,
    pub order: i32,
}

impl LayerStyle {
    /// How far (pixels) drawing may reach beyond the geometry at any zoom: half the widest stroke or outline,
    /// or the largest point radius, plus anti-aliasing.
    pub fn reach_pixels(&self) -> f64 {
        let half = |color: Option<Color>, width: &ZoomCurve| color.map_or(0.0, |_| width.max() / 2.0);
        let radius = self.point_color.map_or(0.0, |_| self.point_radius.max());
        half(self.outline_color, &self.outline_width).max(half(self.stroke_color, &self.stroke_width)).max(radius)
            + ANTIALIAS_PIXELS
    }
}

/// The tileset-level raster keys: `(tile_size, background)` → [`Raster`]; errors are `(key, message)`.
pub fn check_raster(tile_size: Option<i64>, background: Option<&str>) -> Result<Raster, (String, String)> {
    let tile_size = match tile_size {
        None => DEFAULT_TILE_SIZE,
        Some(size) => TILE_SIZES
            .into_iter()
            .find(|s| i64::from(*s) == size)
            .ok_or_else(|| ("tile_size".to_owned(), format!("{size} must be 256 or 512")))?,
    };
    let background = match background {
        None => Color::TRANSPARENT,
        Some(text) => Color::parse(text).map_err(|m| ("background".to_owned(), m))?,
    };
    Ok(Raster { tile_size, background })
}

/// A layer's `style` table → [`LayerStyle`]; `prefix` is the table's key (`layers[0].style`).
pub fn check_style(raw: &RawStyle, prefix: &str) -> Result<LayerStyle, (String, String)> {
    let key = |field: &str| format!("{prefix}.{field}");
    let color =
        |field: &str, text: &Option<String>| text.as_deref().map(Color::parse).transpose().map_err(|m| (key(field), m));
    let curve = |field: &str, value: &Option<toml::Value>, default: f64| match value {
        None => Ok(ZoomCurve::constant(default)),
        Some(value) => zoom_curve(value).map_err(|m| (key(field), m)),
    };
    let fill_opacity = raw.fill_opacity.unwrap_or(1.0);
    if !(0.0..=1.0).contains(&fill_opacity) {
        return Err((key("fill_opacity"), format!("{fill_opacity} must lie in [0, 1]")));
    }
    let order = match raw.order {
        None => 0,
        Some(order) => i32::try_from(order).map_err(|_| (key("order"), format!("{order} is too large")))?,
    };
    let style = LayerStyle {
        fill_color: color("fill_color", &raw.fill_color)?,
        fill_opacity,
        outline_color: color("outline_color", &raw.outline_color)?,
        outline_width: curve("outline_width", &raw.outline_width, 1.0)?,
        stroke_color: color("stroke_color", &raw.stroke_color)?,
        stroke_width: curve("stroke_width", &raw.stroke_width, 1.0)?,
        point_color: color("point_color", &raw.point_color)?,
        point_radius: curve("point_radius", &raw.point_radius, 2.0)?,
        order,
    };
    if style.fill_color.is_none()
        && style.outline_color.is_none()
        && style.stroke_color.is_none()
        && style.point_color.is_none()
    {
        return Err((
            prefix.to_owned(),
            "draws nothing: set fill_color, outline_color, stroke_color or point_color".to_owned(),
        ));
    }
    Ok(style)
}

/// `2.5` or `[[10, 0.5], [14, 3.0]]`.
fn zoom_curve(value: &toml::Value) -> Result<ZoomCurve, String> {
    let number = |v: &toml::Value| v.as_float().or_else(|| v.as_integer().map(|i| i as f64));
    if let Some(v) = number(value) {
        return check_pixels(v).map(ZoomCurve::constant);
    }
    let expected = || "expected a number of pixels or a list of [zoom, value] stops like [[10, 0.5], [14, 3]]";
    let stops = value
        .as_array()
        .ok_or_else(|| expected().to_owned())?
        .iter()
        .map(|stop| match stop.as_array().map(Vec::as_slice) {
            Some([zoom, value]) => number(zoom).zip(number(value)).ok_or_else(|| expected().to_owned()),
            _ => Err(expected().to_owned()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    ZoomCurve::from_stops(stops)
}

/// The clip buffer (tile units) a layer needs so that what is drawn from beyond a tile's edge reaches into it
/// the same way as in the neighbour: the style's reach in pixels, in tile units, rounded up.
pub fn buffer_needed(style: &LayerStyle, raster: &Raster) -> u32 {
    (style.reach_pixels() * raster.units_per_pixel()).ceil() as u32
}
