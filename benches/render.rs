//! Rasterising one tile: the z14 tile of `fixtures/valletta.geojson` with the most pieces (streets, buildings,
//! POIs), styled as `tilesets/default-raster.toml` styles it, at 256 and 512 pixels.
//!
//! - `render/TILE/draw`: the canvas (background, fills, outlines, strokes, discs) — tiny-skia's share;
//! - `render/TILE/png`: the tile's pixels → PNG bytes (palette attempt, fdeflate);
//! - `render/TILE/tile`: both, with the blank check and the caps, as the pipeline calls it (`render_tile`).

mod common;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tilepress::config::{Limits, Raster, TileFormat, Tileset};
use tilepress::render::raster::margin_for;
use tilepress::render::{Canvas, RenderLayer, encode_png, render_tile};
use tilepress::tiling::simplify::simplify_shape;
use tilepress::tiling::{Piece, PieceGeom, SliceParams, slice_shape};

const ZOOM: u8 = 14;

/// The pieces of the busiest z14 tile of Valletta, sliced as the pipeline slices them with `buffer`.
fn busiest_tile(buffer: u32, simplify: f64) -> ((u32, u32), Vec<PieceGeom>) {
    let features = common::load("valletta.geojson");
    let params = SliceParams { range: common::world_range(ZOOM), buffer: f64::from(buffer) };
    let mut tiles: BTreeMap<(u32, u32), Vec<PieceGeom>> = BTreeMap::new();
    for feature in &features {
        for shape in &feature.shapes {
            let world = simplify_shape(shape.scaled(common::world_scale(ZOOM)), simplify);
            slice_shape(&world, &params, &mut |piece: Piece| {
                tiles.entry((piece.x, piece.y)).or_default().push(piece.geom)
            });
        }
    }
    tiles.into_iter().max_by_key(|(xy, p)| (p.len(), std::cmp::Reverse(*xy))).expect("the fixture has pieces")
}

fn benches(c: &mut Criterion) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tilesets/default-raster.toml");
    let tileset = Tileset::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let layer = tileset.layers.iter().find(|l| l.id == "valletta").expect("the valletta layer");
    let style = layer.style.as_ref().expect("a raster layer has a style");
    let TileFormat::Png(base) = tileset.format else { panic!("default-raster is a png tileset") };
    let ((x, y), pieces) = busiest_tile(layer.buffer, layer.simplify);
    let limits = Limits::default();
    let mut group = c.benchmark_group("render");
    for size in [256, 512] {
        let raster = Raster { tile_size: size, ..base };
        let layers = [RenderLayer { style, buffer: layer.buffer, geoms: pieces.iter().collect() }];
        let label = format!("valletta-{ZOOM}-{x}-{y}@{size}");
        let margin = margin_for(&layers, &raster);
        let mut canvas = Canvas::new(&raster, margin).expect("canvas");
        canvas.draw(&layers, ZOOM);
        let rgba = canvas.tile_rgba();
        let png = encode_png(&rgba, size, size).expect("encodes");
        eprintln!("{label}: {} pieces, PNG {} bytes", pieces.len(), png.len());
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("{label}/draw"), |b| {
            b.iter(|| {
                let mut canvas = Canvas::new(&raster, margin).expect("canvas");
                canvas.draw(black_box(&layers), ZOOM);
                canvas
            })
        });
        group.bench_function(format!("{label}/png"), |b| b.iter(|| encode_png(black_box(&rgba), size, size)));
        group.bench_function(format!("{label}/tile"), |b| {
            b.iter(|| render_tile(black_box(&layers), &raster, ZOOM, &limits, "bench").expect("renders"))
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default().sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3))
}

criterion_group! { name = render; config = config(); targets = benches }
criterion_main!(render);
