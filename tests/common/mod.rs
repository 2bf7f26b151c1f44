//! Helpers for the integration tests: run the `tilepress` binary, read MBTiles with SQLite, and decode tiles with
//! an independent decoder (Python's mapbox-vector-tile through `tests/common/mvt_probe.py`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rusqlite::Connection;
use serde_json::{Value, json};

pub mod fault_proxy;
pub mod http;
pub mod k8s;
pub mod prom;
pub mod pushgateway;
pub mod s3;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `tilepress ARGS` from the repository root.
pub fn tilepress(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tilepress"))
        .args(args)
        .current_dir(repo())
        .env_remove("RUST_LOG")
        .output()
        .expect("run tilepress")
}

/// Runs `tilepress ARGS` with extra environment variables.
pub fn tilepress_env(args: &[&str], env: &[(&str, String)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tilepress"));
    command.args(args).current_dir(repo()).env_remove("RUST_LOG").env_remove("AWS_PROFILE");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run tilepress")
}

/// Runs a build that must succeed, returning its stdout.
pub fn build_ok(args: &[&str]) -> String {
    let out = tilepress(args);
    assert!(out.status.success(), "tilepress {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// Builds a tileset into `dir/NAME` with `--json` and returns the summary.
pub fn build_json(tileset: &Path, output: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["build", tileset.to_str().expect("path"), "-o", output.to_str().expect("path"), "--json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&build_ok(&args)).expect("the --json summary is one JSON object")
}

pub fn open(mbtiles: &Path) -> Connection {
    Connection::open_with_flags(mbtiles, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open mbtiles")
}

/// Every `(z, x, tms_row, tile_id)` of the `map` table, in order.
pub fn tile_ids(mbtiles: &Path) -> Vec<(u8, u32, u32, String)> {
    let conn = open(mbtiles);
    let mut stmt = conn
        .prepare(
            "SELECT zoom_level, tile_column, tile_row, tile_id FROM map ORDER BY zoom_level, tile_column, tile_row",
        )
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// Every `(tile_id, tile_data)` of the `images` table, in id order: the bytes, to compare two builds.
pub fn images(mbtiles: &Path) -> Vec<(String, Vec<u8>)> {
    let conn = open(mbtiles);
    let mut stmt = conn.prepare("SELECT tile_id, tile_data FROM images ORDER BY tile_id").expect("prepare");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).expect("query").collect::<Result<_, _>>().expect("rows")
}

/// The layer names GDAL's MVT driver lists for an MBTiles (`ogrinfo -so`: lines `N: name`).
pub fn ogrinfo_layers(mbtiles: &Path) -> Vec<String> {
    let info = Command::new("ogrinfo").args(["-ro", "-so", "-q"]).arg(mbtiles).output().expect("run ogrinfo (GDAL)");
    assert!(info.status.success(), "ogrinfo: {}", String::from_utf8_lossy(&info.stderr));
    let listing = String::from_utf8_lossy(&info.stdout);
    listing
        .lines()
        .filter_map(|l| {
            l.split_once(": ").filter(|(n, _)| n.parse::<u32>().is_ok()).map(|(_, id)| id.trim().to_owned())
        })
        .collect()
}

pub fn metadata(mbtiles: &Path, key: &str) -> Option<String> {
    open(mbtiles).query_row("SELECT value FROM metadata WHERE name = ?1", [key], |r| r.get(0)).ok()
}

pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("TILEPRESS_PYTHON").map(PathBuf::from).filter(|p| p.exists()) {
        return p;
    }
    let venv = repo().join(".venv/bin/python");
    if venv.exists() { venv } else { PathBuf::from("python3") }
}

fn probe(args: &[&str]) -> Value {
    let out = Command::new(python())
        .arg(repo().join("tests/common/mvt_probe.py"))
        .args(args)
        .output()
        .expect("run python (make test-deps installs it with mapbox-vector-tile)");
    assert!(
        out.status.success(),
        "mvt_probe.py {args:?} failed (run `make test-deps`):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("probe JSON")
}

/// Decodes tile z/x/y (XYZ) with the independent decoder: `{layer: {extent, version, features}}`, or null.
pub fn decode(mbtiles: &Path, z: u8, x: u32, y: u32) -> Value {
    probe(&["decode", mbtiles.to_str().expect("path"), &z.to_string(), &x.to_string(), &y.to_string()])
}

/// The properties of every feature of every tile, decoded independently: `{"z/x/y": {layer: [properties…]}}`.
pub fn tile_properties(mbtiles: &Path) -> Value {
    probe(&["properties", mbtiles.to_str().expect("path")])
}

/// Where lon/lat lands at zoom z, by the probe's own Mercator formula: (x, y, px, py).
pub fn locate(lon: f64, lat: f64, z: u8) -> (u32, u32, f64, f64) {
    let v = probe(&["locate", &lon.to_string(), &lat.to_string(), &z.to_string()]);
    let f = |k: &str| v[k].as_f64().expect("number");
    (f("x") as u32, f("y") as u32, f("px"), f("py"))
}

/// Every polygon of every tile checked by GEOS (through shapely): `{polygons, invalid: [...]}`.
pub fn polygon_validity(mbtiles: &Path) -> Value {
    probe(&["validity", mbtiles.to_str().expect("path")])
}

/// Twice the signed area of a decoded ring in tile coordinates (y down): positive = clockwise on screen.
pub fn ring_area2(ring: &[Value]) -> f64 {
    let pts: Vec<(f64, f64)> = ring.iter().map(|p| (p[0].as_f64().expect("x"), p[1].as_f64().expect("y"))).collect();
    (0..pts.len())
        .map(|i| {
            let (a, b) = (pts[i], pts[(i + 1) % pts.len()]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum()
}

/// A temporary folder with a tileset file written into it; source paths in `toml` are as given.
pub fn tileset_in(dir: &Path, toml: &str) -> PathBuf {
    let path = dir.join("tileset.toml");
    std::fs::write(&path, toml).expect("write tileset");
    path
}

/// A Valletta tileset in its own folder under `dir`, with one POI moved to `lon` (`point_rate = 1`: every POI at
/// every zoom, since these tests count the tiles one POI touches).
pub fn valletta(dir: &Path, lon: f64) -> PathBuf {
    let dir = dir.join(format!("valletta-{lon}"));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let text = std::fs::read_to_string(repo().join("fixtures/valletta.geojson")).expect("fixture");
    let mut doc: Value = serde_json::from_str(&text).expect("json");
    let features = doc["features"].as_array_mut().expect("features");
    let poi = features.iter_mut().find(|f| f["properties"]["name"] == "Il-Furjana").expect("poi");
    poi["geometry"]["coordinates"][0] = json!(lon);
    std::fs::write(dir.join("valletta.geojson"), serde_json::to_vec(&doc).expect("json")).expect("write");
    tileset_in(
        &dir,
        "name = \"valletta\"\nminzoom = 10\nmaxzoom = 14\n[generalize]\npoint_rate = 1\n[[layers]]\nid = \"v\"\nsource = \"valletta.geojson\"\n",
    )
}

/// Reads a PMTiles with the reference Python reader (`tests/common/pmtiles_probe.py`, PyPI `pmtiles`).
pub fn pmtiles_probe(args: &[&str]) -> Value {
    let out = Command::new(python())
        .arg(repo().join("tests/common/pmtiles_probe.py"))
        .args(args)
        .output()
        .expect("run python (make test-deps installs it with pmtiles)");
    assert!(
        out.status.success(),
        "pmtiles_probe.py {args:?} failed (run `make test-deps`):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("probe JSON")
}
