//! How deep a build goes, decided once the data is read: `maxzoom = "auto"` resolved from the data (see
//! [`super::generalize::maxzoom`]), and the layers readied for `extend_zooms_if_still_dropping` (the build then
//! goes one zoom deeper at a time while its deepest zoom still drops features to meet the tile budget).

use super::BuildScope;
use super::generalize::maxzoom::{self, MaxzoomGuess};
use super::load::LoadedLayer;
use super::zoom::Counters;
use crate::config::{BaseZoom, Layer, MAX_ZOOM, Tileset};

/// The layers as they are built, and how deep.
#[derive(Debug)]
pub struct Depth {
    /// The active layers with their max zoom resolved, in the order given.
    pub layers: Vec<Layer>,
    /// The guess, when the tileset says `maxzoom = "auto"` and no `--maxzoom` overrides it.
    pub guess: Option<MaxzoomGuess>,
    /// The deepest zoom built before any extension.
    pub maxzoom: u8,
    /// The deepest zoom an extension may reach, when the build extends.
    pub extend_to: Option<u8>,
}

/// Resolves the max zoom of `active` (loaded as `loaded`) within `scope`. `maxzoom_given` is a `--maxzoom`
/// (which overrides `"auto"`); `extend` asks for extension whatever the tileset says.
pub fn resolve(
    tileset: &Tileset,
    scope: &BuildScope,
    maxzoom_given: bool,
    extend: bool,
    active: &[&Layer],
    loaded: &[LoadedLayer],
) -> Depth {
    let mut layers: Vec<Layer> = active.iter().map(|l| (*l).clone()).collect();
    let guess = (tileset.maxzoom_auto && !maxzoom_given).then(|| {
        let features: Vec<&[_]> = loaded.iter().map(|l| l.features.as_slice()).collect();
        maxzoom::guess(&features, scope.minzoom, scope.maxzoom)
    });
    let mut deepest = scope.maxzoom;
    if let Some(guess) = guess {
        for layer in layers.iter_mut().filter(|l| !l.own_maxzoom) {
            layer.maxzoom = guess.zoom;
        }
        // A layer's own max zoom is kept: the build goes as deep as the deepest layer.
        deepest = layers.iter().map(|l| l.maxzoom).max().unwrap_or(guess.zoom).clamp(guess.zoom, scope.maxzoom);
    }
    let extend_to = (extend || tileset.generalize.extend_zooms).then_some(MAX_ZOOM).filter(|limit| *limit > deepest);
    if extend_to.is_some() {
        for layer in layers.iter_mut().filter(|l| l.maxzoom >= deepest) {
            // Points keep thinning towards the zoom they would have had without the extension.
            if layer.thinning.base_zoom == BaseZoom::Max {
                layer.thinning.base_zoom = BaseZoom::Zoom(deepest);
            }
            layer.maxzoom = MAX_ZOOM;
        }
    }
    Depth { layers, guess, maxzoom: deepest, extend_to }
}

/// Leaves out of `loaded` the features whose own minimum zoom lies beyond its layer's (now resolved) max zoom,
/// counting them as filtered, as loading does.
pub fn trim(layer: &Layer, loaded: &mut LoadedLayer) {
    let before = loaded.features.len();
    loaded.features.retain(|f| f.minzoom <= layer.maxzoom);
    loaded.filtered += (before - loaded.features.len()) as u64;
}

/// Whether zoom `z` dropped any feature to meet the tile budget (for the whole zoom, or in one tile).
pub fn still_dropping(counters: &Counters, z: u8) -> bool {
    counters.report(z).is_some_and(|r| r.budget_dropped + r.capped_tiles + r.cap_dropped > 0)
}
