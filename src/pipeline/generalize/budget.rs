//! The tile budget as one decision per zoom: when tiles of a zoom are over `max_tile_bytes` (or the raw-byte or
//! feature cap), one threshold is found for the whole zoom and every tile of it drops the features below it, so
//! that neighbouring tiles agree on every feature that crosses their edge.
//!
//! The threshold orders features by a key: their gap along the Hilbert curve (`drop-densest`: crowded features go
//! first) or their size (`drop-smallest`). It is the smallest key, among the features of the
//! over-budget tiles, that makes every one of those tiles fit; found by bisection, so a zoom is re-encoded a
//! bounded number of times (never an endless loop). The most isolated feature of a layer (the first along the
//! curve) is never dropped by density.

use crate::config::AsNeeded;

use super::FeaturePlan;

/// The key a policy orders features by; features whose key is below a zoom's threshold are dropped from it.
pub fn key(plan: &FeaturePlan, policy: AsNeeded) -> u64 {
    match policy {
        AsNeeded::DropDensest | AsNeeded::CoalesceDensest | AsNeeded::None => plan.gap,
        // Sizes are non-negative: their bit patterns sort as the numbers do.
        AsNeeded::DropSmallest => plan.size.max(0.0).to_bits(),
    }
}

/// Bisection stops when the bracket holds fewer candidates than this share of them (the threshold is then at
/// most this share of features stricter than the tightest one): 9 or so encodings of the over-budget tiles.
pub const PRECISION: f64 = 0.004;

/// The smallest threshold among `candidates` (sorted, distinct keys) for which `fits` holds, within
/// [`PRECISION`]; `fits(t)` encodes the over-budget tiles without the features whose key is below `t`. When no
/// candidate fits, the last one (the strictest) is returned: what is still over is then the per-tile cap's.
pub fn search<E>(candidates: &[u64], fits: &mut dyn FnMut(u64) -> Result<bool, E>) -> Result<u64, E> {
    let Some(&strictest) = candidates.last() else { return Ok(0) };
    // fits(candidates[hi]) is known or assumed true; fits(candidates[lo - 1]) is false.
    let (mut lo, mut hi) = (0usize, candidates.len() - 1);
    if !fits(strictest)? {
        return Ok(strictest);
    }
    let slack = ((candidates.len() as f64 * PRECISION) as usize).max(1);
    while hi - lo > slack {
        let mid = lo + (hi - lo) / 2;
        if fits(candidates[mid])? { hi = mid } else { lo = mid + 1 }
    }
    if lo < hi && fits(candidates[lo])? {
        hi = lo;
    }
    Ok(candidates[hi])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_smallest_fitting_threshold_in_a_few_steps() {
        let candidates: Vec<u64> = (0..10_000).map(|i| i * 3).collect();
        let mut calls = 0;
        let t = search(&candidates, &mut |t| {
            calls += 1;
            Ok::<bool, ()>(t >= 6_000)
        })
        .expect("search");
        assert!((6_000..=6_000 + 3 * 40).contains(&t), "threshold {t}");
        assert!(calls <= 14, "{calls} encodings");
    }

    #[test]
    fn no_candidates_and_nothing_fitting_are_bounded() {
        assert_eq!(search(&[], &mut |_| Ok::<bool, ()>(true)), Ok(0));
        assert_eq!(search(&[1, 2, 3], &mut |_| Ok::<bool, ()>(false)), Ok(3));
        assert_eq!(search(&[1, 2, 3], &mut |_| Ok::<bool, ()>(true)), Ok(1));
    }
}
