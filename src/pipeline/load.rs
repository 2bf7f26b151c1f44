//! Layers of a tileset → features in memory: each source read once, geometry projected to Web Mercator unit
//! coordinates, properties filtered to the layer's list, features outside the build area left out.

use std::collections::BTreeMap;

use tracing::info;

use crate::archive::FieldType;
use crate::config::Layer;
use crate::source::{self, Feature, SourceError, Value};
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
}

/// One layer's features and what was learnt while reading them.
#[derive(Debug, Clone)]
pub struct LoadedLayer {
    pub features: Vec<LoadedFeature>,
    pub fields: BTreeMap<String, FieldType>,
    pub read: u64,
    /// Features with no or an empty geometry (valid, left out).
    pub empty: u64,
    /// Invalid features left out under `invalid = "skip"`.
    pub skipped: u64,
    /// Features read but lying wholly outside the build area.
    pub outside: u64,
}

/// Reads a layer's source, keeping what touches `area`.
pub fn load_layer(layer: &Layer, area: Bbox) -> Result<LoadedLayer, SourceError> {
    let [ax0, ay0] = lonlat_to_unit(area.west, area.north);
    let [ax1, ay1] = lonlat_to_unit(area.east, area.south);
    let mut loaded =
        LoadedLayer { features: Vec::new(), fields: BTreeMap::new(), read: 0, empty: 0, skipped: 0, outside: 0 };
    let started = std::time::Instant::now();
    let stats = source::read_features(&layer.source, layer.invalid, &mut |feature: Feature| {
        let shapes = Shape::from_geo(&feature.geometry);
        let bounds = shapes
            .iter()
            .filter_map(Shape::bounds)
            .fold([f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY], |b, s| {
                [b[0].min(s[0]), b[1].min(s[1]), b[2].max(s[2]), b[3].max(s[3])]
            });
        if bounds[0] > ax1 || bounds[2] < ax0 || bounds[1] > ay1 || bounds[3] < ay0 {
            loaded.outside += 1;
            return Ok(());
        }
        let properties = keep_properties(feature.properties, layer.properties.as_deref());
        for (key, value) in &properties {
            let t = field_type(value);
            loaded.fields.entry(key.clone()).and_modify(|f| *f = f.merge(t)).or_insert(t);
        }
        loaded.features.push(LoadedFeature { shapes, bounds, properties });
        Ok(())
    })?;
    loaded.read = stats.read;
    loaded.empty = stats.empty;
    loaded.skipped = stats.skipped;
    info!(
        layer = %layer.id,
        source = %layer.source.display(),
        read = stats.read,
        empty = stats.empty,
        skipped = stats.skipped,
        outside = loaded.outside,
        seconds = started.elapsed().as_secs_f64(),
        "read layer"
    );
    Ok(loaded)
}

fn keep_properties(properties: Vec<(String, Value)>, keep: Option<&[String]>) -> Vec<(String, Value)> {
    match keep {
        None => properties,
        Some(keep) => properties.into_iter().filter(|(k, _)| keep.iter().any(|name| name == k)).collect(),
    }
}

fn field_type(value: &Value) -> FieldType {
    match value {
        Value::String(_) => FieldType::String,
        Value::Int(_) | Value::UInt(_) | Value::Float(_) => FieldType::Number,
        Value::Bool(_) => FieldType::Boolean,
    }
}
