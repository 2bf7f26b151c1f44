use super::*;

fn params(z: u8, buffer: f64) -> SliceParams {
    let last = (1u32 << z) - 1;
    SliceParams { range: TileRange { z, x_min: 0, y_min: 0, x_max: last, y_max: last }, buffer }
}

fn collect(shape: &Shape, p: &SliceParams) -> Vec<Piece> {
    let mut out = Vec::new();
    slice_shape(shape, p, &mut |piece| out.push(piece));
    out
}

fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<Point> {
    vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
}

#[test]
fn polygon_covering_a_block_of_tiles_is_full_inside_and_clipped_at_its_edges() {
    // From the middle of tile 1 to the middle of tile 6 on both axes at z3: tiles 2..=5 are covered whole.
    let poly = Shape::Polygons(vec![vec![square(1.5 * E, 1.5 * E, 6.5 * E, 6.5 * E)]]);
    let pieces = collect(&poly, &params(3, 64.0));
    let full: Vec<(u32, u32)> = pieces.iter().filter(|p| p.geom == PieceGeom::Full).map(|p| (p.x, p.y)).collect();
    assert_eq!(full.len(), 16, "tiles 2..=5 squared are covered whole: {full:?}");
    assert!(full.iter().all(|(x, y)| (2..=5).contains(x) && (2..=5).contains(y)));
    // The ring of edge tiles (1 and 6 on either axis) gets clipped polygons.
    assert_eq!(pieces.len(), 36);
    for piece in pieces.iter().filter(|p| p.geom != PieceGeom::Full) {
        let PieceGeom::Polygons(polys) = &piece.geom else { panic!("polygon expected") };
        for c in &polys[0][0] {
            assert!((-64..=4096 + 64).contains(&c[0]) && (-64..=4096 + 64).contains(&c[1]), "{c:?} in {piece:?}");
        }
        assert!(int_area2(&polys[0][0]) > 0, "exterior must be clockwise on screen");
    }
    let corner = pieces.iter().find(|p| (p.x, p.y) == (1, 1)).expect("corner tile");
    let PieceGeom::Polygons(polys) = &corner.geom else { panic!("polygon expected") };
    // The corner tile holds the quarter from (2048, 2048) to the tile edge plus buffer.
    assert_eq!(int_area2(&polys[0][0]), 2 * (2048 + 64) * (2048 + 64));
}

#[test]
fn counter_clockwise_exterior_and_clockwise_hole_are_rewound() {
    let outer: Vec<Point> = square(100.0, 100.0, 3000.0, 3000.0).into_iter().rev().collect();
    let hole = square(1000.0, 1000.0, 2000.0, 2000.0);
    let pieces = collect(&Shape::Polygons(vec![vec![outer, hole]]), &params(0, 64.0));
    let PieceGeom::Polygons(polys) = &pieces[0].geom else { panic!("polygon expected") };
    assert!(int_area2(&polys[0][0]) > 0);
    assert!(int_area2(&polys[0][1]) < 0);
    // Rings are open: no repeated closing point.
    assert_ne!(polys[0][0].first(), polys[0][0].last());
    assert_eq!(polys[0][0].len(), 4);
}

#[test]
fn line_crossing_three_tiles_is_cut_with_buffer_overlap() {
    let line = Shape::Lines(vec![vec![[0.5 * E, 0.5 * E], [2.5 * E, 0.5 * E]]]);
    let pieces = collect(&line, &params(2, 64.0));
    let tiles: Vec<(u32, u32)> = pieces.iter().map(|p| (p.x, p.y)).collect();
    assert_eq!(tiles, vec![(0, 0), (1, 0), (2, 0)]);
    assert_eq!(pieces[1].geom, PieceGeom::Lines(vec![vec![[-64, 2048], [4096 + 64, 2048]]]));
    assert_eq!(pieces[0].geom, PieceGeom::Lines(vec![vec![[2048, 2048], [4096 + 64, 2048]]]));
}

#[test]
fn point_near_a_tile_edge_lands_in_both_tiles() {
    let pts = Shape::Points(vec![[E - 10.0, 100.0]]);
    let pieces = collect(&pts, &params(2, 64.0));
    assert_eq!(pieces.len(), 2);
    assert_eq!(pieces[0], Piece { x: 0, y: 0, geom: PieceGeom::Points(vec![[4086, 100]]) });
    assert_eq!(pieces[1], Piece { x: 1, y: 0, geom: PieceGeom::Points(vec![[-10, 100]]) });
}

#[test]
fn degenerate_pieces_are_dropped() {
    // A ring smaller than one tile unit and a zero-length line leave nothing.
    let tiny = Shape::Polygons(vec![vec![square(10.1, 10.1, 10.3, 10.3)]]);
    assert!(collect(&tiny, &params(0, 64.0)).is_empty());
    let dot = Shape::Lines(vec![vec![[5.0, 5.0], [5.2, 5.1]]]);
    assert!(collect(&dot, &params(0, 64.0)).is_empty());
}

#[test]
fn pieces_outside_the_build_range_are_not_made() {
    let poly = Shape::Polygons(vec![vec![square(0.0, 0.0, 4.0 * E, 4.0 * E)]]);
    let mut p = params(2, 0.0);
    p.range = TileRange { z: 2, x_min: 1, y_min: 1, x_max: 2, y_max: 1 };
    let pieces = collect(&poly, &p);
    let tiles: Vec<(u32, u32)> = pieces.iter().map(|p| (p.x, p.y)).collect();
    assert_eq!(tiles, vec![(1, 1), (2, 1)]);
    assert!(pieces.iter().all(|p| p.geom == PieceGeom::Full));
}

#[test]
fn a_country_sized_polygon_at_high_zoom_emits_interior_tiles_as_full() {
    // A 300 x 200 tile diamond-ish polygon at z10 with many vertices: interior tiles must come out Full.
    let z = 10;
    let (cx, cy, rx, ry) = (500.0 * E, 500.0 * E, 150.0 * E, 100.0 * E);
    let ring: Vec<Point> = (0..=4000)
        .map(|i| {
            let a = f64::from(i) / 4000.0 * std::f64::consts::TAU;
            [cx + rx * a.cos(), cy + ry * a.sin()]
        })
        .collect();
    let pieces = collect(&Shape::Polygons(vec![vec![ring]]), &params(z, 64.0));
    let full = pieces.iter().filter(|p| p.geom == PieceGeom::Full).count();
    let edge = pieces.len() - full;
    // An ellipse of area pi*150*100 ~ 47,124 tiles; the edge is ~ 1,000 tiles.
    assert!(full > 45_000, "full tiles: {full}");
    assert!(edge < 2_500, "edge tiles: {edge}");
}
