//! Layers of a tileset → features in memory: each source read once and every feature handed to each layer that
//! uses it (its `filter`, `minzoom_by` and `properties`), geometry projected to Web Mercator unit coordinates,
//! features outside the build area left out. An OpenStreetMap extract is read through its layers' profile
//! (`osm.rs`).

mod osm;

use std::collections::BTreeMap;
use std::path::Path;

use tracing::info;

use crate::archive::FieldType;
use crate::config::{Layer, OutputProperties};
use crate::expr::{FeatureProperties, GeometryType, Properties};
use crate::source::{self, Feature, InvalidPolicy, SourceError, SourceFormat, Value};
use crate::tiling::Bbox;
use crate::tiling::shape::ring_area2;
use crate::tiling::{Shape, lonlat_to_unit};

pub use osm::OsmLoad;

/// One feature ready to tile.
#[derive(Debug, Clone)]
pub struct LoadedFeature {
    /// One shape per geometry kind (a GeometryCollection may hold several).
    pub shapes: Vec<Shape>,
    /// `[min_x, min_y, max_x, max_y]` in unit coordinates.
    pub bounds: [f64; 4],
    pub properties: Vec<(String, Value)>,
    /// The first zoom the feature is shown at (the layer's `minzoom`, or later by `minzoom_by`).
    pub minzoom: u8,
}

/// One layer's features and what was learnt while reading them.
#[derive(Debug, Clone, Default)]
pub struct LoadedLayer {
    pub features: Vec<LoadedFeature>,
    pub fields: BTreeMap<String, FieldType>,
    /// Features read from the layer's source (shared with the other layers of that source).
    pub read: u64,
    /// Features with no or an empty geometry (valid, left out).
    pub empty: u64,
    /// Invalid features left out under `invalid = "skip"`.
    pub skipped: u64,
    /// Features read but lying wholly outside the build area.
    pub outside: u64,
    /// Features left out by the layer's `filter`, or by a `minzoom_by` above its `maxzoom`.
    pub filtered: u64,
}

/// What the sources held, each source counted once however many layers use it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceTotals {
    pub read: u64,
    pub empty: u64,
    pub skipped: u64,
    pub outside: u64,
}

/// What the OSM sources of a build gave: per source file, what its one read saw.
pub type OsmLoads = Vec<(std::path::PathBuf, OsmLoad)>;

/// Reads the sources of `layers`, each distinct (file, invalid policy) once, keeping what touches `area`; the
/// result is in the order of `layers`.
pub fn load_layers(layers: &[&Layer], area: Bbox) -> Result<(Vec<LoadedLayer>, SourceTotals, OsmLoads), SourceError> {
    let mut loaded: Vec<LoadedLayer> = vec![LoadedLayer::default(); layers.len()];
    let mut totals = SourceTotals::default();
    let mut osm_loads = OsmLoads::new();
    let mut groups: Vec<(&Path, InvalidPolicy, Vec<usize>)> = Vec::new();
    for (index, layer) in layers.iter().enumerate() {
        match groups.iter_mut().find(|(path, policy, _)| *path == layer.source && *policy == layer.invalid) {
            Some((_, _, members)) => members.push(index),
            None => groups.push((layer.source.as_path(), layer.invalid, vec![index])),
        }
    }
    for (path, policy, members) in groups {
        let group: Vec<&Layer> = members.iter().map(|i| layers[*i]).collect();
        let mut results: Vec<LoadedLayer> = vec![LoadedLayer::default(); group.len()];
        let started = std::time::Instant::now();
        let (read, empty, skipped, outside) = if SourceFormat::detect(path).ok() == Some(SourceFormat::OsmPbf) {
            let [x0, y0] = lonlat_to_unit(area.west, area.north);
            let [x1, y1] = lonlat_to_unit(area.east, area.south);
            let load = osm::read_osm_source(path, [x0, y0, x1, y1], &group, &mut results)?;
            let counts = (load.read, 0, 0, load.outside);
            osm_loads.push((path.to_path_buf(), load));
            counts
        } else {
            read_source(path, policy, area, &group, &mut results)?
        };
        totals.read += read;
        totals.empty += empty;
        totals.skipped += skipped;
        totals.outside += outside;
        for ((index, layer), mut result) in members.iter().zip(&group).zip(results) {
            (result.read, result.empty, result.skipped, result.outside) = (read, empty, skipped, outside);
            info!(
                layer = %layer.id,
                source = %layer.source.display(),
                read,
                empty,
                skipped,
                outside,
                filtered = result.filtered,
                features = result.features.len(),
                seconds = started.elapsed().as_secs_f64(),
                "read layer"
            );
            loaded[*index] = result;
        }
    }
    Ok((loaded, totals, osm_loads))
}

/// Reads one source for the layers of `group` (which all use it), filling `results` in the same order; gives
/// the source's (read, empty, skipped, outside) counts.
fn read_source(
    path: &Path,
    policy: InvalidPolicy,
    area: Bbox,
    group: &[&Layer],
    results: &mut [LoadedLayer],
) -> Result<(u64, u64, u64, u64), SourceError> {
    let [ax0, ay0] = lonlat_to_unit(area.west, area.north);
    let [ax1, ay1] = lonlat_to_unit(area.east, area.south);
    let mut outside = 0;
    // (layer in the group, the feature's minzoom there), reused from feature to feature.
    let mut accepted: Vec<(usize, u8)> = Vec::with_capacity(group.len());
    let stats = source::read_features(path, policy, &mut |mut feature: Feature| {
        let mut shapes = Shape::from_geo(&feature.geometry);
        let bounds = shapes_bounds(&shapes);
        if bounds[0] > ax1 || bounds[2] < ax0 || bounds[1] > ay1 || bounds[3] < ay0 {
            outside += 1;
            return Ok(());
        }
        let geometry = GeometryType::of(&feature.geometry);
        accepted.clear();
        for (member, layer) in group.iter().enumerate() {
            let ctx = FeatureProperties { properties: &feature.properties, geometry };
            let minzoom = if layer.filter.as_ref().is_none_or(|f| f.eval_bool(&ctx)) {
                feature_minzoom(layer, &ctx)
                    .and_then(|z| size_minzoom(layer, &shapes).map(|s| s.max(z)))
                    .filter(|z| *z <= layer.maxzoom)
            } else {
                None
            };
            match minzoom {
                Some(z) => accepted.push((member, z)),
                None => results[member].filtered += 1,
            }
        }
        let last = accepted.len().saturating_sub(1);
        for (n, &(member, minzoom)) in accepted.iter().enumerate() {
            let properties = match &group[member].properties {
                OutputProperties::All if n == last => std::mem::take(&mut feature.properties),
                OutputProperties::All => feature.properties.clone(),
                OutputProperties::Keep(keep) => {
                    feature.properties.iter().filter(|(k, _)| keep.iter().any(|name| name == k)).cloned().collect()
                }
                OutputProperties::Computed(computed) => {
                    let ctx = FeatureProperties { properties: &feature.properties, geometry };
                    computed.iter().filter_map(|(name, e)| Some((name.clone(), e.eval_value(&ctx)?))).collect()
                }
            };
            let result = &mut results[member];
            note_fields(&mut result.fields, &properties);
            let shapes = if n == last { std::mem::take(&mut shapes) } else { shapes.clone() };
            result.features.push(LoadedFeature { shapes, bounds, properties, minzoom });
        }
        Ok(())
    })?;
    Ok((stats.read, stats.empty, stats.skipped, outside))
}

/// The `[min_x, min_y, max_x, max_y]` of shapes (infinite, min above max, when there is none).
fn shapes_bounds(shapes: &[Shape]) -> [f64; 4] {
    shapes
        .iter()
        .filter_map(Shape::bounds)
        .fold([f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY], |b, s| {
            [b[0].min(s[0]), b[1].min(s[1]), b[2].max(s[2]), b[3].max(s[3])]
        })
}

/// Adds the types of `properties` to a layer's field types.
fn note_fields(fields: &mut BTreeMap<String, FieldType>, properties: &[(String, Value)]) {
    for (key, value) in properties {
        let t = field_type(value);
        match fields.get_mut(key) {
            Some(field) => *field = field.merge(t),
            None => {
                fields.insert(key.clone(), t);
            }
        }
    }
}

/// Pixels a side of a tile, for `min_area` and `min_length`.
const TILE_PIXELS: f64 = 256.0;

/// The first zoom at which the feature is as large as the layer's `min_area` (polygons, in square pixels) and
/// `min_length` (lines, in pixels) ask, or `None` when it never is (zero area or length); at least 0. A size
/// doubles (an area quadruples) with each zoom, so the zoom is computed, not searched.
fn size_minzoom(layer: &Layer, shapes: &[Shape]) -> Option<u8> {
    let mut zoom = 0.0f64;
    for shape in shapes {
        // Pixels of the shape at zoom 0 (the world is one 256-pixel tile), and the layer's minimum for it.
        let (size0, minimum, power) = match shape {
            Shape::Polygons(polygons) if layer.osm.min_area > 0.0 => {
                let area: f64 = polygons
                    .iter()
                    .map(|rings| {
                        let mut it = rings.iter().map(|r| ring_area2(r).abs() / 2.0);
                        let exterior = it.next().unwrap_or(0.0);
                        (exterior - it.sum::<f64>()).max(0.0)
                    })
                    .sum();
                (area * TILE_PIXELS * TILE_PIXELS, layer.osm.min_area, 2.0)
            }
            Shape::Lines(lines) if layer.osm.min_length > 0.0 => {
                let length: f64 =
                    lines.iter().flat_map(|l| l.windows(2)).map(|w| (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1])).sum();
                (length * TILE_PIXELS, layer.osm.min_length, 1.0)
            }
            _ => continue,
        };
        if size0 <= 0.0 {
            return None;
        }
        zoom = zoom.max((minimum / size0).log2() / power);
    }
    let z = zoom.ceil();
    if z > f64::from(crate::config::MAX_ZOOM) { None } else { Some(z.max(0.0) as u8) }
}

/// The feature's first zoom in `layer`, or `None` when `minzoom_by` puts it above the layer's `maxzoom`.
fn feature_minzoom<P: Properties>(layer: &Layer, ctx: &P) -> Option<u8> {
    let Some(z) = layer.minzoom_by.as_ref().and_then(|e| e.eval_number(ctx)) else {
        return Some(layer.minzoom);
    };
    let z = z.floor();
    if z > f64::from(layer.maxzoom) {
        None
    } else if z <= f64::from(layer.minzoom) {
        Some(layer.minzoom)
    } else {
        // minzoom < z <= maxzoom <= 20: the cast is exact.
        Some(z as u8)
    }
}

fn field_type(value: &Value) -> FieldType {
    match value {
        Value::String(_) => FieldType::String,
        Value::Int(_) | Value::UInt(_) | Value::Float(_) => FieldType::Number,
        Value::Bool(_) => FieldType::Boolean,
    }
}
