//! Axis-aligned clipping: keeps the part of a shape between two parallel lines (`k1 <= coord[axis] <= k2`).
//!
//! Rectangles are clipped as two slabs, one per axis. Polygons use Sutherland–Hodgman against each of the
//! two lines (rings stay closed; a concave ring may leave zero-width bridges along the clip line, as in
//! geojson-vt and tilemaker); lines are cut into pieces where they leave the slab. No general boolean ops.

use super::shape::{Point, Shape};

/// The axis a slab is perpendicular to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    X = 0,
    Y = 1,
}

/// The part of `shape` inside the slab, or `None` when nothing is left.
pub fn clip_shape(shape: &Shape, k1: f64, k2: f64, axis: Axis) -> Option<Shape> {
    let a = axis as usize;
    let clipped = match shape {
        Shape::Points(points) => Shape::Points(points.iter().filter(|p| p[a] >= k1 && p[a] <= k2).copied().collect()),
        Shape::Lines(lines) => {
            let mut out = Vec::new();
            for line in lines {
                clip_line(line, k1, k2, axis, &mut out);
            }
            Shape::Lines(out)
        }
        Shape::Polygons(polygons) => {
            let mut out = Vec::with_capacity(polygons.len());
            for rings in polygons {
                let mut iter = rings.iter();
                let Some(exterior) = iter.next() else { continue };
                let exterior = clip_ring(exterior, k1, k2, axis);
                if exterior.len() < 4 {
                    continue;
                }
                let mut kept = vec![exterior];
                kept.extend(iter.map(|hole| clip_ring(hole, k1, k2, axis)).filter(|hole| hole.len() >= 4));
                out.push(kept);
            }
            Shape::Polygons(out)
        }
    };
    (!clipped.is_empty()).then_some(clipped)
}

/// Cuts a polyline to the slab, appending each piece that stays inside to `out`.
pub fn clip_line(line: &[Point], k1: f64, k2: f64, axis: Axis, out: &mut Vec<Vec<Point>>) {
    let a = axis as usize;
    let (lo, hi) = axis_range(line, a);
    if lo >= k1 && hi <= k2 {
        if line.len() >= 2 {
            out.push(line.to_vec());
        }
        return;
    }
    if hi < k1 || lo > k2 {
        return;
    }
    let mut piece: Vec<Point> = Vec::new();
    for pair in line.windows(2) {
        let (p, q) = (pair[0], pair[1]);
        let (pa, qa) = (p[a], q[a]);
        // The parameter range [t0, t1] of the segment that lies inside the slab.
        let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
        let d = qa - pa;
        if d == 0.0 {
            if pa < k1 || pa > k2 {
                flush(&mut piece, out);
                continue;
            }
        } else {
            let (ta, tb) = ((k1 - pa) / d, (k2 - pa) / d);
            let (enter, leave) = if d > 0.0 { (ta, tb) } else { (tb, ta) };
            t0 = t0.max(enter);
            t1 = t1.min(leave);
            if t0 > t1 {
                flush(&mut piece, out);
                continue;
            }
        }
        if t0 > 0.0 {
            flush(&mut piece, out);
            piece.push(lerp(p, q, t0, a, k1, k2));
        } else if piece.is_empty() {
            piece.push(p);
        }
        if t1 < 1.0 {
            piece.push(lerp(p, q, t1, a, k1, k2));
            flush(&mut piece, out);
        } else {
            piece.push(q);
        }
    }
    flush(&mut piece, out);
}

/// Sutherland–Hodgman of a closed ring against both lines of the slab; the result is closed (or empty).
pub fn clip_ring(ring: &[Point], k1: f64, k2: f64, axis: Axis) -> Vec<Point> {
    let a = axis as usize;
    let (lo, hi) = axis_range(ring, a);
    if lo >= k1 && hi <= k2 {
        return ring.to_vec();
    }
    if hi < k1 || lo > k2 {
        return Vec::new();
    }
    let first = if lo < k1 { clip_half(ring, a, k1, true) } else { ring.to_vec() };
    if hi > k2 { clip_half(&first, a, k2, false) } else { first }
}

/// Keeps the side of `coord[a] = k` given by `keep_above` (`>= k` when true, `<= k` otherwise).
fn clip_half(ring: &[Point], a: usize, k: f64, keep_above: bool) -> Vec<Point> {
    let inside = |p: &Point| if keep_above { p[a] >= k } else { p[a] <= k };
    let mut out = Vec::with_capacity(ring.len() + 4);
    for pair in ring.windows(2) {
        let (p, q) = (pair[0], pair[1]);
        match (inside(&p), inside(&q)) {
            (true, true) => out.push(q),
            (true, false) => out.push(intersect(p, q, a, k)),
            (false, true) => {
                out.push(intersect(p, q, a, k));
                out.push(q);
            }
            (false, false) => {}
        }
    }
    if let Some(&first) = out.first()
        && out.last() != Some(&first)
    {
        out.push(first);
    }
    if out.len() < 4 { Vec::new() } else { out }
}

fn intersect(p: Point, q: Point, a: usize, k: f64) -> Point {
    let t = (k - p[a]) / (q[a] - p[a]);
    let b = 1 - a;
    let mut r = [0.0; 2];
    r[a] = k;
    r[b] = p[b] + (q[b] - p[b]) * t;
    r
}

/// A point along p→q at parameter t, snapped exactly onto the slab line it lies on.
fn lerp(p: Point, q: Point, t: f64, a: usize, k1: f64, k2: f64) -> Point {
    let mut r = [p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t];
    if (r[a] - k1).abs() < (r[a] - k2).abs() {
        r[a] = r[a].max(k1);
    } else {
        r[a] = r[a].min(k2);
    }
    r
}

fn flush(piece: &mut Vec<Point>, out: &mut Vec<Vec<Point>>) {
    if piece.len() >= 2 {
        out.push(std::mem::take(piece));
    } else {
        piece.clear();
    }
}

fn axis_range(line: &[Point], a: usize) -> (f64, f64) {
    line.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p[a]), hi.max(p[a])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiling::shape::ring_area2;

    #[test]
    fn line_crossing_the_slab_is_cut_at_both_lines() {
        let mut out = Vec::new();
        clip_line(&[[-10.0, 0.0], [20.0, 30.0]], 0.0, 10.0, Axis::X, &mut out);
        assert_eq!(out, vec![vec![[0.0, 10.0], [10.0, 20.0]]]);
    }

    #[test]
    fn line_leaving_and_reentering_gives_two_pieces() {
        let mut out = Vec::new();
        let zigzag = [[1.0, 0.0], [5.0, 0.0], [15.0, 1.0], [5.0, 2.0], [6.0, 3.0]];
        clip_line(&zigzag, 0.0, 10.0, Axis::X, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0], vec![[1.0, 0.0], [5.0, 0.0], [10.0, 0.5]]);
        assert_eq!(out[1], vec![[10.0, 1.5], [5.0, 2.0], [6.0, 3.0]]);
    }

    #[test]
    fn line_outside_or_along_the_outside_vanishes() {
        let mut out = Vec::new();
        clip_line(&[[11.0, 0.0], [12.0, 5.0]], 0.0, 10.0, Axis::X, &mut out);
        clip_line(&[[-1.0, 0.0], [-1.0, 5.0]], 0.0, 10.0, Axis::X, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn square_clipped_by_a_slab_keeps_the_overlap_area() {
        let square = [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0], [0.0, 0.0]];
        let clipped = clip_ring(&square, 2.0, 5.0, Axis::Y);
        assert_eq!(clipped.first(), clipped.last());
        assert_eq!(ring_area2(&clipped).abs(), 2.0 * 10.0 * 3.0);
        assert!(clipped.iter().all(|p| p[1] >= 2.0 && p[1] <= 5.0));
        assert!(clip_ring(&square, 11.0, 12.0, Axis::X).is_empty());
        assert_eq!(clip_ring(&square, -1.0, 11.0, Axis::X), square.to_vec());
    }

    #[test]
    fn polygon_loses_holes_outside_and_keeps_holes_inside() {
        let outer = vec![[0.0, 0.0], [100.0, 0.0], [100.0, 100.0], [0.0, 100.0], [0.0, 0.0]];
        let hole_in = vec![[10.0, 10.0], [10.0, 20.0], [20.0, 20.0], [20.0, 10.0], [10.0, 10.0]];
        let hole_out = vec![[80.0, 80.0], [80.0, 90.0], [90.0, 90.0], [90.0, 80.0], [80.0, 80.0]];
        let shape = Shape::Polygons(vec![vec![outer, hole_in.clone(), hole_out]]);
        let Some(Shape::Polygons(out)) = clip_shape(&shape, 0.0, 50.0, Axis::X) else {
            panic!("polygon expected");
        };
        assert_eq!(out[0].len(), 2);
        assert_eq!(out[0][1], hole_in);
        assert!(clip_shape(&shape, 200.0, 300.0, Axis::X).is_none());
    }
}
