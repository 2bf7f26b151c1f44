//! Compatibility with martin's `mbtiles` tool (crates.io `mbtiles` 0.19.1, installed by `make test-deps`):
//! `mbtiles validate` passes on our files, vector and PNG (integrity, tile ids = MD5 of the bytes,
//! `agg_tiles_hash`), and fails on a file we damage on purpose, so the check is real.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn validate(path: &Path) -> (bool, String) {
    let out = Command::new("mbtiles")
        .arg("validate")
        .arg(path)
        .output()
        .expect("`mbtiles` (martin's tool) is not installed: run `make test-deps`");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn mbtiles_validate_passes_on_our_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    for tileset in ["default", "monaco"] {
        let out = dir.path().join(format!("{tileset}.mbtiles"));
        build_json(&repo().join(format!("tilesets/{tileset}.toml")), &out, &[]);
        let (ok, text) = validate(&out);
        assert!(ok, "mbtiles validate failed on {tileset}:\n{text}");
        assert!(text.contains("agg_tiles_hash has been verified"), "{text}");
        assert!(text.contains("All tile hashes are valid"), "{text}");
    }
}

#[test]
fn mbtiles_validate_passes_on_raster_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("default-raster.mbtiles");
    build_json(&repo().join("tilesets/default-raster.toml"), &out, &["--maxzoom", "4"]);
    let (ok, text) = validate(&out);
    assert!(ok, "mbtiles validate failed on default-raster:\n{text}");
    assert!(text.contains("agg_tiles_hash has been verified") && text.contains("All tile hashes are valid"), "{text}");
}

#[test]
fn mbtiles_validate_catches_a_damaged_tile() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("d.mbtiles");
    build_json(&repo().join("tilesets/default.toml"), &out, &["--maxzoom", "3"]);
    let conn = rusqlite::Connection::open(&out).expect("open");
    conn.execute("UPDATE images SET tile_data = X'1f8b00' WHERE rowid = 1", []).expect("damage");
    drop(conn);
    let (ok, text) = validate(&out);
    assert!(!ok, "a damaged tile must fail validation:\n{text}");
}
