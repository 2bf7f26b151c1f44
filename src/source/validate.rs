//! GeoJSON geometry objects in (their members in any order, coordinates parsed before the type is known) →
//! checked `geo` geometries out, or "empty"; the [`Checker`] (also used for FlatGeobuf) says what is wrong and
//! where: out-of-range or non-finite coordinate, empty part, short line or ring, unclosed ring.
//!
//! Empty geometries are valid GeoJSON (RFC 7946 §3.1: an empty `coordinates` array, a GeometryCollection with
//! no `geometries`) and [`convert`] returns `Ok(None)` for them, so they are counted apart from invalid ones.
//! A GeometryCollection drops its empty members and is empty when none is left. An empty *part* of a non-empty
//! geometry (an empty ring, a `[]` polygon inside a MultiPolygon, a `[]` line inside a MultiLineString) is not
//! an empty geometry but a malformed one: it stays invalid, since it most often means a writer lost data.

use std::fmt;

use geo::{Coord, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};

/// Why a feature cannot be used. `fatal` problems (unknown geometry type) are errors even under
/// [`super::InvalidPolicy::Skip`].
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Problem {
    pub message: String,
    pub fatal: bool,
}

impl Problem {
    pub fn invalid(message: impl Into<String>) -> Problem {
        Problem { message: message.into(), fatal: false }
    }

    pub fn fatal(message: impl Into<String>) -> Problem {
        Problem { message: message.into(), fatal: true }
    }

    /// The same problem, its message prefixed with where it happened.
    pub fn within(self, prefix: &str) -> Problem {
        Problem { message: format!("{prefix}: {}", self.message), fatal: self.fatal }
    }
}

/// Checks the parts of one geometry, numbering its coordinates in order so a message can say which one is bad.
#[derive(Debug, Default)]
pub(super) struct Checker {
    coord: usize,
}

impl Checker {
    pub fn point(&mut self, c: Coord) -> Result<(), Problem> {
        let at = self.coord;
        self.coord += 1;
        if !c.x.is_finite() || !c.y.is_finite() {
            return Err(Problem::invalid(format!("non-finite coordinate ({}, {}) at coordinate {at}", c.x, c.y)));
        }
        if !(-180.0..=180.0).contains(&c.x) {
            return Err(Problem::invalid(format!("longitude {} out of range [-180, 180] at coordinate {at}", c.x)));
        }
        if !(-90.0..=90.0).contains(&c.y) {
            return Err(Problem::invalid(format!("latitude {} out of range [-90, 90] at coordinate {at}", c.y)));
        }
        Ok(())
    }

    pub fn points(&mut self, coords: &[Coord]) -> Result<(), Problem> {
        coords.iter().try_for_each(|&c| self.point(c))
    }

    pub fn multi_point(&mut self, coords: &[Coord]) -> Result<(), Problem> {
        if coords.is_empty() {
            return Err(Problem::invalid("empty MultiPoint"));
        }
        self.points(coords)
    }

    /// A LineString, or line `member` of a MultiLineString.
    pub fn line_string(&mut self, coords: &[Coord], member: Option<usize>) -> Result<(), Problem> {
        let n = coords.len();
        match (n, member) {
            (0, None) => return Err(Problem::invalid("empty LineString")),
            (0, Some(i)) => {
                return Err(Problem::invalid(format!("line {i} of MultiLineString is empty")));
            }
            (1, None) => {
                return Err(Problem::invalid("LineString has 1 position, needs at least 2"));
            }
            (1, Some(i)) => {
                return Err(Problem::invalid(format!("line {i} of MultiLineString has 1 position, needs at least 2")));
            }
            _ => {}
        }
        self.points(coords)
    }

    pub fn multi_line_string<'c>(&mut self, lines: impl IntoIterator<Item = &'c [Coord]>) -> Result<(), Problem> {
        let mut any = false;
        for (i, line) in lines.into_iter().enumerate() {
            any = true;
            self.line_string(line, Some(i))?;
        }
        if !any {
            return Err(Problem::invalid("empty MultiLineString"));
        }
        Ok(())
    }

    /// The rings of a Polygon, or of polygon `member` of a MultiPolygon.
    pub fn polygon<'c>(
        &mut self,
        rings: impl IntoIterator<Item = &'c [Coord]>,
        member: Option<usize>,
    ) -> Result<(), Problem> {
        let label = |ring: usize| match member {
            None => format!("polygon ring {ring}"),
            Some(p) => format!("polygon {p} ring {ring}"),
        };
        let mut any = false;
        for (i, ring) in rings.into_iter().enumerate() {
            any = true;
            if ring.len() < 4 {
                let n = ring.len();
                let s = if n == 1 { "" } else { "s" };
                return Err(Problem::invalid(format!("{} has {n} position{s}, needs at least 4", label(i))));
            }
            self.points(ring)?;
            if let (Some(first), Some(last)) = (ring.first(), ring.last())
                && first != last
            {
                return Err(Problem::invalid(format!(
                    "{} is not closed (first point ({}, {}) != last point ({}, {}))",
                    label(i),
                    first.x,
                    first.y,
                    last.x,
                    last.y
                )));
            }
        }
        if !any {
            return Err(Problem::invalid(match member {
                None => "empty Polygon".to_string(),
                Some(p) => format!("polygon {p} of MultiPolygon is empty"),
            }));
        }
        Ok(())
    }
}

/// The "type" member.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum TypeName {
    Feature,
    FeatureCollection,
    Point,
    MultiPoint,
    LineString,
    MultiLineString,
    Polygon,
    MultiPolygon,
    GeometryCollection,
    Other(String),
}

/// Coordinates as nested in the text, before the geometry type is known: `Pos` is one position (x, y; z/m dropped),
/// `Line` an array of positions, `Nested` an array of deeper arrays.
#[derive(Debug, PartialEq)]
pub(super) enum Coords {
    Empty,
    Pos(Coord),
    Line(Vec<Coord>),
    Nested(Vec<Coords>),
    /// Not coordinates (a short position, mixed nesting depths): the message says why.
    Bad(String),
}

/// A geometry object as parsed: its members may come in any order, so coordinates wait here for the type.
#[derive(Debug, Default, Deserialize)]
pub(super) struct RawGeometry {
    #[serde(rename = "type")]
    pub kind: Option<TypeName>,
    pub coordinates: Option<Coords>,
    pub geometries: Option<Vec<RawGeometry>>,
}

/// One array element while reading coordinates.
enum Elem {
    Num(f64),
    Coords(Coords),
}

impl<'de> Deserialize<'de> for TypeName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = TypeName;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a GeoJSON type name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TypeName, E> {
                Ok(match v {
                    "Feature" => TypeName::Feature,
                    "FeatureCollection" => TypeName::FeatureCollection,
                    "Point" => TypeName::Point,
                    "MultiPoint" => TypeName::MultiPoint,
                    "LineString" => TypeName::LineString,
                    "MultiLineString" => TypeName::MultiLineString,
                    "Polygon" => TypeName::Polygon,
                    "MultiPolygon" => TypeName::MultiPolygon,
                    "GeometryCollection" => TypeName::GeometryCollection,
                    other => TypeName::Other(other.to_string()),
                })
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Coords {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_any(ElemVisitor)? {
            Elem::Coords(c) => Ok(c),
            Elem::Num(_) => Ok(Coords::Bad("expected an array, found a number".into())),
        }
    }
}

impl<'de> Deserialize<'de> for Elem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ElemVisitor)
    }
}

/// Reads coordinates without allocating per position. Non-numbers in coordinates are JSON errors; short
/// positions and mixed nesting depths become [`Coords::Bad`], an invalid geometry.
struct ElemVisitor;

impl<'de> Visitor<'de> for ElemVisitor {
    type Value = Elem;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a coordinate array or number")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Elem, E> {
        Ok(Elem::Num(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Elem, E> {
        Ok(Elem::Num(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Elem, E> {
        Ok(Elem::Num(v as f64))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Elem, A::Error> {
        match coords(&mut seq)? {
            Ok(c) => Ok(Elem::Coords(c)),
            Err(why) => {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Elem::Coords(Coords::Bad(why)))
            }
        }
    }
}

/// The rest of a coordinate array; `Err(why)` when it is not coordinates (the caller skips what is left).
fn coords<'de, A: SeqAccess<'de>>(seq: &mut A) -> Result<Result<Coords, String>, A::Error> {
    let bad = |why: &str| Ok(Err(why.to_string()));
    Ok(Ok(match seq.next_element::<Elem>()? {
        None => Coords::Empty,
        Some(Elem::Num(x)) => {
            let (mut y, mut n) = (None, 1);
            while let Some(e) = seq.next_element::<Elem>()? {
                let Elem::Num(v) = e else {
                    return bad("a position mixes numbers and arrays");
                };
                y = y.or(Some(v));
                n += 1;
            }
            match y {
                Some(y) => Coords::Pos(Coord { x, y }),
                None => return bad(&format!("a position has {n} number, needs at least 2")),
            }
        }
        Some(Elem::Coords(Coords::Pos(first))) => {
            let mut line = vec![first];
            while let Some(e) = seq.next_element::<Elem>()? {
                match e {
                    Elem::Coords(Coords::Pos(c)) => line.push(c),
                    Elem::Coords(Coords::Bad(why)) => return bad(&why),
                    _ => return bad("an array mixes positions and other values"),
                }
            }
            Coords::Line(line)
        }
        Some(Elem::Coords(Coords::Bad(why))) => return bad(&why),
        Some(Elem::Coords(first)) => {
            let mut nested = vec![first];
            while let Some(e) = seq.next_element::<Elem>()? {
                match e {
                    Elem::Coords(Coords::Bad(why)) => return bad(&why),
                    Elem::Coords(c @ (Coords::Empty | Coords::Line(_) | Coords::Nested(_))) => nested.push(c),
                    _ => return bad("an array mixes nesting depths"),
                }
            }
            Coords::Nested(nested)
        }
    }))
}

/// Checks a parsed geometry and builds it, or `Ok(None)` for an empty one; `ck` numbers the coordinates across
/// the whole geometry.
pub(super) fn convert(raw: RawGeometry, ck: &mut Checker) -> Result<Option<Geometry>, Problem> {
    let Some(kind) = raw.kind else {
        return Err(Problem::fatal("geometry has no \"type\""));
    };
    let name = match &kind {
        TypeName::Other(s) => return Err(Problem::fatal(format!("unknown geometry type \"{s}\""))),
        TypeName::Feature | TypeName::FeatureCollection => {
            return Err(Problem::fatal(format!("unknown geometry type \"{kind:?}\"")));
        }
        TypeName::GeometryCollection => {
            let Some(members) = raw.geometries else {
                return Err(Problem::invalid("GeometryCollection has no \"geometries\""));
            };
            let mut out = Vec::with_capacity(members.len());
            for (i, member) in members.into_iter().enumerate() {
                let member =
                    convert(member, ck).map_err(|p| p.within(&format!("geometry {i} of GeometryCollection")))?;
                out.extend(member);
            }
            return Ok((!out.is_empty()).then_some(Geometry::GeometryCollection(GeometryCollection(out))));
        }
        other => format!("{other:?}"),
    };
    let wrong_depth = || Problem::invalid(format!("{name} coordinates have the wrong nesting depth"));
    let coords = match raw.coordinates {
        None => return Err(Problem::invalid(format!("{name} has no \"coordinates\""))),
        Some(Coords::Empty) => return Ok(None),
        Some(Coords::Bad(why)) => {
            return Err(Problem::invalid(format!("{name} coordinates: {why}")));
        }
        Some(c) => c,
    };
    Ok(Some(match (kind, coords) {
        (TypeName::Point, Coords::Pos(c)) => {
            ck.point(c)?;
            Point(c).into()
        }
        (TypeName::MultiPoint, Coords::Line(v)) => {
            ck.multi_point(&v)?;
            MultiPoint(v.into_iter().map(Point).collect()).into()
        }
        (TypeName::LineString, Coords::Line(v)) => {
            ck.line_string(&v, None)?;
            LineString(v).into()
        }
        (TypeName::MultiLineString, Coords::Nested(n)) => {
            let lines = lines_of(n, &name)?;
            ck.multi_line_string(lines.iter().map(Vec::as_slice))?;
            MultiLineString(lines.into_iter().map(LineString).collect()).into()
        }
        (TypeName::Polygon, Coords::Nested(n)) => polygon(lines_of(n, &name)?, ck, None)?.into(),
        (TypeName::MultiPolygon, Coords::Nested(n)) => {
            let mut polygons = Vec::with_capacity(n.len());
            for (i, p) in n.into_iter().enumerate() {
                let rings = match p {
                    Coords::Empty => Vec::new(),
                    Coords::Nested(r) => lines_of(r, &name)?,
                    Coords::Bad(why) => {
                        return Err(Problem::invalid(format!("{name} coordinates: {why}")));
                    }
                    Coords::Pos(_) | Coords::Line(_) => return Err(wrong_depth()),
                };
                polygons.push(polygon(rings, ck, Some(i))?);
            }
            MultiPolygon(polygons).into()
        }
        _ => return Err(wrong_depth()),
    }))
}

/// An array of arrays of positions (rings or lines).
fn lines_of(nested: Vec<Coords>, name: &str) -> Result<Vec<Vec<Coord>>, Problem> {
    nested
        .into_iter()
        .map(|c| match c {
            Coords::Line(v) => Ok(v),
            Coords::Empty => Ok(Vec::new()),
            Coords::Bad(why) => Err(Problem::invalid(format!("{name} coordinates: {why}"))),
            Coords::Pos(_) | Coords::Nested(_) => {
                Err(Problem::invalid(format!("{name} coordinates have the wrong nesting depth")))
            }
        })
        .collect()
}

fn polygon(rings: Vec<Vec<Coord>>, ck: &mut Checker, member: Option<usize>) -> Result<Polygon, Problem> {
    ck.polygon(rings.iter().map(Vec::as_slice), member)?;
    let mut rings = rings.into_iter().map(LineString);
    let exterior = rings.next().ok_or_else(|| Problem::invalid("empty Polygon"))?;
    Ok(Polygon::new(exterior, rings.collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::coord;

    #[test]
    fn ring_messages() {
        let mut ck = Checker::default();
        let open = [coord! {x: 1.0, y: 2.0}, coord! {x: 0.0, y: 0.0}, coord! {x: 0.0, y: 1.0}, coord! {x: 3.0, y: 4.0}];
        let err = ck.polygon([open.as_slice()], None).err().map(|p| p.message);
        assert_eq!(err.as_deref(), Some("polygon ring 0 is not closed (first point (1, 2) != last point (3, 4))"));
        let closed = [open[0], open[1], open[2], open[0]];
        let err = Checker::default().polygon([closed.as_slice(), &closed[..2]], Some(1)).err();
        assert_eq!(err.map(|p| p.message).as_deref(), Some("polygon 1 ring 1 has 2 positions, needs at least 4"));
    }
}
