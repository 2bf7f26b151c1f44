//! Our hand-written MVT encoder side by side with the crates.io `mvt` crate (prost-based), on two real tiles:
//! the z14 tile of `fixtures/valletta.geojson` with the most pieces (streets, buildings, POIs with their
//! properties) and the z6 tile of `fixtures/countries.geojson` with the most pieces (big clipped polygons).
//!
//! - `encode_raw/TILE/tilepress` vs `encode_raw/TILE/mvt_crate`: uncompressed MVT bytes.
//! - `encode_gzip/TILE/tilepress` (`encode_capped`, under the default limits) vs `encode_gzip/TILE/mvt_crate`
//!   (the `mvt` bytes through the same gzip).
//!
//! Before timing, both outputs of each tile are decoded with geozero's prost decoder and compared layer by layer:
//! feature counts, geometry types, tags and geometry command arrays must agree — except that the `mvt` crate drops
//! the middle point of straight axis-aligned runs in polygon rings (clipped edges have them), so such features are
//! compared without those points and counted.

mod common;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use geozero::mvt::{Message, Tile as DecodedTile};
use mvt::{GeomData, GeomEncoder, GeomType};
use tilepress::config::Limits;
use tilepress::encode::{TileFeature, TileLayer, encode_capped, encode_tile, gzip};
use tilepress::source::Value;
use tilepress::tiling::simplify::simplify_shape;
use tilepress::tiling::{EXTENT, Piece, PieceGeom, SliceParams, slice_shape};

const BUFFER: u32 = 64;
const TOLERANCE: f64 = 1.0;

/// The pieces of one tile of one layer, each with the properties of its feature, in feature order.
struct Sample {
    label: String,
    layer: &'static str,
    features: Vec<(Vec<(String, Value)>, PieceGeom)>,
}

impl Sample {
    /// The tile as our encoder takes it.
    fn layers(&self) -> Vec<TileLayer<'_>> {
        let features = self.features.iter().map(|(properties, geom)| TileFeature { properties, geom }).collect();
        vec![TileLayer { name: self.layer, buffer: BUFFER, features }]
    }
}

/// Slices every feature of a fixture at zoom `z` (as the pipeline does: scale, simplify, slice each part) and
/// keeps the tile with the most pieces.
fn busiest_tile(fixture: &str, layer: &'static str, z: u8) -> Sample {
    let features = common::load(fixture);
    let params = SliceParams { range: common::world_range(z), buffer: f64::from(BUFFER) };
    let mut tiles: BTreeMap<(u32, u32), Vec<(usize, PieceGeom)>> = BTreeMap::new();
    for (index, feature) in features.iter().enumerate() {
        for shape in &feature.shapes {
            let world = simplify_shape(shape.scaled(common::world_scale(z)), TOLERANCE);
            slice_shape(&world, &params, &mut |piece: Piece| {
                tiles.entry((piece.x, piece.y)).or_default().push((index, piece.geom));
            });
        }
    }
    let ((x, y), pieces) =
        tiles.into_iter().max_by_key(|(xy, p)| (p.len(), std::cmp::Reverse(*xy))).expect("the fixture has pieces");
    Sample {
        label: format!("{layer}-{z}-{x}-{y}"),
        layer,
        features: pieces.into_iter().map(|(i, geom)| (features[i].properties.clone(), geom)).collect(),
    }
}

/// One piece as the `mvt` crate's geometry: coordinates go in as they are (no transform, no clipping box);
/// rings are open, and each part is completed with `complete_geom`.
fn mvt_geometry(geom: &PieceGeom) -> Result<GeomData, mvt::Error> {
    let path = |encoder: &mut GeomEncoder<i32>, coords: &[[i32; 2]]| -> Result<(), mvt::Error> {
        for c in coords {
            encoder.add_point(c[0], c[1])?;
        }
        encoder.complete_geom()
    };
    match geom {
        PieceGeom::Points(points) => {
            let mut encoder = GeomEncoder::new(GeomType::Point);
            for p in points {
                encoder.add_point(p[0], p[1])?;
            }
            encoder.encode()
        }
        PieceGeom::Lines(lines) => {
            let mut encoder = GeomEncoder::new(GeomType::Linestring);
            for line in lines {
                path(&mut encoder, line)?;
            }
            encoder.encode()
        }
        PieceGeom::Polygons(polygons) => {
            let mut encoder = GeomEncoder::new(GeomType::Polygon);
            for ring in polygons.iter().flatten() {
                path(&mut encoder, ring)?;
            }
            encoder.encode()
        }
        PieceGeom::Full => {
            let (lo, hi) = (-(BUFFER as i32), (EXTENT + BUFFER) as i32);
            let mut encoder = GeomEncoder::new(GeomType::Polygon);
            path(&mut encoder, &[[lo, lo], [hi, lo], [hi, hi], [lo, hi]])?;
            encoder.encode()
        }
    }
}

/// The same tile through the `mvt` crate, with our value types mapped to the MVT fields our encoder uses
/// (negative integers as sint, others as uint, floats as double).
fn encode_mvt_crate(sample: &Sample) -> Result<Vec<u8>, mvt::Error> {
    let mut tile = mvt::Tile::new(EXTENT);
    let mut layer = tile.create_layer(sample.layer);
    for (properties, geom) in &sample.features {
        let mut feature = layer.into_feature(mvt_geometry(geom)?);
        for (key, value) in properties {
            match value {
                Value::String(s) => feature.add_tag_string(key, s),
                Value::Int(i) if *i < 0 => feature.add_tag_sint(key, *i),
                Value::Int(i) => feature.add_tag_uint(key, *i as u64),
                Value::UInt(u) => feature.add_tag_uint(key, *u),
                Value::Float(f) => feature.add_tag_double(key, *f),
                Value::Bool(b) => feature.add_tag_bool(key, *b),
            }
        }
        layer = feature.into_layer();
    }
    tile.add_layer(layer)?;
    tile.to_bytes()
}

/// The paths of an MVT command array in absolute tile coordinates (each MoveTo starts a path; ClosePath is
/// implied by the geometry type).
fn paths(geometry: &[u32]) -> Vec<Vec<[i32; 2]>> {
    let unzigzag = |n: u32| ((n >> 1) as i32) ^ -((n & 1) as i32);
    let mut out: Vec<Vec<[i32; 2]>> = Vec::new();
    let mut cursor = [0i32, 0i32];
    let mut i = 0;
    while i < geometry.len() {
        let (id, count) = (geometry[i] & 7, geometry[i] >> 3);
        i += 1;
        if id == 7 {
            continue;
        }
        for _ in 0..count {
            cursor = [cursor[0] + unzigzag(geometry[i]), cursor[1] + unzigzag(geometry[i + 1])];
            i += 2;
            match out.last_mut() {
                Some(path) if id == 2 => path.push(cursor),
                _ => out.push(vec![cursor]),
            }
        }
    }
    out
}

/// A polygon path without the middle points of straight axis-aligned runs, which the `mvt` crate drops while
/// encoding polygons (our encoder keeps every vertex it is given).
fn without_straight_runs(path: &[[i32; 2]]) -> Vec<[i32; 2]> {
    let between = |a: i32, b: i32, c: i32| (a < b && b < c) || (a > b && b > c);
    let straight = |a: [i32; 2], b: [i32; 2], c: [i32; 2]| {
        (a[0] == b[0] && b[0] == c[0] && between(a[1], b[1], c[1]))
            || (a[1] == b[1] && b[1] == c[1] && between(a[0], b[0], c[0]))
    };
    let mut out: Vec<[i32; 2]> = Vec::with_capacity(path.len());
    for &p in path {
        while out.len() >= 2 && straight(out[out.len() - 2], out[out.len() - 1], p) {
            out.pop();
        }
        out.push(p);
    }
    out
}

/// Decodes both tiles and checks they hold the same layers, feature counts, geometries and tags. Geometry
/// command arrays must be equal, except that polygon paths may differ by the straight-run points the `mvt`
/// crate drops; the number of such features is printed.
fn check_same(label: &str, ours: &[u8], theirs: &[u8]) {
    let decode = |bytes: &[u8], who: &str| {
        DecodedTile::decode(bytes).unwrap_or_else(|e| panic!("{label}: {who} output does not decode: {e}"))
    };
    let (ours, theirs) = (decode(ours, "tilepress"), decode(theirs, "mvt crate"));
    assert_eq!(ours.layers.len(), theirs.layers.len(), "{label}: layer count");
    for (a, b) in ours.layers.iter().zip(&theirs.layers) {
        assert_eq!((&a.name, a.version, a.extent), (&b.name, b.version, b.extent), "{label}: layer header");
        assert_eq!(a.features.len(), b.features.len(), "{label}: features in layer {}", a.name);
        let tags = |layer: &geozero::mvt::tile::Layer, tags: &[u32]| -> Vec<String> {
            tags.chunks(2)
                .map(|kv| format!("{}={:?}", layer.keys[kv[0] as usize], layer.values[kv[1] as usize]))
                .collect()
        };
        let mut simplified = 0;
        let (mut ours_points, mut theirs_points) = (0, 0);
        for (i, (fa, fb)) in a.features.iter().zip(&b.features).enumerate() {
            assert_eq!(fa.r#type, fb.r#type, "{label}: type of feature {i}");
            assert_eq!(tags(a, &fa.tags), tags(b, &fb.tags), "{label}: tags of feature {i}");
            if fa.geometry == fb.geometry {
                continue;
            }
            let (pa, pb) = (paths(&fa.geometry), paths(&fb.geometry));
            assert_eq!(
                fa.r#type,
                Some(geozero::mvt::tile::GeomType::Polygon as i32),
                "{label}: geometry commands of feature {i}"
            );
            let normal = |p: &[Vec<[i32; 2]>]| p.iter().map(|r| without_straight_runs(r)).collect::<Vec<_>>();
            assert_eq!(normal(&pa), normal(&pb), "{label}: geometry of feature {i}");
            simplified += 1;
            ours_points += pa.iter().map(Vec::len).sum::<usize>();
            theirs_points += pb.iter().map(Vec::len).sum::<usize>();
        }
        eprintln!(
            "{label}: layer {}: {} features in both, same tags; geometry commands identical but for {simplified} \
             polygon features where the mvt crate dropped straight-run points ({ours_points} → {theirs_points} points)",
            a.name,
            a.features.len()
        );
    }
}

fn benches(c: &mut Criterion) {
    let samples = [busiest_tile("valletta.geojson", "valletta", 14), busiest_tile("countries.geojson", "countries", 6)];
    let limits = Limits::default();
    for sample in &samples {
        let ours = encode_tile(&sample.layers());
        let theirs = encode_mvt_crate(sample).expect("the mvt crate encodes the tile");
        check_same(&sample.label, &ours, &theirs);
        let (ours_gz, theirs_gz) = (gzip(&ours).expect("gzip"), gzip(&theirs).expect("gzip"));
        let vertices: usize = sample
            .features
            .iter()
            .map(|(_, g)| match g {
                PieceGeom::Points(p) => p.len(),
                PieceGeom::Lines(l) => l.iter().map(Vec::len).sum(),
                PieceGeom::Polygons(p) => p.iter().flatten().map(Vec::len).sum(),
                PieceGeom::Full => 4,
            })
            .sum();
        eprintln!(
            "{}: {} features, {vertices} vertices; raw bytes: tilepress {}, mvt crate {}; gzip: tilepress {}, mvt crate {}",
            sample.label,
            sample.features.len(),
            ours.len(),
            theirs.len(),
            ours_gz.len(),
            theirs_gz.len()
        );
    }

    let mut group = c.benchmark_group("encode_raw");
    for sample in &samples {
        let layers = sample.layers();
        group.throughput(Throughput::Elements(sample.features.len() as u64));
        group.bench_function(format!("{}/tilepress", sample.label), |b| b.iter(|| encode_tile(black_box(&layers))));
        group.bench_function(format!("{}/mvt_crate", sample.label), |b| {
            b.iter(|| encode_mvt_crate(black_box(sample)).expect("encodes"))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("encode_gzip");
    for sample in &samples {
        let layers = sample.layers();
        group.throughput(Throughput::Elements(sample.features.len() as u64));
        group.bench_function(format!("{}/tilepress", sample.label), |b| {
            b.iter(|| encode_capped(black_box(&layers), &limits, "bench").expect("encodes").expect("under the caps"))
        });
        group.bench_function(format!("{}/mvt_crate", sample.label), |b| {
            b.iter(|| gzip(&encode_mvt_crate(black_box(sample)).expect("encodes")).expect("gzip"))
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default().sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3))
}

criterion_group! { name = encode; config = config(); targets = benches }
criterion_main!(encode);
