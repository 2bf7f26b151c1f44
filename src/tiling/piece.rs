//! The pieces of geometry that slicing makes and validation, encoding and rendering take: one feature's share
//! of one tile ([`Piece`]) in tile-local integer coordinates ([`Coord`], [`PieceGeom`]).

use super::EXTENT;

/// A tile-local integer coordinate.
pub type Coord = [i32; 2];

/// Geometry of one feature inside one tile, ready to encode: integer coordinates in `[-buffer, 4096 + buffer]`,
/// no repeated points, rings open (no closing point), exterior rings clockwise on screen (positive area with
/// y down), holes counter-clockwise, and no degenerate rings or lines.
#[derive(Debug, Clone, PartialEq)]
pub enum PieceGeom {
    Points(Vec<Coord>),
    Lines(Vec<Vec<Coord>>),
    Polygons(Vec<Vec<Vec<Coord>>>),
    /// The tile plus its buffer, covered whole by a polygon.
    Full,
}

impl PieceGeom {
    /// A rough size used to pick what to drop first when a tile is over its cap: area for polygons, length for
    /// lines, zero for points.
    pub fn weight(&self, buffer: u32) -> f64 {
        match self {
            PieceGeom::Points(_) => 0.0,
            PieceGeom::Lines(lines) => lines
                .iter()
                .flat_map(|l| l.windows(2))
                .map(|w| f64::from(w[1][0] - w[0][0]).hypot(f64::from(w[1][1] - w[0][1])))
                .sum(),
            PieceGeom::Polygons(polygons) => polygons.iter().map(|p| int_area2(&p[0]) as f64 / 2.0).sum(),
            PieceGeom::Full => {
                let side = f64::from(EXTENT + 2 * buffer);
                side * side
            }
        }
    }
}

/// One tile's share of a shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub x: u32,
    pub y: u32,
    pub geom: PieceGeom,
}

/// Twice the signed area of an open integer ring; positive when clockwise with y down.
pub fn int_area2(ring: &[Coord]) -> i64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (p, q) = (ring[i], ring[(i + 1) % n]);
            i64::from(p[0]) * i64::from(q[1]) - i64::from(q[0]) * i64::from(p[1])
        })
        .sum()
}
