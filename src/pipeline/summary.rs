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
    pub threads: usize,
    pub tiles: u64,
    pub unique_tiles: u64,
    pub tile_bytes: u64,
    pub unique_bytes: u64,
    pub tiles_per_zoom: BTreeMap<u8, u64>,
    pub features_read: u64,
    /// Features with no geometry (`"geometry": null`) or an empty one: valid GeoJSON, left out.
    pub features_empty: u64,
    /// Invalid features left out under `invalid = "skip"`.
    pub features_skipped: u64,
    /// Features wholly outside the built area.
    pub features_outside: u64,
    /// Feature pieces dropped by the per-tile caps.
    pub features_dropped: u64,
    /// Tiles left out because nothing fit under the byte cap.
    pub tiles_dropped: u64,
    /// Raster tiles drawn but left out because nothing on them differs from the background (tiles that no
    /// feature reaches are never drawn, and not counted).
    pub tiles_blank: u64,
    pub agg_tiles_hash: String,
    /// The manifest written beside the MBTiles, and its SHA-256 (the identity of this content).
    pub manifest: PathBuf,
    pub manifest_sha256: String,
    pub read_seconds: f64,
    pub wall_seconds: f64,
    pub tiles_per_second: f64,
}

impl fmt::Display for BuildSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let region = self.region.as_deref().map(|r| format!(" (region {r})")).unwrap_or_default();
        writeln!(f, "built {}{region} → {}", self.tileset, self.output.display())?;
        writeln!(f, "  zooms      {}..={}", self.minzoom, self.maxzoom)?;
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
            "  features   {} read, {} empty, {} skipped (invalid), {} outside the area, {} dropped by tile caps",
            self.features_read,
            self.features_empty,
            self.features_skipped,
            self.features_outside,
            self.features_dropped
        )?;
        writeln!(f, "  manifest   {} (sha256 {})", self.manifest.display(), self.manifest_sha256)?;
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
