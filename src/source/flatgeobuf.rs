//! FlatGeobuf file in → [`Feature`]s out, one at a time: geometry converted with geozero's `ToGeo` and checked
//! like GeoJSON's, properties mapped from the FlatGeobuf column types to [`Value`]s. A feature with no geometry,
//! or one holding no coordinate in any part (an empty geometry), is counted as empty, as in GeoJSON.

use std::fs::File;
use std::io::BufReader;
use std::panic::{AssertUnwindSafe, catch_unwind};

use ::flatgeobuf::{FallibleStreamingIterator, FeatureProperties, FgbFeature, FgbReader};
use geo::{Coord, Geometry};
use geozero::{ColumnValue, PropertyProcessor, ToGeo};

use super::validate::{Checker, Problem};
use super::{Emitter, Feature, Outcome, Result, SourceError, Value, io_error};

/// Reads all features of a FlatGeobuf file in file order.
pub(super) fn read(em: &mut Emitter) -> Result<()> {
    let path = em.path;
    let format = |feature: Option<u64>, message: String| SourceError::Format {
        path: path.to_path_buf(),
        message: match feature {
            Some(i) => format!("feature #{i}: {message}"),
            None => format!("not a readable FlatGeobuf file: {message}"),
        },
    };
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    if file.metadata().map_err(|e| io_error(path, e))?.len() == 0 {
        return Ok(());
    }
    let reader = FgbReader::open(BufReader::with_capacity(1 << 16, file)).map_err(|e| format(None, e.to_string()))?;
    if let Some(crs) = reader.header().crs()
        && crs.org().is_none_or(|org| org.eq_ignore_ascii_case("EPSG"))
        && !matches!(crs.code(), 0 | 4326)
    {
        let message = format!("coordinates are in EPSG:{}, expected WGS84 lon/lat (EPSG:4326)", crs.code());
        return Err(SourceError::Format { path: path.to_path_buf(), message });
    }
    let declared = reader.header().features_count();
    let mut features = reader.select_all().map_err(|e| format(None, e.to_string()))?;
    loop {
        let index = em.index();
        let Some(fgb) = features.next().map_err(|e| format(Some(index), e.to_string()))? else {
            // The reader takes a short read of the next feature's size for the end of the file.
            if declared > index {
                let message = format!("truncated: the header declares {declared} features, the file holds {index}");
                return Err(SourceError::Format { path: path.to_path_buf(), message });
            }
            return Ok(());
        };
        // The flatgeobuf/geozero decoders index into the feature buffer; a corrupt file must not panic our caller.
        let outcome = catch_unwind(AssertUnwindSafe(|| convert(fgb)))
            .map_err(|_| format(Some(index), "corrupt feature data (the decoder panicked)".to_string()))?
            .map_err(|e| format(Some(index), e.to_string()))?;
        em.emit(outcome)?;
    }
}

/// One FlatGeobuf feature as an outcome; decoding errors are returned as geozero errors.
fn convert(fgb: &FgbFeature) -> geozero::error::Result<Outcome> {
    if fgb.geometry().is_none_or(|g| holds_no_coordinate(&g)) {
        return Ok(Outcome::Empty);
    }
    let geometry = fgb.to_geo()?;
    if let Err(problem) = check(&mut Checker::default(), &geometry) {
        return Ok(Outcome::Invalid(problem));
    }
    let mut props = Props::default();
    fgb.process_properties(&mut props)?;
    Ok(Outcome::Feature(Feature { geometry, properties: props.values }))
}

/// Whether a stored geometry is empty: no coordinate in it or in any of its parts. (The decoders would index
/// into the missing coordinates of, say, an empty Point.)
fn holds_no_coordinate(g: &::flatgeobuf::Geometry) -> bool {
    g.xy().is_none_or(|xy| xy.is_empty()) && g.parts().is_none_or(|parts| parts.iter().all(|p| holds_no_coordinate(&p)))
}

/// Checks an already built geometry (the FlatGeobuf path). Rings of a `geo::Polygon` are closed on
/// construction, so only their length and coordinates can fail here.
fn check(ck: &mut Checker, geometry: &Geometry) -> Result<(), Problem> {
    match geometry {
        Geometry::Point(p) => ck.point(p.0),
        Geometry::Line(l) => ck.points(&[l.start, l.end]),
        Geometry::LineString(l) => ck.line_string(&l.0, None),
        Geometry::Polygon(p) => ck.polygon(polygon_rings(p), None),
        Geometry::MultiPoint(mp) => {
            if mp.0.is_empty() {
                return Err(Problem::invalid("empty MultiPoint"));
            }
            mp.0.iter().try_for_each(|p| ck.point(p.0))
        }
        Geometry::MultiLineString(ml) => ck.multi_line_string(ml.0.iter().map(|l| l.0.as_slice())),
        Geometry::MultiPolygon(mp) => {
            if mp.0.is_empty() {
                return Err(Problem::invalid("empty MultiPolygon"));
            }
            mp.0.iter().enumerate().try_for_each(|(i, p)| ck.polygon(polygon_rings(p), Some(i)))
        }
        Geometry::GeometryCollection(gc) => {
            if gc.0.is_empty() {
                return Err(Problem::invalid("empty GeometryCollection"));
            }
            gc.0.iter().enumerate().try_for_each(|(i, g)| {
                check(ck, g).map_err(|p| p.within(&format!("geometry {i} of GeometryCollection")))
            })
        }
        Geometry::Rect(r) => ck.points(&[r.min(), r.max()]),
        Geometry::Triangle(t) => ck.points(&t.to_array()),
    }
}

/// The rings of `p` as slices, exterior first; an empty exterior with no holes counts as no ring at all.
fn polygon_rings(p: &geo::Polygon) -> impl Iterator<Item = &[Coord]> {
    let exterior = (!(p.exterior().0.is_empty() && p.interiors().is_empty())).then_some(p.exterior().0.as_slice());
    exterior.into_iter().chain(p.interiors().iter().map(|r| r.0.as_slice()))
}

/// Collects properties in column order (FlatGeobuf stores no nulls; binary values are dropped).
#[derive(Default)]
struct Props {
    values: Vec<(String, Value)>,
}

impl PropertyProcessor for Props {
    fn property(&mut self, _idx: usize, name: &str, value: &ColumnValue) -> geozero::error::Result<bool> {
        let value = match *value {
            ColumnValue::Byte(v) => Value::Int(v.into()),
            ColumnValue::UByte(v) => Value::Int(v.into()),
            ColumnValue::Short(v) => Value::Int(v.into()),
            ColumnValue::UShort(v) => Value::Int(v.into()),
            ColumnValue::Int(v) => Value::Int(v.into()),
            ColumnValue::UInt(v) => Value::Int(v.into()),
            ColumnValue::Long(v) => Value::Int(v),
            ColumnValue::ULong(v) => i64::try_from(v).map_or(Value::UInt(v), Value::Int),
            // Through the shortest decimal text, so 0.1f32 stays 0.1 rather than 0.10000000149011612.
            ColumnValue::Float(v) => Value::Float(v.to_string().parse().unwrap_or(f64::from(v))),
            ColumnValue::Double(v) => Value::Float(v),
            ColumnValue::Bool(v) => Value::Bool(v),
            ColumnValue::String(s) | ColumnValue::Json(s) | ColumnValue::DateTime(s) => Value::String(s.to_string()),
            ColumnValue::Binary(_) => {
                tracing::debug!("FlatGeobuf property \"{name}\" is binary, which a tile cannot hold; dropped");
                return Ok(false);
            }
        };
        self.values.push((name.to_string(), value));
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::super::{InvalidPolicy, read_features};
    use super::*;

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/malta-sample.fgb")
    }

    #[test]
    fn reads_the_malta_sample() {
        let mut features = Vec::new();
        let stats = read_features(&fixture(), InvalidPolicy::Error, &mut |f| {
            features.push(f);
            Ok(())
        });
        let stats = stats.map_err(|e| e.to_string());
        assert_eq!(stats, Ok(super::super::ReadStats { read: 200, empty: 0, skipped: 0 }));
        let first = &features[0];
        assert!(matches!(first.geometry, geo::Geometry::LineString(ref l) if l.0.len() == 3), "{first:?}");
        let props: Vec<(&str, &Value)> = first.properties.iter().map(|(k, v)| (k.as_str(), v)).collect();
        assert_eq!(
            props,
            [
                ("kind", &Value::String("road".into())),
                ("osm_id", &Value::String("4813306".into())),
                ("name", &Value::String("St. Nicholas Street".into())),
                ("class", &Value::String("residential".into())),
            ]
        );
        // 80 roads, 70 buildings (feature #148 a MultiPolygon whose null "name" is absent), 50 POIs.
        let kind = |f: &Feature| f.properties.first().map(|(_, v)| v.clone());
        let count = |k: &str| features.iter().filter(|f| kind(f) == Some(Value::String(k.into()))).count();
        assert_eq!((count("road"), count("building"), count("poi")), (80, 70, 50));
        let hospital = &features[148];
        assert!(matches!(hospital.geometry, geo::Geometry::MultiPolygon(ref mp) if mp.0.len() == 2), "{hospital:?}");
        let keys: Vec<&str> = hospital.properties.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["kind", "osm_id", "class"]);
        assert!(features[150..].iter().all(|f| matches!(f.geometry, geo::Geometry::Point(_))));
    }

    #[test]
    fn garbage_is_a_format_error() {
        let dir = tempfile::tempdir().map_err(|e| e.to_string());
        let Ok(dir) = dir else { panic!("tempdir") };
        let path = dir.path().join("bad.fgb");
        std::fs::write(&path, b"fgb\x03fgb\x00garbage").ok();
        let err = read_features(&path, InvalidPolicy::Error, &mut |_| Ok(())).err().map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains("bad.fgb: not a readable FlatGeobuf file"), "{err}");
    }

    #[test]
    fn truncated_and_empty_files() {
        let Ok(bytes) = std::fs::read(fixture()) else { panic!("fixture missing") };
        let Ok(dir) = tempfile::tempdir() else { panic!("tempdir") };
        let path = dir.path().join("t.fgb");
        // Magic (8), header size + header, no index, then each feature as a u32 size and that many bytes.
        let u32_at = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        let mut end = 12 + u32_at(8);
        for _ in 0..10 {
            end += 4 + u32_at(end);
        }
        std::fs::write(&path, &bytes[..end]).ok();
        let mut read = 0;
        let r = read_features(&path, InvalidPolicy::Error, &mut |_| {
            read += 1;
            Ok(())
        });
        let r = r.map_err(|e| e.to_string());
        let want = format!("{}: truncated: the header declares 200 features, the file holds 10", path.display());
        assert_eq!((r, read), (Err(want), 10));
        std::fs::write(&path, b"").ok();
        let r = read_features(&path, InvalidPolicy::Error, &mut |_| Ok(()));
        assert!(matches!(r, Err(SourceError::Empty { .. })), "{r:?}");
    }

    /// A GeozeroGeometry that writes a Point with no coordinate, which geo cannot express.
    struct EmptyPoint;

    impl geozero::GeozeroGeometry for EmptyPoint {
        fn process_geom<P: geozero::GeomProcessor>(&self, p: &mut P) -> geozero::error::Result<()> {
            p.point_begin(0)?;
            p.point_end(0)
        }
    }

    #[test]
    fn empty_geometries_are_counted_as_empty() {
        use ::flatgeobuf::{FgbWriter, FgbWriterOptions, GeometryType};
        use geo::{GeometryCollection, LineString, MultiPolygon, Point};
        let options =
            FgbWriterOptions { write_index: false, detect_type: false, promote_to_multi: false, ..Default::default() };
        let Ok(mut fgb) = FgbWriter::create_with_options("e", GeometryType::Unknown, options) else { panic!("writer") };
        let add = |fgb: &mut FgbWriter, g: Geometry| fgb.add_feature_geom(g, |_| {}).map_err(|e| e.to_string());
        assert_eq!(add(&mut fgb, Point::new(14.5, 35.9).into()), Ok(()));
        assert_eq!(fgb.add_feature_geom(EmptyPoint, |_| {}).map_err(|e| e.to_string()), Ok(()));
        assert_eq!(add(&mut fgb, LineString::<f64>::new(vec![]).into()), Ok(()));
        assert_eq!(add(&mut fgb, MultiPolygon::<f64>::new(vec![]).into()), Ok(()));
        assert_eq!(add(&mut fgb, Geometry::GeometryCollection(GeometryCollection(vec![]))), Ok(()));
        assert_eq!(add(&mut fgb, LineString::from(vec![(0.0, 0.0)]).into()), Ok(()));
        let Ok(dir) = tempfile::tempdir() else { panic!("tempdir") };
        let path = dir.path().join("e.fgb");
        let mut bytes = Vec::new();
        assert!(fgb.write(&mut bytes).is_ok());
        assert!(std::fs::write(&path, bytes).is_ok());
        let mut read = Vec::new();
        let stats = read_features(&path, InvalidPolicy::Skip, &mut |f| {
            read.push(f.geometry);
            Ok(())
        });
        let stats = stats.map_err(|e| e.to_string());
        assert_eq!(stats, Ok(super::super::ReadStats { read: 1, empty: 4, skipped: 1 }));
        assert_eq!(read, [Geometry::from(Point::new(14.5, 35.9))]);
        let err = read_features(&path, InvalidPolicy::Error, &mut |_| Ok(())).err().map(|e| e.to_string());
        assert_eq!(err, Some(format!("{}: feature #5: LineString has 1 position, needs at least 2", path.display())));
    }

    #[test]
    fn float_columns_keep_their_short_decimal() {
        let mut props = Props::default();
        props.property(0, "f", &ColumnValue::Float(0.1)).ok();
        props.property(1, "u", &ColumnValue::ULong(u64::MAX)).ok();
        props.property(2, "d", &ColumnValue::DateTime("2024-01-02T03:04:05Z")).ok();
        assert_eq!(props.values[0].1, Value::Float(0.1));
        assert_eq!(props.values[1].1, Value::UInt(u64::MAX));
        assert_eq!(props.values[2].1, Value::String("2024-01-02T03:04:05Z".into()));
    }

    #[test]
    fn built_geometries_are_checked() {
        use geo::{GeometryCollection, LineString, MultiPolygon, Point, Polygon};
        let msg = |g: Geometry| check(&mut Checker::default(), &g).err().map(|p| p.message).unwrap_or_default();
        assert_eq!(msg(Point::new(f64::NAN, 1.0).into()), "non-finite coordinate (NaN, 1) at coordinate 0");
        let line = LineString::from(vec![(1.0, 2.0), (3.0, 4.0), (5.0, 6.0), (200.5, 1.0)]);
        assert_eq!(msg(line.into()), "longitude 200.5 out of range [-180, 180] at coordinate 3");
        let empty = Polygon::<f64>::new(LineString::new(vec![]), vec![]);
        assert_eq!(msg(empty.clone().into()), "empty Polygon");
        assert_eq!(msg(MultiPolygon(vec![empty]).into()), "polygon 0 of MultiPolygon is empty");
        assert_eq!(msg(Geometry::GeometryCollection(GeometryCollection(vec![]))), "empty GeometryCollection");
        let gc = GeometryCollection(vec![Point::new(0.0, 0.0).into(), Point::new(0.0, 91.0).into()]);
        let want = "geometry 1 of GeometryCollection: latitude 91 out of range [-90, 90] at coordinate 1";
        assert_eq!(msg(Geometry::GeometryCollection(gc)), want);
        assert_eq!(msg(Point::new(180.0, -90.0).into()), "");
    }
}
