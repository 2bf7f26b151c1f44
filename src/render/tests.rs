//! Pixel tests of the renderer: what a known polygon, line and point cover, that neighbouring tiles agree on
//! the pixels along their shared edge, the blank rule, the feature cap, and the PNG encoder's choices.

use std::collections::BTreeMap;

use super::raster::margin_for;
use super::*;
use crate::config::{Color, ZoomCurve};
use crate::tiling::{Piece, Shape, SliceParams, TileRange, slice_shape};

const RED: Color = Color { r: 255, g: 0, b: 0, a: 255 };
const BLUE: Color = Color { r: 0, g: 0, b: 255, a: 255 };
const WHITE: Color = Color { r: 255, g: 255, b: 255, a: 255 };

fn raster(background: Color) -> Raster {
    Raster { tile_size: 256, background }
}

fn style() -> LayerStyle {
    LayerStyle {
        fill_color: None,
        fill_opacity: 1.0,
        outline_color: None,
        outline_width: ZoomCurve::constant(1.0),
        stroke_color: None,
        stroke_width: ZoomCurve::constant(1.0),
        point_color: None,
        point_radius: ZoomCurve::constant(2.0),
        order: 0,
    }
}

/// The tile's pixels (no margin) as straight-alpha RGBA.
fn draw(geoms: &[PieceGeom], style: &LayerStyle, buffer: u32, background: Color) -> Vec<u8> {
    let layer = RenderLayer { style, buffer, geoms: geoms.iter().collect() };
    let r = raster(background);
    let mut canvas = Canvas::new(&r, margin_for(std::slice::from_ref(&layer), &r)).expect("canvas");
    canvas.draw(&[layer], 12);
    canvas.tile_rgba()
}

fn pixel(rgba: &[u8], x: usize, y: usize) -> [u8; 4] {
    let i = (y * 256 + x) * 4;
    [rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]]
}

fn rgba(c: Color) -> [u8; 4] {
    [c.r, c.g, c.b, c.a]
}

/// A square from `lo` to `hi` tile units, clockwise on screen (an exterior), or counter-clockwise (a hole).
fn square(lo: i32, hi: i32, exterior: bool) -> Vec<[i32; 2]> {
    let ring = vec![[lo, lo], [hi, lo], [hi, hi], [lo, hi]];
    if exterior { ring } else { ring.into_iter().rev().collect() }
}

#[test]
fn a_polygon_fills_its_pixels_and_not_its_hole() {
    // Tile units 1024..3072 are pixels 64..192; the hole 1536..2560 is pixels 96..160: edges on pixel
    // boundaries, so every pixel is wholly in or out.
    let polygon = PieceGeom::Polygons(vec![vec![square(1024, 3072, true), square(1536, 2560, false)]]);
    let s = LayerStyle { fill_color: Some(RED), ..style() };
    let out = draw(&[polygon], &s, 64, WHITE);
    let mut filled = 0;
    for y in 0..256 {
        for x in 0..256 {
            let inside = (64..192).contains(&x) && (64..192).contains(&y);
            let in_hole = (96..160).contains(&x) && (96..160).contains(&y);
            let expected = if inside && !in_hole { RED } else { WHITE };
            assert_eq!(pixel(&out, x, y), rgba(expected), "pixel ({x}, {y})");
            filled += usize::from(expected == RED);
        }
    }
    assert_eq!(filled, 128 * 128 - 64 * 64);
}

#[test]
fn fill_opacity_and_draw_order_blend_as_painted() {
    let full = [PieceGeom::Full];
    let half = LayerStyle { fill_color: Some(RED), fill_opacity: 0.5, ..style() };
    let out = draw(&full, &half, 64, WHITE);
    // Half red over white: (255, 128, 128) give or take rounding.
    let p = pixel(&out, 10, 10);
    assert_eq!((p[0], p[3]), (255, 255));
    assert!((126..=129).contains(&p[1]) && p[1] == p[2], "{p:?}");

    // Two layers: the higher `order` is drawn last, whatever their order in the tile.
    let blue_on_top = LayerStyle { fill_color: Some(BLUE), order: 1, ..style() };
    let red_below = LayerStyle { fill_color: Some(RED), order: 0, ..style() };
    let layers = [
        RenderLayer { style: &blue_on_top, buffer: 64, geoms: vec![&full[0]] },
        RenderLayer { style: &red_below, buffer: 64, geoms: vec![&full[0]] },
    ];
    let r = raster(WHITE);
    let mut canvas = Canvas::new(&r, margin_for(&layers, &r)).expect("canvas");
    canvas.draw(&layers, 5);
    assert_eq!(pixel(&canvas.tile_rgba(), 128, 128), rgba(BLUE));
}

#[test]
fn a_line_crosses_the_expected_pixels() {
    // A horizontal line along y = 2048 (pixel row boundary 128), 2 pixels wide, across the whole tile and its
    // buffer: rows 127 and 128 are covered whole, rows 126 and 129 not at all.
    let horizontal = PieceGeom::Lines(vec![vec![[-64, 2048], [4160, 2048]]]);
    let s = LayerStyle { stroke_color: Some(RED), stroke_width: ZoomCurve::constant(2.0), ..style() };
    let out = draw(&[horizontal], &s, 64, WHITE);
    for x in 0..256 {
        assert_eq!(pixel(&out, x, 127), rgba(RED), "({x}, 127)");
        assert_eq!(pixel(&out, x, 128), rgba(RED), "({x}, 128)");
        assert_eq!(pixel(&out, x, 126), rgba(WHITE), "({x}, 126)");
        assert_eq!(pixel(&out, x, 129), rgba(WHITE), "({x}, 129)");
    }

    // A diagonal from the top-left corner to the bottom-right one: it crosses pixel (i, i) for every i, and
    // leaves pixels 3 or more off the diagonal alone.
    let diagonal = PieceGeom::Lines(vec![vec![[0, 0], [4096, 4096]]]);
    let out = draw(&[diagonal], &s, 64, WHITE);
    for i in 0..256 {
        let on = pixel(&out, i, i);
        assert!(on[1] < 100 && on[0] == 255, "pixel ({i}, {i}) is not red: {on:?}");
        if i + 3 < 256 {
            assert_eq!(pixel(&out, i + 3, i), rgba(WHITE), "({}, {i})", i + 3);
            assert_eq!(pixel(&out, i, i + 3), rgba(WHITE), "({i}, {})", i + 3);
        }
    }
}

#[test]
fn a_point_is_a_disc_of_its_radius() {
    let point = PieceGeom::Points(vec![[2048, 1024]]);
    let s = LayerStyle { point_color: Some(RED), point_radius: ZoomCurve::constant(4.0), ..style() };
    let out = draw(&[point], &s, 64, Color::TRANSPARENT);
    // Centre at pixel (128, 64): inside pixels are opaque red, pixels 6 away are untouched.
    assert_eq!(pixel(&out, 128, 64), rgba(RED));
    assert_eq!(pixel(&out, 126, 62), rgba(RED));
    assert_eq!(pixel(&out, 134, 64), [0, 0, 0, 0]);
    assert_eq!(pixel(&out, 128, 58), [0, 0, 0, 0]);
}

/// Slices `shapes` (world units of zoom 2) with `buffer` and renders every tile's whole canvas.
fn render_tiles(shapes: &[Shape], s: &LayerStyle, buffer: u32) -> (u32, u32, BTreeMap<(u32, u32), Vec<u8>>) {
    let range = TileRange { z: 2, x_min: 0, y_min: 0, x_max: 3, y_max: 3 };
    let params = SliceParams { range, buffer: f64::from(buffer) };
    let mut pieces: BTreeMap<(u32, u32), Vec<PieceGeom>> = BTreeMap::new();
    for shape in shapes {
        slice_shape(shape, &params, &mut |p: Piece| pieces.entry((p.x, p.y)).or_default().push(p.geom));
    }
    let r = raster(WHITE);
    let mut margin = 0;
    let mut side = 0;
    let canvases = pieces
        .iter()
        .map(|(tile, geoms)| {
            let layer = RenderLayer { style: s, buffer, geoms: geoms.iter().collect() };
            margin = margin_for(std::slice::from_ref(&layer), &r);
            let mut canvas = Canvas::new(&r, margin).expect("canvas");
            canvas.draw(&[layer], 2);
            let (width, data) = canvas.canvas_rgba();
            side = width;
            (*tile, data)
        })
        .collect();
    (side, margin, canvases)
}

/// Pixels of `a`'s canvas beyond its east (or south) edge against the same pixels inside `b`, its neighbour:
/// `columns` columns (rows) deep, along the whole edge. Returns the largest channel difference and how many
/// pixels differ.
fn edge_agreement(side: u32, margin: u32, a: &[u8], b: &[u8], east: bool, depth: u32) -> (u8, usize) {
    let (side, margin, size) = (side as usize, margin as usize, side as usize - 2 * margin as usize);
    let (mut worst, mut differing) = (0u8, 0usize);
    for along in 0..size {
        for d in 0..depth as usize {
            let (ax, ay, bx, by) = if east {
                (margin + size + d, margin + along, margin + d, margin + along)
            } else {
                (margin + along, margin + size + d, margin + along, margin + d)
            };
            let (pa, pb) = ((ay * side + ax) * 4, (by * side + bx) * 4);
            let diff = (0..4).map(|k| a[pa + k].abs_diff(b[pb + k])).max().unwrap_or(0);
            worst = worst.max(diff);
            differing += usize::from(diff > 0);
        }
    }
    (worst, differing)
}

/// A style that uses every kind of drawing, and a buffer well beyond its reach (16 pixels; the reach is 4).
fn seam_style() -> (LayerStyle, u32) {
    let s = LayerStyle {
        fill_color: Some(Color { r: 200, g: 180, b: 160, a: 255 }),
        fill_opacity: 0.8,
        outline_color: Some(Color { r: 90, g: 60, b: 40, a: 255 }),
        outline_width: ZoomCurve::constant(1.0),
        stroke_color: Some(RED),
        stroke_width: ZoomCurve::constant(3.0),
        point_color: Some(BLUE),
        point_radius: ZoomCurve::constant(3.0),
        order: 0,
    };
    (s, 256)
}

#[test]
fn adjacent_tiles_agree_pixel_for_pixel_along_their_shared_edge() {
    // Geometry whose clip points fall on whole tile units (axis-aligned and 45° edges, integer vertices), so
    // each neighbour holds exactly the same segments near the edge: tiles (1,1)|(2,1) share x = 8192, and
    // (1,1) over (1,2) share y = 8192. What tile A draws just beyond its edge (its canvas margin, clear of the
    // clip-edge artefacts that lie a buffer away) must equal what B draws just inside it.
    let e = 8192.0;
    let shapes = vec![
        Shape::Lines(vec![
            vec![[e - 900.0, e - 1500.0], [e + 600.0, e], [e - 100.0, e + 700.0]],
            vec![[e - 3000.0, e - 300.0], [e + 3000.0, e - 300.0]],
            vec![[e - 700.0, e - 3000.0], [e - 700.0, e + 3000.0]],
        ]),
        Shape::Polygons(vec![
            // A diamond across both edges, with a square hole across the east edge.
            vec![
                vec![[e, e - 2000.0], [e + 2000.0, e], [e, e + 2000.0], [e - 2000.0, e], [e, e - 2000.0]],
                vec![
                    [e - 400.0, e - 900.0],
                    [e - 400.0, e - 500.0],
                    [e + 300.0, e - 500.0],
                    [e + 300.0, e - 900.0],
                    [e - 400.0, e - 900.0],
                ],
            ],
        ]),
        Shape::Points(vec![[e + 20.0, e - 1200.0], [e - 33.0, e + 1000.0], [e - 2500.0, e + 10.0]]),
    ];
    let (s, buffer) = seam_style();
    let (side, margin, tiles) = render_tiles(&shapes, &s, buffer);
    let depth = 12; // pixels beyond the edge compared: the buffer (16) less the reach (4)
    let a = &tiles[&(1, 1)];
    for (b, east) in [(&tiles[&(2, 1)], true), (&tiles[&(1, 2)], false)] {
        let (worst, differing) = edge_agreement(side, margin, a, b, east, depth);
        assert_eq!((worst, differing), (0, 0), "neighbour {} disagrees", if east { "east" } else { "south" });
    }
    // And something was drawn along the edges to compare.
    let drawn = (0..side as usize * side as usize).filter(|i| a[i * 4..i * 4 + 3] != [255, 255, 255]).count();
    assert!(drawn > 5000, "{drawn} drawn pixels");
}

#[test]
fn lines_at_any_angle_meet_their_neighbour_without_a_seam() {
    // At arbitrary angles two things keep the neighbours from agreeing to the last bit: a clip point is rounded
    // to the nearest tile unit (as the MVT needs), so a segment cut by one neighbour's buffer edge leans by up to
    // 1/32 pixel against its uncut twin next door; and tiny-skia's stroker rounds in f32 at the canvas position,
    // 256 pixels apart in the two canvases. Anti-aliasing may then differ by a step or two on a few edge pixels
    // (measured: at most 32 levels on under 1% of them), never by a visible seam.
    let e = 8192.0;
    let lines: Vec<Vec<[f64; 2]>> = (0..24)
        .map(|i| {
            let t = f64::from(i) * 0.26 + 0.05;
            let (dx, dy) = (t.cos() * 3000.0, t.sin() * 3000.0);
            let (cx, cy) = (e + 37.3 * f64::from(i) - 400.0, e + 53.1 * f64::from(i) - 600.0);
            vec![[cx - dx, cy - dy], [cx + dx, cy + dy]]
        })
        .collect();
    let (s, buffer) = seam_style();
    let (side, margin, tiles) = render_tiles(&[Shape::Lines(lines)], &s, buffer);
    let a = &tiles[&(1, 1)];
    let mut total_differing = 0;
    for (b, east) in [(&tiles[&(2, 1)], true), (&tiles[&(1, 2)], false)] {
        let (worst, differing) = edge_agreement(side, margin, a, b, east, 12);
        assert!(worst <= 48, "a difference of {worst} levels is a visible seam");
        total_differing += differing;
    }
    let compared = 2 * 256 * 12;
    assert!(total_differing * 50 < compared, "{total_differing} of {compared} pixels differ");
}

#[test]
fn a_tile_with_only_background_is_blank() {
    let limits = Limits::default();
    for background in [Color::TRANSPARENT, WHITE] {
        let r = raster(background);
        // A line that lies only in the buffer (x < 0) draws nothing on the tile itself.
        let outside = PieceGeom::Lines(vec![vec![[-60, 100], [-60, 4000]]]);
        let s = LayerStyle { stroke_color: Some(RED), ..style() };
        let layers = [RenderLayer { style: &s, buffer: 64, geoms: vec![&outside] }];
        assert_eq!(render_tile(&layers, &r, 10, &limits, "10/0/0").expect("renders"), Rendered::Blank);
        // A fully transparent colour draws nothing either.
        let clear = LayerStyle { fill_color: Some(Color { a: 0, ..RED }), ..style() };
        let full = PieceGeom::Full;
        let layers = [RenderLayer { style: &clear, buffer: 64, geoms: vec![&full] }];
        assert_eq!(render_tile(&layers, &r, 10, &limits, "10/0/0").expect("renders"), Rendered::Blank);
    }
}

#[test]
fn the_feature_cap_keeps_the_largest_pieces() {
    let big = PieceGeom::Polygons(vec![vec![square(0, 2048, true)]]);
    let small = PieceGeom::Polygons(vec![vec![square(3000, 3100, true)]]);
    let point = PieceGeom::Points(vec![[3500, 3500]]);
    let s = LayerStyle { fill_color: Some(RED), point_color: Some(BLUE), ..style() };
    let layers = [RenderLayer { style: &s, buffer: 64, geoms: vec![&small, &point, &big] }];
    let limits = Limits { max_tile_features: 1, ..Limits::default() };
    let Rendered::Tile { png, features, dropped } =
        render_tile(&layers, &raster(WHITE), 10, &limits, "t").expect("renders")
    else {
        panic!("a tile")
    };
    assert_eq!((features, dropped), (1, 2));
    let (_, _, out) = decode_png(&png).expect("decodes");
    assert_eq!(pixel(&out, 10, 10), rgba(RED), "the big square stays");
    assert_eq!(pixel(&out, 190, 190), rgba(WHITE), "the small square goes");
    assert_eq!(pixel(&out, 218, 218), rgba(WHITE), "the point goes");
}

#[test]
fn few_colours_give_a_smaller_indexed_png_and_many_stay_truecolor() {
    // Two colours: 1 bit a pixel with a palette is far smaller than RGB.
    let two: Vec<u8> =
        (0..256 * 256).flat_map(|i| if (i / 7) % 2 == 0 { [255, 0, 0, 255] } else { [0, 0, 255, 255] }).collect();
    let png = encode_png(&two, 256, 256).expect("encodes");
    assert_eq!(png[25], 3, "colour type 3 (indexed)");
    assert_eq!(png[24], 1, "bit depth 1");
    assert_eq!(decode_png(&png).expect("decodes"), (256, 256, two.clone()));
    assert_eq!(png, encode_png(&two, 256, 256).expect("encodes"), "deterministic");

    // Translucent colours go through tRNS and come back exact.
    let translucent: Vec<u8> = (0..64 * 64).flat_map(|i| [0, 0, (i % 3 * 100) as u8, (i % 5 * 50) as u8]).collect();
    let png = encode_png(&translucent, 64, 64).expect("encodes");
    assert_eq!(png[25], 3);
    assert_eq!(decode_png(&png).expect("decodes").2, translucent);

    // A gradient of 65,536 colours: truecolor, RGB since it is opaque.
    let many: Vec<u8> = (0..256 * 256u32).flat_map(|i| [(i % 256) as u8, (i / 256) as u8, 7, 255]).collect();
    let png = encode_png(&many, 256, 256).expect("encodes");
    assert_eq!(png[25], 2, "colour type 2 (RGB)");
    assert_eq!(decode_png(&png).expect("decodes").2, many);
}
