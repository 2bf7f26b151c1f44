//! Web Mercator: lon/lat degrees → unit square coordinates (x east, y south, both in [0, 1]) and the tile
//! ranges that cover a bounding box at a zoom.

use super::bbox::{Bbox, MAX_LATITUDE};

/// Projects lon/lat (degrees) to the unit square of Web Mercator; latitudes beyond ±85.0511° are clamped.
pub fn lonlat_to_unit(lon: f64, lat: f64) -> [f64; 2] {
    let x = (lon + 180.0) / 360.0;
    let lat = lat.clamp(-MAX_LATITUDE, MAX_LATITUDE).to_radians();
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0;
    [x.clamp(0.0, 1.0), y.clamp(0.0, 1.0)]
}

/// Inverse of [`lonlat_to_unit`].
pub fn unit_to_lonlat(x: f64, y: f64) -> [f64; 2] {
    let lon = x * 360.0 - 180.0;
    let n = std::f64::consts::PI * (1.0 - 2.0 * y);
    let lat = n.sinh().atan().to_degrees();
    [lon, lat]
}

/// An inclusive range of tile columns and rows at one zoom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileRange {
    pub z: u8,
    pub x_min: u32,
    pub y_min: u32,
    pub x_max: u32,
    pub y_max: u32,
}

impl TileRange {
    /// The tiles of zoom `z` that a lon/lat box touches (a box edge lying on a tile edge does not pull in the
    /// next tile).
    pub fn covering(bbox: Bbox, z: u8) -> TileRange {
        let [x0, y0] = lonlat_to_unit(bbox.west, bbox.north);
        let [x1, y1] = lonlat_to_unit(bbox.east, bbox.south);
        let n = f64::from(1u32 << z);
        let last = (1u32 << z) - 1;
        let lo = |v: f64| ((v * n).floor().max(0.0) as u32).min(last);
        let hi = |v: f64| (((v * n).ceil() as u32).saturating_sub(1)).min(last);
        TileRange { z, x_min: lo(x0), y_min: lo(y0), x_max: hi(x1).max(lo(x0)), y_max: hi(y1).max(lo(y0)) }
    }

    /// The number of tiles in the range.
    pub fn count(&self) -> u64 {
        u64::from(self.x_max - self.x_min + 1) * u64::from(self.y_max - self.y_min + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn projects_known_points() {
        assert_eq!(lonlat_to_unit(0.0, 0.0), [0.5, 0.5]);
        assert_eq!(lonlat_to_unit(-180.0, MAX_LATITUDE)[0], 0.0);
        assert!(close(lonlat_to_unit(-180.0, MAX_LATITUDE)[1], 0.0));
        assert!(close(lonlat_to_unit(180.0, -MAX_LATITUDE)[1], 1.0));
        // Beyond the Mercator limit latitudes clamp rather than run off to infinity.
        assert!(close(lonlat_to_unit(10.0, 89.9)[1], 0.0));
        assert!(close(lonlat_to_unit(10.0, -90.0)[1], 1.0));
        let [lon, lat] = unit_to_lonlat(lonlat_to_unit(14.51, 35.89)[0], lonlat_to_unit(14.51, 35.89)[1]);
        assert!(close(lon, 14.51) && close(lat, 35.89));
    }

    #[test]
    fn tile_of_valletta_at_z14_matches_other_tools() {
        // Valletta (14.5146 E, 35.8989 N) is tile 14/8852/6439 on OpenStreetMap's XYZ grid.
        let bbox = Bbox { west: 14.5146, south: 35.8989, east: 14.5147, north: 35.899 };
        let range = TileRange::covering(bbox, 14);
        assert_eq!((range.x_min, range.y_min), (8852, 6439));
        assert_eq!(range.count(), 1);
    }

    #[test]
    fn world_range_is_the_whole_grid() {
        for z in [0u8, 1, 5, 12] {
            let range = TileRange::covering(Bbox::WORLD, z);
            let last = (1u32 << z) - 1;
            assert_eq!((range.x_min, range.y_min, range.x_max, range.y_max), (0, 0, last, last));
        }
    }
}
