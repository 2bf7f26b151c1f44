//! One shape in world units of a zoom → its pieces, one per tile it touches, in tile-local integer coordinates.
//!
//! Lines and polygons are sliced by recursive bisection of their tile range: clip to the range (plus buffer),
//! split the longer side in two, clip each half, recurse. A ring is thus walked O(log tiles) times. When a
//! polygon covers a whole range (its clipped area equals the range's rectangle), every tile of the range gets
//! [`PieceGeom::Full`] at once — the interior of a country costs nothing per tile but the record.

use super::EXTENT;
use super::clip::{Axis, clip_shape};
use super::mercator::TileRange;
use super::piece::{Coord, Piece, PieceGeom, int_area2};
use super::shape::{Point, Shape, ring_area2};
use super::valid::{is_known_valid, make_valid};

/// What slicing needs to know besides the shape.
#[derive(Debug, Clone, Copy)]
pub struct SliceParams {
    /// The tiles being built at this zoom (pieces outside are not made).
    pub range: TileRange,
    /// Clip buffer in tile units.
    pub buffer: f64,
}

const E: f64 = EXTENT as f64;

/// Slices a shape given in world units of `params.range.z` into pieces, handing each to `emit`.
pub fn slice_shape(shape: &Shape, params: &SliceParams, emit: &mut dyn FnMut(Piece)) {
    let Some(bounds) = shape.bounds() else { return };
    let Some(range) = tiles_touched(bounds, params) else { return };
    match shape {
        Shape::Points(points) => slice_points(points, range, params.buffer, emit),
        Shape::Lines(_) | Shape::Polygons(_) => {
            let rect = range_rect(range, params.buffer);
            let Some(inside) = clip_to_rect(shape, rect) else { return };
            bisect(&inside, range, params, emit);
        }
    }
}

/// The part of the build range that a bounding box (plus buffer) touches.
fn tiles_touched(b: [f64; 4], params: &SliceParams) -> Option<TileRange> {
    let r = params.range;
    let lo = |v: f64| ((v - params.buffer) / E).floor();
    let hi = |v: f64| ((v + params.buffer) / E).floor();
    let x_min = lo(b[0]).max(f64::from(r.x_min));
    let y_min = lo(b[1]).max(f64::from(r.y_min));
    let x_max = hi(b[2]).min(f64::from(r.x_max));
    let y_max = hi(b[3]).min(f64::from(r.y_max));
    (x_min <= x_max && y_min <= y_max).then_some(TileRange {
        z: r.z,
        x_min: x_min as u32,
        y_min: y_min as u32,
        x_max: x_max as u32,
        y_max: y_max as u32,
    })
}

fn range_rect(r: TileRange, buffer: f64) -> [f64; 4] {
    [
        f64::from(r.x_min) * E - buffer,
        f64::from(r.y_min) * E - buffer,
        f64::from(r.x_max + 1) * E + buffer,
        f64::from(r.y_max + 1) * E + buffer,
    ]
}

fn clip_to_rect(shape: &Shape, rect: [f64; 4]) -> Option<Shape> {
    let s = clip_shape(shape, rect[0], rect[2], Axis::X)?;
    clip_shape(&s, rect[1], rect[3], Axis::Y)
}

fn bisect(shape: &Shape, range: TileRange, params: &SliceParams, emit: &mut dyn FnMut(Piece)) {
    // Tighten the range to what the piece still touches.
    let Some(bounds) = shape.bounds() else { return };
    let Some(range) = tiles_touched(bounds, &SliceParams { range, buffer: params.buffer }) else { return };
    let rect = range_rect(range, params.buffer);
    if covers(shape, bounds, rect) {
        for y in range.y_min..=range.y_max {
            for x in range.x_min..=range.x_max {
                emit(Piece { x, y, geom: PieceGeom::Full });
            }
        }
        return;
    }
    if range.x_min == range.x_max && range.y_min == range.y_max {
        let origin = [f64::from(range.x_min) * E, f64::from(range.y_min) * E];
        if let Some(geom) = to_local(shape, origin, params.buffer) {
            emit(Piece { x: range.x_min, y: range.y_min, geom });
        }
        return;
    }
    let (first, second) = if range.x_max - range.x_min >= range.y_max - range.y_min {
        let mid = range.x_min + (range.x_max - range.x_min) / 2;
        (TileRange { x_max: mid, ..range }, TileRange { x_min: mid + 1, ..range })
    } else {
        let mid = range.y_min + (range.y_max - range.y_min) / 2;
        (TileRange { y_max: mid, ..range }, TileRange { y_min: mid + 1, ..range })
    };
    let split_x = first.x_max != range.x_max;
    for half in [first, second] {
        let r = range_rect(half, params.buffer);
        let clipped =
            if split_x { clip_shape(shape, r[0], r[2], Axis::X) } else { clip_shape(shape, r[1], r[3], Axis::Y) };
        if let Some(piece) = clipped {
            bisect(&piece, half, params, emit);
        }
    }
}

/// True when a polygon shape (already clipped to `rect`) fills the whole rectangle.
fn covers(shape: &Shape, bounds: [f64; 4], rect: [f64; 4]) -> bool {
    let Shape::Polygons(polygons) = shape else { return false };
    if bounds != rect {
        return false;
    }
    let area: f64 = polygons
        .iter()
        .map(|rings| {
            let mut iter = rings.iter();
            let exterior = iter.next().map_or(0.0, |r| ring_area2(r).abs());
            exterior - iter.map(|r| ring_area2(r).abs()).sum::<f64>()
        })
        .sum();
    let full = 2.0 * (rect[2] - rect[0]) * (rect[3] - rect[1]);
    area >= full * (1.0 - 1e-9)
}

fn slice_points(points: &[Point], range: TileRange, buffer: f64, emit: &mut dyn FnMut(Piece)) {
    let mut per_tile: std::collections::BTreeMap<(u32, u32), Vec<Coord>> = Default::default();
    for p in points {
        let x_lo = ((p[0] - buffer) / E).floor().max(f64::from(range.x_min));
        let x_hi = ((p[0] + buffer) / E).floor().min(f64::from(range.x_max));
        let y_lo = ((p[1] - buffer) / E).floor().max(f64::from(range.y_min));
        let y_hi = ((p[1] + buffer) / E).floor().min(f64::from(range.y_max));
        let (mut y, mut x);
        y = y_lo;
        while y <= y_hi {
            x = x_lo;
            while x <= x_hi {
                let local = [(p[0] - x * E).round() as i32, (p[1] - y * E).round() as i32];
                per_tile.entry((x as u32, y as u32)).or_default().push(local);
                x += 1.0;
            }
            y += 1.0;
        }
    }
    for ((x, y), coords) in per_tile {
        emit(Piece { x, y, geom: PieceGeom::Points(coords) });
    }
}

/// Rounds a single tile's shape to integer local coordinates and drops what degenerates.
fn to_local(shape: &Shape, origin: Point, buffer: f64) -> Option<PieceGeom> {
    let (lo, hi) = (-(buffer as i32), EXTENT as i32 + buffer as i32);
    let round = |line: &[Point]| -> Vec<Coord> {
        let mut out: Vec<Coord> = Vec::with_capacity(line.len());
        for p in line {
            let c = [(p[0] - origin[0]).round() as i32, (p[1] - origin[1]).round() as i32];
            if out.last() != Some(&c) {
                out.push(c);
            }
        }
        out
    };
    let geom = match shape {
        Shape::Points(points) => PieceGeom::Points(points.iter().map(|p| round(&[*p])[0]).collect()),
        Shape::Lines(lines) => PieceGeom::Lines(lines.iter().map(|l| round(l)).filter(|l| l.len() >= 2).collect()),
        Shape::Polygons(polygons) => {
            let wound: Vec<Vec<Vec<Coord>>> = polygons
                .iter()
                .filter_map(|rings| {
                    let mut iter = rings.iter();
                    let exterior = ring_to_local(&round(iter.next()?), true)?;
                    let mut out = vec![exterior];
                    out.extend(iter.filter_map(|r| ring_to_local(&round(r), false)));
                    Some(out)
                })
                .collect();
            // Already rounded and wound: a ring known valid takes no second pass.
            PieceGeom::Polygons(valid_polygons(wound, lo, hi))
        }
    };
    let empty = match &geom {
        PieceGeom::Points(p) => p.is_empty(),
        PieceGeom::Lines(l) => l.is_empty(),
        PieceGeom::Polygons(p) => p.is_empty(),
        PieceGeom::Full => false,
    };
    (!empty).then_some(geom)
}

/// Polygons of tile coordinates (wound as MVT wants, or not) made valid together and wound again: overlapping
/// parts merged, self-intersections split. `lo` and `hi` are the clip lines (`-buffer`, `4096 + buffer`).
pub fn valid_polygons(polygons: Vec<Vec<Vec<Coord>>>, lo: i32, hi: i32) -> Vec<Vec<Vec<Coord>>> {
    if is_known_valid(&polygons, lo, hi) {
        return polygons;
    }
    make_valid(polygons, lo, hi)
        .into_iter()
        .filter_map(|rings| {
            let mut iter = rings.into_iter();
            let exterior = ring_to_local(&iter.next()?, true)?;
            let mut out = vec![exterior];
            out.extend(iter.filter_map(|r| ring_to_local(&r, false)));
            Some(out)
        })
        .collect()
}

/// Opens a rounded ring, checks it still encloses area, and winds it (exterior clockwise on screen).
fn ring_to_local(ring: &[Coord], exterior: bool) -> Option<Vec<Coord>> {
    let mut ring = ring.to_vec();
    while ring.len() > 1 && ring.first() == ring.last() {
        ring.pop();
    }
    if ring.len() < 3 {
        return None;
    }
    let area = int_area2(&ring);
    if area == 0 {
        return None;
    }
    if (area > 0) != exterior {
        ring.reverse();
    }
    Some(ring)
}

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;
