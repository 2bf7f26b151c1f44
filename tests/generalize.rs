//! Generalization through the CLI, checked with an independent decoder and shapely (`generalize_probe.py`):
//! points thin out below the base zoom, a feature shown at a zoom is in every tile of it that it crosses (tiles
//! that share an edge agree), a point shown at z is shown at z + 1, and a zoom over the tile budget meets it as a
//! whole, with no tile over it.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

fn probe(out: &std::path::Path, source: &std::path::Path, zmin: u8, zmax: u8) -> Value {
    let run = Command::new(python())
        .arg(repo().join("tests/common/generalize_probe.py"))
        .arg(out)
        .arg(source)
        .args(["v", &zmin.to_string(), &zmax.to_string()])
        .output()
        .expect("run python (make test-deps installs mapbox-vector-tile and shapely)");
    assert!(run.status.success(), "generalize_probe.py failed:\n{}", String::from_utf8_lossy(&run.stderr));
    serde_json::from_slice(&run.stdout).expect("probe JSON")
}

fn build(dir: &std::path::Path, name: &str, generalize: &str) -> (std::path::PathBuf, Value) {
    let source = repo().join("fixtures/valletta.geojson");
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder).expect("mkdir");
    let tileset = tileset_in(
        &folder,
        &format!(
            "name = \"{name}\"\nminzoom = 11\nmaxzoom = 15\n[generalize]\n{generalize}\n[[layers]]\nid = \"v\"\n\
             source = \"{}\"\n",
            source.display()
        ),
    );
    let out = folder.join("out.mbtiles");
    let summary = build_json(&tileset, &out, &[]);
    (out, summary)
}

fn largest_tile(out: &std::path::Path) -> i64 {
    open(out).query_row("SELECT max(length(tile_data)) FROM tiles", [], |r| r.get(0)).expect("max")
}

#[test]
fn thinned_points_and_budget_drops_agree_across_tile_edges_and_stay_monotonic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = repo().join("fixtures/valletta.geojson");
    for (name, generalize, budget) in [
        ("defaults", "", None),
        ("densest", "as_needed = \"drop-densest\"\nmax_tile_bytes = 12_000", Some(12_000)),
        ("smallest", "as_needed = \"drop-smallest\"\nmax_tile_bytes = 12_000", Some(12_000)),
    ] {
        let (out, summary) = build(dir.path(), name, generalize);
        let report = probe(&out, &source, 11, 15);
        assert_eq!(report["consistency"], serde_json::json!([]), "{name}: {report}");
        assert_eq!(report["monotonic"], serde_json::json!([]), "{name}: {report}");
        // The checks had something to catch: features thinned or dropped, and features that cross tile edges.
        assert!(report["thinned"].as_u64().expect("thinned") > 500, "{name}: {report}");
        assert!(report["checked"].as_u64().expect("checked") > 5_000, "{name}: {report}");
        let spanning: u64 = (11..=15).map(|z| report["zooms"][z.to_string()]["spanning"].as_u64().unwrap_or(0)).sum();
        assert!(spanning > 150, "{name}: only {spanning} features cross a tile edge: {report}");
        let zooms = summary["generalized"].as_array().expect("generalized");
        assert!(zooms.iter().any(|z| z["thinned"].as_u64() > Some(0)), "{name}: the summary tells the thinning");
        if let Some(budget) = budget {
            assert!(largest_tile(&out) <= budget, "{name}: a tile over the budget");
            let over: Vec<&Value> = zooms.iter().filter(|z| z["over_budget_tiles"].as_u64() > Some(0)).collect();
            assert!(!over.is_empty(), "{name}: the budget must bite in this test: {summary}");
            assert!(over.iter().all(|z| z["budget_dropped"].as_u64() > Some(0)));
            assert!(summary["features_dropped"].as_u64() > Some(0));
        }
    }
}

#[test]
fn points_thin_by_about_the_rate_per_zoom_and_rate_one_keeps_them_all() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = repo().join("fixtures/valletta.geojson");
    let points = |out: &std::path::Path, z: u8| -> usize {
        let report = probe(out, &source, z, z);
        report["zooms"][z.to_string()]["shown"].as_u64().expect("shown") as usize
    };
    let (thinned, _) = build(dir.path(), "rate", "point_rate = 4");
    let (all, _) = build(dir.path(), "all", "point_rate = 1");
    // 1,138 POIs: at z13, two zooms below the base, about 1/16 of them are shown (plus every line and polygon).
    let (full12, thin12) = (points(&all, 13), points(&thinned, 13));
    let expected = 1138 - 1138 / 16;
    assert!(
        full12 - thin12 >= expected - 40 && full12 - thin12 <= expected + 40,
        "z13: {thin12} shown of {full12}; about {expected} points should be thinned"
    );
    assert_eq!(points(&all, 15), points(&thinned, 15), "every point is shown at the base zoom");
}

#[test]
fn bad_generalize_settings_name_their_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (setting, key) in [
        ("as_needed = \"drop-most\"", "generalize.as_needed"),
        ("as_needed = \"coalesce-densest\"", "not available yet"),
        ("point_rate = 0.5", "generalize.point_rate"),
        ("base_zoom = 40", "generalize.base_zoom"),
        ("colour = 1", "colour"),
    ] {
        let tileset = tileset_in(
            dir.path(),
            &format!(
                "name = \"t\"\n[generalize]\n{setting}\n[[layers]]\nid = \"v\"\nsource = \"{}\"\n",
                repo().join("fixtures/valletta.geojson").display()
            ),
        );
        let r = tilepress(&[
            "build",
            tileset.to_str().expect("path"),
            "-o",
            dir.path().join("o.mbtiles").to_str().expect("p"),
        ]);
        assert_eq!(r.status.code(), Some(3), "{setting}");
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert!(stderr.contains(key) && stderr.contains("tileset.toml"), "{setting}: {stderr}");
    }
}
