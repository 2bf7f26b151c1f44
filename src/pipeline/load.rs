//! Layers of a tileset → features in memory: each source read once and every feature handed to each layer that
//! uses it (its `filter`, `minzoom_by` and `properties`), geometry projected to Web Mercator unit coordinates,
//! features outside the build area left out.

use std::collections::BTreeMap;
use std::path::Path;

use tracing::info;

use crate::archive::FieldType;
use crate::config::{Layer, OutputProperties};
use crate::expr::{FeatureProperties, GeometryType};
use crate::source::{self, Feature, InvalidPolicy, SourceError, Value};
use crate::tiling::Bbox;
use crate::tiling::{Shape, lonlat_to_unit};

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

/// Reads the sources of `layers`, each distinct (file, invalid policy) once, keeping what touches `area`; the
/// result is in the order of `layers`.
pub fn load_layers(layers: &[&Layer], area: Bbox) -> Result<(Vec<LoadedLayer>, SourceTotals), SourceError> {
    let mut loaded: Vec<LoadedLayer> = vec![LoadedLayer::default(); layers.len()];
    let mut totals = SourceTotals::default();
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
        let (read, empty, skipped, outside) = read_source(path, policy, area, &group, &mut results)?;
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
    Ok((loaded, totals))
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
        let bounds = shapes
            .iter()
            .filter_map(Shape::bounds)
            .fold([f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY], |b, s| {
                [b[0].min(s[0]), b[1].min(s[1]), b[2].max(s[2]), b[3].max(s[3])]
            });
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
            for (key, value) in &properties {
                let t = field_type(value);
                match result.fields.get_mut(key) {
                    Some(field) => *field = field.merge(t),
                    None => {
                        result.fields.insert(key.clone(), t);
                    }
                }
            }
            let shapes = if n == last { std::mem::take(&mut shapes) } else { shapes.clone() };
            result.features.push(LoadedFeature { shapes, bounds, properties, minzoom });
        }
        Ok(())
    })?;
    Ok((stats.read, stats.empty, stats.skipped, outside))
}

/// The feature's first zoom in `layer`, or `None` when `minzoom_by` puts it above the layer's `maxzoom`.
fn feature_minzoom(layer: &Layer, ctx: &FeatureProperties<'_>) -> Option<u8> {
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
