//! What an expression is evaluated against: the [`Properties`] trait and the contexts that implement it.

use crate::source::Value;

/// A property value borrowed from the context (no copy of strings).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    String(&'a str),
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
}

impl<'a> From<&'a Value> for ValueRef<'a> {
    fn from(value: &'a Value) -> Self {
        match value {
            Value::String(s) => ValueRef::String(s),
            Value::Int(i) => ValueRef::Int(*i),
            Value::UInt(u) => ValueRef::UInt(*u),
            Value::Float(f) => ValueRef::Float(*f),
            Value::Bool(b) => ValueRef::Bool(*b),
        }
    }
}

/// A feature's geometry type as MapLibre names it: multi-geometries fold to the single name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeometryType {
    Point,
    LineString,
    Polygon,
}

impl GeometryType {
    /// `"Point"`, `"LineString"` or `"Polygon"`.
    pub fn as_str(self) -> &'static str {
        match self {
            GeometryType::Point => "Point",
            GeometryType::LineString => "LineString",
            GeometryType::Polygon => "Polygon",
        }
    }

    /// The type of a geometry; a GeometryCollection takes the type of its first member (a point for an empty
    /// one, which the source readers never hand on).
    pub fn of(geometry: &geo::Geometry<f64>) -> GeometryType {
        use geo::Geometry as G;
        match geometry {
            G::Point(_) | G::MultiPoint(_) => GeometryType::Point,
            G::Line(_) | G::LineString(_) | G::MultiLineString(_) => GeometryType::LineString,
            G::Polygon(_) | G::MultiPolygon(_) | G::Rect(_) | G::Triangle(_) => GeometryType::Polygon,
            G::GeometryCollection(c) => c.0.first().map_or(GeometryType::Point, GeometryType::of),
        }
    }
}

/// What an expression reads: properties by key, and the geometry type.
pub trait Properties {
    /// The value under `key`, if present.
    fn get(&self, key: &str) -> Option<ValueRef<'_>>;
    fn geometry_type(&self) -> GeometryType;
}

/// A feature as the source readers give it: properties in file order (the first of duplicate keys wins).
#[derive(Debug, Clone, Copy)]
pub struct FeatureProperties<'a> {
    pub properties: &'a [(String, Value)],
    pub geometry: GeometryType,
}

impl Properties for FeatureProperties<'_> {
    fn get(&self, key: &str) -> Option<ValueRef<'_>> {
        self.properties.iter().find(|(k, _)| k == key).map(|(_, v)| ValueRef::from(v))
    }

    fn geometry_type(&self) -> GeometryType {
        self.geometry
    }
}

/// String key/value pairs such as OSM tags: every value is a string (compare with `to-number` for numbers).
#[derive(Debug, Clone, Copy)]
pub struct TagProperties<'a> {
    pub tags: &'a [(&'a str, &'a str)],
    pub geometry: GeometryType,
}

impl Properties for TagProperties<'_> {
    fn get(&self, key: &str) -> Option<ValueRef<'_>> {
        self.tags.iter().find(|(k, _)| *k == key).map(|(_, v)| ValueRef::String(v))
    }

    fn geometry_type(&self) -> GeometryType {
        self.geometry
    }
}
