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
            &*format!("name = \"{}\"\n[[layers]]\nid = \"a\"\nsource = \"a.geojson\"", "n".repeat(65)),
            "name: is 65 characters long; at most 64",
        ),
        (
            &*format!(
                "name = \"t\"\n[regions.{}]\nbbox = [0, 0, 1, 1]\n[[layers]]\nid = \"a\"\nsource = \"a.geojson\"",
                "r".repeat(65)
            ),
            "a region name has 1 to 64 characters",
        ),
        (
            "name = \"t\"\n[limits]\nmax_tile_raw_bytes = -1\n[[layers]]\nid = \"a\"\nsource = \"a.geojson\"",
            "limits.max_tile_raw_bytes",
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

const RASTER: &str = r##"
name = "r"
format = "png"
tile_size = 512
background = "#AAD3DF"
[[layers]]
id = "a"
source = "a.geojson"
[layers.style]
fill_color = "#f2efe980"
fill_opacity = 0.5
stroke_color = "#ffffff"
stroke_width = [[10, 0.5], [14, 3]]
point_radius = 3
point_color = "#c0392b"
order = 2
"##;

#[test]
fn a_raster_tileset_gets_its_style_and_a_buffer_that_holds_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_source(dir.path());
    let t = parse_in(dir.path(), RASTER).expect("valid");
    let TileFormat::Png(raster) = t.format else { panic!("a png tileset: {:?}", t.format) };
    assert_eq!(raster.tile_size, 512);
    assert_eq!(raster.background, Color { r: 0xaa, g: 0xd3, b: 0xdf, a: 255 });
    assert_eq!(t.format.mbtiles_name(), "png");
    let style = t.layers[0].style.as_ref().expect("a style");
    assert_eq!(style.fill_color.map(|c| c.a), Some(0x80));
    assert_eq!((style.stroke_width.at(10), style.stroke_width.at(12), style.stroke_width.at(16)), (0.5, 1.75, 3.0));
    assert_eq!(style.point_radius.at(0), 3.0);
    assert_eq!(style.order, 2);
    assert!(style.outline_color.is_none());
    // The reach is the point radius (3 px) plus 1 px of anti-aliasing: 4 px of 8 units at 512 = 32 < 64.
    assert_eq!(t.layers[0].buffer, 64);
    // Wide strokes raise the default buffer: 40 px wide at 256 → (20 + 1) × 16 = 336 units.
    let wide = "name = \"r\"\nformat = \"png\"\n[[layers]]\nid = \"a\"\nsource = \"a.geojson\"\n\
                [layers.style]\nstroke_color = \"#000000\"\nstroke_width = [[0, 1], [14, 40]]\n";
    let t = parse_in(dir.path(), wide).expect("valid");
    assert_eq!(t.layers[0].buffer, 336);
    assert_eq!(t.format, TileFormat::Png(Raster { tile_size: 256, background: Color::TRANSPARENT }));
}

#[test]
fn each_bad_raster_value_names_its_key() {
    let layer = "[[layers]]\nid = \"a\"\nsource = \"a.geojson\"\n";
    let png = |top: &str, style: &str| {
        format!("name = \"t\"\nformat = \"png\"\n{top}\n{layer}[layers.style]\nfill_color = \"#000000\"\n{style}\n")
    };
    let cases = [
        (png("tile_size = 300", ""), "tile_size: 300 must be 256 or 512"),
        (png("background = \"blue\"", ""), "background: `blue` is not a colour"),
        (png("background = \"#12345\"", ""), "background: `#12345` is not a colour"),
        (png("", "stroke_color = \"#gg0000\""), "layers[0].style.stroke_color: `#gg0000`"),
        (png("", "fill_opacity = 1.5"), "layers[0].style.fill_opacity: 1.5 must lie in [0, 1]"),
        (png("", "stroke_width = -1"), "layers[0].style.stroke_width: -1 must lie in [0, 64]"),
        (png("", "outline_width = [[14, 1], [10, 2]]"), "layers[0].style.outline_width: stop zooms must increase"),
        (png("", "point_radius = [[10]]"), "layers[0].style.point_radius: expected a number"),
        (png("", "point_radius = \"big\""), "layers[0].style.point_radius: expected a number"),
        (png("", "stroke_width = []"), "layers[0].style.stroke_width: a list of stops needs at least one"),
        (png("", "strok_color = \"#000000\""), "strok_color"),
        (
            format!("name = \"t\"\nformat = \"png\"\n{layer}[layers.style]\nfill_opacity = 0.5\n"),
            "layers[0].style: draws nothing",
        ),
        (format!("name = \"t\"\nformat = \"png\"\n{layer}"), "layers[0].style: a png tileset draws every layer"),
        (
            format!(
                "name = \"t\"\nformat = \"png\"\n{layer}buffer = 16\n[layers.style]\nstroke_color = \"#000000\"\n\
                 stroke_width = 4\n"
            ),
            "layers[0].buffer: 16 tile units is less than the 48 this style needs",
        ),
        // Raster keys in a vector tileset name the key.
        (format!("name = \"t\"\ntile_size = 256\n{layer}"), "tile_size: applies only to raster tilesets"),
        (format!("name = \"t\"\nbackground = \"#000000\"\n{layer}"), "background: applies only to raster"),
        (
            format!("name = \"t\"\nformat = \"mvt\"\n{layer}[layers.style]\nstroke_width = 2\n"),
            "layers[0].style.stroke_width: applies only to raster tilesets",
        ),
        (format!("name = \"t\"\n{layer}[layers.style]\n"), "layers[0].style: applies only to raster"),
    ];
    for (text, expected) in cases {
        let message = error_of(&text);
        assert!(message.contains(expected), "expected `{expected}` in `{message}`");
    }
}

#[test]
fn expression_keys_are_parsed_into_the_layer() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_source(dir.path());
    let text = r#"
name = "t"
[[layers]]
id = "roads"
source = "a.geojson"
maxzoom = 12
filter = ["==", "kind", "road"]
minzoom_by = ["match", ["get", "class"], ["primary", "trunk"], 4, 9]
properties = { name = ["get", "name"], class = ["get", "highway"], lanes = ["to-number", ["get", "lanes"]] }
[[layers]]
id = "pois"
source = "a.geojson"
filter = ["==", ["geometry-type"], "Point"]
properties = ["name"]
[[layers]]
id = "all"
source = "a.geojson"
"#;
    let t = parse_in(dir.path(), text).expect("valid");
    let roads = &t.layers[0];
    assert!(roads.filter.is_some() && roads.minzoom_by.is_some());
    let OutputProperties::Computed(computed) = &roads.properties else { panic!("{:?}", roads.properties) };
    let names: Vec<&str> = computed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["class", "lanes", "name"], "computed properties are in name order");
    assert_eq!(computed[1].1.kind(), crate::expr::Kind::Number);
    assert_eq!(t.layers[1].properties, OutputProperties::Keep(vec!["name".to_owned()]));
    assert!(t.layers[1].minzoom_by.is_none());
    assert_eq!(t.layers[2].properties, OutputProperties::All);
    assert!(t.layers[2].filter.is_none());
    assert_eq!(t.layers[0].source, t.layers[1].source, "layers may share a source");
}

#[test]
fn each_bad_expression_names_its_key_and_position() {
    let layer = "name = \"t\"\n[[layers]]\nid = \"a\"\nsource = \"a.geojson\"\n";
    let cases = [
        (
            "filter = [\"all\", [\"==\", \"kind\", \"road\"], [\"==x\", \"a\", 1]]",
            "layers[0].filter[2][0]: unknown operator \"==x\"",
        ),
        ("filter = \"kind\"", "layers[0].filter: expected a boolean, got a string"),
        ("filter = [\"get\", \"name\", \"x\"]", "layers[0].filter: \"get\" takes 1 operand, got 2"),
        ("filter = { kind = \"road\" }", "layers[0].filter: a table is not an expression"),
        (
            "minzoom_by = [\"match\", [\"get\", \"c\"], \"a\", 10, \"b\", 12, \"d\", \"x\", 3]",
            "layers[0].minzoom_by[7]: expected a number, got a string",
        ),
        ("minzoom_by = [\"has\", \"rank\"]", "layers[0].minzoom_by: expected a number, got a boolean"),
        (
            "properties = { class = [\"gett\", \"highway\"] }",
            "layers[0].properties.class[0]: unknown operator \"gett\" (did you mean \"get\"?)",
        ),
        ("properties = [\"a\", 3]", "layers[0].properties[1]: expected a property name"),
        ("properties = \"name\"", "layers[0].properties: expected a list of property names"),
        ("properties = { \"\" = [\"get\", \"a\"] }", "layers[0].properties.: a property name has 1 to 255"),
    ];
    for (key, expected) in cases {
        let message = error_of(&format!("{layer}{key}\n"));
        assert!(message.contains(expected), "expected `{expected}` in `{message}`");
    }
}
