//! The keys of a layer that reads an OpenStreetMap extract (`source = "….osm.pbf"`): `geometry`, and the
//! rules that keep such a layer from taking every tagged object; plus `min_area` / `min_length`, which any
//! layer may set.
//!
//! Each check returns the key at fault and the message, for [`super::ConfigError::Invalid`].

use super::raw::RawLayer;

/// Which objects of an OSM extract a layer takes, and as what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OsmGeometry {
    /// Nodes with tags, as points.
    Point,
    /// Open ways, and closed ways that are no area, as lines.
    Line,
    /// Areas (closed ways by the area rule, multipolygon and boundary relations), as polygons.
    Polygon,
    /// Nodes as points, and areas as one point inside each (a label point; geo's interior point, which lies
    /// inside the polygon even when its centroid does not).
    Centroid,
}

impl OsmGeometry {
    pub const NAMES: &'static str = "\"point\", \"line\", \"polygon\" or \"centroid\"";

    fn parse(name: &str) -> Option<OsmGeometry> {
        match name {
            "point" => Some(OsmGeometry::Point),
            "line" => Some(OsmGeometry::Line),
            "polygon" => Some(OsmGeometry::Polygon),
            "centroid" => Some(OsmGeometry::Centroid),
            _ => None,
        }
    }
}

/// The OSM keys of a layer, checked.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct OsmKeys {
    /// Set for (and only for) layers on an OSM source.
    pub geometry: Option<OsmGeometry>,
    /// Square pixels (of a 256-pixel tile) a polygon must cover at a zoom to be shown there; 0 for none.
    pub min_area: f64,
    /// Pixels a line must be long at a zoom to be shown there; 0 for none.
    pub min_length: f64,
}

type Invalid = (String, String);

/// Checks `geometry`, `filter`, `invalid`, `min_area` and `min_length` of layer `layer` (`key` makes the key
/// names), whose source is an OSM extract when `osm`.
pub fn check(layer: &RawLayer, osm: bool, key: &dyn Fn(&str) -> String) -> Result<OsmKeys, Invalid> {
    let pixels = |value: Option<f64>, name: &str| match value {
        None => Ok(0.0),
        Some(v) if v.is_finite() && (0.0..=1e6).contains(&v) => Ok(v),
        Some(v) => Err((key(name), format!("{v} must be a number of pixels in [0, 1000000]"))),
    };
    let min_area = pixels(layer.min_area, "min_area")?;
    let min_length = pixels(layer.min_length, "min_length")?;
    if !osm {
        if let Some(geometry) = &layer.geometry {
            return Err((
                key("geometry"),
                format!(
                    "`{geometry}`: geometry applies only to OpenStreetMap sources (.osm.pbf); to pick a geometry \
                     type from this source, filter on it: filter = [\"==\", [\"geometry-type\"], \"Point\"]"
                ),
            ));
        }
        return Ok(OsmKeys { geometry: None, min_area, min_length });
    }
    let geometry = match layer.geometry.as_deref() {
        None => {
            return Err((
                key("geometry"),
                format!("a layer on an OpenStreetMap source (.osm.pbf) needs a geometry: {}", OsmGeometry::NAMES),
            ));
        }
        Some(name) => OsmGeometry::parse(name)
            .ok_or_else(|| (key("geometry"), format!("`{name}` is not a geometry: {}", OsmGeometry::NAMES)))?,
    };
    if layer.filter.is_none() {
        return Err((
            key("filter"),
            "a layer on an OpenStreetMap source (.osm.pbf) needs a filter on tags, or it would take every tagged \
             object of its geometry (e.g. filter = [\"has\", \"highway\"])"
                .to_owned(),
        ));
    }
    if layer.invalid.is_some() {
        return Err((
            key("invalid"),
            "does not apply to OpenStreetMap sources: broken ways and relations are left out, counted and logged, \
             never fatal"
                .to_owned(),
        ));
    }
    Ok(OsmKeys { geometry: Some(geometry), min_area, min_length })
}
