//! Slicing, clipping and simplifying one big country polygon (the one of `fixtures/countries.geojson` with the
//! most vertices), the stages that decide build speed on large polygons.
//!
//! - `slice/A3/zN`: `slice_shape` of the scaled and simplified country into every tile it touches at zoom N
//!   (whole-world range, buffer 64); throughput is pieces emitted.
//! - `clip_slab/A3/z6`: `clip_shape` of the country scaled to z6 against one vertical slab (the tile column under
//!   its median vertex, plus buffer), the step bisection repeats.
//! - `simplify/A3/z10`: Douglas–Peucker (tolerance 1.0) of the country scaled to z10.

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use tilepress::source::Value;
use tilepress::tiling::clip::{Axis, clip_shape};
use tilepress::tiling::simplify::simplify_shape;
use tilepress::tiling::{EXTENT, Shape, SliceParams, slice_shape};

const BUFFER: f64 = 64.0;
const TOLERANCE: f64 = 1.0;

/// The country polygon with the most vertices, and its A3 code.
fn biggest_country() -> (String, Shape) {
    common::load("countries.geojson")
        .into_iter()
        .filter_map(|feature| {
            let a3 = feature.properties.iter().find_map(|(k, v)| match (k.as_str(), v) {
                ("A3", Value::String(s)) => Some(s.clone()),
                _ => None,
            });
            let shape = feature.shapes.into_iter().find(|s| matches!(s, Shape::Polygons(_)))?;
            Some((a3.unwrap_or_else(|| "unnamed".to_owned()), shape))
        })
        .max_by_key(|(_, shape)| shape.vertex_count())
        .expect("countries.geojson holds polygons")
}

fn pieces(shape: &Shape, params: &SliceParams) -> u64 {
    let mut n = 0;
    slice_shape(shape, params, &mut |_| n += 1);
    n
}

fn benches(c: &mut Criterion) {
    let (a3, country) = biggest_country();
    eprintln!("country {a3}: {} vertices", country.vertex_count());

    let mut group = c.benchmark_group("slice");
    for z in [6u8, 8, 10] {
        let world = simplify_shape(country.scaled(common::world_scale(z)), TOLERANCE);
        let params = SliceParams { range: common::world_range(z), buffer: BUFFER };
        let n = pieces(&world, &params);
        eprintln!("slice/{a3}/z{z}: {} vertices after simplification, {n} pieces per iteration", world.vertex_count());
        group.throughput(Throughput::Elements(n));
        group.bench_function(format!("{a3}/z{z}"), |b| b.iter(|| pieces(black_box(&world), black_box(&params))));
    }
    group.finish();

    let mut group = c.benchmark_group("clip_slab");
    let z6 = country.scaled(common::world_scale(6));
    // The tile column under the median vertex (the bounding box of a country across the antimeridian spans the
    // whole world, and its middle may hold nothing).
    let Shape::Polygons(polygons) = &z6 else { unreachable!("the country is a polygon shape") };
    let mut xs: Vec<f64> = polygons.iter().flatten().flatten().map(|p| p[0]).collect();
    xs.sort_by(f64::total_cmp);
    let extent = f64::from(EXTENT);
    let column = (xs[xs.len() / 2] / extent).floor();
    let (k1, k2) = (column * extent - BUFFER, (column + 1.0) * extent + BUFFER);
    let kept = clip_shape(&z6, k1, k2, Axis::X).map_or(0, |s| s.vertex_count());
    eprintln!("clip_slab/{a3}/z6: column {column}, {} vertices in, {kept} out", z6.vertex_count());
    group.throughput(Throughput::Elements(z6.vertex_count() as u64));
    group.bench_function(format!("{a3}/z6"), |b| b.iter(|| clip_shape(black_box(&z6), k1, k2, Axis::X)));
    group.finish();

    let mut group = c.benchmark_group("simplify");
    let z10 = country.scaled(common::world_scale(10));
    let simplified = simplify_shape(z10.clone(), TOLERANCE).vertex_count();
    eprintln!("simplify/{a3}/z10: {} vertices in, {simplified} out", z10.vertex_count());
    group.throughput(Throughput::Elements(z10.vertex_count() as u64));
    group.bench_function(format!("{a3}/z10"), |b| {
        b.iter_batched(|| z10.clone(), |shape| simplify_shape(shape, TOLERANCE), BatchSize::LargeInput)
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default().sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3))
}

criterion_group! { name = clip; config = config(); targets = benches }
criterion_main!(clip);
