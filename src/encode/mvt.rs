//! One tile's features → Mapbox Vector Tile 2.1 protobuf bytes, written by hand (no codegen): layer version 2,
//! extent 4096, keys and values deduplicated per layer, zigzag-delta command integers.
//!
//! Geometry arrives already tile-local, rounded, wound and free of degenerate parts ([`PieceGeom`]).

use rustc_hash::FxHashMap as HashMap;

use crate::source::Value;
use crate::tiling::EXTENT;
use crate::tiling::piece::{Coord, PieceGeom};

/// One feature to encode: its properties and its geometry in this tile.
#[derive(Debug, Clone, Copy)]
pub struct TileFeature<'a> {
    pub properties: &'a [(String, Value)],
    pub geom: &'a PieceGeom,
}

/// One layer to encode.
#[derive(Debug, Clone)]
pub struct TileLayer<'a> {
    pub name: &'a str,
    /// Buffer of the layer, which sizes the square of a [`PieceGeom::Full`] piece.
    pub buffer: u32,
    pub features: Vec<TileFeature<'a>>,
}

const GEOM_POINT: u64 = 1;
const GEOM_LINESTRING: u64 = 2;
const GEOM_POLYGON: u64 = 3;
const CMD_MOVE_TO: u32 = 1;
const CMD_LINE_TO: u32 = 2;
const CMD_CLOSE_PATH: u32 = 7;

/// Encodes the layers (those without features are left out) into an uncompressed MVT.
pub fn encode_tile(layers: &[TileLayer<'_>]) -> Vec<u8> {
    let mut tile = Vec::with_capacity(1024);
    let mut layer_buf = Vec::with_capacity(1024);
    for layer in layers.iter().filter(|l| !l.features.is_empty()) {
        layer_buf.clear();
        encode_layer(layer, &mut layer_buf);
        write_bytes_field(&mut tile, 3, &layer_buf);
    }
    tile
}

/// A property value as a hashable key for deduplication (floats by their bits).
#[derive(PartialEq, Eq, Hash)]
enum ValueKey<'a> {
    String(&'a str),
    Int(i64),
    UInt(u64),
    Float(u64),
    Bool(bool),
}

fn encode_layer(layer: &TileLayer<'_>, out: &mut Vec<u8>) {
    let mut keys: HashMap<&str, u32> = HashMap::default();
    let mut key_order: Vec<&str> = Vec::new();
    let mut values: HashMap<ValueKey<'_>, u32> = HashMap::default();
    let mut value_order: Vec<&Value> = Vec::new();
    write_bytes_field(out, 1, layer.name.as_bytes());
    let mut feature_buf = Vec::with_capacity(256);
    let mut tags: Vec<u32> = Vec::new();
    let mut geometry: Vec<u32> = Vec::new();
    for feature in &layer.features {
        tags.clear();
        for (key, value) in feature.properties {
            let next = key_order.len() as u32;
            let k = *keys.entry(key.as_str()).or_insert_with(|| {
                key_order.push(key.as_str());
                next
            });
            let next = value_order.len() as u32;
            let v = *values.entry(value_key(value)).or_insert_with(|| {
                value_order.push(value);
                next
            });
            tags.push(k);
            tags.push(v);
        }
        geometry.clear();
        let geom_type = encode_geometry(feature.geom, layer.buffer, &mut geometry);
        feature_buf.clear();
        if !tags.is_empty() {
            write_packed(&mut feature_buf, 2, &tags);
        }
        write_varint_field(&mut feature_buf, 3, geom_type);
        write_packed(&mut feature_buf, 4, &geometry);
        write_bytes_field(out, 2, &feature_buf);
    }
    for key in key_order {
        write_bytes_field(out, 3, key.as_bytes());
    }
    let mut value_buf = Vec::with_capacity(32);
    for value in value_order {
        value_buf.clear();
        match value {
            Value::String(s) => write_bytes_field(&mut value_buf, 1, s.as_bytes()),
            Value::Float(f) => {
                write_tag(&mut value_buf, 3, 1);
                value_buf.extend_from_slice(&f.to_le_bytes());
            }
            Value::Int(i) if *i < 0 => write_varint_field(&mut value_buf, 6, zigzag64(*i)),
            Value::Int(i) => write_varint_field(&mut value_buf, 5, *i as u64),
            Value::UInt(u) => write_varint_field(&mut value_buf, 5, *u),
            Value::Bool(b) => write_varint_field(&mut value_buf, 7, u64::from(*b)),
        }
        write_bytes_field(out, 4, &value_buf);
    }
    write_varint_field(out, 5, u64::from(EXTENT));
    write_varint_field(out, 15, 2);
}

fn value_key(value: &Value) -> ValueKey<'_> {
    match value {
        Value::String(s) => ValueKey::String(s),
        Value::Int(i) => ValueKey::Int(*i),
        Value::UInt(u) => ValueKey::UInt(*u),
        Value::Float(f) => ValueKey::Float(f.to_bits()),
        Value::Bool(b) => ValueKey::Bool(*b),
    }
}

/// Writes the command integers of a geometry; returns its MVT geometry type.
fn encode_geometry(geom: &PieceGeom, buffer: u32, out: &mut Vec<u32>) -> u64 {
    let mut cursor = [0i32, 0i32];
    match geom {
        PieceGeom::Points(points) => {
            out.push(command(CMD_MOVE_TO, points.len()));
            for p in points {
                push_delta(out, &mut cursor, *p);
            }
            GEOM_POINT
        }
        PieceGeom::Lines(lines) => {
            for line in lines {
                path(out, &mut cursor, line, false);
            }
            GEOM_LINESTRING
        }
        PieceGeom::Polygons(polygons) => {
            for ring in polygons.iter().flatten() {
                path(out, &mut cursor, ring, true);
            }
            GEOM_POLYGON
        }
        PieceGeom::Full => {
            let (lo, hi) = (-(buffer as i32), (EXTENT + buffer) as i32);
            // Clockwise on screen (y down): along the top, down the right side, back along the bottom.
            path(out, &mut cursor, &[[lo, lo], [hi, lo], [hi, hi], [lo, hi]], true);
            GEOM_POLYGON
        }
    }
}

fn path(out: &mut Vec<u32>, cursor: &mut Coord, coords: &[Coord], close: bool) {
    let Some((first, rest)) = coords.split_first() else { return };
    out.push(command(CMD_MOVE_TO, 1));
    push_delta(out, cursor, *first);
    out.push(command(CMD_LINE_TO, rest.len()));
    for c in rest {
        push_delta(out, cursor, *c);
    }
    if close {
        out.push(command(CMD_CLOSE_PATH, 1));
    }
}

fn push_delta(out: &mut Vec<u32>, cursor: &mut Coord, c: Coord) {
    out.push(zigzag32(c[0] - cursor[0]));
    out.push(zigzag32(c[1] - cursor[1]));
    *cursor = c;
}

fn command(id: u32, count: usize) -> u32 {
    (id & 0x7) | ((count as u32) << 3)
}

/// Zigzag encoding of a parameter integer.
pub fn zigzag32(n: i32) -> u32 {
    ((n << 1) ^ (n >> 31)) as u32
}

fn zigzag64(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn write_tag(out: &mut Vec<u8>, field: u32, wire_type: u8) {
    write_varint(out, (u64::from(field) << 3) | u64::from(wire_type));
}

fn write_varint_field(out: &mut Vec<u8>, field: u32, v: u64) {
    write_tag(out, field, 0);
    write_varint(out, v);
}

fn write_bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    write_tag(out, field, 2);
    write_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn write_packed(out: &mut Vec<u8>, field: u32, values: &[u32]) {
    let len: usize = values.iter().map(|v| varint_len(u64::from(*v))).sum();
    write_tag(out, field, 2);
    write_varint(out, len as u64);
    for v in values {
        write_varint(out, u64::from(*v));
    }
}

fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;
