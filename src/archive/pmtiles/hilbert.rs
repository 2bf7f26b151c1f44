//! Tile addresses `(z, x, y)` ↔ PMTiles tile ids: the position on the Hilbert curve of zoom `z`, after every
//! tile of the zooms above it (so z0 is id 0, z1 ids 1–4, z2 ids 5–20, …).

use crate::tiling::{MAX_TILE_ZOOM, TileId};

/// Tiles of every zoom above `z`: (4^z − 1) / 3.
fn first_id(z: u8) -> u64 {
    ((1u64 << (2 * u32::from(z))) - 1) / 3
}

/// Rotates a quadrant of side `n` so that the curve continues in it.
fn rotate(n: u64, x: &mut u64, y: &mut u64, rx: u64, ry: u64) {
    if ry == 0 {
        if rx == 1 {
            *x = n - 1 - *x;
            *y = n - 1 - *y;
        }
        std::mem::swap(x, y);
    }
}

/// The PMTiles tile id of a tile.
pub fn tile_id(tile: TileId) -> u64 {
    let n = 1u64 << tile.z;
    let (mut x, mut y) = (u64::from(tile.x), u64::from(tile.y));
    let mut d = 0u64;
    let mut s = n / 2;
    while s > 0 {
        let rx = u64::from(x & s > 0);
        let ry = u64::from(y & s > 0);
        d += s * s * ((3 * rx) ^ ry);
        rotate(n, &mut x, &mut y, rx, ry);
        s /= 2;
    }
    first_id(tile.z) + d
}

/// The tile of a PMTiles tile id, or `None` beyond the deepest zoom tilepress handles.
pub fn tile_of(id: u64) -> Option<TileId> {
    let z = (0..=MAX_TILE_ZOOM).take_while(|z| first_id(*z) <= id).last()?;
    if z == MAX_TILE_ZOOM && id >= first_id(MAX_TILE_ZOOM) + (1u64 << (2 * u32::from(MAX_TILE_ZOOM))) {
        return None;
    }
    let n = 1u64 << z;
    let mut t = id - first_id(z);
    let (mut x, mut y) = (0u64, 0u64);
    let mut s = 1u64;
    while s < n {
        let rx = 1 & (t / 2);
        let ry = 1 & (t ^ rx);
        rotate(s, &mut x, &mut y, rx, ry);
        x += s * rx;
        y += s * ry;
        t /= 4;
        s *= 2;
    }
    TileId::new(z, u32::try_from(x).ok()?, u32::try_from(y).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(z: u8, x: u32, y: u32) -> TileId {
        TileId::new(z, x, y).expect("tile")
    }

    #[test]
    fn ids_follow_the_spec_examples() {
        assert_eq!(tile_id(t(0, 0, 0)), 0);
        assert_eq!(tile_id(t(1, 0, 0)), 1);
        assert_eq!(tile_id(t(1, 0, 1)), 2);
        assert_eq!(tile_id(t(1, 1, 1)), 3);
        assert_eq!(tile_id(t(1, 1, 0)), 4);
        assert_eq!(tile_id(t(2, 0, 0)), 5);
        assert_eq!(tile_id(t(12, 3423, 1763)), 19_078_479);
    }

    #[test]
    fn ids_and_tiles_round_trip() {
        for z in 0..=6u8 {
            let n = 1u32 << z;
            let mut seen = std::collections::HashSet::new();
            for x in 0..n {
                for y in 0..n {
                    let id = tile_id(t(z, x, y));
                    assert!(seen.insert(id));
                    assert_eq!(tile_of(id), Some(t(z, x, y)));
                }
            }
        }
        let deep = t(MAX_TILE_ZOOM, 123_456_789, 987_654_321);
        assert_eq!(tile_of(tile_id(deep)), Some(deep));
        assert_eq!(tile_of(u64::MAX), None);
    }
}
