//! Geodata files → features: streaming readers for GeoJSON, newline-delimited GeoJSON and FlatGeobuf, and the
//! profile-driven reader of OpenStreetMap `.osm.pbf` extracts ([`osm`]).
//!
//! Every reader yields [`Feature`]s in WGS84 (lon/lat) one at a time to a sink, so a large file is never held
//! as one string or one document tree. A feature that cannot be read is an error naming the file and the
//! feature index, unless the caller asked for invalid features to be skipped (then it is counted and logged).
//! A feature with no geometry (`"geometry": null`) or an empty one (RFC 7946: `"coordinates": []`, a
//! GeometryCollection with no members) is valid: it is skipped and counted as empty, whatever the policy.

use std::path::{Path, PathBuf};

/// One property value as it goes into a vector tile. Nested JSON values arrive as their JSON text;
/// nulls never arrive (they are dropped).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
}

/// One feature read from a source: geometry in lon/lat degrees plus its properties in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    pub geometry: geo::Geometry<f64>,
    pub properties: Vec<(String, Value)>,
}

/// What to do with a feature whose geometry is invalid (out-of-range or non-finite coordinates, a short line or
/// ring, an unclosed ring, an empty part of a non-empty geometry). Empty geometries are not invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvalidPolicy {
    /// Stop with an error naming the file and the feature (the default).
    #[default]
    Error,
    /// Count it, log it, and go on.
    Skip,
}

/// What a reader saw, for the build summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Features handed to the sink.
    pub read: u64,
    /// Features not handed on because they have no geometry (`"geometry": null`) or an empty one.
    pub empty: u64,
    /// Invalid features not handed on, under [`InvalidPolicy::Skip`].
    pub skipped: u64,
}

/// The error of the source stage; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: unknown source format (expected .geojson, .json, .geojsonl, .ndjson, .geojsons, .fgb or .osm.pbf)"
    )]
    UnknownFormat { path: PathBuf },
    #[error("{path}: malformed JSON{}: {message}", feature_suffix(*.feature))]
    Json {
        path: PathBuf,
        /// 0-based index of the feature being read when the error happened, if known.
        feature: Option<u64>,
        message: String,
    },
    #[error("{path}: feature #{feature}: {message}")]
    InvalidFeature { path: PathBuf, feature: u64, message: String },
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    #[error("{path}: the source holds no features")]
    Empty { path: PathBuf },
}

fn feature_suffix(feature: Option<u64>) -> String {
    feature.map(|i| format!(" in feature #{i}")).unwrap_or_default()
}

pub type Result<T, E = SourceError> = std::result::Result<T, E>;

mod flatgeobuf;
mod geojson;
pub mod osm;
mod validate;

use validate::Problem;

/// Source file kinds, detected from the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    /// `.geojson` / `.json`: a FeatureCollection, or a single Feature or bare Geometry.
    GeoJson,
    /// `.geojsonl` / `.ndjson` / `.geojsons` / `.jsonl`: one Feature per line (blank lines ignored,
    /// RFC 8142 record separators tolerated).
    GeoJsonSeq,
    /// `.fgb`: FlatGeobuf.
    FlatGeobuf,
    /// `.osm.pbf`: an OpenStreetMap extract, read by [`osm::read`] with a layer profile.
    OsmPbf,
}

impl SourceFormat {
    /// Detects the format from the extension of `path` (case-insensitive).
    pub fn detect(path: &Path) -> Result<SourceFormat> {
        let name = path.file_name().and_then(|n| n.to_str()).map(str::to_ascii_lowercase);
        if name.is_some_and(|n| n.ends_with(".osm.pbf")) {
            return Ok(SourceFormat::OsmPbf);
        }
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("geojson" | "json") => Ok(SourceFormat::GeoJson),
            Some("geojsonl" | "ndjson" | "geojsons" | "jsonl") => Ok(SourceFormat::GeoJsonSeq),
            Some("fgb") => Ok(SourceFormat::FlatGeobuf),
            _ => Err(SourceError::UnknownFormat { path: path.to_path_buf() }),
        }
    }
}

/// Reads every feature of `path` (format detected with [`SourceFormat::detect`]), handing each to `sink` in
/// file order. The sink may return an error to stop reading; that error is returned as is.
pub fn read_features(
    path: &Path,
    policy: InvalidPolicy,
    sink: &mut dyn FnMut(Feature) -> Result<()>,
) -> Result<ReadStats> {
    let mut emitter = Emitter::new(path, policy, sink);
    match SourceFormat::detect(path)? {
        SourceFormat::GeoJson => geojson::read_document(&mut emitter)?,
        SourceFormat::GeoJsonSeq => geojson::read_lines(&mut emitter)?,
        SourceFormat::FlatGeobuf => flatgeobuf::read(&mut emitter)?,
        SourceFormat::OsmPbf => {
            let message = "an OpenStreetMap extract is read with a layer profile (source::osm::read)".to_owned();
            return Err(SourceError::Format { path: path.to_path_buf(), message });
        }
    }
    emitter.finish()
}

/// What reading one feature gave.
enum Outcome {
    Feature(Feature),
    /// `"geometry": null`, no geometry at all, or an empty one: skipped and counted as empty.
    Empty,
    Invalid(Problem),
}

/// Hands features to the sink in order, numbering them (0-based, skipped ones included) and applying the policy.
struct Emitter<'a> {
    path: &'a Path,
    policy: InvalidPolicy,
    sink: &'a mut dyn FnMut(Feature) -> Result<()>,
    stats: ReadStats,
    next: u64,
}

impl<'a> Emitter<'a> {
    fn new(path: &'a Path, policy: InvalidPolicy, sink: &'a mut dyn FnMut(Feature) -> Result<()>) -> Self {
        Emitter { path, policy, sink, stats: ReadStats::default(), next: 0 }
    }

    /// Index of the feature being read (the next one to be emitted).
    fn index(&self) -> u64 {
        self.next
    }

    fn emit(&mut self, outcome: Outcome) -> Result<()> {
        let feature = self.next;
        self.next += 1;
        match outcome {
            Outcome::Feature(f) => {
                self.stats.read += 1;
                (self.sink)(f)
            }
            Outcome::Empty => {
                tracing::debug!("{}: feature #{feature}: no or empty geometry; feature skipped", self.path.display());
                self.stats.empty += 1;
                Ok(())
            }
            Outcome::Invalid(problem) => {
                let err =
                    SourceError::InvalidFeature { path: self.path.to_path_buf(), feature, message: problem.message };
                if problem.fatal || self.policy == InvalidPolicy::Error {
                    return Err(err);
                }
                tracing::warn!("{err}; feature skipped");
                self.stats.skipped += 1;
                Ok(())
            }
        }
    }

    /// The counts, or [`SourceError::Empty`] when the source held no feature at all.
    fn finish(self) -> Result<ReadStats> {
        if self.next == 0 {
            return Err(SourceError::Empty { path: self.path.to_path_buf() });
        }
        Ok(self.stats)
    }
}

fn io_error(path: &Path, source: std::io::Error) -> SourceError {
    SourceError::Io { path: path.to_path_buf(), source }
}

#[cfg(test)]
mod tests {
    use geo::Point;

    use super::*;

    /// Writes `text` to a temp file called `name` and reads it.
    pub(super) fn read(name: &str, text: &str, policy: InvalidPolicy) -> (Result<ReadStats>, Vec<Feature>) {
        let dir = tempfile::tempdir().map_err(|e| e.to_string());
        let Ok(dir) = dir else { panic!("no temp dir: {dir:?}") };
        let path = dir.path().join(name);
        assert!(std::fs::write(&path, text).is_ok());
        let mut features = Vec::new();
        let stats = read_features(&path, policy, &mut |f| {
            features.push(f);
            Ok(())
        });
        (stats, features)
    }

    pub(super) fn collection(features: &[&str]) -> String {
        format!("{{\"type\": \"FeatureCollection\", \"features\": [\n{}\n]}}", features.join(",\n"))
    }

    pub(super) fn feature(geometry: &str) -> String {
        format!(r#"{{"type": "Feature", "properties": {{}}, "geometry": {geometry}}}"#)
    }

    /// The error message of reading `text` as GeoJSON.
    pub(super) fn error(text: &str, policy: InvalidPolicy) -> String {
        read("e.geojson", text, policy).0.err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn detects_formats_from_extension() {
        let cases = [
            ("a.geojson", Some(SourceFormat::GeoJson)),
            ("a.JSON", Some(SourceFormat::GeoJson)),
            ("a.geojsonl", Some(SourceFormat::GeoJsonSeq)),
            ("a.ndjson", Some(SourceFormat::GeoJsonSeq)),
            ("a.geojsons", Some(SourceFormat::GeoJsonSeq)),
            ("a.jsonl", Some(SourceFormat::GeoJsonSeq)),
            ("dir/a.fgb", Some(SourceFormat::FlatGeobuf)),
            ("dir/malta-latest.osm.pbf", Some(SourceFormat::OsmPbf)),
            ("M.OSM.PBF", Some(SourceFormat::OsmPbf)),
            ("tile.pbf", None),
            ("a.shp", None),
            ("noext", None),
        ];
        for (name, want) in cases {
            let got = SourceFormat::detect(Path::new(name));
            match want {
                Some(f) => assert_eq!(got.ok(), Some(f), "{name}"),
                None => assert!(matches!(got, Err(SourceError::UnknownFormat { .. })), "{name}"),
            }
        }
    }

    #[test]
    fn missing_file_is_io_error_naming_path() {
        let err = read_features(Path::new("/nonexistent/x.geojson"), InvalidPolicy::Error, &mut |_| Ok(()));
        let err = err.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("/nonexistent/x.geojson: cannot read"), "{err}");
    }

    #[test]
    fn validation_errors_name_the_feature() {
        let ok = feature(r#"{"type": "Point", "coordinates": [0, 0]}"#);
        let cases = [
            (
                r#"{"type": "LineString", "coordinates": [[0,0],[1,1],[2,2],[200.5,1]]}"#,
                "longitude 200.5 out of range [-180, 180] at coordinate 3",
            ),
            (r#"{"type": "Point", "coordinates": [1, -91]}"#, "latitude -91 out of range [-90, 90] at coordinate 0"),
            (
                r#"{"type": "Polygon", "coordinates": [[[1,2],[5,5],[5,6],[3,4]]]}"#,
                "polygon ring 0 is not closed (first point (1, 2) != last point (3, 4))",
            ),
            (
                r#"{"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]], [[0,0],[0,0]]]}"#,
                "polygon ring 1 has 2 positions, needs at least 4",
            ),
            (r#"{"type": "LineString", "coordinates": [[1, 1]]}"#, "LineString has 1 position, needs at least 2"),
            (r#"{"type": "MultiPolygon", "coordinates": [[]]}"#, "polygon 0 of MultiPolygon is empty"),
            (
                r#"{"type": "MultiPolygon", "coordinates": [[[[0,0],[1,0],[1,1],[0,0]]], []]}"#,
                "polygon 1 of MultiPolygon is empty",
            ),
            (r#"{"type": "MultiLineString", "coordinates": [[]]}"#, "line 0 of MultiLineString is empty"),
            (r#"{"type": "Polygon", "coordinates": [[]]}"#, "polygon ring 0 has 0 positions, needs at least 4"),
            (r#"{"type": "Point"}"#, "Point has no \"coordinates\""),
            (r#"{"type": "GeometryCollection"}"#, "GeometryCollection has no \"geometries\""),
            (
                r#"{"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": []},
                    {"type": "Point", "coordinates": [0, 91]}]}"#,
                "geometry 1 of GeometryCollection: latitude 91 out of range [-90, 90] at coordinate 0",
            ),
            (
                r#"{"type": "Point", "coordinates": [1]}"#,
                "Point coordinates: a position has 1 number, needs at least 2",
            ),
            (
                r#"{"type": "Polygon", "coordinates": [[1, 2], [3, 4]]}"#,
                "Polygon coordinates have the wrong nesting depth",
            ),
            (r#"{"type": "Circle", "coordinates": [1, 2]}"#, "unknown geometry type \"Circle\""),
        ];
        for (geometry, message) in cases {
            let err = error(&collection(&[&ok, &feature(geometry)]), InvalidPolicy::Error);
            assert!(err.ends_with(&format!("e.geojson: feature #1: {message}")), "{err}");
        }
    }

    #[test]
    fn skip_policy_counts_invalid_features_but_unknown_types_still_fail() {
        let text = collection(&[
            &feature(r#"{"type": "Point", "coordinates": [500, 0]}"#),
            &feature(r#"{"type": "Point", "coordinates": [5, 0]}"#),
            &feature(r#"{"type": "LineString", "coordinates": [[0, 0]]}"#),
        ]);
        let (stats, f) = read("s.geojson", &text, InvalidPolicy::Skip);
        assert_eq!(stats.ok(), Some(ReadStats { read: 1, empty: 0, skipped: 2 }));
        assert_eq!(f[0].geometry, Point::new(5., 0.).into());
        let text = collection(&[&feature(r#"{"type": "Curve", "coordinates": [0, 0]}"#)]);
        assert!(error(&text, InvalidPolicy::Skip).ends_with("feature #0: unknown geometry type \"Curve\""));
    }

    #[test]
    fn empty_geometries_are_counted_apart_whatever_the_policy() {
        let text = collection(&[
            &feature(r#"{"type": "Point", "coordinates": []}"#),
            &feature(r#"{"type": "MultiPoint", "coordinates": []}"#),
            &feature(r#"{"type": "LineString", "coordinates": []}"#),
            &feature(r#"{"type": "MultiLineString", "coordinates": []}"#),
            &feature(r#"{"type": "Polygon", "coordinates": []}"#),
            &feature(r#"{"type": "MultiPolygon", "coordinates": []}"#),
            &feature(r#"{"type": "GeometryCollection", "geometries": []}"#),
            &feature(r#"{"type": "GeometryCollection", "geometries": [{"type": "Polygon", "coordinates": []}]}"#),
            &feature("null"),
            r#"{"type": "Feature", "properties": {}}"#,
            &feature(
                r#"{"type": "GeometryCollection", "geometries": [{"type": "LineString", "coordinates": []},
                    {"type": "Point", "coordinates": [3, 4]}]}"#,
            ),
        ]);
        for policy in [InvalidPolicy::Error, InvalidPolicy::Skip] {
            let (stats, f) = read("empty.geojson", &text, policy);
            assert_eq!(stats.ok(), Some(ReadStats { read: 1, empty: 10, skipped: 0 }), "{policy:?}");
            let only = geo::Geometry::GeometryCollection(geo::GeometryCollection(vec![Point::new(3., 4.).into()]));
            assert_eq!(f.iter().map(|f| &f.geometry).collect::<Vec<_>>(), [&only]);
        }
        // Invalid ones are still errors by default, and counted apart from the empties under `skip`.
        let text = collection(&[
            &feature(r#"{"type": "LineString", "coordinates": [[0, 0]]}"#),
            &feature(r#"{"type": "Point", "coordinates": []}"#),
        ]);
        assert!(
            error(&text, InvalidPolicy::Error).ends_with("feature #0: LineString has 1 position, needs at least 2")
        );
        let (stats, _) = read("mixed.geojson", &text, InvalidPolicy::Skip);
        assert_eq!(stats.ok(), Some(ReadStats { read: 0, empty: 1, skipped: 1 }));
    }

    #[test]
    fn empty_sources() {
        for text in [r#"{"type": "FeatureCollection", "features": []}"#, "", " \n", r#"{"type": "FeatureCollection"}"#]
        {
            let (stats, _) = read("empty.geojson", text, InvalidPolicy::Error);
            assert!(matches!(stats, Err(SourceError::Empty { .. })), "{text:?}: {stats:?}");
        }
        let (stats, _) = read("empty.ndjson", "\n  \n\x1e\n", InvalidPolicy::Error);
        assert!(matches!(stats, Err(SourceError::Empty { .. })), "{stats:?}");
    }

    #[test]
    fn sink_error_stops_reading() {
        let dir = tempfile::tempdir().map_err(|e| e.to_string());
        let Ok(dir) = dir else { panic!("no temp dir") };
        let path = dir.path().join("x.geojson");
        let one = feature(r#"{"type": "Point", "coordinates": [0, 0]}"#);
        let text = collection(&[one.as_str(); 3]);
        assert!(std::fs::write(&path, text).is_ok());
        let mut seen = 0;
        let result = read_features(&path, InvalidPolicy::Error, &mut |_| {
            seen += 1;
            Err(SourceError::InvalidFeature { path: "sink".into(), feature: 0, message: "stop".into() })
        });
        assert_eq!(seen, 1);
        assert!(matches!(result, Err(SourceError::InvalidFeature { ref path, .. }) if path == Path::new("sink")));
    }
}
