//! `as_needed = "coalesce-densest"`: at a zoom over the tile budget, the features that `drop-densest` would drop
//! are merged into a *neighbour* instead: the nearest feature of the same kind before them along the curve that
//! the zoom's threshold keeps (for the first ones of a kind, the first kept one after them; a kind with no kept
//! feature at all is dropped).
//!
//! - a line or polygon hands its pieces to its neighbour: one MVT feature with the neighbour's properties draws
//!   both (polygons are made valid again as one, so overlapping parts merge);
//! - a point is drawn by its neighbour alone;
//! - when merging cannot meet the budget at a threshold that leaves every kind of every layer a feature (the
//!   outlines alone are over it), merged lines and polygons are not drawn either: the zoom then looks as under
//!   `drop-densest`, and the neighbours still count what they stand for;
//! - the neighbour gets [`COUNT_PROPERTY`], how many features it stands for at this zoom (itself included), the
//!   same in every tile of the zoom. A property of that name in the data is replaced.
//!
//! Every decision is per zoom and made once for the whole zoom, so neighbouring tiles agree.

use std::borrow::Cow;

use rustc_hash::FxHashMap;

use super::{Kind, LayerPlan, budget};
use crate::config::{AsNeeded, Layer};
use crate::pipeline::load::LoadedLayer;
use crate::source::Value;
use crate::tiling::{EXTENT, PieceGeom, valid_polygons};

/// The property a neighbour gets: how many features it stands for.
pub const COUNT_PROPERTY: &str = "coalesced_count";

/// Who stands for whom at one zoom.
#[derive(Debug, Default)]
pub struct Coalesced {
    /// Per layer: a merged feature → its neighbour.
    owners: Vec<FxHashMap<u32, u32>>,
    /// Per layer: a neighbour → its properties with the count.
    properties: Vec<FxHashMap<u32, Vec<(String, Value)>>>,
    /// Features merged into a neighbour, per layer.
    pub merged: Vec<u64>,
    /// Merged lines and polygons are drawn by their neighbour (otherwise only counted by it).
    pub draw_merged: bool,
}

impl Coalesced {
    /// The neighbour feature `feature` of layer `layer` is merged into, if it is.
    pub fn owner(&self, layer: u16, feature: u32) -> Option<u32> {
        self.owners.get(usize::from(layer)).and_then(|m| m.get(&feature)).copied()
    }

    /// The features of layer `layer` merged into a neighbour.
    pub fn merged_features(&self, layer: u16) -> impl Iterator<Item = u32> + '_ {
        self.owners.get(usize::from(layer)).into_iter().flat_map(|m| m.keys().copied())
    }

    /// The properties of a neighbour that stands for others (with [`COUNT_PROPERTY`]).
    pub fn properties(&self, layer: u16, feature: u32) -> Option<&[(String, Value)]> {
        self.properties.get(usize::from(layer)).and_then(|m| m.get(&feature)).map(Vec::as_slice)
    }
}

/// Decides, for zoom `z` and `threshold` (on the `drop-densest` key), which features merge into which, among the
/// features `present` says the zoom's tiles hold (by layer index and feature index).
pub fn plan(
    z: u8,
    threshold: u64,
    layers: &[(&Layer, LoadedLayer)],
    plans: &[LayerPlan],
    present: &dyn Fn(u16, u32) -> bool,
    draw_merged: bool,
) -> Coalesced {
    let mut out = Coalesced { draw_merged, ..Coalesced::default() };
    for (index, ((layer, loaded), plan)) in layers.iter().zip(plans).enumerate() {
        let mut owners = FxHashMap::default();
        let mut counts: FxHashMap<u32, i64> = FxHashMap::default();
        if (layer.minzoom..=layer.maxzoom).contains(&z) {
            let slot = |i: u32| match plan.features[i as usize].kind {
                Kind::Point => 0,
                Kind::Line => 1,
                Kind::Polygon => 2,
            };
            let shown: Vec<u32> = plan
                .order
                .iter()
                .copied()
                .filter(|&i| plan.features[i as usize].shown_from <= z && present(index as u16, i))
                .collect();
            let kept = |i: u32| budget::key(&plan.features[i as usize], AsNeeded::CoalesceDensest) >= threshold;
            // The neighbour is the last kept feature of the same kind before it along the curve; for the features
            // before the first kept one of their kind, the first kept one after them.
            let mut last: [Option<u32>; 3] = [None; 3];
            let mut orphans: Vec<u32> = Vec::new();
            for &i in &shown {
                if kept(i) {
                    last[slot(i)] = Some(i);
                } else if let Some(owner) = last[slot(i)] {
                    owners.insert(i, owner);
                } else {
                    orphans.push(i);
                }
            }
            let mut next: [Option<u32>; 3] = [None; 3];
            let orphaned: rustc_hash::FxHashSet<u32> = orphans.into_iter().collect();
            for &i in shown.iter().rev() {
                if kept(i) {
                    next[slot(i)] = Some(i);
                } else if orphaned.contains(&i)
                    && let Some(owner) = next[slot(i)]
                {
                    owners.insert(i, owner);
                }
            }
            for owner in owners.values() {
                *counts.entry(*owner).or_insert(1) += 1;
            }
        }
        out.merged.push(owners.len() as u64);
        out.owners.push(owners);
        out.properties.push(
            counts
                .into_iter()
                .map(|(owner, count)| {
                    let mut properties: Vec<(String, Value)> = loaded.features[owner as usize]
                        .properties
                        .iter()
                        .filter(|(k, _)| k != COUNT_PROPERTY)
                        .cloned()
                        .collect();
                    properties.push((COUNT_PROPERTY.to_owned(), Value::Int(count)));
                    (owner, properties)
                })
                .collect(),
        );
    }
    out
}

/// The highest threshold at which every kind (point, line, polygon) of every layer among `present` (layer index,
/// feature index) keeps a feature: the smallest, over kinds, of the kind's highest key.
pub fn keep_every_kind(z: u8, plans: &[LayerPlan], present: &rustc_hash::FxHashSet<(u16, u32)>) -> u64 {
    let mut highest: FxHashMap<(u16, u8), u64> = FxHashMap::default();
    for &(layer, feature) in present {
        let fp = &plans[usize::from(layer)].features[feature as usize];
        if fp.shown_from <= z {
            let key = budget::key(fp, AsNeeded::CoalesceDensest);
            let entry = highest.entry((layer, fp.kind as u8)).or_insert(0);
            *entry = (*entry).max(key);
        }
    }
    highest.into_values().min().unwrap_or(u64::MAX)
}

/// One geometry from the pieces of a neighbour and the features merged into it (all of one variant), in a tile
/// with clip `buffer`: a full tile covers everything, lines and points are joined, polygons made valid together.
pub fn merge<'a>(pieces: &[&'a PieceGeom], buffer: u32) -> Cow<'a, PieceGeom> {
    if let [one] = pieces {
        return Cow::Borrowed(one);
    }
    if pieces.iter().any(|g| matches!(g, PieceGeom::Full)) {
        return Cow::Owned(PieceGeom::Full);
    }
    let merged = match pieces.first() {
        Some(PieceGeom::Points(_)) => PieceGeom::Points(
            pieces
                .iter()
                .flat_map(|g| if let PieceGeom::Points(p) = g { p.as_slice() } else { &[] })
                .copied()
                .collect(),
        ),
        Some(PieceGeom::Lines(_)) => PieceGeom::Lines(
            pieces.iter().flat_map(|g| if let PieceGeom::Lines(l) = g { l.as_slice() } else { &[] }).cloned().collect(),
        ),
        _ => {
            let polygons: Vec<_> = pieces
                .iter()
                .flat_map(|g| if let PieceGeom::Polygons(p) = g { p.as_slice() } else { &[] })
                .cloned()
                .collect();
            let (lo, hi) = (-(buffer as i32), (EXTENT + buffer) as i32);
            PieceGeom::Polygons(valid_polygons(polygons, lo, hi))
        }
    };
    Cow::Owned(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_polygons_merge_into_one_valid_polygon() {
        let square = |x: i32| PieceGeom::Polygons(vec![vec![vec![[x, 0], [x + 10, 0], [x + 10, 10], [x, 10]]]]);
        let (a, b, far) = (square(0), square(5), square(100));
        let merged = merge(&[&a, &b, &far], 64);
        let PieceGeom::Polygons(polygons) = merged.as_ref() else { panic!("polygons: {merged:?}") };
        assert_eq!(polygons.len(), 2, "the overlapping squares are one polygon, the far one another: {polygons:?}");
        let area: i64 = polygons.iter().map(|p| crate::tiling::piece::int_area2(&p[0]).abs()).sum::<i64>() / 2;
        assert_eq!(area, 150 + 100);
        assert!(matches!(merge(&[&a, &PieceGeom::Full], 64).as_ref(), PieceGeom::Full));
        assert!(matches!(merge(&[&a], 64), Cow::Borrowed(_)));
        let lines = [PieceGeom::Lines(vec![vec![[0, 0], [1, 1]]]), PieceGeom::Lines(vec![vec![[5, 5], [6, 6]]])];
        let PieceGeom::Lines(joined) = merge(&[&lines[0], &lines[1]], 64).into_owned() else { panic!("lines") };
        assert_eq!(joined.len(), 2);
    }
}
