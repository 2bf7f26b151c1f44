//! Manifests and diffs through the CLI: identical builds, an edited feature, a deleted feature, another tool's
//! MBTiles, and damaged manifest files.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

fn diff(a: &Path, b: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["diff", a.to_str().expect("path"), b.to_str().expect("path"), "--json"];
    args.extend_from_slice(extra);
    let out = tilepress(&args);
    let code = out.status.code().expect("exit code");
    let value = if code == 2 { Value::Null } else { serde_json::from_slice(&out.stdout).expect("diff --json") };
    (code, value)
}

fn manifest_of(mbtiles: &Path) -> PathBuf {
    mbtiles.with_extension("manifest.zst")
}

#[test]
fn building_twice_gives_identical_manifests_and_the_mbtiles_gives_the_same_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a.mbtiles"), dir.path().join("b.mbtiles"));
    let sa = build_json(&repo().join("tilesets/default.toml"), &a, &["--threads", "1"]);
    let sb = build_json(&repo().join("tilesets/default.toml"), &b, &["--threads", "2"]);
    let bytes_a = std::fs::read(manifest_of(&a)).expect("build writes a manifest beside the MBTiles");
    assert_eq!(bytes_a, std::fs::read(manifest_of(&b)).expect("manifest b"), "byte-identical manifests");
    assert_eq!(sa["manifest_sha256"], sb["manifest_sha256"]);
    let (code, d) = diff(&manifest_of(&a), &manifest_of(&b), &[]);
    assert_eq!(code, 0);
    assert_eq!(d["identical"], true);
    assert_eq!(d["total"]["unchanged"], sa["tiles"]);

    // `tilepress manifest` of the MBTiles reproduces the build's manifest exactly.
    let again = dir.path().join("again.manifest.zst");
    build_ok(&["manifest", a.to_str().expect("path"), "-o", again.to_str().expect("path")]);
    assert_eq!(std::fs::read(&again).expect("again"), bytes_a);
}

/// A copy of fixtures/valletta.geojson with `edit` applied to the parsed document, and a tileset over it.
fn valletta_variant(dir: &Path, name: &str, edit: impl FnOnce(&mut Vec<Value>)) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("fixtures/valletta.geojson")).expect("fixture");
    let mut doc: Value = serde_json::from_str(&text).expect("json");
    let features = doc["features"].as_array_mut().expect("features");
    edit(features);
    let source = dir.join(format!("{name}.geojson"));
    std::fs::write(&source, serde_json::to_vec(&doc).expect("json")).expect("write");
    let tileset = dir.join(format!("{name}.toml"));
    std::fs::write(
        &tileset,
        format!(
            "name = \"valletta\"\nminzoom = 10\nmaxzoom = 14\n[generalize]\npoint_rate = 1\n[[layers]]\nid = \"v\"\nsource = \"{name}.geojson\"\n"
        ),
    )
    .expect("write");
    tileset
}

fn find<'a>(features: &'a mut [Value], name: &str) -> &'a mut Value {
    features.iter_mut().find(|f| f["properties"]["name"] == name).expect("feature")
}

#[test]
fn moving_one_feature_changes_exactly_the_tiles_it_touches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = valletta_variant(dir.path(), "base", |_| {});
    // Il-Furjana, a POI at 14.5052716, 35.8929838, moved 0.0005° east: it stays in its tile at every zoom.
    let moved = valletta_variant(dir.path(), "moved", |features| {
        find(features, "Il-Furjana")["geometry"]["coordinates"][0] = serde_json::json!(14.5057716);
    });
    let (a, b) = (dir.path().join("base.mbtiles"), dir.path().join("moved.mbtiles"));
    build_json(&base, &a, &[]);
    let summary = build_json(&moved, &b, &[]);
    let (code, d) = diff(&manifest_of(&a), &manifest_of(&b), &["--list"]);
    assert_eq!(code, 1, "differences exit 1");
    let changed: Vec<String> = d["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            assert_eq!(c["change"], "changed");
            c["tile"].as_str().expect("tile").to_owned()
        })
        .collect();
    let expected: Vec<String> = (10..=14u8)
        .map(|z| {
            let (x, y, px, py) = locate(14.505_771_6, 35.892_983_8, z);
            assert!(px > 64.0 && px < 4032.0 && py > 64.0 && py < 4032.0, "the test point must be away from edges");
            format!("{z}/{x}/{y}")
        })
        .collect();
    assert_eq!(changed, expected, "exactly one tile per zoom changes");
    assert_eq!(d["total"]["added"], 0);
    assert_eq!(d["total"]["removed"], 0);
    assert_eq!(d["total"]["unchanged"].as_u64(), summary["tiles"].as_u64().map(|t| t - 5));
    assert_eq!(d["header_changes"], serde_json::json!(["sources"]), "the source file's fingerprint changed");
}

#[test]
fn deleting_a_feature_removes_the_tiles_only_it_covered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let make = |name: &str, points: &[(f64, f64)]| {
        let features: Vec<Value> = points
            .iter()
            .map(|(lon, lat)| {
                serde_json::json!({"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [lon, lat]}})
            })
            .collect();
        std::fs::write(
            dir.path().join(format!("{name}.geojson")),
            serde_json::to_vec(&serde_json::json!({"type": "FeatureCollection", "features": features})).expect("json"),
        )
        .expect("write");
        let tileset = dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &tileset,
            format!(
                "name = \"p\"\nmaxzoom = 5\n[generalize]\npoint_rate = 1\n[[layers]]\nid = \"p\"\nsource = \"{name}.geojson\"\n"
            ),
        )
        .expect("write");
        let out = dir.path().join(format!("{name}.mbtiles"));
        build_json(&tileset, &out, &[]);
        out
    };
    // Valletta and Monaco share tiles at z0–2 and part ways from z3 on.
    let both = make("both", &[(14.51, 35.89), (7.42, 43.73)]);
    let one = make("one", &[(14.51, 35.89)]);
    let (code, d) = diff(&manifest_of(&both), &manifest_of(&one), &["--list"]);
    assert_eq!(code, 1);
    let mut removed = Vec::new();
    let mut changed = Vec::new();
    for c in d["changes"].as_array().expect("changes") {
        let tile = c["tile"].as_str().expect("tile").to_owned();
        match c["change"].as_str() {
            Some("removed") => removed.push(tile),
            Some("changed") => changed.push(tile),
            other => panic!("unexpected change {other:?}"),
        }
    }
    let shared = |z: u8| {
        locate(14.51, 35.89, z).0 == locate(7.42, 43.73, z).0 && locate(14.51, 35.89, z).1 == locate(7.42, 43.73, z).1
    };
    let tile = |z: u8| {
        let (x, y, _, _) = locate(7.42, 43.73, z);
        format!("{z}/{x}/{y}")
    };
    let expected_removed: Vec<String> = (0..=5).filter(|z| !shared(*z)).map(tile).collect();
    let expected_changed: Vec<String> = (0..=5).filter(|z| shared(*z)).map(tile).collect();
    assert_eq!(removed, expected_removed);
    assert_eq!(changed, expected_changed);
    assert_eq!(d["total"]["removed"].as_u64(), Some(expected_removed.len() as u64));
    assert!(d["total"]["removed_bytes"].as_u64().expect("bytes") > 0);
    // And the other way round they are additions.
    let (_, back) = diff(&manifest_of(&one), &manifest_of(&both), &[]);
    assert_eq!(back["total"]["added"], d["total"]["removed"]);
}

#[test]
fn another_tools_mbtiles_gets_a_manifest_of_all_its_tiles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gdal = dir.path().join("gdal.mbtiles");
    let status = Command::new("ogr2ogr")
        .args(["-f", "MBTILES"])
        .arg(&gdal)
        .arg(repo().join("fixtures/monaco.geojson"))
        .args(["-dsco", "MINZOOM=10", "-dsco", "MAXZOOM=13"])
        .status()
        .expect("ogr2ogr (make test-deps installs gdal-bin)");
    assert!(status.success());
    let out = dir.path().join("gdal.manifest.zst");
    let info: Value = serde_json::from_str(&build_ok(&[
        "manifest",
        gdal.to_str().expect("path"),
        "-o",
        out.to_str().expect("path"),
        "--json",
    ]))
    .expect("json");
    let count: i64 = open(&gdal).query_row("SELECT count(*) FROM tiles", [], |r| r.get(0)).expect("count");
    assert!(count > 0);
    assert_eq!(info["tiles"].as_i64(), Some(count));
    let (code, d) = diff(&out, &out, &[]);
    assert_eq!((code, d["total"]["unchanged"].as_i64()), (0, Some(count)));
}

#[test]
fn damaged_manifests_are_errors_with_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.mbtiles");
    build_json(&repo().join("tilesets/default.toml"), &a, &["--maxzoom", "4"]);
    let good = manifest_of(&a);
    let bytes = std::fs::read(&good).expect("manifest");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated.manifest.zst", bytes[..bytes.len() / 2].to_vec(), "truncated.manifest.zst"),
        (
            "flipped.manifest.zst",
            {
                let mut b = bytes.clone();
                let i = b.len() / 2;
                b[i] ^= 0xFF;
                b
            },
            "flipped.manifest.zst",
        ),
        ("text.manifest.zst", b"hello".to_vec(), "text.manifest.zst"),
    ];
    for (name, content, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, content).expect("write");
        let out = tilepress(&["diff", good.to_str().expect("path"), path.to_str().expect("path")]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected) && !stderr.contains("panicked"), "{name}: {stderr}");
        assert!(out.stdout.is_empty(), "{name}: no partial diff is printed");
    }
    let missing = tilepress(&["diff", good.to_str().expect("path"), "/nonexistent/x.manifest.zst"]);
    assert_eq!(missing.status.code(), Some(2));
}
