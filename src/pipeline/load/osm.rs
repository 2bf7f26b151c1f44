//! An OpenStreetMap extract → the features of every layer that reads it, in one read of the file: the layers'
//! `geometry`, `filter`, `minzoom_by`, `min_area`/`min_length` and `properties` evaluated on the tags (the
//! profile that [`source::osm::read`] asks), on the worker threads.
//!
//! An object is *read* when some layer of the source wants it (its geometry type and filter match); the other
//! layers count it as *filtered*. Tags are strings: compare numbers with `to-number`. `["geometry-type"]` is
//! the object's own type (`"Polygon"` for an area also in a `centroid` layer).

use std::path::Path;

use geo::InteriorPoint;

use super::{LoadedFeature, LoadedLayer, feature_minzoom, note_fields, shapes_bounds, size_minzoom};
use crate::config::{Layer, OsmGeometry, OutputProperties};
use crate::expr::{GeometryType, TagProperties};
use crate::source::osm::{self, OsmObject, OsmProfile, OsmStats, ReadOptions};
use crate::source::{SourceError, Value};
use crate::tiling::Shape;

/// What one read of an OSM source gave, besides the layers' features.
#[derive(Debug, Clone, Default)]
pub struct OsmLoad {
    /// Objects some layer wanted.
    pub read: u64,
    /// Of those, the ones wholly outside the build area.
    pub outside: u64,
    pub stats: OsmStats,
}

/// The layers of one OSM source as a profile of the reader.
struct Profile<'a> {
    group: &'a [&'a Layer],
    /// The build area in unit coordinates: `[x0, y0, x1, y1]`.
    area: [f64; 4],
}

/// One wanted object: outside the area, or the features it gives, by layer of the group.
struct Placed {
    outside: bool,
    taken: Vec<(usize, LoadedFeature)>,
}

fn accepts(layer: &Layer, kind: GeometryType) -> bool {
    match layer.osm.geometry {
        Some(OsmGeometry::Point) => kind == GeometryType::Point,
        Some(OsmGeometry::Line) => kind == GeometryType::LineString,
        Some(OsmGeometry::Polygon) => kind == GeometryType::Polygon,
        Some(OsmGeometry::Centroid) => kind != GeometryType::LineString,
        None => false,
    }
}

impl OsmProfile for Profile<'_> {
    type Out = Placed;

    fn wants(&self, tags: &[(&str, &str)], kind: GeometryType) -> bool {
        let ctx = TagProperties { tags, geometry: kind };
        self.group.iter().any(|l| accepts(l, kind) && l.filter.as_ref().is_none_or(|f| f.eval_bool(&ctx)))
    }

    fn emit(&self, object: OsmObject<'_>) -> Option<Placed> {
        let shapes = Shape::from_geo(&object.geometry);
        let bounds = shapes_bounds(&shapes);
        let [ax0, ay0, ax1, ay1] = self.area;
        if bounds[0] > ax1 || bounds[2] < ax0 || bounds[1] > ay1 || bounds[3] < ay0 {
            return Some(Placed { outside: true, taken: Vec::new() });
        }
        let ctx = TagProperties { tags: object.tags, geometry: object.kind };
        let mut label: Option<Option<Vec<Shape>>> = None;
        let mut taken = Vec::new();
        for (member, layer) in self.group.iter().enumerate() {
            if !accepts(layer, object.kind) || !layer.filter.as_ref().is_none_or(|f| f.eval_bool(&ctx)) {
                continue;
            }
            let as_label = layer.osm.geometry == Some(OsmGeometry::Centroid) && object.kind == GeometryType::Polygon;
            let (shapes, bounds) = if as_label {
                let point =
                    label.get_or_insert_with(|| object.geometry.interior_point().map(|p| Shape::from_geo(&p.into())));
                let Some(point) = point.clone() else { continue };
                let b = shapes_bounds(&point);
                (point, b)
            } else {
                (shapes.clone(), bounds)
            };
            let Some(minzoom) = feature_minzoom(layer, &ctx) else { continue };
            let Some(minzoom) = size_minzoom(layer, &shapes).map(|z| z.max(minzoom)).filter(|z| *z <= layer.maxzoom)
            else {
                continue;
            };
            let properties = properties(layer, object.tags, &ctx);
            taken.push((member, LoadedFeature { shapes, bounds, properties, minzoom }));
        }
        Some(Placed { outside: false, taken })
    }
}

/// The output properties of `layer` for an object with these tags.
fn properties(layer: &Layer, tags: &[(&str, &str)], ctx: &TagProperties<'_>) -> Vec<(String, Value)> {
    let string = |(k, v): &(&str, &str)| ((*k).to_owned(), Value::String((*v).to_owned()));
    match &layer.properties {
        OutputProperties::All => tags.iter().map(string).collect(),
        OutputProperties::Keep(keep) => tags.iter().filter(|(k, _)| keep.iter().any(|n| n == k)).map(string).collect(),
        OutputProperties::Computed(computed) => {
            computed.iter().filter_map(|(name, e)| Some((name.clone(), e.eval_value(ctx)?))).collect()
        }
    }
}

/// Reads the OSM source `path` once for the layers of `group`, filling `results` in the same order.
pub fn read_osm_source(
    path: &Path,
    area: [f64; 4],
    group: &[&Layer],
    results: &mut [LoadedLayer],
) -> Result<OsmLoad, SourceError> {
    let profile = Profile { group, area };
    let (placed, stats) = osm::read(path, &profile, ReadOptions::default())?;
    let mut load = OsmLoad { stats, ..OsmLoad::default() };
    for object in placed {
        load.read += 1;
        if object.outside {
            load.outside += 1;
            continue;
        }
        let mut took = vec![false; group.len()];
        for (member, feature) in object.taken {
            took[member] = true;
            note_fields(&mut results[member].fields, &feature.properties);
            results[member].features.push(feature);
        }
        for (member, took) in took.into_iter().enumerate() {
            if !took {
                results[member].filtered += 1;
            }
        }
    }
    Ok(load)
}
