//! Clipped, simplified, rounded polygons → valid polygons. MVT 2.1 requires rings without self-intersection or
//! self-tangency (readers built on GEOS/JTS choke on them), and three steps before this one can break that:
//! Sutherland–Hodgman leaves zero-width "bridges" along the clip line where a concave ring leaves and re-enters
//! the tile, Douglas–Peucker can make a ring cross itself, and rounding to integers can make rings touch.
//! Every polygon goes through i_overlay's exact integer simplification (non-zero fill), which returns valid
//! parts; a ring that is already simple takes its fast path.

use i_overlay::core::fill_rule::FillRule;
use i_overlay::core::overlay::IntOverlayOptions;
use i_overlay::core::simplify::Simplify;
use i_overlay::i_float::int::point::IntPoint;

use super::piece::Coord;

/// Makes the polygons of one feature (each: exterior first, then holes; open rings, wound as MVT wants) valid
/// together: self-intersections split, overlapping parts merged. `lo` and `hi` are the clip lines on both axes
/// (`-buffer` and `4096 + buffer`). Returns zero or more polygons; their winding is to be set again.
pub fn make_valid(polygons: Vec<Vec<Vec<Coord>>>, lo: i32, hi: i32) -> Vec<Vec<Vec<Coord>>> {
    if is_known_valid(&polygons, lo, hi) {
        return polygons;
    }
    let shapes: Vec<Vec<Vec<IntPoint>>> = polygons
        .iter()
        .map(|polygon| polygon.iter().map(|ring| ring.iter().map(|c| IntPoint::new(c[0], c[1])).collect()).collect())
        .collect();
    let options = IntOverlayOptions { ogc: true, ..IntOverlayOptions::default() };
    shapes
        .simplify(FillRule::NonZero, options)
        .into_iter()
        .map(|shape| shape.into_iter().map(|contour| contour.into_iter().map(|p| [p.x, p.y]).collect()).collect())
        .collect()
}

/// The cheap exact test [`make_valid`] starts with: one polygon, one small simple ring, no bridges. When it
/// holds, the polygons are returned untouched (and need no re-winding).
pub fn is_known_valid(polygons: &[Vec<Vec<Coord>>], lo: i32, hi: i32) -> bool {
    matches!(polygons, [polygon] if polygon.len() == 1 && !has_bridges(polygon, lo, hi) && is_simple_ring(&polygon[0]))
}

/// A cheap exact check for small rings (the common case: buildings): no two non-adjacent edges meet.
fn is_simple_ring(ring: &[Coord]) -> bool {
    let n = ring.len();
    if n > 32 {
        return false;
    }
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + 1) % n]);
        for j in i + 1..n {
            if j == i + 1 || (i == 0 && j == n - 1) {
                continue;
            }
            let (c, d) = (ring[j], ring[(j + 1) % n]);
            if segments_meet(a, b, c, d) {
                return false;
            }
        }
    }
    true
}

fn orient(a: Coord, b: Coord, c: Coord) -> i64 {
    let v = (i64::from(b[0]) - i64::from(a[0])) * (i64::from(c[1]) - i64::from(a[1]))
        - (i64::from(b[1]) - i64::from(a[1])) * (i64::from(c[0]) - i64::from(a[0]));
    v.signum()
}

fn on_segment(a: Coord, b: Coord, p: Coord) -> bool {
    p[0] >= a[0].min(b[0]) && p[0] <= a[0].max(b[0]) && p[1] >= a[1].min(b[1]) && p[1] <= a[1].max(b[1])
}

/// True when segments a–b and c–d share any point.
fn segments_meet(a: Coord, b: Coord, c: Coord, d: Coord) -> bool {
    let (o1, o2, o3, o4) = (orient(a, b, c), orient(a, b, d), orient(c, d, a), orient(c, d, b));
    if o1 != o2 && o3 != o4 && o1 * o2 <= 0 && o3 * o4 <= 0 {
        return true;
    }
    (o1 == 0 && on_segment(a, b, c))
        || (o2 == 0 && on_segment(a, b, d))
        || (o3 == 0 && on_segment(c, d, a))
        || (o4 == 0 && on_segment(c, d, b))
}

/// True when some side of the clip rectangle carries two or more edges of the polygon.
fn has_bridges(polygon: &[Vec<Coord>], lo: i32, hi: i32) -> bool {
    let mut per_side = [0u32; 4];
    for ring in polygon {
        let n = ring.len();
        for i in 0..n {
            let (p, q) = (ring[i], ring[(i + 1) % n]);
            for (side, (axis, line)) in [(0, lo), (0, hi), (1, lo), (1, hi)].into_iter().enumerate() {
                if p[axis] == line && q[axis] == line {
                    per_side[side] += 1;
                    if per_side[side] >= 2 {
                        return true;
                    }
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiling::piece::int_area2;

    #[test]
    fn a_comb_cut_by_the_clip_line_becomes_separate_teeth() {
        // Two teeth poking up through y = -64, joined by a bridge along the line (as Sutherland–Hodgman leaves it).
        let bridged =
            vec![vec![[0, -64], [0, 100], [100, 100], [100, -64], [300, -64], [300, 100], [400, 100], [400, -64]]];
        let out = make_valid(vec![bridged], -64, 4160);
        assert_eq!(out.len(), 2, "{out:?}");
        let areas: Vec<i64> = out.iter().map(|p| int_area2(&p[0]).abs()).collect();
        assert_eq!(areas, vec![2 * 100 * 164, 2 * 100 * 164]);
    }

    #[test]
    fn a_bow_tie_from_simplification_is_split_in_two() {
        let bow_tie = vec![vec![[0, 0], [100, 100], [100, 0], [0, 100]]];
        let out = make_valid(vec![bow_tie], -64, 4160);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out.iter().all(|p| p.len() == 1 && int_area2(&p[0]).abs() == 2 * 2500));
    }

    #[test]
    fn simple_ring_check_is_exact() {
        assert!(is_simple_ring(&[[0, 0], [10, 0], [10, 10], [0, 10]]));
        assert!(!is_simple_ring(&[[0, 0], [10, 10], [10, 0], [0, 10]]));
        // Touching itself at a vertex (self-tangency) is not simple.
        assert!(!is_simple_ring(&[[0, 0], [10, 0], [5, 5], [10, 10], [0, 10], [5, 5]]));
    }

    #[test]
    fn polygons_without_bridges_pass_through_untouched() {
        let square = vec![vec![[-64, -64], [100, -64], [100, 100], [-64, 100]]];
        assert_eq!(make_valid(vec![square.clone()], -64, 4160), vec![square]);
    }

    #[test]
    fn overlapping_parts_of_a_multipolygon_are_merged() {
        // An island polygon that simplification pushed onto the mainland.
        let mainland = vec![vec![[0, 0], [100, 0], [100, 100], [0, 100]]];
        let island = vec![vec![[90, 40], [150, 40], [150, 60], [90, 60]]];
        let out = make_valid(vec![mainland, island], -64, 4160);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(int_area2(&out[0][0]).abs(), 2 * (100 * 100 + 50 * 20));
    }
}
