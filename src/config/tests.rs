use super::*;

fn write_source(dir: &Path) {
    std::fs::write(dir.join("a.geojson"), r#"{"type":"FeatureCollection","features":[]}"#).expect("write source");
}

fn parse_in(dir: &Path, text: &str) -> Result<Tileset, ConfigError> {
    Tileset::parse(text, &dir.join("t.toml"))
}

const MINIMAL: &str = r#"
name = "t"
[[layers]]
id = "a"
source = "a.geojson"
"#;

#[test]
fn minimal_tileset_gets_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_source(dir.path());
    let t = parse_in(dir.path(), MINIMAL).expect("valid");
    assert_eq!((t.minzoom, t.maxzoom, t.format), (0, 14, TileFormat::Mvt));
    assert_eq!(t.bounds, Bbox::WORLD);
    assert_eq!(t.limits, Limits::default());
    assert_eq!(t.max_shrink, DEFAULT_MAX_SHRINK);
    let layer = &t.layers[0];
    assert_eq!((layer.minzoom, layer.maxzoom, layer.buffer, layer.simplify), (0, 14, 64, 1.0));
    assert_eq!(layer.source, dir.path().join("a.geojson"));
    assert_eq!(layer.invalid, InvalidPolicy::Error);
}

fn error_of(text: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    write_source(dir.path());
    let err = parse_in(dir.path(), text).expect_err("must be refused");
    let message = err.to_string();
    assert!(message.contains("t.toml"), "the message names the file: {message}");
    message
}

#[test]
fn each_bad_value_names_its_key() {
    let cases = [
        (
            "name = \"t\"\nmaxzoom = 3\nminzoom = 5\n[[layers]]\nid = \"a\"\nsource = \"a.geojson\"",
            "minzoom: 5 is greater than maxzoom 3",
        ),
        (
            "name = \"t\"\nmaxzoom = 40\n[[layers]]\nid = \"a\"\nsource = \"a.geojson\"",
            "maxzoom: 40 is not a zoom level",
        ),
        (
            "name = \"t\"\nbounds = [10, 0, 5, 1]\n[[layers]]\nid = \"a\"\nsource = \"a.geojson\"",
            "bounds: west (10) must be less than east (5)",
        ),
        (
            "name = \"t\"\nbounds = [0, 0, 5]\n[[layers]]\nid = \"a\"\nsource = \"a.geojson\"",
            "bounds: expected [west, south, east, north]",
        ),
        (
            "name = \"t\"\n[regions.r]\nbbox = [0, 95, 1, 96]\n[[layers]]\nid = \"a\"\nsource = \"a.geojson\"",
            "regions.r.bbox: latitudes",
        ),
        ("name = \"t\"\n[[layers]]\nid = \"a\"\nsource = \"missing.geojson\"", "layers[0].source: source file"),
        (
            "name = \"t\"\n[[layers]]\nid = \"a\"\nsource = \"a.geojson\"\nminzoom = 9\nmaxzoom = 2",
            "layers[0].minzoom: 9 is greater than maxzoom 2",
        ),
        (
            "name = \"t\"\n[[layers]]\nid = \"a\"\nsource = \"a.geojson\"\n[[layers]]\nid = \"a\"\nsource = \"a.geojson\"",
            "layers[1].id: `a` is used by another layer",
        ),
        ("name = \"t\"\n[[layers]]\nid = \"a\"\nsource = \"a.geojson\"\nbuffer = -1", "layers[0].buffer"),
        ("name = \"t\"\n[[layers]]\nid = \"a\"\nsource = \"a.geojson\"\ninvalid = \"ignore\"", "layers[0].invalid"),
        ("name = \"t\"\nformat = \"jpeg\"\n[[layers]]\nid = \"a\"\nsource = \"a.geojson\"", "format: `jpeg`"),
        ("name = \"t\"", "layers: the tileset has no layers"),
        ("name = \"t/../x\"\n[[layers]]\nid = \"a\"\nsource = \"a.geojson\"", "name: `t/../x`"),
        (
            "name = \"t\"\n[limits]\nmax_tile_bytes = 0\n[[layers]]\nid = \"a\"\nsource = \"a.geojson\"",
            "limits.max_tile_bytes",
        ),
        (
            "name = \"t\"\n[publish]\nmax_shrink = 1.5\n[[layers]]\nid = \"a\"\nsource = \"a.geojson\"",
            "publish.max_shrink: 1.5 must lie in [0, 1]",
        ),
    ];
    for (text, expected) in cases {
        let message = error_of(text);
        assert!(message.contains(expected), "expected `{expected}` in `{message}`");
    }
}

#[test]
fn unknown_keys_and_syntax_errors_are_refused_with_their_place() {
    let message = error_of("name = \"t\"\nmaxzom = 3\n[[layers]]\nid = \"a\"\nsource = \"a.geojson\"");
    assert!(message.contains("maxzom"), "{message}");
    assert!(message.contains("line 2"), "{message}");
    let message = error_of("name = \"t\"\n[[layers]]\nid = \"a\"\nsource = \"a.geojson\"\nsimplfy = 2");
    assert!(message.contains("simplfy"), "{message}");
    let message = error_of("name = ");
    assert!(message.contains("line 1"), "{message}");
    assert!(!message.contains('\n'), "one line: {message}");
}

#[test]
fn bbox_parsing_from_the_command_line() {
    assert_eq!(Bbox::parse("7.4, 43.7,7.5,43.8").map(|b| b.east), Ok(7.5));
    assert!(Bbox::parse("7.4,43.7,7.5").is_err());
    assert!(Bbox::parse("a,b,c,d").is_err());
    assert!(Bbox::parse("10,0,5,1").is_err());
}

#[test]
fn shipped_tilesets_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tilesets");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("tilesets/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            Tileset::load(&path).unwrap_or_else(|e| panic!("{e}"));
            seen += 1;
        }
    }
    assert!(seen >= 2);
}
