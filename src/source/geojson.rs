//! GeoJSON text in → [`Feature`]s out, one at a time: a FeatureCollection (or single Feature, or bare Geometry)
//! read from a memory-mapped file with serde visitors, and newline-delimited GeoJSON (RFC 8142 too) read by line.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::validate::{Checker, Problem, RawGeometry, TypeName, convert};
use super::{Emitter, Feature, Outcome, Result, SourceError, Value, io_error};

/// Reads a whole GeoJSON document (FeatureCollection, Feature or Geometry), streaming the features array.
pub(super) fn read_document(em: &mut Emitter) -> Result<()> {
    let path = em.path;
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    if file.metadata().map_err(|e| io_error(path, e))?.len() == 0 {
        return Ok(());
    }
    // SAFETY: the map is only read, and only while this function runs. If another process truncates or
    // rewrites the file meanwhile, reads see the new bytes (or fault), as with any mmap-based reader.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| io_error(path, e))?;
    let bytes = map.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&map);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    parse(em, bytes, None)
}

/// Reads newline-delimited GeoJSON: one Feature per non-blank line; 0x1E record separators are tolerated.
pub(super) fn read_lines(em: &mut Emitter) -> Result<()> {
    let path = em.path;
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let (mut buf, mut line) = (Vec::new(), 0u64);
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(|e| io_error(path, e))? == 0 {
            return Ok(());
        }
        line += 1;
        let bom = if line == 1 { buf.strip_prefix(b"\xEF\xBB\xBF") } else { None };
        for record in bom.unwrap_or(&buf).split(|&b| b == 0x1E) {
            if !record.iter().all(u8::is_ascii_whitespace) {
                parse(em, record, Some(line))?;
            }
        }
    }
}

/// Parses one JSON text: a whole document, or (with its 1-based `line` number) one line holding one feature.
fn parse(em: &mut Emitter, bytes: &[u8], line: Option<u64>) -> Result<()> {
    let top = line.is_none();
    let mut state = State { em, in_feature: !top, stop: None };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let seed = ObjectSeed { state: &mut state, top };
    let parsed = seed.deserialize(&mut de).and_then(|()| de.end());
    parsed.map_err(|e| state.error(&e, line))
}

/// Reading state shared by the visitors.
struct State<'e, 'a> {
    em: &'e mut Emitter<'a>,
    /// Whether a JSON error now belongs to feature `em.index()`.
    in_feature: bool,
    /// An error raised inside a visitor (sink error, invalid feature); serde only carries a placeholder.
    stop: Option<SourceError>,
}

impl State<'_, '_> {
    fn emit<E: de::Error>(&mut self, outcome: Outcome) -> Result<(), E> {
        self.em.emit(outcome).map_err(|e| {
            self.stop = Some(e);
            E::custom("reading stopped")
        })
    }

    /// The error to report for a failed parse; `line` (1-based) replaces serde's line for line-by-line input.
    fn error(&mut self, e: &serde_json::Error, line: Option<u64>) -> SourceError {
        if let Some(stop) = self.stop.take() {
            return stop;
        }
        let mut message = e.to_string();
        if let Some(line) = line {
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            message = match message.strip_suffix(&suffix) {
                Some(m) => format!("{m} at line {line} column {}", e.column()),
                None => format!("{message} (line {line})"),
            };
        }
        let feature = self.in_feature.then(|| self.em.index());
        SourceError::Json { path: self.em.path.to_path_buf(), feature, message }
    }
}

/// The object members we look at.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Key {
    Type,
    Geometry,
    Properties,
    Coordinates,
    Geometries,
    Features,
    #[serde(other)]
    Other,
}

/// Properties in file order, nulls dropped.
struct Props(Vec<(String, Value)>);

/// One property value; `None` for null.
struct PropValue(Option<Value>);

/// Reads one JSON object: the top-level document (`top`) or one element of "features" / one line.
struct ObjectSeed<'s, 'e, 'a> {
    state: &'s mut State<'e, 'a>,
    top: bool,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GeoJSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut kind = None;
        let (mut geometry, mut properties, mut saw_features) = (None, None, false);
        let mut bare = RawGeometry::default();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Type => kind = Some(map.next_value::<TypeName>()?),
                Key::Geometry => geometry = map.next_value::<Option<RawGeometry>>()?,
                Key::Properties => properties = map.next_value::<Option<Props>>()?,
                Key::Coordinates => bare.coordinates = map.next_value()?,
                Key::Geometries => bare.geometries = map.next_value()?,
                Key::Features if self.top => {
                    map.next_value_seed(FeaturesSeed { state: &mut *self.state })?;
                    saw_features = true;
                }
                Key::Features | Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if saw_features {
            return Ok(());
        }
        let properties = properties.map(|p| p.0).unwrap_or_default();
        let outcome = match kind {
            Some(TypeName::Feature) => build(geometry, properties),
            None if geometry.is_some() => build(geometry, properties),
            Some(TypeName::FeatureCollection) if self.top => return Ok(()),
            Some(TypeName::FeatureCollection) => {
                Outcome::Invalid(Problem::fatal("expected a Feature, found a FeatureCollection"))
            }
            None => Outcome::Invalid(Problem::fatal("object has no \"type\" (expected a Feature)")),
            Some(geometry_kind) => build(Some(RawGeometry { kind: Some(geometry_kind), ..bare }), properties),
        };
        self.state.emit(outcome)
    }
}

/// Walks the "features" array, reading and emitting one feature at a time.
struct FeaturesSeed<'s, 'e, 'a> {
    state: &'s mut State<'e, 'a>,
}

impl<'de> DeserializeSeed<'de> for FeaturesSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FeaturesSeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of features")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            self.state.in_feature = true;
            let more = seq.next_element_seed(ObjectSeed { state: &mut *self.state, top: false })?;
            self.state.in_feature = false;
            if more.is_none() {
                return Ok(());
            }
        }
    }
}

/// Turns a parsed feature into an outcome: a checked geometry, no or an empty geometry, or a problem.
fn build(geometry: Option<RawGeometry>, properties: Vec<(String, Value)>) -> Outcome {
    let Some(raw) = geometry else {
        return Outcome::Empty;
    };
    match convert(raw, &mut Checker::default()) {
        Ok(Some(geometry)) => Outcome::Feature(Feature { geometry, properties }),
        Ok(None) => Outcome::Empty,
        Err(problem) => Outcome::Invalid(problem),
    }
}

impl<'de> Deserialize<'de> for Props {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Props;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a properties object or null")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Props, A::Error> {
                let mut props = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if let PropValue(Some(v)) = map.next_value()? {
                        props.push((key, v));
                    }
                }
                Ok(Props(props))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for PropValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<Value>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a property value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Some(Value::Bool(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Some(Value::Int(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Some(i64::try_from(v).map_or(Value::UInt(v), Value::Int)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Some(Value::Float(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Some(Value::String(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                json_text(de::value::SeqAccessDeserializer::new(seq))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                json_text(de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_any(V).map(PropValue)
    }
}

/// An array or object property as its compact JSON text (object keys come out sorted).
fn json_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(Some(Value::String(serde_json::Value::deserialize(d)?.to_string())))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use geo::{Geometry, GeometryCollection, LineString, MultiPolygon, Point, Polygon, line_string, polygon};

    use super::super::tests::{collection, error, feature, read};
    use super::super::{InvalidPolicy, ReadStats, read_features};
    use super::*;

    fn geometries(text: &str) -> Vec<Geometry> {
        let (stats, features) = read("g.geojson", text, InvalidPolicy::Error);
        assert!(stats.is_ok(), "{stats:?}");
        features.into_iter().map(|f| f.geometry).collect()
    }

    #[test]
    fn every_geometry_type() {
        let square = "[[0,0],[4,0],[4,4],[0,4],[0,0]]";
        let hole = "[[1,1],[1,2],[2,2],[1,1]]";
        let text = collection(&[
            &feature(r#"{"type": "Point", "coordinates": [1.5, 2.5, 100]}"#),
            &feature(r#"{"type": "MultiPoint", "coordinates": [[1, 2], [3, 4]]}"#),
            &feature(r#"{"type": "LineString", "coordinates": [[1, 2], [3, 4]]}"#),
            &feature(r#"{"type": "MultiLineString", "coordinates": [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]}"#),
            &feature(&format!(r#"{{"type": "Polygon", "coordinates": [{square}, {hole}]}}"#)),
            &feature(&format!(r#"{{"type": "MultiPolygon", "coordinates": [[{square}], [{square}, {hole}]]}}"#)),
        ]);
        let square = polygon![(x: 0., y: 0.), (x: 4., y: 0.), (x: 4., y: 4.), (x: 0., y: 4.), (x: 0., y: 0.)];
        let holed = Polygon::new(
            square.exterior().clone(),
            vec![line_string![(x: 1., y: 1.), (x: 1., y: 2.), (x: 2., y: 2.), (x: 1., y: 1.)]],
        );
        let want: Vec<Geometry> = vec![
            Point::new(1.5, 2.5).into(),
            geo::MultiPoint::from(vec![(1., 2.), (3., 4.)]).into(),
            LineString::from(vec![(1., 2.), (3., 4.)]).into(),
            geo::MultiLineString::new(vec![
                LineString::from(vec![(1., 2.), (3., 4.)]),
                LineString::from(vec![(5., 6.), (7., 8.)]),
            ])
            .into(),
            holed.clone().into(),
            MultiPolygon(vec![square, holed]).into(),
        ];
        assert_eq!(geometries(&text), want);
    }

    #[test]
    fn geometry_collection_nested_and_members_in_any_order() {
        let text = feature(
            r#"{"geometries": [{"coordinates": [1, 2], "type": "Point"},
                {"type": "GeometryCollection", "geometries": [{"type": "LineString", "coordinates": [[0,0],[1,1]]}]}],
               "type": "GeometryCollection"}"#,
        );
        let inner =
            Geometry::GeometryCollection(GeometryCollection(vec![line_string![(x: 0., y: 0.), (x: 1., y: 1.)].into()]));
        let want = Geometry::GeometryCollection(GeometryCollection(vec![Point::new(1., 2.).into(), inner]));
        assert_eq!(geometries(&text), vec![want]);
    }

    #[test]
    fn coordinates_before_type_and_other_members_ignored() {
        let text = r#"{"bbox": [0, 0, 1, 1], "features": [{"id": 7, "geometry": {"coordinates": [[3, 4], [5, 6]],
            "bbox": [3, 4, 5, 6], "type": "LineString"}, "type": "Feature"}], "name": "x", "crs": {"a": [1]},
            "type": "FeatureCollection"}"#;
        assert_eq!(geometries(text), vec![Geometry::from(line_string![(x: 3., y: 4.), (x: 5., y: 6.)])]);
    }

    #[test]
    fn single_feature_and_bare_geometry() {
        let (stats, f) = read(
            "f.json",
            r#"{"properties": {"a": 1}, "type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}}"#,
            InvalidPolicy::Error,
        );
        assert_eq!(stats.ok(), Some(ReadStats { read: 1, empty: 0, skipped: 0 }));
        assert_eq!(f[0].properties, vec![("a".to_string(), Value::Int(1))]);
        let (stats, f) = read("g.geojson", r#"{"coordinates": [1, 2], "type": "Point"}"#, InvalidPolicy::Error);
        assert_eq!(stats.ok(), Some(ReadStats { read: 1, empty: 0, skipped: 0 }));
        assert_eq!(f[0], Feature { geometry: Point::new(1., 2.).into(), properties: vec![] });
    }

    #[test]
    fn properties_map_to_values_in_file_order() {
        let text = collection(&[r#"{"type": "Feature", "geometry": {"type": "Point", "coordinates": [0, 0]},
            "properties": {"s": "x\"y", "i": -3, "big": 18446744073709551615, "f": 1.5, "whole": 2.0, "b": true,
              "n": null, "o": {"z": 1, "a": [true, null, "q"]}, "arr": [1, 2.5]}}"#]);
        let (stats, f) = read("p.geojson", &text, InvalidPolicy::Error);
        assert!(stats.is_ok(), "{stats:?}");
        let s = |v: &str| Value::String(v.to_string());
        let want = vec![
            ("s", s("x\"y")),
            ("i", Value::Int(-3)),
            ("big", Value::UInt(u64::MAX)),
            ("f", Value::Float(1.5)),
            ("whole", Value::Float(2.0)),
            ("b", Value::Bool(true)),
            ("o", s(r#"{"a":[true,null,"q"],"z":1}"#)),
            ("arr", s("[1,2.5]")),
        ];
        let want: Vec<(String, Value)> = want.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        assert_eq!(f[0].properties, want);
    }

    #[test]
    fn null_geometry_skipped_and_null_or_absent_properties() {
        let text = collection(&[
            r#"{"type": "Feature", "properties": {"a": 1}, "geometry": null}"#,
            r#"{"type": "Feature", "properties": null, "geometry": {"type": "Point", "coordinates": [1, 2]}}"#,
            r#"{"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}}"#,
        ]);
        let (stats, f) = read("n.geojson", &text, InvalidPolicy::Error);
        assert_eq!(stats.ok(), Some(ReadStats { read: 2, empty: 1, skipped: 0 }));
        assert!(f.iter().all(|f| f.properties.is_empty()));
    }

    #[test]
    fn malformed_json_names_feature_and_line() {
        let text = collection(&[
            &feature(r#"{"type": "Point", "coordinates": [0, 0]}"#),
            r#"{"type": "Feature", "geometry": {"type": "Point", "coordinates": [0, 0}}"#,
        ]);
        let err = error(&text, InvalidPolicy::Error);
        assert!(err.contains("e.geojson: malformed JSON in feature #1: expected `,` or `]` at line 3 column"), "{err}");
        let err = error(r#"{"type": "FeatureCollection", "features": []} x"#, InvalidPolicy::Error);
        assert!(err.contains("malformed JSON: trailing characters at line 1 column 47"), "{err}");
        let err = error("[1, 2]", InvalidPolicy::Error);
        assert!(err.contains("malformed JSON: invalid type: sequence, expected a GeoJSON object"), "{err}");
        let err = error(
            r#"{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": "x"}]}"#,
            InvalidPolicy::Error,
        );
        assert!(err.contains("in feature #0: invalid type: string \"x\""), "{err}");
    }

    #[test]
    fn newline_delimited() {
        let p = |x: i32| feature(&format!(r#"{{"type": "Point", "coordinates": [{x}, 0]}}"#));
        let text = format!("{}\n\n\x1e{}\r\n  \n\x1e{}\n", p(1), p(2), p(3));
        let (stats, f) = read("a.geojsonl", &text, InvalidPolicy::Error);
        assert_eq!(stats.ok(), Some(ReadStats { read: 3, empty: 0, skipped: 0 }));
        assert_eq!(f[2].geometry, Point::new(3., 0.).into());
        let text = format!("{}\n\n{}\n{{\"type\": \"Feature\", \"geometry\": nul}}\n", p(1), p(2));
        let (stats, _) = read("a.ndjson", &text, InvalidPolicy::Error);
        let err = stats.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("a.ndjson: malformed JSON in feature #2: expected ident at line 4 column"), "{err}");
    }

    /// `cargo test --release --lib source::geojson::tests::malta_speed -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn malta_speed() {
        let path = Path::new("/work/shared/fixtures-peers/malta-osm.geojson");
        let start = std::time::Instant::now();
        let mut vertices = 0usize;
        let stats = read_features(path, InvalidPolicy::Error, &mut |f| {
            vertices += geo::CoordsIter::coords_count(&f.geometry);
            Ok(())
        });
        println!("{stats:?}: {vertices} vertices in {:?}", start.elapsed());
        assert_eq!(stats.ok().map(|s| s.read), Some(50_180));
    }
}
