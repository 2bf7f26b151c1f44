//! Generalization: which features each zoom shows, decided per feature before tiling so that neighbouring tiles
//! agree and a feature shown at a zoom stays shown deeper.
//!
//! - [`curve`]: positions along a Hilbert curve; a feature's *gap* to the previous one measures crowding;
//! - [`thin`]: points thin out below the base zoom (about `point_rate` fewer per zoom, dense areas first);
//! - [`small`]: lines shorter than a pixel are dropped and polygons smaller than one are accumulated into a few
//!   representative pixels (unless the layer says `keep_small`);
//! - [`budget`]: when tiles of a zoom are over the byte or feature budget, one threshold for the whole zoom;
//! - [`coalesce`]: under `coalesce-densest`, what that threshold leaves out merges into a kept neighbour;
//! - [`maxzoom`]: `maxzoom = "auto"`, the max zoom guessed from the spacing of features and vertices.

pub mod budget;
pub mod coalesce;
pub mod curve;
pub mod maxzoom;
pub mod small;
pub mod thin;

use super::load::LoadedFeature;
use crate::config::{BaseZoom, Layer};
use crate::tiling::Shape;
use crate::tiling::shape::ring_area2;

/// The geometry kind that decides how a feature generalizes (a collection counts as its largest kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Point,
    Line,
    Polygon,
}

/// What generalization knows of one feature.
#[derive(Debug, Clone, Copy)]
pub struct FeaturePlan {
    pub kind: Kind,
    /// The middle of its bounds, in unit coordinates.
    pub center: [f64; 2],
    /// Its position along the Hilbert curve.
    pub curve: u64,
    /// The curve distance to the previous feature of the layer along the curve (`u64::MAX` for the first): small
    /// in crowded areas.
    pub gap: u64,
    /// Area (polygons) or length (lines) in unit coordinates (squared for areas); 0 for points.
    pub size: f64,
    /// The lowest zoom at which it is shown (point thinning and the feature's own minimum zoom).
    pub shown_from: u8,
    /// The feature's own minimum zoom (the layer's, or its `minzoom_by`), before thinning.
    pub minzoom: u8,
}

/// The plan of one layer: one entry per loaded feature, in the same order.
#[derive(Debug, Clone, Default)]
pub struct LayerPlan {
    pub features: Vec<FeaturePlan>,
    /// Feature indices in curve order.
    pub order: Vec<u32>,
}

/// Plans a layer: curve positions and gaps, sizes, and point thinning below the base zoom.
pub fn plan_layer(layer: &Layer, features: &[LoadedFeature], own_minzoom: &dyn Fn(usize) -> u8) -> LayerPlan {
    let mut plans: Vec<FeaturePlan> = features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let (kind, size) = kind_and_size(&f.shapes);
            let center = [(f.bounds[0] + f.bounds[2]) / 2.0, (f.bounds[1] + f.bounds[3]) / 2.0];
            FeaturePlan {
                kind,
                center,
                curve: curve::hilbert(center[0], center[1]),
                gap: u64::MAX,
                size,
                shown_from: own_minzoom(i),
                minzoom: own_minzoom(i),
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..plans.len()).collect();
    order.sort_unstable_by_key(|&i| (plans[i].curve, i));
    for pair in order.windows(2) {
        plans[pair[1]].gap = plans[pair[1]].curve - plans[pair[0]].curve;
    }
    let base = match layer.thinning.base_zoom {
        BaseZoom::Max => layer.maxzoom,
        // A base deeper than the layer's max zoom thins as if the layer went on to it (so that a build cut short
        // keeps the tiles of the full one).
        BaseZoom::Zoom(z) => z,
    };
    let points: Vec<usize> = (0..plans.len()).filter(|&i| plans[i].kind == Kind::Point).collect();
    let candidates: Vec<thin::Candidate> =
        points.iter().map(|&i| thin::Candidate { curve: plans[i].curve, minzoom: plans[i].shown_from }).collect();
    let shown = thin::shown_from(&candidates, base, layer.thinning.point_rate, layer.minzoom);
    for (&i, z) in points.iter().zip(shown) {
        plans[i].shown_from = z;
    }
    LayerPlan { features: plans, order: order.into_iter().map(|i| i as u32).collect() }
}

fn kind_and_size(shapes: &[Shape]) -> (Kind, f64) {
    let mut area = 0.0;
    let mut length = 0.0;
    let mut kind = Kind::Point;
    for shape in shapes {
        match shape {
            Shape::Points(_) => {}
            Shape::Lines(lines) => {
                if kind == Kind::Point {
                    kind = Kind::Line;
                }
                length += lines
                    .iter()
                    .flat_map(|l| l.windows(2))
                    .map(|w| (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1]))
                    .sum::<f64>();
            }
            Shape::Polygons(polygons) => {
                kind = Kind::Polygon;
                area += polygons
                    .iter()
                    .map(|rings| {
                        let mut rings = rings.iter();
                        let outer = rings.next().map_or(0.0, |r| ring_area2(r).abs());
                        (outer - rings.map(|r| ring_area2(r).abs()).sum::<f64>()).max(0.0) / 2.0
                    })
                    .sum::<f64>();
            }
        }
    }
    match kind {
        Kind::Polygon => (kind, area),
        Kind::Line => (kind, length),
        Kind::Point => (kind, 0.0),
    }
}
