//! Property tests of clipping and slicing: random lines and star-shaped polygons (with holes, either winding)
//! that cross the tile-plus-buffer box many times → the rectangle clip stays inside the box, keeps the area of
//! the overlap (checked against i_overlay) and each ring's winding; the sliced pieces are integer, inside the
//! buffer, open and wound as MVT 2.1 wants (exterior clockwise on screen with y down, holes the other way).
//!
//! Cases: proptest's `PROPTEST_CASES` (default 256); `make soak-props` runs 100,000.

use std::f64::consts::TAU;

use i_overlay::core::fill_rule::FillRule;
use i_overlay::core::overlay_rule::OverlayRule;
use i_overlay::float::single::SingleFloatOverlay;
use proptest::collection::vec;
use proptest::prelude::*;

use super::*;

/// The tiles sliced: a 4 × 4 block at z12.
const RANGE: TileRange = TileRange { z: 12, x_min: 1000, y_min: 2000, x_max: 1003, y_max: 2003 };

/// A star-shaped ring around `center`: `n >= 5` vertices at jittered, increasing angles (every gap under half a
/// turn, so the ring is simple and `center` sees all of it), at radii `radii` (as many as the jitters).
fn star(center: Point, jitter: &[f64], radii: &[f64], clockwise: bool) -> Vec<Point> {
    let n = jitter.len() as f64;
    let mut ring: Vec<Point> = jitter
        .iter()
        .zip(radii)
        .enumerate()
        .map(|(i, (j, r))| {
            let angle = (i as f64 + 0.8 * j) / n * TAU;
            [center[0] + r * angle.cos(), center[1] + r * angle.sin()]
        })
        .collect();
    if (ring_area2(&ring) > 0.0) != clockwise {
        ring.reverse();
    }
    let first = ring[0];
    ring.push(first);
    ring
}

/// A point around the sliced block: inside it, on it, or up to two tiles outside.
fn near_block() -> impl Strategy<Value = Point> {
    let span = |min: u32| (f64::from(min) - 2.0) * E..(f64::from(min) + 6.0) * E;
    [span(RANGE.x_min), span(RANGE.y_min)]
}

/// Star polygons with up to one hole (two around one centre would overlap), exterior radii from a unit to several tiles (spiky ones cross the box
/// edges many times), holes well inside the exterior's inner radius; every ring in either winding.
fn polygon() -> impl Strategy<Value = Vec<Vec<Point>>> {
    let radii = |n: usize, max: f64| vec(prop_oneof![(max / 1000.0)..max, (max / 2.0)..max], n);
    let ring_parts = move |max: f64| (5usize..60).prop_flat_map(move |n| (vec(0.0..1.0f64, n), radii(n, max)));
    let hole = (ring_parts(1.0), any::<bool>(), 0.05..0.3f64);
    (near_block(), prop_oneof![Just(3.0 * E), Just(0.3 * E), Just(20.0)], any::<bool>())
        .prop_flat_map(move |(center, max, clockwise)| {
            (Just(center), ring_parts(max), Just(clockwise), vec(hole.clone(), 0..2))
        })
        .prop_map(|(center, (jitter, radii), clockwise, holes)| {
            let inner = radii.iter().copied().fold(f64::INFINITY, f64::min) * (0.8 * TAU / 5.0 / 2.0).cos();
            let mut rings = vec![star(center, &jitter, &radii, clockwise)];
            for ((jitter, unit), hole_clockwise, scale) in holes {
                // Radii in (0, 1) scaled to under the exterior's inner radius: the hole lies inside.
                let hole_radii: Vec<f64> = unit.iter().map(|u| (0.5 + 0.5 * u) * scale * inner).collect();
                rings.push(star(center, &jitter, &hole_radii, hole_clockwise));
            }
            rings
        })
}

/// Lines zigzagging in and out of the block.
fn lines() -> impl Strategy<Value = Vec<Vec<Point>>> {
    vec(vec(near_block(), 2..40), 1..4)
}

fn buffer() -> impl Strategy<Value = f64> {
    prop_oneof![Just(64.0), Just(0.0), (0u32..=512).prop_map(f64::from)]
}

/// The box the whole block is clipped to.
fn block_box(buffer: f64) -> [f64; 4] {
    range_rect(RANGE, buffer)
}

fn inside(p: Point, b: [f64; 4]) -> bool {
    p[0] >= b[0] && p[0] <= b[2] && p[1] >= b[1] && p[1] <= b[3]
}

/// Area of polygons as i_overlay gives them (each shape: outer contour and holes, opposite windings).
fn overlay_area(shapes: &[Vec<Vec<Point>>]) -> f64 {
    shapes.iter().map(|shape| shape.iter().map(|c| ring_area2(c)).sum::<f64>().abs() / 2.0).sum()
}

fn polygon_area(polygons: &[Vec<Vec<Point>>]) -> f64 {
    polygons
        .iter()
        .map(|rings| {
            let mut iter = rings.iter();
            let exterior = iter.next().map_or(0.0, |r| ring_area2(r).abs());
            (exterior - iter.map(|r| ring_area2(r).abs()).sum::<f64>()) / 2.0
        })
        .sum()
}

/// [`ring_area2`] about the ring's first point, so that world-sized coordinates do not swamp a small area.
fn local_area2(ring: &[Point]) -> f64 {
    let o = ring[0];
    ring_area2(&ring.iter().map(|p| [p[0] - o[0], p[1] - o[1]]).collect::<Vec<_>>())
}

fn distance_to_segment(p: Point, a: Point, b: Point) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 { 0.0 } else { (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0) };
    (p[0] - a[0] - t * dx).hypot(p[1] - a[1] - t * dy)
}

fn sliced(shape: &Shape, buffer: f64) -> Vec<Piece> {
    let mut pieces = Vec::new();
    slice_shape(shape, &SliceParams { range: RANGE, buffer }, &mut |p| pieces.push(p));
    pieces
}

/// The promises of [`PieceGeom`] for one ring or line: in the buffer, no repeated point, at least `min` points.
fn check_coords(coords: &[Coord], buffer: f64, min: usize, closed: bool) -> Result<(), TestCaseError> {
    let (lo, hi) = (-(buffer as i32), EXTENT as i32 + buffer as i32);
    prop_assert!(coords.len() >= min, "too few points: {:?}", coords);
    for c in coords {
        prop_assert!((lo..=hi).contains(&c[0]) && (lo..=hi).contains(&c[1]), "{:?} outside [{}, {}]", c, lo, hi);
    }
    prop_assert!(coords.windows(2).all(|w| w[0] != w[1]), "a repeated point: {:?}", coords);
    if closed {
        prop_assert_ne!(coords.first(), coords.last(), "rings are open");
    }
    Ok(())
}

proptest! {
    #[test]
    fn clipped_polygons_stay_in_the_box_keep_the_overlap_area_and_each_ring_winding(
        rings in polygon(),
        buffer in buffer(),
    ) {
        let b = block_box(buffer);
        let shape = Shape::Polygons(vec![rings.clone()]);
        let clipped = clip_to_rect(&shape, b);
        let rect = vec![[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]]];
        let expected = overlay_area(&rings.overlay(&rect, OverlayRule::Intersect, FillRule::EvenOdd));
        let got = match &clipped {
            None => 0.0,
            Some(Shape::Polygons(polygons)) => {
                for ring in polygons.iter().flatten() {
                    prop_assert!(ring.len() >= 4 && ring.first() == ring.last(), "clipped rings stay closed: {:?}", ring);
                    prop_assert!(ring.iter().all(|p| inside(*p, b)), "a point outside {:?}: {:?}", b, ring);
                }
                // A ring that survives with area keeps its winding (slicing rewinds later; clipping must not
                // scramble it). Slivers under a thousandth of a unit have no sign that doubles can tell.
                let clipped = local_area2(&polygons[0][0]);
                if clipped.abs() > 1e-3 {
                    prop_assert_eq!(clipped.signum(), local_area2(&rings[0]).signum(), "exterior winding flipped");
                }
                polygon_area(polygons)
            }
            Some(other) => panic!("polygons clip to polygons: {other:?}"),
        };
        let tolerance = 1e-6 * (b[2] - b[0]) * (b[3] - b[1]);
        prop_assert!((got - expected).abs() <= tolerance, "clipped area {} but the overlap is {}", got, expected);
    }

    #[test]
    fn clipped_lines_stay_in_the_box_on_the_line_and_keep_every_inside_vertex(
        lines in lines(),
        buffer in buffer(),
    ) {
        let b = block_box(buffer);
        let clipped = clip_to_rect(&Shape::Lines(lines.clone()), b);
        let pieces = match &clipped {
            None => Vec::new(),
            Some(Shape::Lines(pieces)) => pieces.clone(),
            Some(other) => panic!("lines clip to lines: {other:?}"),
        };
        for piece in &pieces {
            prop_assert!(piece.len() >= 2, "a piece of one point: {:?}", piece);
            for p in piece {
                prop_assert!(inside(*p, b), "{:?} outside {:?}", p, b);
                let off = lines
                    .iter()
                    .flat_map(|l| l.windows(2))
                    .map(|w| distance_to_segment(*p, w[0], w[1]))
                    .fold(f64::INFINITY, f64::min);
                prop_assert!(off <= 1e-6, "{:?} is {} off the input", p, off);
            }
        }
        for v in lines.iter().flatten().filter(|v| inside(**v, b)) {
            prop_assert!(pieces.iter().flatten().any(|p| p == v), "inside vertex {:?} was lost", v);
        }
    }

    #[test]
    fn sliced_polygons_are_integer_in_the_buffer_open_and_wound_for_mvt(rings in polygon(), buffer in buffer()) {
        for piece in sliced(&Shape::Polygons(vec![rings]), buffer) {
            prop_assert!((RANGE.x_min..=RANGE.x_max).contains(&piece.x) && (RANGE.y_min..=RANGE.y_max).contains(&piece.y));
            match &piece.geom {
                PieceGeom::Full => {}
                PieceGeom::Polygons(polygons) => {
                    prop_assert!(!polygons.is_empty());
                    for polygon in polygons {
                        check_coords(&polygon[0], buffer, 3, true)?;
                        prop_assert!(int_area2(&polygon[0]) > 0, "exterior not clockwise on screen: {:?}", polygon[0]);
                        for hole in &polygon[1..] {
                            check_coords(hole, buffer, 3, true)?;
                            prop_assert!(int_area2(hole) < 0, "hole not counter-clockwise on screen: {:?}", hole);
                        }
                    }
                }
                other => panic!("polygons slice to polygons: {other:?}"),
            }
        }
    }

    #[test]
    fn sliced_lines_are_integer_in_the_buffer_without_repeats(lines in lines(), buffer in buffer()) {
        for piece in sliced(&Shape::Lines(lines), buffer) {
            let PieceGeom::Lines(lines) = &piece.geom else { panic!("lines slice to lines: {piece:?}") };
            prop_assert!(!lines.is_empty());
            for line in lines {
                check_coords(line, buffer, 2, false)?;
            }
        }
    }
}
