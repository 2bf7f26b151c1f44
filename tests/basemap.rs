//! The OpenMapTiles-style basemaps (`tilesets/monaco-basemap.toml`, `tilesets/malta-basemap.toml`): every one of
//! the eleven layers is declared in `vector_layers`, the layers the extract has data for are in the tiles (decoded
//! independently) with OpenMapTiles class values, GDAL lists them, martin's `mbtiles validate` passes, every
//! polygon is GEOS-valid, and the bytes are the same on 1 and 8 threads. The Malta tests read
//! `../shared/fixtures-peers/malta-latest.osm.pbf` and are skipped (saying so) without it.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

const LAYERS: [&str; 11] = [
    "water",
    "waterway",
    "landuse",
    "landcover",
    "park",
    "building",
    "transportation",
    "transportation_name",
    "place",
    "poi",
    "boundary",
];

/// The layers Monaco's extract has data for: all but `park` (it has no national park or nature reserve).
fn monaco_has() -> Vec<&'static str> {
    LAYERS.into_iter().filter(|l| *l != "park").collect()
}

fn malta_present() -> bool {
    let path = repo().join("../shared/fixtures-peers/malta-latest.osm.pbf");
    let there = path.is_file();
    if !there {
        eprintln!("skipped: {} is not there (it sits beside the repository in CI)", path.display());
    }
    there
}

/// For every layer seen in the tiles, the `class` values its features carry (decoded with mapbox-vector-tile).
fn classes_in_tiles(mbtiles: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for layers in tile_properties(mbtiles).as_object().expect("tiles").values() {
        for (layer, features) in layers.as_object().expect("layers") {
            let classes = seen.entry(layer.clone()).or_default();
            for f in features.as_array().expect("features") {
                if let Some(class) = f["class"].as_str() {
                    classes.insert(class.to_owned());
                }
            }
        }
    }
    seen
}

fn vector_layer_ids(mbtiles: &Path) -> Vec<String> {
    let json: Value = serde_json::from_str(&metadata(mbtiles, "json").expect("json metadata")).expect("json");
    json["vector_layers"]
        .as_array()
        .expect("vector_layers")
        .iter()
        .map(|l| l["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Builds `tilesets/NAME.toml` and checks what every basemap must hold; gives the classes seen per layer.
fn check_basemap(name: &str, has: &[&str], dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let out = dir.join(format!("{name}.mbtiles"));
    let summary = build_json(&repo().join(format!("tilesets/{name}.toml")), &out, &[]);
    let ids = vector_layer_ids(&out);
    for layer in LAYERS {
        assert!(ids.iter().any(|id| id == layer), "{name}: vector_layers has {layer}: {ids:?}");
    }
    for layer in has {
        let features = summary["layers"].as_array().expect("layers").iter().find(|l| l["id"] == *layer);
        assert!(features.and_then(|l| l["features"].as_u64()).is_some_and(|n| n > 0), "{name}: {layer}: {summary}");
    }
    let seen = classes_in_tiles(&out);
    for layer in has {
        assert!(seen.contains_key(*layer), "{name}: the tiles hold {layer}: {:?}", seen.keys());
    }
    let validity = polygon_validity(&out);
    assert!(validity["polygons"].as_u64().expect("n") > 1000, "{validity}");
    assert_eq!(validity["invalid"], serde_json::json!([]), "{name}: every polygon is GEOS-valid");
    let listed = ogrinfo_layers(&out);
    for layer in has {
        assert!(listed.iter().any(|l| l == layer), "{name}: ogrinfo lists {layer}: {listed:?}");
    }
    seen
}

fn expect_classes(seen: &BTreeMap<String, BTreeSet<String>>, layer: &str, classes: &[&str]) {
    for class in classes {
        assert!(seen[layer].contains(*class), "{layer} has class {class}: {:?}", seen[layer]);
    }
}

#[test]
fn the_monaco_basemap_has_the_openmaptiles_layers_and_classes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seen = check_basemap("monaco-basemap", &monaco_has(), dir.path());
    expect_classes(&seen, "transportation", &["primary", "minor", "path", "service"]);
    expect_classes(&seen, "water", &["lake"]);
    expect_classes(&seen, "place", &["suburb"]);
    expect_classes(&seen, "poi", &["restaurant", "lodging"]);
    // The class values OpenMapTiles names, not raw tags: no `residential` road class, no `_link`.
    assert!(!seen["transportation"].iter().any(|c| c == "residential" || c.ends_with("_link")), "{seen:?}");
}

#[test]
fn the_malta_basemap_has_every_layer_in_its_tiles() {
    if !malta_present() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let seen = check_basemap("malta-basemap", &LAYERS, dir.path());
    expect_classes(&seen, "transportation", &["trunk", "primary", "minor", "track", "path", "ferry"]);
    expect_classes(&seen, "landcover", &["farmland", "grass", "wood", "sand"]);
    expect_classes(&seen, "landuse", &["residential", "industrial"]);
    expect_classes(&seen, "place", &["town", "village"]);
}

#[test]
fn mbtiles_validate_passes_on_the_basemap() {
    let Ok(version) = Command::new("mbtiles").arg("--version").output() else {
        eprintln!("skipped: martin's `mbtiles` is not installed (make test-deps)");
        return;
    };
    assert!(version.status.success());
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("monaco-basemap.mbtiles");
    build_json(&repo().join("tilesets/monaco-basemap.toml"), &out, &[]);
    let run = Command::new("mbtiles").arg("validate").arg(&out).output().expect("run mbtiles");
    let text = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "mbtiles validate failed:\n{text}");
    assert!(text.contains("agg_tiles_hash has been verified") && text.contains("All tile hashes are valid"), "{text}");
}

fn same_bytes_on_1_and_8_threads(name: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let tileset = repo().join(format!("tilesets/{name}.toml"));
    let builds: Vec<_> = ["1", "8"]
        .iter()
        .map(|threads| {
            let out = dir.path().join(format!("t{threads}.mbtiles"));
            let summary = build_json(&tileset, &out, &["--threads", threads]);
            (tile_ids(&out), images(&out), summary["layers"].clone())
        })
        .collect();
    assert!(!builds[0].1.is_empty(), "{name}: no tiles");
    assert!(builds[0] == builds[1], "{name}: tiles differ between 1 and 8 threads");
}

#[test]
fn the_monaco_basemap_is_the_same_bytes_on_1_and_8_threads() {
    same_bytes_on_1_and_8_threads("monaco-basemap");
}

#[test]
fn the_malta_basemap_is_the_same_bytes_on_1_and_8_threads() {
    if malta_present() {
        same_bytes_on_1_and_8_threads("malta-basemap");
    }
}
