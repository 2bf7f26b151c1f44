//! Features smaller than a pixel at a zoom, where the pixel is [`PIXEL`] tile units:
//! - polygons smaller than one are accumulated, tile by tile in feature order, into a few representative pixel
//!   squares that keep their total area (so a zoomed-out town still shows the texture of its buildings without
//!   their vertices), as tippecanoe's tiny-polygon reduction does;
//! - lines shorter than [`LINE_PIXEL`] are dropped but for one in so many: accumulated the same way by length, a
//!   short line is kept each time the sum reaches a line pixel. The street grid of a town thus fades in
//!   proportion to its length instead of vanishing at once (tippecanoe keeps such lines by chance, when they
//!   happen to cross a grid line of its tile resolution; this is the same share, decided by the data alone).
//!
//! Every verdict is per feature and zoom, made before tiling: a feature is kept or left out in every tile alike.

use std::collections::HashMap;

use super::{FeaturePlan, Kind};

/// A pixel's side for polygons, in tile units of the 4096 extent: a polygon below 2 × 2 units is tiny (tippecanoe's
/// default tiny-polygon size, so that the two compare feature for feature).
pub const PIXEL: f64 = 2.0;
/// A line shorter than this many tile units is short: one unit, the resolution of the tile grid.
pub const LINE_PIXEL: f64 = 1.0;

/// What a zoom does with one feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    /// Too small to draw: left out of this zoom.
    Drop,
    /// A tiny polygon drawn as one pixel square at its centre (it stands for the tiny polygons around it).
    Pixel,
}

/// One verdict per feature of a layer for zoom `z`; `None` when nothing is small (the common case deep down).
pub fn verdicts(plans: &[FeaturePlan], z: u8, keep_small: bool) -> Option<Vec<Verdict>> {
    if keep_small {
        return None;
    }
    let scale = 4096.0 * f64::from(1u32 << z);
    let pixel_area = PIXEL * PIXEL;
    let small = |p: &FeaturePlan| match p.kind {
        Kind::Point => false,
        Kind::Line => p.size * scale < LINE_PIXEL,
        Kind::Polygon => p.size * scale * scale < pixel_area,
    };
    if !plans.iter().any(small) {
        return None;
    }
    // Accumulated area per tile (of the feature's centre), in feature order: deterministic.
    let mut areas: HashMap<(u32, u32), f64> = HashMap::new();
    let mut lines: HashMap<(u32, u32), f64> = HashMap::new();
    let tiles = f64::from(1u32 << z);
    let out = plans
        .iter()
        .map(|p| {
            // Not shown at this zoom at all (its own minimum zoom is deeper): it takes no part.
            if p.shown_from > z || !small(p) {
                return Verdict::Keep;
            }
            let cell = ((p.center[0] * tiles) as u32, (p.center[1] * tiles) as u32);
            if p.kind == Kind::Line {
                let sum = lines.entry(cell).or_insert(0.0);
                *sum += p.size * scale;
                return if *sum >= LINE_PIXEL {
                    *sum -= LINE_PIXEL;
                    Verdict::Keep
                } else {
                    Verdict::Drop
                };
            }
            let sum = areas.entry(cell).or_insert(0.0);
            *sum += p.size * scale * scale;
            if *sum >= pixel_area {
                *sum -= pixel_area;
                Verdict::Pixel
            } else {
                Verdict::Drop
            }
        })
        .collect();
    Some(out)
}

/// The pixel square drawn for a tiny polygon centred at `center` (unit coordinates), in world units of `z`.
pub fn pixel_square(center: [f64; 2], z: u8) -> crate::tiling::Shape {
    let scale = 4096.0 * f64::from(1u32 << z);
    let (x, y) = ((center[0] * scale).floor(), (center[1] * scale).floor());
    let (x0, y0) = (x - PIXEL / 2.0, y - PIXEL / 2.0);
    let (x1, y1) = (x0 + PIXEL, y0 + PIXEL);
    crate::tiling::Shape::Polygons(vec![vec![vec![[x0, y0], [x0, y1], [x1, y1], [x1, y0], [x0, y0]]]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn polygon(x: f64, y: f64, area: f64) -> FeaturePlan {
        FeaturePlan { kind: Kind::Polygon, center: [x, y], curve: 0, gap: 0, size: area, shown_from: 0, minzoom: 0 }
    }

    #[test]
    fn tiny_polygons_keep_their_total_area_as_pixels() {
        let z = 10;
        let unit = 1.0 / (4096.0 * 1024.0);
        // 100 polygons of a quarter pixel each in one tile: 25 pixels.
        let plans: Vec<FeaturePlan> =
            (0..100).map(|i| polygon(0.5 + f64::from(i) * unit, 0.5, PIXEL * PIXEL * unit * unit / 4.0)).collect();
        let v = verdicts(&plans, z, false).expect("small features");
        assert_eq!(v.iter().filter(|v| **v == Verdict::Pixel).count(), 25);
        assert_eq!(v.iter().filter(|v| **v == Verdict::Drop).count(), 75);
        // Deeper, the same polygons are big enough to draw.
        assert!(verdicts(&plans, z + 2, false).is_none());
        assert!(verdicts(&plans, z, true).is_none(), "keep_small keeps them");
    }

    #[test]
    fn short_lines_fade_in_proportion_to_their_length() {
        let unit = 1.0 / 4096.0;
        let line = |len: f64| FeaturePlan {
            kind: Kind::Line,
            center: [0.5, 0.5],
            curve: 0,
            gap: 0,
            size: len,
            shown_from: 0,
            minzoom: 0,
        };
        // A long line is kept; of 40 lines a quarter unit long, every fourth.
        let mut plans = vec![line(100.0 * unit)];
        plans.extend((0..40).map(|_| line(0.25 * unit)));
        let v = verdicts(&plans, 0, false).expect("small");
        assert_eq!(v[0], Verdict::Keep);
        assert_eq!(v[1..].iter().filter(|v| **v == Verdict::Keep).count(), 10);
        assert_eq!(v[1..].iter().filter(|v| **v == Verdict::Drop).count(), 30);
    }
}
