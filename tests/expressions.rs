//! Tileset expressions through the CLI: one source split into layers by `filter`, per-feature minimum zooms
//! (`minzoom_by`) and computed properties, checked tile by tile with Python's mapbox-vector-tile.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use serde_json::{Value, json};

/// Six features around Valletta: three roads, two points, a building.
fn source() -> Value {
    let line = |name: &str, highway: &str, lanes: Option<&str>| {
        let mut properties = json!({"kind": "road", "highway": highway, "name": name});
        if let Some(lanes) = lanes {
            properties["lanes"] = json!(lanes);
        }
        json!({"type": "Feature", "properties": properties,
               "geometry": {"type": "LineString", "coordinates": [[14.505, 35.895], [14.515, 35.899]]}})
    };
    let point = |properties: Value| {
        json!({"type": "Feature", "properties": properties,
               "geometry": {"type": "Point", "coordinates": [14.51, 35.897]}})
    };
    json!({"type": "FeatureCollection", "features": [
        line("Triq A", "primary", Some("2")),
        line("Triq B", "residential", None),
        line("Triq C", "service", Some("1")),
        point(json!({"kind": "poi", "name": "Café"})),
        point(json!({"kind": "poi", "class": "bench"})),
        {"type": "Feature", "properties": {"kind": "building", "name": "Auberge"},
         "geometry": {"type": "Polygon", "coordinates": [[[14.51, 35.896], [14.511, 35.896], [14.511, 35.897],
                                                          [14.51, 35.896]]]}},
    ]})
}

const TILESET: &str = r#"
name = "split"
minzoom = 8
maxzoom = 12
bounds = [14.5, 35.89, 14.52, 35.9]

[[layers]]
id = "roads"
source = "features.geojson"
filter = ["==", "kind", "road"]
minzoom_by = ["match", ["get", "highway"], "primary", 0, "residential", 10, 15]
properties = { class = ["get", "highway"], name = ["get", "name"], lanes = ["to-number", ["get", "lanes"]] }

[[layers]]
id = "pois"
source = "features.geojson"
minzoom = 9
filter = ["all", ["==", ["geometry-type"], "Point"], ["has", "name"]]
properties = ["name"]
"#;

#[test]
fn one_source_split_into_layers_with_per_feature_zooms_and_renamed_properties() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("features.geojson"), source().to_string()).expect("write source");
    let tileset = tileset_in(dir.path(), TILESET);
    let out = dir.path().join("split.mbtiles");
    let summary = build_json(&tileset, &out, &[]);

    // The source is read once for both layers; each layer counts what its filter (or minzoom_by) left out.
    assert_eq!(summary["features_read"], 6);
    assert_eq!(summary["features_filtered"], 4 + 5);
    let layers = summary["layers"].as_array().expect("layers");
    assert_eq!(layers[0]["id"], "roads");
    assert_eq!((&layers[0]["features"], &layers[0]["filtered"], &layers[0]["read"]), (&json!(2), &json!(4), &json!(6)));
    assert_eq!(layers[1]["id"], "pois");
    assert_eq!((&layers[1]["features"], &layers[1]["filtered"]), (&json!(1), &json!(5)));

    // Per zoom, the features of each layer over all tiles: roads from z8 (primary: minzoom_by 0, clamped to the
    // layer's 8) and z10 (residential); the service road (15 > maxzoom 12) never; the POI from the layer's z9.
    let tiles = tile_properties(&out);
    let mut by_zoom: BTreeMap<(u8, String), BTreeSet<String>> = BTreeMap::new();
    for (address, layers) in tiles.as_object().expect("tiles") {
        let z: u8 = address.split('/').next().and_then(|z| z.parse().ok()).expect("zoom");
        for (layer, features) in layers.as_object().expect("layers") {
            for properties in features.as_array().expect("features") {
                match (layer.as_str(), properties["name"].as_str()) {
                    ("roads", Some("Triq A")) => {
                        assert_eq!(properties, &json!({"class": "primary", "lanes": 2, "name": "Triq A"}))
                    }
                    ("roads", _) => assert_eq!(properties, &json!({"class": "residential", "name": "Triq B"})),
                    _ => assert_eq!(properties, &json!({"name": "Café"})),
                }
                let name = properties["name"].as_str().expect("name").to_owned();
                by_zoom.entry((z, layer.clone())).or_default().insert(name);
            }
        }
    }
    let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();
    let mut want = BTreeMap::new();
    for z in 8..=12u8 {
        want.insert((z, "roads".to_owned()), if z >= 10 { set(&["Triq A", "Triq B"]) } else { set(&["Triq A"]) });
        if z >= 9 {
            want.insert((z, "pois".to_owned()), set(&["Café"]));
        }
    }
    assert_eq!(by_zoom, want);

    // vector_layers lists the computed properties with their types.
    let json: Value = serde_json::from_str(&metadata(&out, "json").expect("json")).expect("valid JSON");
    let fields = &json["vector_layers"][0]["fields"];
    assert_eq!(fields, &json!({"class": "String", "lanes": "Number", "name": "String"}));
    assert_eq!(json["vector_layers"][1]["fields"], json!({"name": "String"}));
}

#[test]
fn a_bad_expression_is_a_tileset_error_naming_file_key_and_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("features.geojson"), source().to_string()).expect("write source");
    let bad = TILESET.replace(r#"["==", ["geometry-type"], "Point"]"#, r#"["=", ["geometry-type"], "Point"]"#);
    let tileset = tileset_in(dir.path(), &bad);
    let out = tilepress(&[
        "build",
        tileset.to_str().expect("path"),
        "-o",
        dir.path().join("x.mbtiles").to_str().expect("path"),
    ]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tileset.toml: layers[1].filter[1][0]: unknown operator \"=\" (did you mean \"==\"?)"),
        "{stderr}"
    );
}

#[test]
fn the_valletta_sample_splits_one_source_into_roads_buildings_and_pois() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("v.mbtiles");
    let summary = build_json(&repo().join("tilesets/valletta-layers.toml"), &out, &["--maxzoom", "12"]);
    assert_eq!(summary["features_read"], 4056, "one read of the shared source");
    let layers = summary["layers"].as_array().expect("layers");
    let ids: Vec<&str> = layers.iter().filter_map(|l| l["id"].as_str()).collect();
    assert_eq!(ids, ["roads", "pois"], "buildings start at z13");
    assert_eq!(layers[0]["features"], 2000);
    assert_eq!(layers[1]["features"], 572, "POIs with a name");
    let major = ["trunk", "trunk_link", "primary", "secondary", "secondary_link"];
    let streets = ["tertiary", "tertiary_link", "unclassified", "residential", "living_street"];
    let mut seen = BTreeSet::new();
    for (address, layers) in tile_properties(&out).as_object().expect("tiles") {
        let z: u8 = address.split('/').next().and_then(|z| z.parse().ok()).expect("zoom");
        assert!(layers.get("buildings").is_none(), "{address}");
        for road in layers.get("roads").and_then(Value::as_array).into_iter().flatten() {
            let class = road["class"].as_str().expect("class");
            assert!(major.contains(&class) || (z >= 12 && streets.contains(&class)), "{class} at {address}");
            assert!(road.get("kind").is_none());
            seen.insert(class.to_owned());
        }
        for poi in layers.get("pois").and_then(Value::as_array).into_iter().flatten() {
            assert!(["museum", "attraction", "church"].contains(&poi["type"].as_str().expect("type")), "{poi}");
        }
    }
    assert!(seen.contains("primary") && seen.contains("residential"), "{seen:?}");
}
