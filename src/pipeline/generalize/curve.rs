//! Positions on a Hilbert curve over the unit square: nearby features get nearby indexes, so the index distance
//! to the previous feature along the curve measures how crowded a feature's neighbourhood is.

/// Cells a side of the curve's grid: 2^31, finer than a 4096-unit tile at zoom 19.
const ORDER: u32 = 31;

/// The Hilbert index of a unit-square position (clamped into the square).
pub fn hilbert(x: f64, y: f64) -> u64 {
    let side = f64::from(1u32 << ORDER);
    let cell = |v: f64| (v.clamp(0.0, 1.0) * side).min(side - 1.0) as u64;
    let (mut x, mut y) = (cell(x), cell(y));
    let n = 1u64 << ORDER;
    let mut d = 0u64;
    let mut s = 1u64 << (ORDER - 1);
    while s > 0 {
        let rx = u64::from(x & s > 0);
        let ry = u64::from(y & s > 0);
        d += s * s * ((3 * rx) ^ ry);
        // Rotate the quadrant so the sub-curve joins its neighbours (only the lower bits matter from here on).
        if ry == 0 {
            if rx == 1 {
                x = n - 1 - x;
                y = n - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s >>= 1;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbouring_cells_are_one_step_apart_along_the_curve() {
        // On a coarse grid (every 2^27 cells: a 16 × 16 grid), visiting the cells in index order moves one cell
        // at a time: the defining property of a Hilbert curve.
        let n = 16u32;
        let step = 1.0 / f64::from(n);
        let mut cells: Vec<(u64, u32, u32)> = (0..n)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .map(|(i, j)| (hilbert((f64::from(i) + 0.5) * step, (f64::from(j) + 0.5) * step), i, j))
            .collect();
        cells.sort_unstable();
        for pair in cells.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            assert_eq!(a.1.abs_diff(b.1) + a.2.abs_diff(b.2), 1, "{a:?} → {b:?}");
        }
        let distinct: std::collections::HashSet<u64> = cells.iter().map(|c| c.0).collect();
        assert_eq!(distinct.len(), 256);
    }

    #[test]
    fn out_of_square_positions_are_clamped_not_wrapped() {
        assert_eq!(hilbert(-1.0, -1.0), hilbert(0.0, 0.0));
        assert_eq!(hilbert(2.0, 0.0), hilbert(1.0, 0.0));
        let _ = hilbert(f64::NAN, 0.5);
    }
}
