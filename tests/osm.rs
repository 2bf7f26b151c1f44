//! OpenStreetMap extracts (`.osm.pbf`) as a source: counts against GDAL's own OSM driver, relations with holes
//! and relations cut by the extract, valid polygons, the layers GDAL sees in the output, the same bytes on any
//! thread count, and clear errors for damaged files and wrong keys. Monaco ships in `fixtures/`; the Malta
//! tests read `../shared/fixtures-peers/malta-latest.osm.pbf` and are skipped (saying so) without it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

fn monaco() -> PathBuf {
    repo().join("fixtures/monaco.osm.pbf")
}

fn malta() -> Option<PathBuf> {
    let path = repo().join("../shared/fixtures-peers/malta-latest.osm.pbf");
    if path.is_file() {
        Some(path)
    } else {
        eprintln!("skipped: {} is not there (it sits beside the repository in CI)", path.display());
        None
    }
}

/// A tileset of `layers` (TOML `[[layers]]` tables, `SOURCE` standing for the extract's path) over `source`.
fn tileset(dir: &Path, source: &Path, maxzoom: u8, layers: &str) -> PathBuf {
    let layers = layers.replace("SOURCE", &source.display().to_string());
    tileset_in(dir, &format!("name = \"osm\"\nminzoom = {maxzoom}\nmaxzoom = {maxzoom}\n{layers}"))
}

/// One count of GDAL's OSM driver: `SELECT count(*) …` on the extract.
fn gdal_count(source: &Path, sql: &str) -> u64 {
    let out = Command::new("ogrinfo")
        .args(["-ro", "-q", "-dialect", "SQLite", "-sql", sql])
        .arg(source)
        .output()
        .expect("run ogrinfo (GDAL; make test-deps installs it)");
    assert!(out.status.success(), "ogrinfo {sql}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.contains(" = ")).unwrap_or_else(|| panic!("no count in {text}"));
    line.rsplit(" = ").next().and_then(|n| n.trim().parse().ok()).unwrap_or_else(|| panic!("count: {line}"))
}

fn layer_features(summary: &Value, id: &str) -> u64 {
    let layers = summary["layers"].as_array().expect("layers");
    layers.iter().find(|l| l["id"] == id).and_then(|l| l["features"].as_u64()).unwrap_or_else(|| panic!("{id}"))
}

/// The layers compared with GDAL. How the comparison is fair: GDAL's `osmconf.ini` makes a closed way a
/// polygon when it has one of the keys of `closed_ways_are_polygons` (building among them), and puts every other
/// way with a `highway` tag in `lines` (closed ones too, unless they have such a key or `area=yes`); a
/// `multipolygons` row is a closed way or a multipolygon/boundary relation, so its `building` column holds the
/// building tag of both. Our rule (`source/osm/area.rs`) agrees on buildings and highways but for a few values
/// (`highway=platform`, `area=no`), hence the 2%. Points: GDAL's `points` are the nodes with a tag it does not
/// ignore, `amenity` lands in `other_tags`.
const COMPARED: &str = r#"
[[layers]]
id = "highway"
source = "SOURCE"
geometry = "line"
filter = ["has", "highway"]
properties = []
[[layers]]
id = "building"
source = "SOURCE"
geometry = "polygon"
filter = ["has", "building"]
properties = ["name"]
[[layers]]
id = "amenity"
source = "SOURCE"
geometry = "point"
filter = ["has", "amenity"]
properties = ["amenity"]
"#;

fn compare_with_gdal(source: &Path) {
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = build_json(&tileset(dir.path(), source, 10, COMPARED), &dir.path().join("o.mbtiles"), &[]);
    let pairs = [
        ("highway", "SELECT count(*) FROM lines WHERE highway IS NOT NULL"),
        ("building", "SELECT count(*) FROM multipolygons WHERE building IS NOT NULL"),
        ("amenity", "SELECT count(*) FROM points WHERE hstore_get_value(other_tags, 'amenity') IS NOT NULL"),
    ];
    for (layer, sql) in pairs {
        let (ours, gdal) = (layer_features(&summary, layer), gdal_count(source, sql));
        let off = (ours as f64 - gdal as f64).abs() / gdal as f64;
        eprintln!("{}: {layer}: {ours} features, GDAL {gdal} ({:.2}% apart)", source.display(), off * 100.0);
        assert!(gdal > 10 && off <= 0.02, "{layer}: ours {ours}, GDAL {gdal}");
    }
}

#[test]
fn monaco_layers_count_as_gdal_does() {
    compare_with_gdal(&monaco());
}

#[test]
fn malta_layers_count_as_gdal_does() {
    if let Some(malta) = malta() {
        compare_with_gdal(&malta);
    }
}

#[test]
fn the_palace_courtyard_is_a_hole() {
    // Relation 393226, "Palais Princier de Monaco": building=yes, one outer and one inner ring.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("o.mbtiles");
    build_json(&tileset(dir.path(), &monaco(), 14, COMPARED), &out, &[]);
    let (x, y, _, _) = locate(7.42, 43.7312, 14);
    let tile = decode(&out, 14, x, y);
    let features = tile["building"]["features"].as_array().expect("buildings in the tile");
    let palace = features
        .iter()
        .find(|f| f["properties"]["name"] == "Palais Princier de Monaco")
        .expect("the palace is in its tile");
    assert_eq!(palace["geometry"]["type"], "Polygon", "{palace}");
    let rings = palace["geometry"]["coordinates"].as_array().expect("rings");
    assert_eq!(rings.len(), 2, "exterior and courtyard: {palace}");
    // The hole winds the other way from the exterior, and is smaller.
    let (outer, inner) =
        (ring_area2(rings[0].as_array().expect("ring")), ring_area2(rings[1].as_array().expect("ring")));
    assert!(outer.signum() != inner.signum() && inner.abs() < outer.abs(), "{outer} {inner}");
}

#[test]
fn relations_cut_by_the_extract_are_counted_not_fatal() {
    // France's and the Alpes-Maritimes' boundaries are in the extract with most of their ways cut away.
    let dir = tempfile::tempdir().expect("tempdir");
    let layers = "[[layers]]\nid = \"boundary\"\nsource = \"SOURCE\"\ngeometry = \"polygon\"\n\
                  filter = [\"==\", \"boundary\", \"administrative\"]\nproperties = [\"admin_level\"]\n";
    let path = tileset(dir.path(), &monaco(), 10, layers);
    let out = dir.path().join("o.mbtiles");
    let run = tilepress(&["build", path.to_str().expect("path"), "-o", out.to_str().expect("path"), "--json"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let summary: Value = serde_json::from_slice(&run.stdout).expect("summary");
    let osm = &summary["osm"][0];
    let missing = osm["broken"]["missing_member"].as_u64().expect("missing_member");
    assert!(missing > 0, "{osm}");
    assert_eq!(
        osm["broken_relations"].as_u64(),
        Some(
            missing
                + osm["broken"]["unclosed_ring"].as_u64().expect("n")
                + osm["broken"]["self_crossing"].as_u64().expect("n")
                + osm["broken"]["bad_location"].as_u64().expect("n")
        )
    );
    let log = String::from_utf8_lossy(&run.stderr);
    assert!(log.contains("monaco.osm.pbf: relation ") && log.contains("missing from the file"), "{log}");
    // The whole ones are built: the six quarters (admin_level 10), as GDAL builds them.
    let gdal = gdal_count(&monaco(), "SELECT count(*) FROM multipolygons WHERE boundary = 'administrative'");
    assert_eq!(layer_features(&summary, "boundary"), gdal, "{summary}");
}

#[test]
fn the_monaco_tileset_is_valid_and_gdal_lists_its_layers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("monaco-osm.mbtiles");
    let summary = build_json(&repo().join("tilesets/monaco-osm.toml"), &out, &[]);
    for layer in ["transportation", "building", "water", "poi"] {
        assert!(layer_features(&summary, layer) > 0, "{layer}: {summary}");
    }
    let osm = &summary["osm"][0];
    assert_eq!(osm["source"], "monaco.osm.pbf");
    // SOURCES.md counts 25,423 nodes in the extract: every one is stored.
    assert_eq!(osm["nodes"].as_u64(), Some(25_423), "{osm}");
    assert_eq!(osm["node_store"], "packed");
    let per_node = osm["bytes_per_node"].as_f64().expect("bytes_per_node");
    assert!(per_node > 1.0 && per_node < 8.0, "{per_node}");
    let validity = polygon_validity(&out);
    assert!(validity["polygons"].as_u64().expect("n") > 1000, "{validity}");
    assert_eq!(validity["invalid"], serde_json::json!([]), "every polygon is GEOS-valid");
    let listed = ogrinfo_layers(&out);
    for layer in ["transportation", "building", "water", "poi"] {
        assert!(listed.iter().any(|l| l == layer), "ogrinfo lists {layer}: {listed:?}");
    }
    let human =
        build_ok(&["build", "tilesets/monaco-osm.toml", "-o", dir.path().join("h.mbtiles").to_str().expect("p")]);
    assert!(human.contains("osm        monaco.osm.pbf:") && human.contains("bytes a node"), "{human}");
}

#[test]
fn osm_tiles_are_the_same_bytes_on_1_and_8_threads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut reference = None;
    for threads in ["1", "8"] {
        let out = dir.path().join(format!("t{threads}.mbtiles"));
        let summary = build_json(&repo().join("tilesets/monaco-osm.toml"), &out, &["--threads", threads]);
        let snapshot = (tile_ids(&out), images(&out), summary["layers"].clone());
        match &reference {
            None => reference = Some(snapshot),
            Some(first) => assert!(first == &snapshot, "tiles differ between 1 and {threads} threads"),
        }
    }
}

#[test]
fn malta_builds_the_same_on_1_and_8_threads() {
    let Some(malta) = malta() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = tileset(dir.path(), &malta, 12, COMPARED);
    let (a, b) = (dir.path().join("a.mbtiles"), dir.path().join("b.mbtiles"));
    build_json(&path, &a, &["--threads", "1"]);
    build_json(&path, &b, &["--threads", "8"]);
    assert_eq!(tile_ids(&a), tile_ids(&b));
    assert_eq!(metadata(&a, "agg_tiles_hash"), metadata(&b, "agg_tiles_hash"));
}

/// A change made to the bytes of an extract.
type Damage = dyn Fn(&mut Vec<u8>);

/// Builds `layers` over a copy of Monaco changed by `damage`; gives (exit code, stderr).
fn build_damaged(damage: &Damage) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut bytes = std::fs::read(monaco()).expect("fixture");
    damage(&mut bytes);
    let source = dir.path().join("damaged.osm.pbf");
    std::fs::write(&source, bytes).expect("write");
    let path = tileset(dir.path(), &source, 10, COMPARED);
    let run = tilepress(&["build", path.to_str().expect("p"), "-o", dir.path().join("o.mbtiles").to_str().expect("p")]);
    (run.status.code(), String::from_utf8_lossy(&run.stderr).into_owned())
}

#[test]
fn a_damaged_or_truncated_extract_is_a_clear_error_naming_the_file() {
    let cases: [(&str, &Damage); 4] = [
        ("truncated", &|b| b.truncate(b.len() / 2)),
        ("cut in its first blob", &|b| b.truncate(300)),
        ("overwritten inside", &|b| b[200_000..200_400].iter_mut().for_each(|x| *x = !*x)),
        ("not an extract", &|b| *b = b"just some text, not a PBF at all\n".repeat(100)),
    ];
    for (what, damage) in cases {
        let (code, log) = build_damaged(damage);
        assert_eq!(code, Some(4), "{what}: a source error\n{log}");
        assert!(log.contains("damaged.osm.pbf:"), "{what}: names the file\n{log}");
        assert!(!log.contains("panicked"), "{what}: no panic\n{log}");
    }
}

#[test]
fn osm_keys_are_checked_with_the_file_and_key_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let geojson = repo().join("fixtures/monaco.geojson");
    let cases = [
        (monaco(), "filter = [\"has\", \"highway\"]", "layers[0].geometry: a layer on an OpenStreetMap source"),
        (monaco(), "geometry = \"area\"\nfilter = [\"has\", \"x\"]", "layers[0].geometry: `area` is not a geometry"),
        (
            monaco(),
            "geometry = \"line\"",
            "layers[0].filter: a layer on an OpenStreetMap source (.osm.pbf) needs a filter",
        ),
        (
            monaco(),
            "geometry = \"line\"\nfilter = [\"has\", \"x\"]\ninvalid = \"skip\"",
            "layers[0].invalid: does not apply",
        ),
        (geojson.clone(), "geometry = \"line\"", "layers[0].geometry: `line`: geometry applies only to OpenStreetMap"),
        (geojson, "min_area = -1", "layers[0].min_area: -1 must be a number of pixels"),
    ];
    for (source, keys, message) in cases {
        let layers = format!("[[layers]]\nid = \"a\"\nsource = \"SOURCE\"\n{keys}\n");
        let path = tileset(dir.path(), &source, 10, &layers);
        let run =
            tilepress(&["build", path.to_str().expect("p"), "-o", dir.path().join("o.mbtiles").to_str().expect("p")]);
        let log = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(3), "{keys}: {log}");
        assert!(log.contains("tileset.toml: ") && log.contains(message), "{keys}: expected {message:?} in\n{log}");
    }
}

#[test]
fn min_area_and_min_length_hold_small_features_back_to_deeper_zooms() {
    let dir = tempfile::tempdir().expect("tempdir");
    let layers = "[[layers]]\nid = \"b\"\nsource = \"SOURCE\"\ngeometry = \"polygon\"\nfilter = [\"has\", \"building\"]\n\
                  properties = []\nmin_area = 16\n\
                  [[layers]]\nid = \"h\"\nsource = \"SOURCE\"\ngeometry = \"line\"\nfilter = [\"has\", \"highway\"]\n\
                  properties = []\nmin_length = 8\n";
    let counts = |zoom: u8| {
        let out = dir.path().join(format!("z{zoom}.mbtiles"));
        let summary = build_json(&tileset(dir.path(), &monaco(), zoom, layers), &out, &[]);
        (layer_features(&summary, "b"), layer_features(&summary, "h"))
    };
    let (b12, h12) = counts(12);
    let (b16, h16) = counts(16);
    // 16 square pixels: at z12 a building needs about 1,500 m², at z16 about 6 m².
    assert!(b12 * 5 < b16 && b16 > 1000, "buildings {b12} at z12, {b16} at z16");
    assert!(h12 * 5 < h16 && h16 > 1000, "highways {h12} at z12, {h16} at z16");
}
