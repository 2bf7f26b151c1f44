//! Douglas–Peucker simplification of lines and rings, with the tolerance in world tile units of the zoom
//! being built (so one tolerance means the same on screen at every zoom).

use super::shape::{Point, Shape};

/// Simplifies every line and ring of a shape; endpoints (and ring closure) are kept. Points are untouched.
pub fn simplify_shape(shape: Shape, tolerance: f64) -> Shape {
    if tolerance <= 0.0 {
        return shape;
    }
    match shape {
        Shape::Points(points) => Shape::Points(points),
        Shape::Lines(lines) => Shape::Lines(lines.into_iter().map(|l| simplify_line(&l, tolerance)).collect()),
        Shape::Polygons(polygons) => Shape::Polygons(
            polygons
                .into_iter()
                .map(|rings| rings.into_iter().map(|r| simplify_ring(&r, tolerance)).collect())
                .collect(),
        ),
    }
}

/// Douglas–Peucker on an open line.
pub fn simplify_line(line: &[Point], tolerance: f64) -> Vec<Point> {
    if line.len() <= 2 {
        return line.to_vec();
    }
    let mut keep = vec![false; line.len()];
    keep[0] = true;
    keep[line.len() - 1] = true;
    mark(line, 0, line.len() - 1, tolerance * tolerance, &mut keep);
    line.iter().zip(keep).filter_map(|(p, k)| k.then_some(*p)).collect()
}

/// Douglas–Peucker on a closed ring: split at the point farthest from the first so neither half is degenerate.
pub fn simplify_ring(ring: &[Point], tolerance: f64) -> Vec<Point> {
    if ring.len() <= 4 {
        return ring.to_vec();
    }
    let first = ring[0];
    let (far, _) = ring
        .iter()
        .enumerate()
        .map(|(i, p)| (i, dist2(*p, first)))
        .fold((0, 0.0), |best, cur| if cur.1 > best.1 { cur } else { best });
    if far == 0 {
        return vec![first; 1];
    }
    let mut keep = vec![false; ring.len()];
    keep[0] = true;
    keep[far] = true;
    keep[ring.len() - 1] = true;
    let tol2 = tolerance * tolerance;
    mark(ring, 0, far, tol2, &mut keep);
    mark(ring, far, ring.len() - 1, tol2, &mut keep);
    ring.iter().zip(keep).filter_map(|(p, k)| k.then_some(*p)).collect()
}

/// Marks the points to keep between `first` and `last` (exclusive), with an explicit stack (no recursion).
fn mark(line: &[Point], first: usize, last: usize, tol2: f64, keep: &mut [bool]) {
    let mut stack = vec![(first, last)];
    while let Some((a, b)) = stack.pop() {
        if b <= a + 1 {
            continue;
        }
        let mut max = 0.0;
        let mut index = a;
        for (i, p) in line.iter().enumerate().take(b).skip(a + 1) {
            let d = segment_dist2(*p, line[a], line[b]);
            if d > max {
                max = d;
                index = i;
            }
        }
        if max > tol2 {
            keep[index] = true;
            stack.push((a, index));
            stack.push((index, b));
        }
    }
}

fn dist2(p: Point, q: Point) -> f64 {
    let (dx, dy) = (p[0] - q[0], p[1] - q[1]);
    dx * dx + dy * dy
}

/// Squared distance from `p` to the segment a–b.
fn segment_dist2(p: Point, a: Point, b: Point) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    if len2 == 0.0 {
        return dist2(p, a);
    }
    let t = (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0);
    dist2(p, [a[0] + t * dx, a[1] + t * dy])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearly_straight_line_collapses_to_its_ends() {
        let line = [[0.0, 0.0], [1.0, 0.1], [2.0, -0.1], [3.0, 0.0]];
        assert_eq!(simplify_line(&line, 0.5), vec![[0.0, 0.0], [3.0, 0.0]]);
        assert_eq!(simplify_line(&line, 0.05), line.to_vec());
    }

    #[test]
    fn a_corner_beyond_the_tolerance_survives() {
        let line = [[0.0, 0.0], [5.0, 0.2], [10.0, 0.0], [10.0, 10.0]];
        assert_eq!(simplify_line(&line, 1.0), vec![[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]]);
    }

    #[test]
    fn ring_stays_closed_and_keeps_its_corners() {
        let ring = [[0.0, 0.0], [5.0, 0.1], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0], [0.0, 5.0], [0.0, 0.0]];
        let out = simplify_ring(&ring, 1.0);
        assert_eq!(out, vec![[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0], [0.0, 0.0]]);
    }

    #[test]
    fn tiny_ring_collapses() {
        let ring = [[0.0, 0.0], [0.1, 0.0], [0.1, 0.1], [0.05, 0.12], [0.0, 0.1], [0.0, 0.0]];
        assert!(simplify_ring(&ring, 1.0).len() < 4);
    }
}
