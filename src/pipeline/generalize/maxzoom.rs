//! `maxzoom = "auto"`: the max zoom guessed from the data, as tippecanoe's `-zg` does. It is the first zoom at
//! which the typical distance between neighbouring features, and between the vertices of lines and polygons, is
//! at least one pixel of a 256-pixel tile: deeper zooms would only magnify what is already drawn apart.
//!
//! "Typical" is the geometric mean, so that a few far outliers (an island off the coast) or exact neighbours do
//! not decide the zoom. Neighbours are consecutive features along the Hilbert curve (the curve that thinning
//! uses); features at the very same place are not counted. The vertex spacing of a feature is the mean length
//! of its segments, and every line or polygon counts once, however many vertices it has.
//!
//! A guess is also kept to at most [`MAX_GUESSED_TILES`] tiles in all, over the data's extent (tippecanoe has
//! the same safeguard): a world-wide layer of fine detail stops at the zoom that fits.

use rayon::prelude::*;
use serde::Serialize;

use super::curve::hilbert;
use crate::pipeline::load::LoadedFeature;
use crate::tiling::Shape;

/// A 256-pixel tile: a pixel is 2^-8 of the tile's side.
const PIXEL_BITS: f64 = 8.0;

/// The most tiles (all zooms together, over the data's extent) a guessed max zoom may make.
pub const MAX_GUESSED_TILES: u64 = 2 << 20;

/// Metres around the equator of the Web Mercator sphere.
const EARTH_CIRCUMFERENCE_M: f64 = 40_075_016.686;

/// What the guess saw, and the zoom it chose.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MaxzoomGuess {
    /// The max zoom the build uses: the deeper of the two below, within the tileset's zooms and
    /// [`crate::config::AUTO_MAXZOOM_LIMIT`].
    pub zoom: u8,
    /// Typical ground distance between neighbouring features, in metres, and the zoom it asks for (`None`
    /// with fewer than two features at distinct places).
    pub feature_spacing_m: Option<f64>,
    pub spacing_zoom: Option<u8>,
    /// Typical ground distance between consecutive vertices of lines and polygons, in metres, and the zoom it
    /// asks for (`None` without lines or polygons).
    pub vertex_spacing_m: Option<f64>,
    pub vertex_zoom: Option<u8>,
    /// Set when [`MAX_GUESSED_TILES`] held the guess back to this zoom.
    pub tile_limited: Option<u8>,
}

/// A geometric mean in the making: sums of logarithms of distances, in unit coordinates and in metres.
#[derive(Debug, Clone, Copy, Default)]
struct Typical {
    unit_ln: f64,
    ground_ln: f64,
    count: u64,
}

impl Typical {
    fn add(self, a: [f64; 2], b: [f64; 2]) -> Typical {
        self.add_distance((b[0] - a[0]).hypot(b[1] - a[1]), (a[1] + b[1]) / 2.0)
    }

    /// Adds a distance `d` (unit coordinates) measured around unit row `y`.
    fn add_distance(mut self, d: f64, y: f64) -> Typical {
        if d > 0.0 && d.is_finite() {
            // A unit of Web Mercator is shorter on the ground away from the equator, by cos(latitude).
            let cos_lat = 1.0 / (std::f64::consts::PI * (1.0 - 2.0 * y)).cosh();
            self.unit_ln += d.ln();
            self.ground_ln += (d * EARTH_CIRCUMFERENCE_M * cos_lat).ln();
            self.count += 1;
        }
        self
    }

    fn merge(self, other: Typical) -> Typical {
        Typical {
            unit_ln: self.unit_ln + other.unit_ln,
            ground_ln: self.ground_ln + other.ground_ln,
            count: self.count + other.count,
        }
    }

    /// `(zoom, metres)`, or `None` with no distance seen.
    fn zoom_and_metres(self) -> Option<(u8, f64)> {
        if self.count == 0 {
            return None;
        }
        let n = self.count as f64;
        let unit = (self.unit_ln / n).exp();
        // 2^-(z + 8) <= unit  ⇔  z >= log2(1 / unit) - 8.
        let zoom = ((-unit.log2()) - PIXEL_BITS).ceil().clamp(0.0, f64::from(u8::MAX)) as u8;
        Some((zoom, (self.ground_ln / n).exp()))
    }
}

/// Guesses the max zoom from the features of every layer, kept within `[minzoom, limit]` (`minzoom` when there is
/// nothing to measure).
pub fn guess(layers: &[&[LoadedFeature]], minzoom: u8, limit: u8) -> MaxzoomGuess {
    let mut centers: Vec<(u64, [f64; 2])> = layers
        .par_iter()
        .flat_map_iter(|features| features.iter())
        .map(|f| {
            let c = [(f.bounds[0] + f.bounds[2]) / 2.0, (f.bounds[1] + f.bounds[3]) / 2.0];
            (hilbert(c[0], c[1]), c)
        })
        .collect();
    centers.par_sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1[0].total_cmp(&b.1[0])).then(a.1[1].total_cmp(&b.1[1])));
    let spacing = centers
        .par_windows(2)
        .fold(Typical::default, |t, w| t.add(w[0].1, w[1].1))
        .reduce(Typical::default, Typical::merge)
        .zoom_and_metres();
    let vertices = layers
        .par_iter()
        .flat_map_iter(|features| features.iter())
        .fold(Typical::default, |t, f| {
            let (length, segments) = f.shapes.iter().fold((0.0, 0u64), vertex_distances);
            t.add_distance(length / segments.max(1) as f64, (f.bounds[1] + f.bounds[3]) / 2.0)
        })
        .reduce(Typical::default, Typical::merge)
        .zoom_and_metres();
    let wanted = spacing.map(|s| s.0).max(vertices.map(|v| v.0)).unwrap_or(minzoom).clamp(minzoom, limit.max(minzoom));
    let extent = layers
        .iter()
        .flat_map(|features| features.iter())
        .map(|f| f.bounds)
        .reduce(|a, b| [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])]);
    let fitting = extent.map_or(wanted, |e| deepest_within_tiles(e, minzoom, wanted));
    MaxzoomGuess {
        zoom: fitting,
        tile_limited: (fitting < wanted).then_some(fitting),
        feature_spacing_m: spacing.map(|s| s.1),
        spacing_zoom: spacing.map(|s| s.0),
        vertex_spacing_m: vertices.map(|v| v.1),
        vertex_zoom: vertices.map(|v| v.0),
    }
}

/// The deepest zoom in `[minzoom, wanted]` whose tiles over `extent` (unit coordinates), with those of every zoom
/// from `minzoom`, number at most [`MAX_GUESSED_TILES`] (`minzoom` at least).
fn deepest_within_tiles(extent: [f64; 4], minzoom: u8, wanted: u8) -> u8 {
    let mut total = 0u64;
    for z in minzoom..=wanted {
        let n = f64::from(1u32 << z.min(31));
        let span = |lo: f64, hi: f64| {
            let last = ((hi.clamp(0.0, 1.0) * n) as u64).min(n as u64 - 1);
            last.saturating_sub((lo.clamp(0.0, 1.0) * n) as u64) + 1
        };
        total = total.saturating_add(span(extent[0], extent[2]).saturating_mul(span(extent[1], extent[3])));
        if total > MAX_GUESSED_TILES {
            return z.saturating_sub(1).max(minzoom);
        }
    }
    wanted
}

/// Adds the length and the count of the segments of `shape` to `sums`.
fn vertex_distances(sums: (f64, u64), shape: &Shape) -> (f64, u64) {
    let along = |(length, count): (f64, u64), line: &Vec<[f64; 2]>| {
        let segments = line.windows(2).map(|w| (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1])).filter(|d| *d > 0.0);
        segments.fold((length, count), |(l, c), d| (l + d, c + 1))
    };
    let t = sums;
    match shape {
        Shape::Points(_) => t,
        Shape::Lines(lines) => lines.iter().fold(t, along),
        Shape::Polygons(polygons) => polygons.iter().flatten().fold(t, along),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiling::lonlat_to_unit;

    fn point(lon: f64, lat: f64) -> LoadedFeature {
        let [x, y] = lonlat_to_unit(lon, lat);
        LoadedFeature {
            shapes: vec![Shape::Points(vec![[x, y]])],
            bounds: [x, y, x, y],
            properties: Vec::new(),
            minzoom: 0,
        }
    }

    /// A grid of points `step_m` metres apart at the equator.
    fn grid(step_m: f64, side: usize) -> Vec<LoadedFeature> {
        let step_deg = step_m / EARTH_CIRCUMFERENCE_M * 360.0;
        (0..side * side).map(|i| point((i % side) as f64 * step_deg, (i / side) as f64 * step_deg)).collect()
    }

    #[test]
    fn points_a_pixel_apart_at_the_guessed_zoom() {
        // At z12 a 256-pixel tile of the equator is 9,784 m wide: 38 m a pixel. 45 m apart needs z12, 30 m z13.
        let features = grid(45.0, 20);
        let g = guess(&[&features], 0, 16);
        assert_eq!(g.spacing_zoom, Some(12));
        assert_eq!(g.zoom, 12);
        let spacing = g.feature_spacing_m.unwrap_or_default();
        assert!((45.0..60.0).contains(&spacing), "{spacing}");
        assert_eq!(g.vertex_zoom, None);
        assert_eq!(guess(&[&grid(30.0, 20)], 0, 16).zoom, 13);
    }

    #[test]
    fn the_guess_stays_within_the_tileset_zooms() {
        let features = grid(0.5, 10);
        assert_eq!(guess(&[&features], 0, 16).zoom, 16);
        let far = grid(1_000_000.0, 3);
        assert_eq!(guess(&[&far], 3, 16).zoom, 3);
        // Nothing to measure: one point, or none.
        assert_eq!(guess(&[&grid(10.0, 1)], 2, 16).zoom, 2);
        assert_eq!(guess(&[], 0, 16).zoom, 0);
        assert_eq!(guess(&[&grid(10.0, 1)], 0, 16).feature_spacing_m, None);
    }

    #[test]
    fn a_world_wide_layer_of_fine_detail_stops_at_the_tiles_it_can_afford() {
        // Two points at opposite corners of the world, and a dense cluster: the spacing asks for z16, which over
        // the whole world is billions of tiles. z10 is 1.4 million in all; z11 would make 5.6 million.
        let mut features = grid(1.0, 10);
        features.push(point(-179.0, 80.0));
        features.push(point(179.0, -80.0));
        let g = guess(&[&features], 0, 16);
        assert_eq!((g.zoom, g.tile_limited), (10, Some(10)));
        assert!(g.spacing_zoom.is_some_and(|z| z >= 16), "{g:?}");
        assert_eq!(deepest_within_tiles([0.5, 0.5, 0.5, 0.5], 0, 16), 16);
        assert_eq!(deepest_within_tiles([0.0, 0.0, 1.0, 1.0], 12, 16), 12);
    }

    #[test]
    fn lines_ask_for_the_zoom_that_draws_their_vertices_apart() {
        // Two lines far apart (spacing asks for a low zoom) whose vertices are 10 m apart (z14: 9.6 m a pixel).
        let step = 10.0 / EARTH_CIRCUMFERENCE_M;
        let line = |x0: f64| {
            let points: Vec<[f64; 2]> = (0..50).map(|i| [x0 + f64::from(i) * step, 0.5]).collect();
            LoadedFeature {
                bounds: [x0, 0.5, x0 + 49.0 * step, 0.5],
                shapes: vec![Shape::Lines(vec![points])],
                properties: Vec::new(),
                minzoom: 0,
            }
        };
        let features = vec![line(0.1), line(0.6)];
        let g = guess(&[&features], 0, 16);
        assert_eq!(g.vertex_zoom, Some(14));
        assert_eq!(g.spacing_zoom, Some(0));
        assert_eq!(g.zoom, 14);
        let metres = g.vertex_spacing_m.unwrap_or_default();
        assert!((metres - 10.0).abs() < 0.01, "{metres}");
    }
}
