//! Property tests of the MVT encoder: random tiles (layers of points, lines, polygons with holes, full squares,
//! and properties) → our bytes → geozero's independent decoder → the same geometry and properties; and world
//! points and lines → slicing → bytes → decoded back within one tile unit of where they were.
//!
//! Cases: proptest's `PROPTEST_CASES` (default 256); `make soak-props` runs 100,000.

use geozero::ToGeo;
use geozero::mvt::{Message, Tile, tile};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

use super::*;
use crate::tiling::piece::{Piece, int_area2};
use crate::tiling::slice::{SliceParams, slice_shape};
use crate::tiling::{Shape, TileRange};

/// One decoded geometry, in tile units; rings are open (the decoder's closing point checked and removed).
#[derive(Debug, Clone, PartialEq)]
enum Decoded {
    Points(Vec<[f64; 2]>),
    Lines(Vec<Vec<[f64; 2]>>),
    Polygons(Vec<Vec<Vec<[f64; 2]>>>),
}

fn xy(line: &geo::LineString<f64>) -> Vec<[f64; 2]> {
    line.0.iter().map(|c| [c.x, c.y]).collect()
}

fn open_ring(ring: &geo::LineString<f64>) -> Vec<[f64; 2]> {
    let mut out = xy(ring);
    assert!(out.len() >= 4 && out.first() == out.last(), "a decoded ring is closed: {out:?}");
    out.pop();
    out
}

fn polygon_rings(p: &geo::Polygon<f64>) -> Vec<Vec<[f64; 2]>> {
    std::iter::once(p.exterior()).chain(p.interiors()).map(open_ring).collect()
}

fn decoded(geometry: geo::Geometry<f64>) -> Decoded {
    use geo::Geometry as G;
    match geometry {
        G::Point(p) => Decoded::Points(vec![[p.x(), p.y()]]),
        G::MultiPoint(mp) => Decoded::Points(mp.iter().map(|p| [p.x(), p.y()]).collect()),
        G::LineString(l) => Decoded::Lines(vec![xy(&l)]),
        G::MultiLineString(ml) => Decoded::Lines(ml.iter().map(xy).collect()),
        G::Polygon(p) => Decoded::Polygons(vec![polygon_rings(&p)]),
        G::MultiPolygon(mp) => Decoded::Polygons(mp.iter().map(polygon_rings).collect()),
        other => panic!("MVT decodes to points, lines or polygons, not {other:?}"),
    }
}

fn float(line: &[Coord]) -> Vec<[f64; 2]> {
    line.iter().map(|c| [f64::from(c[0]), f64::from(c[1])]).collect()
}

/// What a piece should decode to.
fn expected(geom: &PieceGeom, buffer: u32) -> Decoded {
    match geom {
        PieceGeom::Points(points) => Decoded::Points(float(points)),
        PieceGeom::Lines(lines) => Decoded::Lines(lines.iter().map(|l| float(l)).collect()),
        PieceGeom::Polygons(polygons) => {
            Decoded::Polygons(polygons.iter().map(|rings| rings.iter().map(|r| float(r)).collect()).collect())
        }
        PieceGeom::Full => {
            let (lo, hi) = (-f64::from(buffer), f64::from(EXTENT + buffer));
            Decoded::Polygons(vec![vec![vec![[lo, lo], [hi, lo], [hi, hi], [lo, hi]]]])
        }
    }
}

/// A decoded property value in the form both sides can be compared in (doubles by their bits).
#[derive(Debug, Clone, PartialEq)]
enum Prop {
    String(String),
    Signed(i64),
    Unsigned(u64),
    Double(u64),
    Bool(bool),
}

fn prop_of(value: &Value) -> Prop {
    match value {
        Value::String(s) => Prop::String(s.clone()),
        Value::Int(i) if *i < 0 => Prop::Signed(*i),
        Value::Int(i) => Prop::Unsigned(*i as u64),
        Value::UInt(u) => Prop::Unsigned(*u),
        Value::Float(f) => Prop::Double(f.to_bits()),
        Value::Bool(b) => Prop::Bool(*b),
    }
}

fn decoded_prop(value: &tile::Value) -> Prop {
    match value {
        tile::Value { string_value: Some(s), .. } => Prop::String(s.clone()),
        tile::Value { sint_value: Some(i), .. } => Prop::Signed(*i),
        tile::Value { uint_value: Some(u), .. } => Prop::Unsigned(*u),
        tile::Value { double_value: Some(f), .. } => Prop::Double(f.to_bits()),
        tile::Value { bool_value: Some(b), .. } => Prop::Bool(*b),
        other => panic!("a value type we never write: {other:?}"),
    }
}

/// A coordinate inside a tile with a buffer of up to a tile on each side.
fn coord() -> impl Strategy<Value = Coord> {
    let c = prop_oneof![-64i32..=4160, -4096i32..=8192];
    [c.clone(), c]
}

fn without_repeats(mut line: Vec<Coord>) -> Vec<Coord> {
    line.dedup();
    line
}

fn line() -> impl Strategy<Value = Vec<Coord>> {
    vec(coord(), 2..24).prop_map(without_repeats).prop_filter("two distinct points", |l| l.len() >= 2)
}

/// An open ring with area, wound as [`PieceGeom`] promises: exterior clockwise on screen, holes the other way.
fn ring(exterior: bool) -> impl Strategy<Value = Vec<Coord>> {
    vec(coord(), 3..24).prop_filter_map("a ring with area", move |ring| {
        let mut ring = without_repeats(ring);
        while ring.len() > 1 && ring.first() == ring.last() {
            ring.pop();
        }
        let area = int_area2(&ring);
        if ring.len() < 3 || area == 0 {
            return None;
        }
        if (area > 0) != exterior {
            ring.reverse();
        }
        Some(ring)
    })
}

fn piece_geom() -> impl Strategy<Value = PieceGeom> {
    let polygon = (ring(true), vec(ring(false), 0..3)).prop_map(|(exterior, holes)| {
        let mut rings = vec![exterior];
        rings.extend(holes);
        rings
    });
    prop_oneof![
        vec(coord(), 1..24).prop_map(PieceGeom::Points),
        vec(line(), 1..5).prop_map(PieceGeom::Lines),
        vec(polygon, 1..4).prop_map(PieceGeom::Polygons),
        Just(PieceGeom::Full),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        ".{0,12}".prop_map(Value::String),
        prop_oneof![-3i64..3, any::<i64>()].prop_map(Value::Int),
        prop_oneof![0u64..3, any::<u64>()].prop_map(Value::UInt),
        any::<f64>().prop_map(Value::Float),
        any::<bool>().prop_map(Value::Bool),
    ]
}

type Properties = Vec<(String, Value)>;
/// A layer to encode: its name, buffer, and each feature's properties and geometry.
type Layer = (String, u32, Vec<(Properties, PieceGeom)>);

/// Layers of features (name, buffer, and each feature's properties and geometry).
fn layers() -> impl Strategy<Value = Vec<Layer>> {
    let properties = btree_map("[a-z]{1,3}", value(), 0..5).prop_map(|m| m.into_iter().collect::<Properties>());
    let features = vec((properties, piece_geom()), 1..8);
    vec(("[a-z_]{1,8}", prop_oneof![Just(64u32), 0u32..=512], features), 1..4)
}

/// Distance from `p` to the polyline `line`.
fn distance_to_line(p: [f64; 2], line: &[[f64; 2]]) -> f64 {
    let segment = |a: [f64; 2], b: [f64; 2]| {
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len2 = dx * dx + dy * dy;
        let t = if len2 == 0.0 { 0.0 } else { (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0) };
        (p[0] - a[0] - t * dx).hypot(p[1] - a[1] - t * dy)
    };
    line.windows(2).map(|w| segment(w[0], w[1])).fold(f64::INFINITY, f64::min)
}

const E: f64 = EXTENT as f64;
const TILES: u32 = 4;

/// Slices a world shape over a block of `TILES`² tiles at z10 and decodes each piece (with its tile) from the
/// bytes our encoder writes for it.
fn slice_encode_decode(shape: &Shape, buffer: u32) -> Vec<((u32, u32), Decoded)> {
    let range = TileRange { z: 10, x_min: 100, y_min: 200, x_max: 100 + TILES - 1, y_max: 200 + TILES - 1 };
    let params = SliceParams { range, buffer: f64::from(buffer) };
    let mut pieces: Vec<Piece> = Vec::new();
    slice_shape(shape, &params, &mut |p| pieces.push(p));
    pieces
        .iter()
        .map(|piece| {
            let layer =
                TileLayer { name: "l", buffer, features: vec![TileFeature { properties: &[], geom: &piece.geom }] };
            let tile = Tile::decode(&encode_tile(&[layer])[..]).expect("our bytes decode");
            let geometry = tile.layers[0].features[0].to_geo().expect("geozero reads our geometry");
            ((piece.x, piece.y), decoded(geometry))
        })
        .collect()
}

/// World coordinates over the sliced block and a little beyond it.
fn world() -> impl Strategy<Value = [f64; 2]> {
    let span = |origin: f64| (origin * E - 300.0)..(origin + f64::from(TILES)) * E + 300.0;
    [span(100.0), span(200.0)]
}

/// A world line whose consecutive vertices are at least two units apart (so none rounds onto its neighbour).
fn world_line() -> impl Strategy<Value = Vec<[f64; 2]>> {
    vec(world(), 2..12).prop_filter("vertices two units apart", |l| {
        l.windows(2).all(|w| (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1]) >= 2.0)
    })
}

/// The decoded pieces of one shape kind: every vertex lies in its tile's buffer and within one unit of the input
/// (`off` measures how far a world point is from it), and every input vertex of `kept` that lies in the block
/// (further than `margin` from its tile's edge) is found within one unit in its own tile.
fn check_within_one_unit(
    decoded: &[((u32, u32), Decoded)],
    buffer: u32,
    off: impl Fn([f64; 2]) -> f64,
    kept: &[[f64; 2]],
    margin: f64,
) -> Result<(), TestCaseError> {
    let b = f64::from(buffer);
    let vertices = |g: &Decoded| match g {
        Decoded::Points(points) => points.clone(),
        Decoded::Lines(lines) => lines.concat(),
        Decoded::Polygons(_) => panic!("points and lines do not decode as polygons: {g:?}"),
    };
    for ((x, y), geometry) in decoded {
        for p in vertices(geometry) {
            prop_assert!((-b..=E + b).contains(&p[0]) && (-b..=E + b).contains(&p[1]), "{:?} outside the buffer", p);
            let world = [f64::from(*x) * E + p[0], f64::from(*y) * E + p[1]];
            prop_assert!(off(world) <= 1.0, "decoded {:?} is {} units off the input", world, off(world));
        }
    }
    for q in kept {
        let tile = [(q[0] / E).floor(), (q[1] / E).floor()];
        let local = [q[0] - tile[0] * E, q[1] - tile[1] * E];
        let in_block = (100.0..100.0 + f64::from(TILES)).contains(&tile[0])
            && (200.0..200.0 + f64::from(TILES)).contains(&tile[1]);
        if !in_block || local.iter().any(|c| *c < margin || *c > E - margin) {
            continue;
        }
        let home = (tile[0] as u32, tile[1] as u32);
        let found = decoded
            .iter()
            .filter(|(t, _)| *t == home)
            .any(|(_, g)| vertices(g).iter().any(|p| (p[0] - local[0]).abs() <= 1.0 && (p[1] - local[1]).abs() <= 1.0));
        prop_assert!(found, "input vertex {:?} is missing from its tile {:?}", q, home);
    }
    Ok(())
}

proptest! {
    #[test]
    fn every_layer_feature_and_property_decodes_back_exactly(layers in layers()) {
        let features: Vec<Vec<TileFeature<'_>>> = layers
            .iter()
            .map(|(_, _, fs)| fs.iter().map(|(properties, geom)| TileFeature { properties, geom }).collect())
            .collect();
        let input: Vec<TileLayer<'_>> = layers
            .iter()
            .zip(features)
            .map(|((name, buffer, _), features)| TileLayer { name, buffer: *buffer, features })
            .collect();
        let bytes = encode_tile(&input);
        let tile = Tile::decode(&bytes[..]).expect("our bytes decode with an independent protobuf decoder");
        prop_assert_eq!(tile.layers.len(), layers.len());
        for (got, (name, buffer, features)) in tile.layers.iter().zip(&layers) {
            prop_assert_eq!((&got.name, got.version, got.extent), (name, 2, Some(EXTENT)));
            prop_assert_eq!(got.features.len(), features.len());
            for (feature, (properties, geom)) in got.features.iter().zip(features) {
                let geometry = feature.to_geo().expect("geozero reads our geometry");
                prop_assert_eq!(decoded(geometry), expected(geom, *buffer));
                let pairs: Vec<(String, Prop)> = feature
                    .tags
                    .chunks(2)
                    .map(|kv| (got.keys[kv[0] as usize].clone(), decoded_prop(&got.values[kv[1] as usize])))
                    .collect();
                let want: Vec<(String, Prop)> = properties.iter().map(|(k, v)| (k.clone(), prop_of(v))).collect();
                prop_assert_eq!(pairs, want);
            }
        }
    }

    #[test]
    fn world_points_come_back_within_one_unit(points in vec(world(), 1..40), buffer in 0u32..=128) {
        let decoded = slice_encode_decode(&Shape::Points(points.clone()), buffer);
        let off = |p: [f64; 2]| points.iter().map(|q| (q[0] - p[0]).abs().max((q[1] - p[1]).abs())).fold(f64::INFINITY, f64::min);
        check_within_one_unit(&decoded, buffer, off, &points, 0.0)?;
    }

    #[test]
    fn world_lines_come_back_within_one_unit(lines in vec(world_line(), 1..4), buffer in 0u32..=128) {
        let decoded = slice_encode_decode(&Shape::Lines(lines.clone()), buffer);
        let off = |p: [f64; 2]| lines.iter().map(|l| distance_to_line(p, l)).fold(f64::INFINITY, f64::min);
        // A vertex within a unit of its tile's edge may round onto the clip point there.
        check_within_one_unit(&decoded, buffer, off, &lines.concat(), 1.0)?;
    }
}
