//! Writes a synthetic manifest of N tiles for benchmarks: `gen_manifest OUT N CHANGE_EVERY`.
//!
//! Tiles fill zoom levels from z0 down, row by row; every `CHANGE_EVERY`-th tile (0 = none) gets a different
//! hash, so two manifests made with different values differ in a known share of tiles.

use std::path::PathBuf;

use tilepress::manifest::{Entry, Header, sha256, write_manifest};
use tilepress::tiling::TileId;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().ok_or("usage: gen_manifest OUT N CHANGE_EVERY")?);
    let n: u64 = args.next().ok_or("N")?.parse()?;
    let change_every: u64 = args.next().unwrap_or_else(|| "0".into()).parse()?;
    let header = Header {
        name: "synthetic".into(),
        format: "pbf".into(),
        minzoom: 0,
        maxzoom: 14,
        bounds: [-180.0, -85.0, 180.0, 85.0],
        vector_layers: serde_json::Value::Null,
        sources: vec![],
        generator: "gen_manifest".into(),
        metadata: Default::default(),
    };
    let tiles = (0..=20u8).flat_map(|z| {
        let side = 1u32 << z;
        (0..side).flat_map(move |x| (0..side).map(move |y| TileId { z, x, y }))
    });
    let entries = tiles.take(n as usize).enumerate().map(|(i, tile)| {
        let i = i as u64;
        let salt = if change_every > 0 && i.is_multiple_of(change_every) { 1u8 } else { 0 };
        let mut seed = [0u8; 9];
        seed[..8].copy_from_slice(&(i % 50_000).to_le_bytes());
        seed[8] = salt;
        Entry { tile, size: 200 + (i % 3000) as u32, sha256: sha256(&seed) }
    });
    let started = std::time::Instant::now();
    let info = write_manifest(&out, &header, entries)?;
    eprintln!(
        "wrote {} tiles to {} ({} bytes) in {:.3} s",
        info.tiles,
        out.display(),
        std::fs::metadata(&out)?.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
