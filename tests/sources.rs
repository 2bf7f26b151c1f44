//! Every source format builds through the CLI: newline-delimited GeoJSON and FlatGeobuf give the same tiles as
//! the GeoJSON they were made from.

mod common;

use common::*;

#[test]
fn geojson_seq_builds_the_same_tiles_as_its_geojson() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seq = dir.path().join("seq.mbtiles");
    let plain = dir.path().join("plain.mbtiles");
    let s = build_json(&repo().join("tilesets/monaco-seq.toml"), &seq, &[]);
    build_json(&repo().join("tilesets/monaco.toml"), &plain, &["--minzoom", "10", "--maxzoom", "14"]);
    assert_eq!(s["features_read"], 4314);
    assert_eq!(tile_ids(&seq), tile_ids(&plain), "same features, same tiles");
}

#[test]
fn flatgeobuf_builds_and_keeps_properties() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fgb = repo().join("fixtures/malta-sample.fgb");
    let tileset = tileset_in(
        dir.path(),
        &format!(
            "name = \"fgb\"\nminzoom = 10\nmaxzoom = 14\n[[layers]]\nid = \"malta\"\nsource = \"{}\"\n",
            fgb.display()
        ),
    );
    let out = dir.path().join("fgb.mbtiles");
    let summary = build_json(&tileset, &out, &[]);
    assert_eq!(summary["features_read"], 200);
    assert!(summary["tiles"].as_u64().expect("tiles") > 5);
    let json: serde_json::Value = serde_json::from_str(&metadata(&out, "json").expect("json")).expect("json");
    let fields = &json["vector_layers"][0]["fields"];
    assert_eq!(fields["kind"], "String");
    assert_eq!(fields["name"], "String");
    // Decode one tile independently and find the three kinds of features.
    let (z, x, y, _) = tile_ids(&out).into_iter().find(|(z, ..)| *z == 10).expect("a z10 tile");
    let xyz_y = (1u32 << z) - 1 - y;
    let tile = decode(&out, z, x, xyz_y);
    let kinds: std::collections::BTreeSet<String> = tile["malta"]["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter_map(|f| f["properties"]["kind"].as_str().map(str::to_owned))
        .collect();
    assert!(kinds.contains("road") && kinds.contains("building") && kinds.contains("poi"), "{kinds:?}");
}
