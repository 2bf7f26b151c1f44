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
        ("point_rate = 0.5", "generalize.point_rate"),
        ("base_zoom = 40", "generalize.base_zoom"),
        ("extend_zooms_if_still_dropping = \"yes\"", "extend_zooms_if_still_dropping"),
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

fn valletta_tileset(dir: &std::path::Path, head: &str, layer: &str) -> std::path::PathBuf {
    tileset_in(
        dir,
        &format!(
            "name = \"t\"\n{head}\n[[layers]]\nid = \"v\"\nsource = \"{}\"\n{layer}\n",
            repo().join("fixtures/valletta.geojson").display()
        ),
    )
}

#[test]
fn maxzoom_auto_is_guessed_from_the_spacing_of_the_data_and_written_to_the_metadata() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tileset = valletta_tileset(dir.path(), "maxzoom = \"auto\"", "");
    let out = dir.path().join("auto.mbtiles");
    let summary = build_json(&tileset, &out, &[]);
    // Valletta's OSM features lie about 26 m apart: a 256-pixel tile draws them a pixel apart at z13.
    let guess = &summary["maxzoom_guess"];
    assert_eq!(guess["zoom"], 13, "{summary}");
    let spacing = guess["feature_spacing_m"].as_f64().expect("spacing");
    assert!((15.0..40.0).contains(&spacing), "{guess}");
    assert!(guess["vertex_spacing_m"].as_f64().is_some_and(|m| m > 1.0), "{guess}");
    assert_eq!(summary["maxzoom"], 13);
    assert_eq!(metadata(&out, "maxzoom").as_deref(), Some("13"));
    let deepest: i64 = open(&out).query_row("SELECT max(zoom_level) FROM tiles", [], |r| r.get(0)).expect("max");
    assert_eq!(deepest, 13);
    let json: Value = serde_json::from_str(&metadata(&out, "json").expect("json")).expect("json");
    assert_eq!(json["vector_layers"][0]["maxzoom"], 13, "{json}");

    // `--maxzoom` overrides the guess; a layer's own max zoom is kept (the build goes as deep as it).
    let summary = build_json(&tileset, &dir.path().join("given.mbtiles"), &["--maxzoom", "9"]);
    assert_eq!((summary["maxzoom"].clone(), summary["maxzoom_guess"].clone()), (9.into(), Value::Null));
    let own = valletta_tileset(dir.path(), "maxzoom = \"auto\"", "maxzoom = 15");
    assert_eq!(build_json(&own, &dir.path().join("own.mbtiles"), &[])["maxzoom"], 15);

    for bad in ["maxzoom = \"deep\"", "maxzoom = 2.5"] {
        let tileset = valletta_tileset(dir.path(), bad, "");
        let r = tilepress(&["build", tileset.to_str().expect("path"), "-o", out.to_str().expect("p")]);
        assert_eq!(r.status.code(), Some(3), "{bad}");
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert!(stderr.contains("maxzoom") && stderr.contains("\"auto\""), "{bad}: {stderr}");
    }
}

#[test]
fn extend_zooms_goes_deeper_until_a_zoom_drops_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A budget so small that z12 must drop features from the whole zoom.
    let tileset = valletta_tileset(dir.path(), "minzoom = 10\nmaxzoom = 12\n[limits]\nmax_tile_bytes = 20_000", "");
    let plain = build_json(&tileset, &dir.path().join("plain.mbtiles"), &[]);
    assert_eq!(plain["maxzoom"], 12);
    let at = |summary: &Value, z: u64| -> u64 {
        summary["generalized"]
            .as_array()
            .expect("generalized")
            .iter()
            .find(|r| r["zoom"].as_u64() == Some(z))
            .map_or(0, |r| r["budget_dropped"].as_u64().unwrap_or(0) + r["cap_dropped"].as_u64().unwrap_or(0))
    };
    assert!(at(&plain, 12) > 0, "the budget must bite at z12: {plain}");
    let out = dir.path().join("extended.mbtiles");
    let extended = build_json(&tileset, &out, &["--extend-zooms-if-still-dropping"]);
    let deepest = extended["maxzoom"].as_u64().expect("maxzoom");
    assert!(deepest > 12 && deepest <= 20, "{extended}");
    assert_eq!(extended["extended_from"], 12);
    assert_eq!(at(&extended, deepest), 0, "the deepest zoom drops nothing: {extended}");
    assert!(at(&extended, deepest - 1) > 0, "and the one above it still did: {extended}");
    assert_eq!(metadata(&out, "maxzoom"), Some(deepest.to_string()));
    assert!(largest_tile(&out) <= 20_000);
    // The extended zooms keep the guarantees of the others: neighbouring tiles agree on every feature.
    let report = probe(&out, &repo().join("fixtures/valletta.geojson"), 10, deepest as u8);
    assert_eq!(report["consistency"], serde_json::json!([]), "{report}");
    // The tileset key does the same.
    let keyed = valletta_tileset(
        dir.path(),
        "minzoom = 10\nmaxzoom = 12\n[limits]\nmax_tile_bytes = 20_000\n[generalize]\nextend_zooms_if_still_dropping = true",
        "",
    );
    assert_eq!(build_json(&keyed, &dir.path().join("keyed.mbtiles"), &[])["maxzoom"], deepest);
}

#[test]
fn coalesce_densest_merges_into_neighbours_that_count_them_the_same_in_every_tile() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = repo().join("fixtures/valletta.geojson");
    let (out, summary) = build(dir.path(), "coalesce", "as_needed = \"coalesce-densest\"\nmax_tile_bytes = 12_000");
    assert!(largest_tile(&out) <= 12_000, "a tile over the budget");
    let report = probe(&out, &source, 11, 15);
    assert_eq!(report["consistency"], serde_json::json!([]), "{report}");
    let zooms = summary["generalized"].as_array().expect("generalized");
    let coalesced: Vec<&Value> = zooms.iter().filter(|z| z["coalesced"].as_u64() > Some(0)).collect();
    assert!(!coalesced.is_empty(), "the budget must make features merge: {summary}");
    // Decoded independently: at each zoom, every neighbour carries one `coalesced_count` in all its tiles, and the
    // counts add up to what the summary says merged.
    let tiles = tile_properties(&out);
    for zoom in &coalesced {
        let z = zoom["zoom"].as_u64().expect("zoom");
        let mut counts: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
        for (id, layers) in tiles.as_object().expect("tiles") {
            if !id.starts_with(&format!("{z}/")) {
                continue;
            }
            for properties in layers["v"].as_array().into_iter().flatten() {
                if let Some(count) = properties["coalesced_count"].as_i64() {
                    let osm_id = properties["osm_id"].as_str().expect("osm_id").to_owned();
                    let previous = counts.insert(osm_id.clone(), count);
                    assert!(previous.is_none_or(|p| p == count), "z{z}: {osm_id} counts differently in two tiles");
                }
            }
        }
        let merged: i64 = counts.values().map(|c| c - 1).sum();
        assert_eq!(merged as u64, zoom["coalesced"].as_u64().expect("coalesced"), "z{z}: {zoom}");
    }
    let validity = polygon_validity(&out);
    assert_eq!(validity["invalid"], serde_json::json!([]), "{validity}");
    let json: Value = serde_json::from_str(&metadata(&out, "json").expect("json")).expect("json");
    assert_eq!(json["vector_layers"][0]["fields"]["coalesced_count"], "Number", "{json}");
}
