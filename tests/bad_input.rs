//! Bad input through the CLI: each case gets a one-line error naming the file and the feature or key at fault,
//! its documented exit code, no panic, and nothing at the output path.

mod common;

use std::path::Path;

use common::*;

const POINT: &str =
    r#"{"type":"Feature","properties":{"name":"ok"},"geometry":{"type":"Point","coordinates":[14.5,35.9]}}"#;

fn tileset_for(dir: &Path, source: &str) -> std::path::PathBuf {
    tileset_in(dir, &format!("name = \"bad\"\nmaxzoom = 3\n[[layers]]\nid = \"l\"\nsource = \"{source}\"\n"))
}

fn collection(features: &[&str]) -> String {
    format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, features.join(","))
}

/// Runs a build that must fail; checks the exit code, the message and that no output (or temp file) is left.
fn fails(dir: &Path, tileset: &Path, code: i32, expected: &[&str]) -> String {
    let out = dir.join("out.mbtiles");
    let result = tilepress(&["build", tileset.to_str().expect("path"), "-o", out.to_str().expect("path")]);
    let stderr = String::from_utf8_lossy(&result.stderr).into_owned();
    assert_eq!(result.status.code(), Some(code), "exit code; stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "no panic:\n{stderr}");
    let error_lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(error_lines.len(), 1, "one error line:\n{stderr}");
    for word in expected {
        assert!(error_lines[0].contains(word), "`{word}` missing from `{}`", error_lines[0]);
    }
    assert!(!out.exists(), "nothing at the output path");
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    error_lines[0].to_owned()
}

fn case(source_name: &str, content: &str, code: i32, expected: &[&str]) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(source_name), content).expect("write source");
    let tileset = tileset_for(dir.path(), source_name);
    let mut words = vec![source_name];
    words.extend_from_slice(expected);
    fails(dir.path(), &tileset, code, &words);
}

#[test]
fn malformed_json_names_the_feature_and_the_line() {
    let bad = r#"{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[1,2]}},
{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[1,}}
]}"#;
    case("bad.geojson", bad, 4, &["feature #1", "line 3"]);
    // NaN is not JSON.
    case(
        "nan.geojson",
        &collection(&[r#"{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[NaN,2]}}"#]),
        4,
        &["feature #0"],
    );
    case("seq.geojsonl", &format!("{POINT}\n{{\"type\":\"Feature\",\n"), 4, &["line 2"]);
}

#[test]
fn coordinates_out_of_range_are_refused() {
    let far = r#"{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[0,0],[200.5,10]]}}"#;
    case("far.geojson", &collection(&[POINT, far]), 4, &["feature #1", "200.5"]);
    let south = r#"{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[10,-91]}}"#;
    case("south.geojson", &collection(&[south]), 4, &["feature #0", "-91"]);
}

#[test]
fn empty_parts_and_unclosed_rings_are_refused() {
    // An empty geometry is valid (see below); an empty part of a non-empty one is not.
    let empty = r#"{"type":"Feature","properties":{},"geometry":{"type":"MultiPolygon","coordinates":
        [[[[0,0],[1,0],[1,1],[0,0]]], []]}}"#;
    case("empty-part.geojson", &collection(&[POINT, POINT, empty]), 4, &["feature #2", "polygon 1", "is empty"]);
    let open =
        r#"{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}}"#;
    case("open.geojson", &collection(&[open]), 4, &["feature #0", "not closed"]);
    let gc = r#"{"type":"Feature","properties":{},"geometry":{"type":"GeometryCollection","geometries":[
        {"type":"Point","coordinates":[]}, {"type":"LineString","coordinates":[[0,0]]}]}}"#;
    case("gc.geojson", &collection(&[gc]), 4, &["feature #0", "geometry 1 of GeometryCollection"]);
}

#[test]
fn an_empty_source_is_refused() {
    case("none.geojson", &collection(&[]), 4, &["no features"]);
    case("blank.geojsonl", "\n\n", 4, &["no features"]);
    case("zero.geojson", "", 4, &[]);
}

#[test]
fn a_corrupt_flatgeobuf_is_an_error_not_a_panic() {
    let mut bytes = std::fs::read(repo().join("fixtures/malta-sample.fgb")).expect("fixture");
    bytes.truncate(bytes.len() / 2);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("cut.fgb"), &bytes).expect("write");
    fails(dir.path(), &tileset_for(dir.path(), "cut.fgb"), 4, &["cut.fgb"]);
    std::fs::write(dir.path().join("junk.fgb"), b"this is not a flatgeobuf file at all").expect("write");
    fails(dir.path(), &tileset_for(dir.path(), "junk.fgb"), 4, &["junk.fgb"]);
}

#[test]
fn tileset_errors_name_the_file_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = tileset_in(dir.path(), "name = \"t\"\n[[layers]]\nid = \"l\"\nsource = \"missing.geojson\"\n");
    fails(dir.path(), &path, 3, &["tileset.toml", "layers[0].source", "missing.geojson"]);
    let path = tileset_in(dir.path(), "name = \"t\"\n");
    fails(dir.path(), &path, 3, &["tileset.toml", "no layers"]);
    std::fs::write(dir.path().join("a.geojson"), collection(&[POINT])).expect("write");
    let path = tileset_in(dir.path(), "name = \"t\"\nmaxzom = 4\n[[layers]]\nid = \"l\"\nsource = \"a.geojson\"\n");
    fails(dir.path(), &path, 3, &["tileset.toml", "maxzom"]);
    let missing = dir.path().join("nope.toml");
    fails(dir.path(), &missing, 3, &["nope.toml"]);
}

#[test]
fn bad_options_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.geojson"), collection(&[POINT])).expect("write");
    let tileset = tileset_for(dir.path(), "a.geojson");
    let t = tileset.to_str().expect("path");
    let out = dir.path().join("out.mbtiles");
    let o = out.to_str().expect("path");
    let r = tilepress(&["build", t, "-o", o, "--region", "atlantis"]);
    assert_eq!(r.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&r.stderr).contains("no region named `atlantis`"));
    let r = tilepress(&["build", t, "-o", o, "--maxzoom", "9"]);
    assert_eq!(r.status.code(), Some(3), "zoom beyond the tileset's");
    let r = tilepress(&["build", t, "-o", o, "--bbox", "1,2,3"]);
    assert_eq!(r.status.code(), Some(2), "bad --bbox is a usage error");
    assert!(!out.exists());
}

#[test]
fn a_failed_build_leaves_an_existing_output_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("out.mbtiles"), b"the previous, good file").expect("write");
    std::fs::write(dir.path().join("bad.geojson"), "{\"type\":\"FeatureCollection\",\"features\":[").expect("write");
    let tileset = tileset_for(dir.path(), "bad.geojson");
    let out = dir.path().join("out.mbtiles");
    let r = tilepress(&["build", tileset.to_str().expect("path"), "-o", out.to_str().expect("path")]);
    assert_eq!(r.status.code(), Some(4));
    assert_eq!(std::fs::read(&out).expect("still there"), b"the previous, good file");
}

#[test]
fn invalid_features_can_be_skipped_and_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let far = r#"{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[500,0]}}"#;
    let null = r#"{"type":"Feature","properties":{},"geometry":null}"#;
    std::fs::write(dir.path().join("a.geojson"), collection(&[POINT, far, null])).expect("write");
    let tileset = tileset_in(
        dir.path(),
        "name = \"t\"\nmaxzoom = 2\n[[layers]]\nid = \"l\"\nsource = \"a.geojson\"\ninvalid = \"skip\"\n",
    );
    let out = dir.path().join("out.mbtiles");
    let r = tilepress(&["build", tileset.to_str().expect("path"), "-o", out.to_str().expect("path"), "--json"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&r.stdout).expect("json");
    assert_eq!(summary["features_read"], 1);
    assert_eq!(summary["features_empty"], 1, "a null geometry is empty, not invalid");
    assert_eq!(summary["features_skipped"], 1);
    assert_eq!(summary["tiles"], 3);
    assert!(String::from_utf8_lossy(&r.stderr).contains("feature #1"), "the skip is logged with its feature index");
}

#[test]
fn empty_geometries_are_counted_not_errors_under_the_default_policy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empties = [
        r#"{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[]}}"#,
        r#"{"type":"Feature","properties":{},"geometry":{"type":"MultiPolygon","coordinates":[]}}"#,
        r#"{"type":"Feature","properties":{},"geometry":{"type":"GeometryCollection","geometries":[]}}"#,
        r#"{"type":"Feature","properties":{},"geometry":null}"#,
    ];
    let mut features = vec![POINT];
    features.extend(empties);
    std::fs::write(dir.path().join("e.geojson"), collection(&features)).expect("write");
    let tileset = tileset_for(dir.path(), "e.geojson");
    let out = dir.path().join("out.mbtiles");
    let r = tilepress(&["build", tileset.to_str().expect("path"), "-o", out.to_str().expect("path"), "--json"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&r.stdout).expect("json");
    assert_eq!((summary["features_read"].as_u64(), summary["features_empty"].as_u64()), (Some(1), Some(4)));
    assert_eq!(summary["features_skipped"], 0);
    let r = tilepress(&["build", tileset.to_str().expect("path"), "-o", out.to_str().expect("path")]);
    let text = String::from_utf8_lossy(&r.stdout);
    assert!(text.contains("1 read, 4 empty, 0 skipped (invalid)"), "{text}");

    // A malformed geometry beside them is still an error by default.
    let short = r#"{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[1,1]]}}"#;
    features.push(short);
    std::fs::remove_file(&out).expect("remove the good build");
    std::fs::write(dir.path().join("e.geojson"), collection(&features)).expect("write");
    fails(dir.path(), &tileset, 4, &["e.geojson", "feature #5", "LineString has 1 position"]);
}
