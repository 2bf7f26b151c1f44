//! The member ways of a multipolygon or boundary relation → polygons with holes: unclosed ways joined into rings
//! at shared end nodes, rings nested by containment (not by their `outer`/`inner` roles, which are often wrong:
//! as imposm and planetiler do), and a check for rings that cross themselves.
//!
//! Coordinates are OSM's decimicrodegrees `[lon, lat]`, so that joins and crossing tests are exact.

use geo::{Coord, LineString, Polygon};

/// One member way as pass 2 kept it: its first and last node ids and its locations.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberWay {
    pub first: i64,
    pub last: i64,
    pub coords: Vec<[i32; 2]>,
}

/// A closed ring: the first location repeated at the end.
pub type Ring = Vec<[i32; 2]>;

/// The ways could not all be joined into closed rings; `open` rings were left open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unclosed {
    pub open: usize,
}

/// Joins ways into closed rings, in member order: a closed way is a ring; an open one is extended at its end
/// by the first unused way that starts or ends at that node (reversed if needed) until it closes. Rings of
/// fewer than 3 distinct points are left out.
pub fn join_rings(ways: &[&MemberWay]) -> Result<Vec<Ring>, Unclosed> {
    let mut rings = Vec::new();
    let mut used = vec![false; ways.len()];
    let mut ends: rustc_hash::FxHashMap<i64, Vec<usize>> = rustc_hash::FxHashMap::default();
    for (i, way) in ways.iter().enumerate() {
        if way.first != way.last {
            ends.entry(way.first).or_default().push(i);
            ends.entry(way.last).or_default().push(i);
        }
    }
    let mut open = 0;
    for start in 0..ways.len() {
        if used[start] {
            continue;
        }
        used[start] = true;
        let way = ways[start];
        let mut ring = way.coords.clone();
        let (first, mut end) = (way.first, way.last);
        while end != first {
            let next = ends.get(&end).and_then(|list| list.iter().copied().find(|&j| !used[j]));
            let Some(j) = next else { break };
            used[j] = true;
            let other = ways[j];
            if other.first == end {
                ring.extend_from_slice(other.coords.get(1..).unwrap_or_default());
                end = other.last;
            } else {
                ring.extend(other.coords.iter().rev().skip(1));
                end = other.first;
            }
        }
        if end != first {
            open += 1;
            continue;
        }
        ring.dedup();
        if ring.len() >= 4 {
            rings.push(ring);
        }
    }
    if open > 0 { Err(Unclosed { open }) } else { Ok(rings) }
}

/// Nests closed rings by containment: a ring inside an even number of others is an exterior, one inside an odd
/// number a hole of the smallest ring around it. Gives each exterior with its holes, largest first.
pub fn nest(rings: Vec<Ring>) -> Vec<(Ring, Vec<Ring>)> {
    let infos: Vec<([i32; 4], f64)> = rings.iter().map(|r| (bbox(r), area2(r).abs())).collect();
    let mut order: Vec<usize> = (0..rings.len()).collect();
    order.sort_by(|&a, &b| infos[b].1.total_cmp(&infos[a].1).then(a.cmp(&b)));
    // (ring, its exterior's slot in `out` when it is a hole) for each ring placed so far, largest first.
    let mut depth: Vec<usize> = vec![0; rings.len()];
    let mut parent: Vec<Option<usize>> = vec![None; rings.len()];
    for (k, &i) in order.iter().enumerate() {
        let around = order[..k]
            .iter()
            .rev()
            .copied()
            .find(|&j| contains_bbox(infos[j].0, infos[i].0) && ring_contains(&rings[j], &rings[i]));
        if let Some(j) = around {
            depth[i] = depth[j] + 1;
            parent[i] = Some(j);
        }
    }
    let mut slot: Vec<Option<usize>> = vec![None; rings.len()];
    let mut out: Vec<(Ring, Vec<Ring>)> = Vec::new();
    let mut rings: Vec<Option<Ring>> = rings.into_iter().map(Some).collect();
    for &i in &order {
        let Some(ring) = rings[i].take() else { continue };
        if depth[i].is_multiple_of(2) {
            slot[i] = Some(out.len());
            out.push((ring, Vec::new()));
        } else if let Some(s) = parent[i].and_then(|p| slot[p]) {
            out[s].1.push(ring);
        }
    }
    out
}

/// The polygon in lon/lat degrees.
pub fn to_polygon(exterior: &Ring, holes: &[Ring]) -> Polygon<f64> {
    let line = |r: &Ring| LineString::new(r.iter().map(|c| to_coord(*c)).collect());
    Polygon::new(line(exterior), holes.iter().map(line).collect())
}

/// Degrees of a decimicrodegree location.
pub fn to_coord([lon, lat]: [i32; 2]) -> Coord<f64> {
    Coord { x: f64::from(lon) * 1e-7, y: f64::from(lat) * 1e-7 }
}

/// Whether two non-adjacent edges of the ring cross (properly: each passes from one side of the other to the
/// other side). Edges are swept in order of their left end, so only edges whose x ranges overlap are compared.
pub fn crosses_itself(ring: &[[i32; 2]]) -> bool {
    let n = ring.len().saturating_sub(1);
    if n < 4 {
        return false;
    }
    let mut edges: Vec<usize> = (0..n).collect();
    let xmin = |e: usize| ring[e][0].min(ring[e + 1][0]);
    let xmax = |e: usize| ring[e][0].max(ring[e + 1][0]);
    edges.sort_by_key(|&e| (xmin(e), e));
    let mut active: Vec<usize> = Vec::new();
    for &e in &edges {
        let x = xmin(e);
        active.retain(|&a| xmax(a) >= x);
        for &a in &active {
            let adjacent = a.abs_diff(e) == 1 || a.abs_diff(e) == n - 1;
            if !adjacent && segments_cross(ring[a], ring[a + 1], ring[e], ring[e + 1]) {
                return true;
            }
        }
        active.push(e);
    }
    false
}

fn orient(a: [i32; 2], b: [i32; 2], c: [i32; 2]) -> i128 {
    let (ax, ay) = (i128::from(a[0]), i128::from(a[1]));
    (i128::from(b[0]) - ax) * (i128::from(c[1]) - ay) - (i128::from(b[1]) - ay) * (i128::from(c[0]) - ax)
}

fn segments_cross(a: [i32; 2], b: [i32; 2], c: [i32; 2], d: [i32; 2]) -> bool {
    let (o1, o2) = (orient(a, b, c).signum(), orient(a, b, d).signum());
    let (o3, o4) = (orient(c, d, a).signum(), orient(c, d, b).signum());
    o1 * o2 < 0 && o3 * o4 < 0
}

fn bbox(ring: &[[i32; 2]]) -> [i32; 4] {
    ring.iter().fold([i32::MAX, i32::MAX, i32::MIN, i32::MIN], |b, c| {
        [b[0].min(c[0]), b[1].min(c[1]), b[2].max(c[0]), b[3].max(c[1])]
    })
}

fn contains_bbox(outer: [i32; 4], inner: [i32; 4]) -> bool {
    outer[0] <= inner[0] && outer[1] <= inner[1] && outer[2] >= inner[2] && outer[3] >= inner[3]
}

/// Twice the signed area, in squared decimicrodegrees.
fn area2(ring: &[[i32; 2]]) -> f64 {
    ring.windows(2).map(|w| f64::from(w[0][0]) * f64::from(w[1][1]) - f64::from(w[1][0]) * f64::from(w[0][1])).sum()
}

/// Whether `inner` lies inside `outer`: judged at the first vertex of `inner` (or the middle of one of its
/// edges) that is not on `outer`'s boundary; rings that share every vertex are not nested.
fn ring_contains(outer: &[[i32; 2]], inner: &[[i32; 2]]) -> bool {
    let vertices = inner.iter().map(|c| [f64::from(c[0]), f64::from(c[1])]);
    let midpoints = inner
        .windows(2)
        .map(|w| [(f64::from(w[0][0]) + f64::from(w[1][0])) / 2.0, (f64::from(w[0][1]) + f64::from(w[1][1])) / 2.0]);
    for p in vertices.chain(midpoints) {
        match locate(outer, p) {
            Location::Inside => return true,
            Location::Outside => return false,
            Location::Boundary => {}
        }
    }
    false
}

enum Location {
    Inside,
    Outside,
    Boundary,
}

/// Where `p` lies relative to a closed ring (even–odd crossing count, exact boundary test).
fn locate(ring: &[[i32; 2]], p: [f64; 2]) -> Location {
    let mut inside = false;
    for w in ring.windows(2) {
        let (a, b) = ([f64::from(w[0][0]), f64::from(w[0][1])], [f64::from(w[1][0]), f64::from(w[1][1])]);
        let cross = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
        if cross == 0.0
            && p[0] >= a[0].min(b[0])
            && p[0] <= a[0].max(b[0])
            && p[1] >= a[1].min(b[1])
            && p[1] <= a[1].max(b[1])
        {
            return Location::Boundary;
        }
        if (a[1] > p[1]) != (b[1] > p[1]) {
            let x = a[0] + (p[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0]);
            if p[0] < x {
                inside = !inside;
            }
        }
    }
    if inside { Location::Inside } else { Location::Outside }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn way(first: i64, last: i64, coords: &[[i32; 2]]) -> MemberWay {
        MemberWay { first, last, coords: coords.to_vec() }
    }

    fn square(x: i32, y: i32, size: i32) -> Ring {
        vec![[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    }

    #[test]
    fn open_ways_join_into_a_ring_in_any_direction() {
        // A square cut into three ways at nodes 1, 2 and 3; the middle one is drawn backwards.
        let a = way(1, 2, &[[0, 0], [10, 0], [10, 10]]);
        let b = way(3, 2, &[[0, 10], [10, 10]]);
        let c = way(3, 1, &[[0, 10], [0, 0]]);
        let rings = join_rings(&[&a, &b, &c]).expect("closes");
        assert_eq!(rings, vec![vec![[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]]);
        // A closed way is a ring on its own; two rings from five ways.
        let d = way(9, 9, &square(100, 100, 5));
        assert_eq!(join_rings(&[&d, &a, &c, &b]).map(|r| r.len()), Ok(2));
    }

    #[test]
    fn a_ring_that_cannot_close_is_reported() {
        let a = way(1, 2, &[[0, 0], [10, 0], [10, 10]]);
        let b = way(2, 3, &[[10, 10], [0, 10]]);
        assert_eq!(join_rings(&[&a, &b]), Err(Unclosed { open: 1 }));
        // Degenerate: a closed way of two distinct points is left out, not an error.
        let c = way(4, 4, &[[0, 0], [1, 1], [0, 0]]);
        assert_eq!(join_rings(&[&c]), Ok(vec![]));
    }

    #[test]
    fn rings_nest_by_containment_whatever_their_order() {
        // An island in a lake in a park, given smallest first; and a second park beside it.
        let rings = vec![square(40, 40, 10), square(20, 20, 50), square(0, 0, 100), square(200, 0, 20)];
        let polygons = nest(rings);
        assert_eq!(polygons.len(), 3, "park, island, second park");
        assert_eq!(polygons[0], (square(0, 0, 100), vec![square(20, 20, 50)]));
        assert_eq!(polygons[1], (square(200, 0, 20), vec![]));
        assert_eq!(polygons[2], (square(40, 40, 10), vec![]));
    }

    #[test]
    fn a_hole_touching_its_exterior_is_still_a_hole() {
        // The courtyard shares the exterior's corner node (0, 0).
        let courtyard = vec![[0, 0], [5, 1], [1, 5], [0, 0]];
        let polygons = nest(vec![courtyard.clone(), square(0, 0, 10)]);
        assert_eq!(polygons, vec![(square(0, 0, 10), vec![courtyard])]);
    }

    #[test]
    fn self_crossing_rings_are_found() {
        assert!(!crosses_itself(&square(0, 0, 10)));
        let bowtie = vec![[0, 0], [10, 10], [10, 0], [0, 10], [0, 0]];
        assert!(crosses_itself(&bowtie));
        // Touching at a vertex (a ring through the same point twice) is not a crossing.
        let touching = vec![[0, 0], [10, 0], [5, 5], [10, 10], [0, 10], [5, 5], [0, 0]];
        assert!(!crosses_itself(&touching));
        // A long ring of many small edges with one crossing far from the start.
        let mut long: Ring = (0..1000).map(|i| [i * 10, (i % 2) * 3]).collect();
        long.extend([[9990, 100], [5000, -50], [0, 100], [0, 0]]);
        assert!(crosses_itself(&long));
    }
}
