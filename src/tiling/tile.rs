//! Tile addresses: XYZ (z, x, y with y from the north) and the TMS row flip that MBTiles stores.

use std::fmt;

/// The deepest zoom a tile address may have (2^30 tiles a side still fits a u32).
pub const MAX_TILE_ZOOM: u8 = 30;

/// One tile address in the XYZ scheme (y counted from the north, as web maps ask for tiles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TileId {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

impl TileId {
    /// A tile address, or `None` if x or y lies outside the grid of zoom `z`.
    pub fn new(z: u8, x: u32, y: u32) -> Option<TileId> {
        if z > MAX_TILE_ZOOM {
            return None;
        }
        let n = 1u64 << z;
        (u64::from(x) < n && u64::from(y) < n).then_some(TileId { z, x, y })
    }

    /// The row MBTiles stores (TMS: counted from the south).
    pub fn tms_row(self) -> u32 {
        ((1u64 << self.z) - 1 - u64::from(self.y)) as u32
    }

    /// The XYZ tile of an MBTiles (TMS) row.
    pub fn from_tms(z: u8, x: u32, tms_row: u32) -> Option<TileId> {
        if z > MAX_TILE_ZOOM {
            return None;
        }
        let n = 1u64 << z;
        if u64::from(tms_row) >= n {
            return None;
        }
        TileId::new(z, x, (n - 1 - u64::from(tms_row)) as u32)
    }
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.z, self.x, self.y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tms_flip_round_trips_and_matches_the_spec() {
        assert_eq!(TileId::new(0, 0, 0).map(TileId::tms_row), Some(0));
        // z1: XYZ row 0 (north) is TMS row 1.
        assert_eq!(TileId::new(1, 0, 0).map(TileId::tms_row), Some(1));
        assert_eq!(TileId::new(3, 5, 2).map(TileId::tms_row), Some(5));
        for y in 0..16 {
            let tile = TileId::new(4, 7, y).expect("inside the grid");
            assert_eq!(TileId::from_tms(4, 7, tile.tms_row()), Some(tile));
        }
    }

    #[test]
    fn addresses_outside_the_grid_are_refused() {
        assert!(TileId::new(2, 4, 0).is_none());
        assert!(TileId::new(2, 0, 4).is_none());
        assert!(TileId::from_tms(2, 0, 4).is_none());
        assert!(TileId::new(200, 0, 0).is_none() && TileId::from_tms(64, 0, 0).is_none());
        assert_eq!(TileId::new(14, 8800, 6400).map(|t| t.to_string()), Some("14/8800/6400".to_owned()));
    }
}
