//! Point thinning below the base zoom: at zoom z about `rate^-(base − z)` of a layer's points are shown, spread
//! evenly over the map, so dense areas thin first.
//!
//! Working down from the base zoom, the points shown at z are chosen among those shown at z + 1 (so a point shown
//! at z is shown at every deeper zoom: **monotonic**): ordered along a Hilbert curve, a point is kept when it lies
//! at least a gap `g` past the last kept one, with `g` the smallest that keeps no more than the zoom's share. The
//! choice is one per point and zoom, made before tiling, so a point kept at z is in every tile of z it touches
//! (**consistent**), and it depends on nothing but the data (deterministic on any thread count).

/// One point feature of a layer.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    /// Its position along the Hilbert curve.
    pub curve: u64,
    /// The lowest zoom it may be shown at (the layer's `minzoom`, or the feature's `minzoom_by`).
    pub minzoom: u8,
}

/// For each candidate, the lowest zoom at which it is shown: its own `minzoom`, or deeper when thinned out.
/// Zooms from `base` up show every point; thinning stops at `lowest`.
pub fn shown_from(candidates: &[Candidate], base: u8, rate: f64, lowest: u8) -> Vec<u8> {
    let mut shown: Vec<u8> = candidates.iter().map(|c| c.minzoom).collect();
    if rate <= 1.0 || candidates.is_empty() {
        return shown;
    }
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_unstable_by_key(|&i| (candidates[i].curve, i));
    let mut kept = order;
    let mut eligible = Vec::with_capacity(kept.len());
    for z in (lowest..base).rev() {
        eligible.clear();
        eligible.extend(kept.iter().copied().filter(|&i| candidates[i].minzoom <= z));
        let unthinned = candidates.iter().filter(|c| c.minzoom <= z).count();
        // Rounded up: a layer with points shows at least one at every zoom (as tippecanoe does).
        let target = (unthinned as f64 / rate.powi(i32::from(base - z))).ceil() as usize;
        let selected = if target >= eligible.len() { eligible.clone() } else { spread(candidates, &eligible, target) };
        // Those shown at z + 1 but not chosen at z appear from z + 1.
        let mut chosen = selected.iter().peekable();
        for &i in &eligible {
            if chosen.peek() == Some(&&i) {
                chosen.next();
            } else {
                shown[i] = z + 1;
            }
        }
        kept = selected;
    }
    shown
}

/// At most `target` of `sorted` (indexes in curve order), evenly spaced along the curve: the greedy choice for the
/// smallest gap that keeps no more than `target`.
fn spread(candidates: &[Candidate], sorted: &[usize], target: usize) -> Vec<usize> {
    if target == 0 {
        return Vec::new();
    }
    let count = |gap: u64| {
        let mut kept = 0usize;
        let mut last: Option<u64> = None;
        for &i in sorted {
            let curve = candidates[i].curve;
            if last.is_none_or(|l| curve - l >= gap) {
                kept += 1;
                last = Some(curve);
                if kept > target {
                    break;
                }
            }
        }
        kept
    };
    // The greedy count falls as the gap grows (it is the most points with that spacing); find the smallest gap
    // whose count fits.
    let (mut lo, mut hi) = (0u64, u64::MAX);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if count(mid) <= target { hi = mid } else { lo = mid + 1 }
    }
    let mut out = Vec::with_capacity(target);
    let mut last: Option<u64> = None;
    for &i in sorted {
        let curve = candidates[i].curve;
        if last.is_none_or(|l| curve - l >= lo) {
            out.push(i);
            last = Some(curve);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::generalize::curve::hilbert;

    fn grid(n: usize) -> Vec<Candidate> {
        // A dense cluster (n² points in a small square) and a sparse spread (n² points over the whole square).
        let mut out = Vec::new();
        for i in 0..n {
            for j in 0..n {
                let (x, y) = (i as f64 / n as f64, j as f64 / n as f64);
                out.push(Candidate { curve: hilbert(0.5 + x * 0.01, 0.5 + y * 0.01), minzoom: 0 });
                out.push(Candidate { curve: hilbert(x, y), minzoom: 0 });
            }
        }
        out
    }

    #[test]
    fn about_rate_to_the_distance_from_base_is_kept_and_monotonic() {
        let points = grid(40);
        let shown = shown_from(&points, 14, 2.5, 0);
        for z in 0..=14u8 {
            let count = shown.iter().filter(|s| **s <= z).count();
            let want = (points.len() as f64 / 2.5f64.powi(i32::from(14 - z))).ceil() as usize;
            assert!(count <= want && count as f64 >= want as f64 * 0.9 - 1.0, "z{z}: {count} shown, about {want}");
        }
        assert!(shown.iter().all(|s| *s <= 14));
    }

    #[test]
    fn dense_areas_thin_first() {
        let points = grid(40);
        let shown = shown_from(&points, 14, 2.5, 0);
        // At z10 (a share of 1/39), the sparse spread keeps far more points than the cluster of the same count.
        let (mut dense, mut sparse) = (0, 0);
        for (i, s) in shown.iter().enumerate() {
            if *s <= 10 {
                if i % 2 == 0 { dense += 1 } else { sparse += 1 }
            }
        }
        assert!(sparse > 5 * dense.max(1), "sparse {sparse}, dense {dense}");
    }

    #[test]
    fn own_minzoom_is_respected_and_rate_one_keeps_everything() {
        let mut points = grid(10);
        points[3].minzoom = 12;
        let shown = shown_from(&points, 14, 2.5, 0);
        assert!(shown[3] >= 12);
        assert_eq!(shown_from(&points, 14, 1.0, 0), points.iter().map(|c| c.minzoom).collect::<Vec<_>>());
    }
}
