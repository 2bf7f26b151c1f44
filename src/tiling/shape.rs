//! Geometry as the tiler handles it: flat coordinate lists of one kind (points, lines or polygons), converted
//! once from `geo` lon/lat geometries into Web Mercator unit coordinates, then scaled per zoom.

use geo::Geometry;

use super::mercator::lonlat_to_unit;

/// A coordinate pair (`[x, y]`), in unit or world units depending on the stage.
pub type Point = [f64; 2];

/// Geometry of one kind. A GeometryCollection becomes up to three shapes, one per kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    Points(Vec<Point>),
    /// Line strings.
    Lines(Vec<Vec<Point>>),
    /// Polygons, each a list of rings: the exterior first, then holes. Rings keep their closing point.
    Polygons(Vec<Vec<Vec<Point>>>),
}

impl Shape {
    /// Projects a lon/lat geometry into Web Mercator unit shapes (empty parts are left out).
    pub fn from_geo(geometry: &Geometry<f64>) -> Vec<Shape> {
        let mut points = Vec::new();
        let mut lines = Vec::new();
        let mut polygons = Vec::new();
        collect(geometry, &mut points, &mut lines, &mut polygons);
        let mut shapes = Vec::with_capacity(3);
        if !points.is_empty() {
            shapes.push(Shape::Points(points));
        }
        if !lines.is_empty() {
            shapes.push(Shape::Lines(lines));
        }
        if !polygons.is_empty() {
            shapes.push(Shape::Polygons(polygons));
        }
        shapes
    }

    /// The shape multiplied by `factor` (unit square → world units of a zoom).
    pub fn scaled(&self, factor: f64) -> Shape {
        let scale = |line: &[Point]| line.iter().map(|[x, y]| [x * factor, y * factor]).collect::<Vec<_>>();
        match self {
            Shape::Points(points) => Shape::Points(scale(points)),
            Shape::Lines(lines) => Shape::Lines(lines.iter().map(|l| scale(l)).collect()),
            Shape::Polygons(polygons) => {
                Shape::Polygons(polygons.iter().map(|rings| rings.iter().map(|r| scale(r)).collect()).collect())
            }
        }
    }

    /// `[min_x, min_y, max_x, max_y]` of every coordinate, or `None` when empty.
    pub fn bounds(&self) -> Option<[f64; 4]> {
        let mut b = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
        let mut add = |line: &[Point]| {
            for [x, y] in line {
                b = [b[0].min(*x), b[1].min(*y), b[2].max(*x), b[3].max(*y)];
            }
        };
        match self {
            Shape::Points(points) => add(points),
            Shape::Lines(lines) => lines.iter().for_each(|l| add(l)),
            // The exterior ring bounds the polygon.
            Shape::Polygons(polygons) => polygons.iter().filter_map(|p| p.first()).for_each(|r| add(r)),
        }
        (b[0] <= b[2]).then_some(b)
    }

    /// True when nothing is left.
    pub fn is_empty(&self) -> bool {
        match self {
            Shape::Points(points) => points.is_empty(),
            Shape::Lines(lines) => lines.is_empty(),
            Shape::Polygons(polygons) => polygons.is_empty(),
        }
    }

    /// The number of coordinates.
    pub fn vertex_count(&self) -> usize {
        match self {
            Shape::Points(points) => points.len(),
            Shape::Lines(lines) => lines.iter().map(Vec::len).sum(),
            Shape::Polygons(polygons) => polygons.iter().flatten().map(Vec::len).sum(),
        }
    }
}

fn project(line: &geo::LineString<f64>) -> Vec<Point> {
    line.0.iter().map(|c| lonlat_to_unit(c.x, c.y)).collect()
}

fn project_polygon(polygon: &geo::Polygon<f64>) -> Vec<Vec<Point>> {
    std::iter::once(polygon.exterior()).chain(polygon.interiors()).map(project).collect()
}

fn collect(
    geometry: &Geometry<f64>,
    points: &mut Vec<Point>,
    lines: &mut Vec<Vec<Point>>,
    polygons: &mut Vec<Vec<Vec<Point>>>,
) {
    match geometry {
        Geometry::Point(p) => points.push(lonlat_to_unit(p.x(), p.y())),
        Geometry::MultiPoint(mp) => points.extend(mp.iter().map(|p| lonlat_to_unit(p.x(), p.y()))),
        Geometry::Line(l) => lines.push(vec![lonlat_to_unit(l.start.x, l.start.y), lonlat_to_unit(l.end.x, l.end.y)]),
        Geometry::LineString(ls) => lines.push(project(ls)),
        Geometry::MultiLineString(mls) => lines.extend(mls.iter().map(project)),
        Geometry::Polygon(p) => polygons.push(project_polygon(p)),
        Geometry::MultiPolygon(mp) => polygons.extend(mp.iter().map(project_polygon)),
        Geometry::Rect(r) => polygons.push(project_polygon(&r.to_polygon())),
        Geometry::Triangle(t) => polygons.push(project_polygon(&t.to_polygon())),
        Geometry::GeometryCollection(gc) => gc.iter().for_each(|g| collect(g, points, lines, polygons)),
    }
}

/// Twice the signed area of a ring (shoelace); positive when clockwise in a y-down frame.
pub fn ring_area2(ring: &[Point]) -> f64 {
    let mut sum = 0.0;
    for pair in ring.windows(2) {
        sum += pair[0][0] * pair[1][1] - pair[1][0] * pair[0][1];
    }
    if let (Some(first), Some(last)) = (ring.first(), ring.last())
        && first != last
    {
        sum += last[0] * first[1] - first[0] * last[1];
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Geometry, GeometryCollection, LineString, Point as GeoPoint, polygon};

    #[test]
    fn geometry_collection_splits_by_kind() {
        let gc = Geometry::GeometryCollection(GeometryCollection::new_from(vec![
            Geometry::Point(GeoPoint::new(0.0, 0.0)),
            Geometry::LineString(LineString::from(vec![(0.0, 0.0), (1.0, 1.0)])),
            Geometry::Polygon(polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 0.0)]),
            Geometry::Point(GeoPoint::new(180.0, 0.0)),
        ]));
        let shapes = Shape::from_geo(&gc);
        assert_eq!(shapes.len(), 3);
        assert_eq!(shapes[0], Shape::Points(vec![[0.5, 0.5], [1.0, 0.5]]));
        assert!(matches!(&shapes[1], Shape::Lines(l) if l.len() == 1 && l[0].len() == 2));
        assert!(matches!(&shapes[2], Shape::Polygons(p) if p.len() == 1 && p[0][0].len() == 4));
    }

    #[test]
    fn area_sign_follows_screen_winding() {
        // Clockwise on screen (y down): right along the top, then down.
        let cw = [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0], [0.0, 0.0]];
        assert_eq!(ring_area2(&cw), 200.0);
        let ccw: Vec<Point> = cw.iter().rev().copied().collect();
        assert_eq!(ring_area2(&ccw), -200.0);
        // An open ring gives the same area as its closed form.
        assert_eq!(ring_area2(&cw[..4]), 200.0);
    }
}
