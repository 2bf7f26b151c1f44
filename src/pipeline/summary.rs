//! The build summary: what a person reads at the end of a build, and the same as one JSON object.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// Figures of one finished build.
#[derive(Debug, Clone, Serialize)]
pub struct BuildSummary {
    pub tileset: String,
    pub region: Option<String>,
    pub output: PathBuf,
    /// `[west, south, east, north]` of the built area.
    pub bounds: [f64; 4],
    pub minzoom: u8,
    pub maxzoom: u8,
    /// What `maxzoom = "auto"` measured and chose (absent when the max zoom was given).
    pub maxzoom_guess: Option<super::MaxzoomGuess>,
    /// The max zoom before `extend_zooms_if_still_dropping` went deeper (absent when it did not).
    pub extended_from: Option<u8>,
    pub threads: usize,
    pub tiles: u64,
    pub unique_tiles: u64,
    pub tile_bytes: u64,
    pub unique_bytes: u64,
    pub tiles_per_zoom: BTreeMap<u8, u64>,
    /// Features read from the sources; a source shared by several layers counts once.
    pub features_read: u64,
    /// Features with no geometry (`"geometry": null`) or an empty one: valid GeoJSON, left out.
    pub features_empty: u64,
    /// Invalid features left out under `invalid = "skip"` (once per source).
    pub features_skipped: u64,
    /// Features wholly outside the built area (once per source).
    pub features_outside: u64,
    /// Features left out of a layer by its `filter` or a `minzoom_by` above its `maxzoom`, once per layer that
    /// leaves them out (the sum of the layers' `filtered`).
    pub features_filtered: u64,
    /// Features the tile budget dropped: from a whole zoom (each feature once per zoom), or from one tile by the
    /// per-tile cap (the last resort, or `as_needed = "none"`).
    pub features_dropped: u64,
    /// Tiles left out because nothing fit under the byte cap.
    pub tiles_dropped: u64,
    /// What generalization did at each zoom where it did anything (thinning, small features, the tile budget).
    pub generalized: Vec<ZoomReport>,
    /// Raster tiles drawn but left out because nothing on them differs from the background (tiles that no
    /// feature reaches are never drawn, and not counted).
    pub tiles_blank: u64,
    pub agg_tiles_hash: String,
    /// The PMTiles written when the output is a `.pmtiles` (the MBTiles it was made from is not kept).
    pub pmtiles: Option<crate::archive::PmtilesSummary>,
    /// The manifest written beside the MBTiles, and its SHA-256 (the identity of this content).
    pub manifest: PathBuf,
    pub manifest_sha256: String,
    pub read_seconds: f64,
    pub wall_seconds: f64,
    pub tiles_per_second: f64,
    /// The figures of each layer built, in tileset order.
    pub layers: Vec<LayerSummary>,
    /// What each OpenStreetMap source's read saw (none without one).
    pub osm: Vec<OsmSummary>,
}

/// One OpenStreetMap source's read: its node store and broken relations.
#[derive(Debug, Clone, Serialize)]
pub struct OsmSummary {
    /// The source's file name.
    pub source: String,
    /// Objects some layer wanted (points, lines, areas).
    pub objects: u64,
    /// Node locations stored, the store (`packed` or `dense`) and its bytes.
    pub nodes: u64,
    pub node_store: crate::source::osm::NodeStoreKind,
    pub node_store_bytes: u64,
    pub bytes_per_node: f64,
    /// Multipolygon and boundary relations wanted, and those that could not be built as they are (ids in the
    /// log): left out for a missing member, an unclosed ring or a bad location; kept for a self-crossing ring.
    pub relations: u64,
    pub broken_relations: u64,
    pub broken: crate::source::osm::BrokenCounts,
    /// Wanted ways left out: a node missing from the file, fewer than 2 (3 for areas) distinct points, or a
    /// location out of range (with the points of that kind).
    pub ways_missing_nodes: u64,
    pub degenerate: u64,
    pub invalid: u64,
}

impl OsmSummary {
    pub(crate) fn new(path: &std::path::Path, load: &super::load::OsmLoad) -> OsmSummary {
        let s = &load.stats;
        OsmSummary {
            source: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            objects: load.read,
            nodes: s.nodes,
            node_store: s.node_store,
            node_store_bytes: s.node_store_bytes,
            bytes_per_node: s.bytes_per_node(),
            relations: s.relations,
            broken_relations: s.broken_relations,
            broken: s.broken,
            ways_missing_nodes: s.ways_missing_nodes,
            degenerate: s.degenerate,
            invalid: s.invalid,
        }
    }
}

/// What one layer took from its source.
#[derive(Debug, Clone, Serialize)]
pub struct LayerSummary {
    pub id: String,
    /// The source's file name.
    pub source: String,
    /// Features kept for the layer's tiles.
    pub features: u64,
    /// The source's counts (the same for every layer of one source).
    pub read: u64,
    pub skipped: u64,
    pub outside: u64,
    /// Left out by the layer's `filter`, or by a `minzoom_by` above its `maxzoom`.
    pub filtered: u64,
}

impl fmt::Display for BuildSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let region = self.region.as_deref().map(|r| format!(" (region {r})")).unwrap_or_default();
        writeln!(f, "built {}{region} → {}", self.tileset, self.output.display())?;
        writeln!(f, "  zooms      {}..={}", self.minzoom, self.maxzoom)?;
        if let Some(g) = &self.maxzoom_guess {
            let metres = |m: Option<f64>, z: Option<u8>, what: &str| match (m, z) {
                (Some(m), Some(z)) => format!("{what} typically {m:.0} m apart → z{z}"),
                _ => format!("no {what} to measure"),
            };
            writeln!(
                f,
                "  maxzoom    auto: z{} ({}; {})",
                g.zoom,
                metres(g.feature_spacing_m, g.spacing_zoom, "features"),
                metres(g.vertex_spacing_m, g.vertex_zoom, "vertices")
            )?;
            if let Some(z) = g.tile_limited {
                writeln!(f, "             held back to z{z}: deeper would make over 2 million tiles")?;
            }
        }
        if let Some(from) = self.extended_from {
            writeln!(f, "  extended   from z{from} to z{}: deeper zooms until none dropped features", self.maxzoom)?;
        }
        if let Some(p) = &self.pmtiles {
            writeln!(
                f,
                "  pmtiles    {} bytes, {} directory entries, {} leaf directories",
                p.bytes, p.tile_entries, p.leaf_directories
            )?;
        }
        let zooms: Vec<String> = self.tiles_per_zoom.iter().map(|(z, n)| format!("z{z}:{n}")).collect();
        writeln!(f, "  tiles      {} ({} unique)  [{}]", self.tiles, self.unique_tiles, zooms.join(" "))?;
        writeln!(
            f,
            "  bytes      {} stored, {} addressed",
            human_bytes(self.unique_bytes),
            human_bytes(self.tile_bytes)
        )?;
        writeln!(
            f,
            "  features   {} read, {} empty, {} skipped (invalid), {} outside the area, {} filtered out, {} dropped by the \
             tile budget",
            self.features_read,
            self.features_empty,
            self.features_skipped,
            self.features_outside,
            self.features_filtered,
            self.features_dropped
        )?;
        for layer in &self.layers {
            writeln!(
                f,
                "  layer      {}: {} features from {} ({} filtered out)",
                layer.id, layer.features, layer.source, layer.filtered
            )?;
        }
        for osm in &self.osm {
            let b = &osm.broken;
            writeln!(
                f,
                "  osm        {}: {} objects; {} nodes in a {} store of {} ({:.2} bytes a node); {} relations, {} \
                 broken ({} missing a member, {} unclosed, {} bad location: left out; {} self-crossing: kept; ids \
                 in the log); {} ways missing a node",
                osm.source,
                osm.objects,
                osm.nodes,
                osm.node_store.as_str(),
                human_bytes(osm.node_store_bytes),
                osm.bytes_per_node,
                osm.relations,
                osm.broken_relations,
                b.missing_member,
                b.unclosed_ring,
                b.bad_location,
                b.self_crossing,
                osm.ways_missing_nodes
            )?;
        }
        writeln!(f, "  manifest   {} (sha256 {})", self.manifest.display(), self.manifest_sha256)?;
        for zoom in &self.generalized {
            writeln!(f, "  z{:<2} {zoom}", zoom.zoom)?;
        }
        if self.tiles_dropped > 0 {
            writeln!(f, "  tiles left out (nothing fit the byte cap): {}", self.tiles_dropped)?;
        }
        if self.tiles_blank > 0 {
            writeln!(f, "  tiles left out (blank: only background): {}", self.tiles_blank)?;
        }
        write!(
            f,
            "  time       {:.2} s ({:.2} s reading), {:.0} tiles/s on {} threads",
            self.wall_seconds, self.read_seconds, self.tiles_per_second, self.threads
        )
    }
}

/// What generalization did at one zoom.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ZoomReport {
    pub zoom: u8,
    /// Points thinned out (shown only deeper: below the base zoom, about `point_rate` fewer per zoom).
    pub thinned: u64,
    /// Lines and polygons smaller than a pixel, left out.
    pub too_small: u64,
    /// Tiny polygons drawn as one pixel square (each stands for the tiny polygons around it).
    pub tiny_pixels: u64,
    /// Tiles over the budget before the zoom's threshold.
    pub over_budget_tiles: u64,
    /// Features the zoom's budget threshold left out of the whole zoom, and their share of the zoom's features.
    pub budget_dropped: u64,
    pub budget_share: f64,
    /// Of those, features merged into a kept neighbour (`coalesce-densest`), which counts them.
    pub coalesced: u64,
    /// Of those, lines and polygons whose outline the neighbour draws (0 when merging could not meet the budget
    /// and the zoom fell back to dropping outlines).
    pub coalesced_outlines: u64,
    /// Tiles that still did not fit and lost features on their own (the per-tile cap: one huge feature).
    pub capped_tiles: u64,
    /// Features those tiles dropped on their own (each once per tile; with `as_needed = "none"`, every drop).
    pub cap_dropped: u64,
}

impl ZoomReport {
    fn is_empty(&self) -> bool {
        self.thinned + self.too_small + self.tiny_pixels + self.over_budget_tiles + self.capped_tiles + self.cap_dropped
            == 0
    }

    /// Keeps the zooms where something happened.
    pub fn nonempty(zooms: impl IntoIterator<Item = ZoomReport>) -> Vec<ZoomReport> {
        zooms.into_iter().filter(|z| !z.is_empty()).collect()
    }
}

impl fmt::Display for ZoomReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.thinned > 0 {
            parts.push(format!("{} points thinned", self.thinned));
        }
        if self.too_small > 0 {
            parts.push(format!("{} smaller than a pixel left out", self.too_small));
        }
        if self.tiny_pixels > 0 {
            parts.push(format!("{} tiny polygons drawn as pixels", self.tiny_pixels));
        }
        if self.over_budget_tiles > 0 {
            parts.push(format!(
                "{} tiles over budget: {} features ({:.1}%) dropped from the whole zoom",
                self.over_budget_tiles,
                self.budget_dropped,
                self.budget_share * 100.0
            ));
        }
        if self.coalesced > 0 {
            parts.push(format!(
                "{} of them coalesced into their neighbours ({} outlines drawn by them)",
                self.coalesced, self.coalesced_outlines
            ));
        }
        if self.capped_tiles > 0 {
            parts.push(format!("{} tiles capped on their own", self.capped_tiles));
        }
        if self.cap_dropped > 0 {
            parts.push(format!("{} features dropped by a tile's own cap", self.cap_dropped));
        }
        write!(f, "{}", parts.join(", "))
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}
