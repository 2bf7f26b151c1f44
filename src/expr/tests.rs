use super::*;
use crate::source::Value;

/// The TOML value written as `text` (the right-hand side of a key).
fn toml_value(text: &str) -> toml::Value {
    let table: toml::Table = toml::from_str(&format!("e = {text}")).unwrap_or_else(|e| panic!("{text}: {e}"));
    table["e"].clone()
}

fn parse(text: &str) -> Expr {
    Expr::parse(&toml_value(text), "f").unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn parse_error(text: &str, want: Kind) -> String {
    match Expr::parse_as(&toml_value(text), "layers[2].filter", want) {
        Ok(expr) => panic!("{text} must be refused, got {expr:?}"),
        Err(e) => e.to_string(),
    }
}

fn props() -> Vec<(String, Value)> {
    vec![
        ("kind".into(), Value::String("road".into())),
        ("class".into(), Value::String("primary".into())),
        ("lanes".into(), Value::Int(2)),
        ("width".into(), Value::Float(2.0)),
        ("big".into(), Value::UInt(u64::MAX)),
        ("height".into(), Value::String(" 12.5 ".into())),
        ("oneway".into(), Value::Bool(true)),
        ("empty".into(), Value::String(String::new())),
        ("nan".into(), Value::Float(f64::NAN)),
    ]
}

fn check(text: &str, geometry: GeometryType) -> bool {
    let properties = props();
    parse(text).eval_bool(&FeatureProperties { properties: &properties, geometry })
}

fn is_true(text: &str) -> bool {
    check(text, GeometryType::LineString)
}

fn value(text: &str) -> Option<Value> {
    let properties = props();
    parse(text).eval_value(&FeatureProperties { properties: &properties, geometry: GeometryType::Polygon })
}

#[test]
fn parse_errors_name_their_position() {
    let cases = [
        (
            r#"["all", ["==", "kind", "road"], ["==x", "a", 1]]"#,
            r#"layers[2].filter[2][0]: unknown operator "==x" (did you mean "=="?)"#,
        ),
        (r#"["all", ["=", "kind", "road"]]"#, r#"layers[2].filter[1][0]: unknown operator "=" (did you mean "=="?)"#),
        (r#"["gte", "a", 1]"#, r#"layers[2].filter[0]: unknown operator "gte""#),
        (r#"["==", "kind"]"#, r#"layers[2].filter: "==" takes 2 operands, got 1"#),
        (r#"["get"]"#, r#"layers[2].filter: "get" takes 1 operand, got 0"#),
        (r#"["get", 3]"#, "layers[2].filter[1]: expected a property name (a string), got a number"),
        (r#"["has", ["get", "a"]]"#, "layers[2].filter[1]: expected a property name"),
        ("[]", "layers[2].filter: an empty array is not an expression"),
        ("[1, 2]", "layers[2].filter[0]: expected an operator name (a string), got a number"),
        ("{ a = 1 }", "layers[2].filter: a table is not an expression"),
        ("nan", "layers[2].filter: NaN is not a finite number"),
        (r#"["any", ["get", "a"], 3]"#, "layers[2].filter[2]: expected a boolean, got a number"),
        (r#"["!", "x"]"#, "layers[2].filter[1]: expected a boolean, got a string"),
        (r#"["get", "name"]"#, ""),
        (r#"["in", "class", ["a", "b"]]"#, "layers[2].filter[2]: the legacy form lists the values one by one"),
        (r#"["in", ["get", "c"], ["get", "d"]]"#, "layers[2].filter[2]: the list of \"in\" holds values"),
        (r#"["in", ["get", "c"], "a", "b"]"#, "layers[2].filter: \"in\" with an expression takes it and one list"),
        (r#"["in", "class"]"#, "layers[2].filter: \"in\" needs at least one value"),
        (r#"["match", ["get", "c"], "a", true]"#, "layers[2].filter: \"match\" takes an input, pairs"),
        (
            r#"["match", ["get", "c"], "a", true, ["a", "b"], false, true]"#,
            "layers[2].filter[4]: label \"a\" is used twice",
        ),
        (r#"["match", ["get", "c"], "a", true, 3, false, true]"#, "layers[2].filter[4]: the labels of one \"match\""),
        (r#"["match", ["get", "c"], [], true, false]"#, "layers[2].filter[2]: a list of labels needs at least one"),
        (
            r#"["match", ["get", "c"], "a", true, "b", 3, false]"#,
            "layers[2].filter[5]: expected a boolean, got a number",
        ),
        (r#"["==", "$type", "MultiPolygon"]"#, "layers[2].filter[2]: the geometry type is \"Point\""),
        (r#"["in", "$type", "Point", "Area"]"#, "layers[2].filter[3]: the geometry type is"),
        (r#"["literal", ["a"]]"#, "layers[2].filter[1]: a list is a value only as the list of \"in\""),
        (r#"["zoom"]"#, "layers[2].filter[0]: \"zoom\" is not available"),
        (r#"["to-string", "a", "b"]"#, "layers[2].filter: \"to-string\" takes 1 operand, got 2"),
        ("1979-05-27", "layers[2].filter: a date"),
    ];
    for (text, expected) in cases {
        if expected.is_empty() {
            assert!(Expr::parse_as(&toml_value(text), "f", Kind::Boolean).is_ok(), "{text}");
            continue;
        }
        let message = parse_error(text, Kind::Boolean);
        assert!(message.starts_with(expected), "{text}: expected `{expected}`, got `{message}`");
    }
    let message = parse_error(r#"["match", ["get", "c"], "a", 10, "b", 12, "d", "x", 3]"#, Kind::Number);
    assert_eq!(message, "layers[2].filter[7]: expected a number, got a string");
    let message = parse_error(r#"["coalesce", ["get", "a"], "low"]"#, Kind::Number);
    assert_eq!(message, "layers[2].filter[2]: expected a number, got a string");
    let deep = format!("{}true{}", "[\"!\", ".repeat(80), "]".repeat(80));
    assert!(parse_error(&deep, Kind::Boolean).contains("nest at most 64"));
}

#[test]
fn legacy_shorthand_reads_a_bare_first_string_as_a_property() {
    assert!(is_true(r#"["==", "kind", "road"]"#));
    assert!(is_true(r#"["==", ["get", "kind"], "road"]"#));
    assert!(!is_true(r#"["==", "road", ["get", "kind"]]"#), "the first bare string is a key, here a missing one");
    assert!(is_true(r#"["==", ["literal", "road"], ["get", "kind"]]"#));
    assert!(is_true(r#"["!=", "kind", "building"]"#));
    assert!(is_true(r#"["!=", "missing", "x"]"#));
    assert!(!is_true(r#"["==", "missing", "x"]"#));
    assert!(is_true(r#"["in", "class", "secondary", "primary"]"#));
    assert!(!is_true(r#"["!in", "class", "secondary", "primary"]"#));
    assert!(is_true(r#"["!in", "missing", "a"]"#));
    assert!(is_true(r#"[">=", "lanes", 2]"#));
}

#[test]
fn geometry_type_folds_multi_geometries() {
    for (geometry, name) in
        [(GeometryType::Point, "Point"), (GeometryType::LineString, "LineString"), (GeometryType::Polygon, "Polygon")]
    {
        assert!(check(&format!(r#"["==", ["geometry-type"], "{name}"]"#), geometry));
        assert!(check(&format!(r#"["==", "$type", "{name}"]"#), geometry));
        assert!(check(&format!(r#"["in", "$type", "{name}"]"#), geometry));
        assert!(!check(r#"["==", "$type", "Point"]"#, GeometryType::Polygon));
    }
    let multi: geo::Geometry<f64> = geo::MultiPolygon::<f64>(vec![]).into();
    assert_eq!(GeometryType::of(&multi), GeometryType::Polygon);
    let lines: geo::Geometry<f64> = geo::MultiLineString::<f64>(vec![]).into();
    assert_eq!(GeometryType::of(&lines), GeometryType::LineString);
    let points: geo::Geometry<f64> = geo::MultiPoint::<f64>(vec![]).into();
    assert_eq!(GeometryType::of(&points), GeometryType::Point);
    let collection = geo::Geometry::GeometryCollection(geo::GeometryCollection(vec![lines]));
    assert_eq!(GeometryType::of(&collection), GeometryType::LineString);
}

#[test]
fn numbers_compare_by_value_across_representations() {
    assert!(is_true(r#"["==", "lanes", 2.0]"#));
    assert!(is_true(r#"["==", "width", 2]"#));
    assert!(is_true(r#"["==", ["get", "lanes"], ["get", "width"]]"#));
    assert!(is_true(r#"["<", "lanes", 2.5]"#));
    assert!(is_true(r#"[">", "big", 9223372036854775807]"#), "u64::MAX > i64::MAX");
    assert!(is_true(r#"[">", "big", -1]"#));
    assert!(is_true(r#"["<", "big", 1e20]"#));
    assert!(is_true(r#"[">", "big", 1e19]"#));
    assert!(!is_true(r#"["==", "big", 1.8446744073709552e19]"#), "2^64 as a float is above u64::MAX");
    assert!(is_true(r#"["<", 9007199254740992.0, 9007199254740993]"#), "exact beyond 2^53");
    assert!(!is_true(r#"["==", 9007199254740992.0, 9007199254740993]"#));
    assert!(is_true(r#"["<", -0.5, 0]"#));
    assert!(!is_true(r#"[">", -9.3e18, -9223372036854775807]"#));
    // NaN equals nothing, orders with nothing.
    for op in ["==", "<", "<=", ">", ">="] {
        assert!(!is_true(&format!(r#"["{op}", "nan", 1]"#)), "{op}");
    }
    assert!(is_true(r#"["!=", "nan", ["get", "nan"]]"#));
}

#[test]
fn strings_and_numbers_never_meet() {
    assert!(!is_true(r#"["==", "lanes", "2"]"#));
    assert!(is_true(r#"["!=", "lanes", "2"]"#));
    for op in ["<", "<=", ">", ">="] {
        assert!(!is_true(&format!(r#"["{op}", "lanes", "9"]"#)), "{op} across types is false");
        assert!(!is_true(&format!(r#"["{op}", "oneway", false]"#)), "{op} of booleans is false");
    }
    assert!(is_true(r#"["<", "class", "secondary"]"#), "strings order bytewise");
    assert!(is_true(r#"["==", ["to-number", ["get", "height"]], 12.5]"#));
    assert!(is_true(r#"["==", "oneway", true]"#));
    assert!(is_true(r#"["==", ["get", "missing"], ["get", "other"]]"#), "null equals null");
}

#[test]
fn boolean_operators() {
    assert!(is_true(r#"["has", "kind"]"#));
    assert!(!is_true(r#"["has", "name"]"#));
    assert!(is_true(r#"["!has", "name"]"#));
    assert!(is_true(r#"["all"]"#));
    assert!(!is_true(r#"["any"]"#));
    assert!(is_true(r#"["all", ["has", "kind"], ["==", "kind", "road"]]"#));
    assert!(!is_true(r#"["all", ["has", "kind"], ["==", "kind", "poi"]]"#));
    assert!(is_true(r#"["any", ["has", "name"], ["==", "kind", "road"]]"#));
    assert!(is_true(r#"["none", ["has", "name"], ["==", "kind", "poi"]]"#));
    assert!(is_true(r#"["!", ["has", "name"]]"#));
    assert!(is_true("true") && !is_true("false"));
    assert!(is_true(r#"["get", "oneway"]"#), "a boolean property is a filter");
    assert!(!is_true(r#"["get", "kind"]"#), "anything but true is false");
    assert!(is_true(r#"["in", ["get", "class"], ["a", "primary"]]"#));
    assert!(is_true(r#"["in", ["get", "lanes"], ["literal", [1, 2]]]"#));
    assert!(is_true(r#"["!in", ["get", "lanes"], [1, 3]]"#));
    assert!(
        is_true(r#"["in", ["get", "lanes"], ["literal", ["get", 2.0]]]"#),
        "a literal list may start with an operator name"
    );
}

#[test]
fn match_picks_the_first_arm_holding_the_input() {
    assert_eq!(
        value(r#"["match", ["get", "class"], ["motorway", "primary"], 5, "secondary", 8, 12]"#),
        Some(Value::Int(5))
    );
    assert_eq!(value(r#"["match", ["get", "kind"], "poi", 5, 12]"#), Some(Value::Int(12)));
    assert_eq!(
        value(r#"["match", ["get", "lanes"], 1, "one", [2, 3], "few", "many"]"#),
        Some(Value::String("few".into()))
    );
    assert_eq!(value(r#"["match", ["get", "width"], 2, "two", "other"]"#), Some(Value::String("two".into())));
    assert_eq!(value(r#"["match", ["get", "missing"], "a", 1, ["get", "lanes"]]"#), Some(Value::Int(2)));
    assert_eq!(
        value(r#"["match", ["geometry-type"], "Polygon", "area", "other"]"#),
        Some(Value::String("area".into()))
    );
    assert!(is_true(r#"["match", ["get", "kind"], "road", ["==", "class", "primary"], false]"#));
}

#[test]
fn values_and_conversions() {
    assert_eq!(value(r#"["get", "class"]"#), Some(Value::String("primary".into())));
    assert_eq!(value(r#"["get", "missing"]"#), None);
    assert_eq!(value(r#""constant""#), Some(Value::String("constant".into())));
    assert_eq!(value("3"), Some(Value::Int(3)));
    assert_eq!(value("2.5"), Some(Value::Float(2.5)));
    assert_eq!(value(r#"["literal", "get"]"#), Some(Value::String("get".into())));
    assert_eq!(value(r#"["coalesce", ["get", "name"], ["get", "class"]]"#), Some(Value::String("primary".into())));
    assert_eq!(value(r#"["coalesce", ["get", "name"], ["get", "other"]]"#), None);
    assert_eq!(value(r#"["to-number", ["get", "height"]]"#), Some(Value::Float(12.5)));
    assert_eq!(value(r#"["to-number", "42"]"#), Some(Value::Int(42)));
    assert_eq!(value(r#"["to-number", "18446744073709551615"]"#), Some(Value::UInt(u64::MAX)));
    assert_eq!(value(r#"["to-number", ["get", "oneway"]]"#), Some(Value::Int(1)));
    assert_eq!(value(r#"["to-number", ["get", "kind"], "NaN", "inf", ["get", "empty"], 7]"#), Some(Value::Int(7)));
    assert_eq!(value(r#"["to-number", ["get", "missing"]]"#), None);
    assert_eq!(value(r#"["to-number", ["get", "nan"]]"#), None);
    assert_eq!(value(r#"["to-string", ["get", "lanes"]]"#), Some(Value::String("2".into())));
    assert_eq!(value(r#"["to-string", ["get", "width"]]"#), Some(Value::String("2".into())));
    assert_eq!(value(r#"["to-string", 0.5]"#), Some(Value::String("0.5".into())));
    assert_eq!(value(r#"["to-string", ["get", "oneway"]]"#), Some(Value::String("true".into())));
    assert_eq!(value(r#"["to-string", ["get", "missing"]]"#), None);
    assert_eq!(value(r#"["to-string", ["geometry-type"]]"#), Some(Value::String("Polygon".into())));
    for (text, want) in [
        (r#"["to-boolean", ["get", "kind"]]"#, true),
        (r#"["to-boolean", ["get", "empty"]]"#, false),
        (r#"["to-boolean", ["get", "lanes"]]"#, true),
        (r#"["to-boolean", 0]"#, false),
        (r#"["to-boolean", ["get", "nan"]]"#, false),
        (r#"["to-boolean", ["get", "missing"]]"#, false),
    ] {
        assert_eq!(value(text), Some(Value::Bool(want)), "{text}");
    }
}

#[test]
fn numbers_for_minzoom_by() {
    let properties = props();
    let ctx = FeatureProperties { properties: &properties, geometry: GeometryType::Point };
    let number = |text: &str| parse(text).eval_number(&ctx);
    assert_eq!(number(r#"["get", "lanes"]"#), Some(2.0));
    assert_eq!(number(r#"["get", "big"]"#), Some(u64::MAX as f64));
    assert_eq!(number(r#"["get", "kind"]"#), None);
    assert_eq!(number(r#"["get", "nan"]"#), None);
    assert_eq!(number(r#"["get", "height"]"#), None, "a numeric string is not a number without to-number");
    assert_eq!(number("1e300"), Some(1e300));
    assert_eq!(parse(r#"["match", ["get", "c"], "a", 1, 2]"#).kind(), Kind::Number);
    assert_eq!(parse(r#"["match", ["get", "c"], "a", 1, "x"]"#).kind(), Kind::Any);
}

#[test]
fn osm_tags_are_a_context_too() {
    let tags = [("highway", "primary"), ("lanes", "3"), ("name", "Triq il-Merkanti")];
    let ctx = TagProperties { tags: &tags, geometry: GeometryType::LineString };
    assert!(parse(r#"["all", ["==", "highway", "primary"], ["==", "$type", "LineString"]]"#).eval_bool(&ctx));
    assert!(!parse(r#"["==", "lanes", 3]"#).eval_bool(&ctx), "a tag is a string");
    assert!(parse(r#"[">=", ["to-number", ["get", "lanes"]], 3]"#).eval_bool(&ctx));
    assert_eq!(parse(r#"["get", "name"]"#).eval_value(&ctx), Some(Value::String("Triq il-Merkanti".into())));
}
