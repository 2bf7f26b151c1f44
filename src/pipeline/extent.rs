//! The data's extent: the union of the loaded features' bounds back in lon/lat, rounded outward; and the zoom at
//! which a box fits a few tiles, for the metadata's default `center`.

use crate::config::Layer;
use crate::tiling::{Bbox, unit_to_lonlat};

use super::load::LoadedLayer;

/// Decimal places of a data-derived bound (1e-6° is about 11 cm), the precision the metadata is written with.
const DECIMALS: i32 = 6;

/// Tiles across (the box's larger side) that the default center's zoom shows the data in: a map view of
/// 512–1024 pixels.
const TILES_ACROSS: f64 = 2.0;

/// The lon/lat box of every loaded feature of every layer, rounded outward to [`DECIMALS`] places (and at
/// least that wide and high, so a single point gets a box); `None` when no feature was loaded.
pub fn data_extent(layers: &[(&Layer, LoadedLayer)]) -> Option<Bbox> {
    let [x0, y0, x1, y1] = layers
        .iter()
        .flat_map(|(_, l)| &l.features)
        .map(|f| f.bounds)
        .reduce(|a, b| [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])])?;
    if ![x0, y0, x1, y1].iter().all(|v| v.is_finite()) {
        return None;
    }
    // Unit y grows southward: the top-left corner gives west and north.
    let [west, north] = unit_to_lonlat(x0, y0);
    let [east, south] = unit_to_lonlat(x1, y1);
    Some(round_outward(Bbox { west, south, east, north }))
}

/// `b` rounded outward to [`DECIMALS`] places, at least one step wide and high, kept inside the Mercator world.
pub fn round_outward(b: Bbox) -> Bbox {
    let scale = 10f64.powi(DECIMALS);
    let step = 1.0 / scale;
    let down = |v: f64| (v * scale).floor() / scale;
    let up = |v: f64| (v * scale).ceil() / scale;
    let world = Bbox::WORLD;
    let widen = |lo: f64, hi: f64, limit: f64| {
        if hi - lo >= step {
            (lo, hi)
        } else if lo + step <= limit {
            (lo, lo + step)
        } else {
            (hi - step, hi)
        }
    };
    let (west, east) = widen(down(b.west).max(world.west), up(b.east).min(world.east), world.east);
    let (south, north) = widen(down(b.south).max(world.south), up(b.north).min(world.north), world.north);
    Bbox { west, south, east, north }
}

/// The highest zoom at which `b` spans at most [`TILES_ACROSS`] tiles on its larger side (by size, not by
/// alignment to the grid), within `minzoom..=maxzoom`.
pub fn fitting_zoom(b: Bbox, minzoom: u8, maxzoom: u8) -> u8 {
    let [x0, y0] = crate::tiling::lonlat_to_unit(b.west, b.north);
    let [x1, y1] = crate::tiling::lonlat_to_unit(b.east, b.south);
    let side = (x1 - x0).max(y1 - y0);
    let zoom = if side > 0.0 { (TILES_ACROSS / side).log2().floor() } else { f64::from(maxzoom) };
    zoom.clamp(f64::from(minzoom), f64::from(maxzoom)) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_outward_and_never_collapses() {
        let b = round_outward(Bbox { west: 14.123_456_78, south: 35.1, east: 14.5, north: 35.987_654_31 });
        assert_eq!(b, Bbox { west: 14.123_456, south: 35.1, east: 14.5, north: 35.987_655 });
        let point = round_outward(Bbox { west: 14.5, south: -1.25, east: 14.5, north: -1.25 });
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(point.east, 14.500_001) && close(point.north, -1.249_999), "{point:?}");
        assert_eq!((point.west, point.south), (14.5, -1.25));
        let edge = round_outward(Bbox { west: 180.0, south: 85.06, east: 180.0, north: 85.06 });
        assert!(edge.west < edge.east && edge.south < edge.north && edge.east <= 180.0, "{edge:?}");
        assert_eq!(round_outward(Bbox::WORLD), Bbox::WORLD);
    }

    #[test]
    fn a_scope_from_the_data_is_narrowed_and_its_ranges_keep_a_margin_inside_the_area() {
        use super::super::BuildScope;
        let area = Bbox { west: -10.0, south: 30.0, east: 40.0, north: 60.0 };
        let scope = BuildScope { bounds: area, area, minzoom: 0, maxzoom: 8, from_data: true };
        let malta = Bbox { west: 14.18, south: 35.78, east: 14.58, north: 36.09 };
        let fitted = scope.fit_to_data(Some(malta));
        assert_eq!((fitted.bounds, fitted.area), (malta, area));
        assert_eq!(fitted.fit_to_data(Some(malta)), fitted, "fitting twice changes nothing");
        let wide = Bbox { west: -20.0, south: 35.0, east: 15.0, north: 70.0 };
        assert_eq!(scope.fit_to_data(Some(wide)).bounds, Bbox { west: -10.0, south: 35.0, east: 15.0, north: 60.0 });
        assert_eq!(scope.fit_to_data(None), scope);
        let given = BuildScope { from_data: false, ..scope };
        assert_eq!(given.fit_to_data(Some(malta)), given, "a tileset's own bounds are kept");
        let ranges = fitted.tile_ranges(1);
        let z8 = ranges[8];
        let data = crate::tiling::TileRange::covering(malta, 8);
        assert_eq!(
            (z8.x_min, z8.x_max, z8.y_min, z8.y_max),
            (data.x_min - 1, data.x_max + 1, data.y_min - 1, data.y_max + 1)
        );
        // At z0 the one tile; unnarrowed, the ranges are the area's own.
        assert_eq!((ranges[0].x_min, ranges[0].x_max), (0, 0));
        let own: Vec<_> = (0..=8).map(|z| crate::tiling::TileRange::covering(area, z)).collect();
        assert_eq!(scope.tile_ranges(1), own);
        assert_eq!(fitted.tile_ranges(0)[8], data);
    }

    #[test]
    fn the_center_zoom_fits_the_box_in_a_few_tiles() {
        assert_eq!(fitting_zoom(Bbox::WORLD, 0, 14), 1);
        assert_eq!(fitting_zoom(Bbox::WORLD, 3, 14), 3);
        // Valletta's fixture, about 0.04° across: z14 shows it on about two tiles.
        let valletta = Bbox { west: 14.49, south: 35.88, east: 14.53, north: 35.905 };
        assert_eq!(fitting_zoom(valletta, 0, 20), 14);
        assert_eq!(fitting_zoom(valletta, 0, 12), 12);
        let point = Bbox { west: 1.0, south: 1.0, east: 1.0, north: 1.0 };
        assert_eq!(fitting_zoom(point, 2, 9), 9);
    }
}
