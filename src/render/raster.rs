//! Pieces in tile units (0..4096, plus the buffer) → an anti-aliased RGBA canvas, north up, by tiny-skia.
//!
//! The canvas is the tile plus a margin on every side wide enough to hold each layer's pieces and everything
//! drawn from them (strokes, discs, anti-aliasing), so tiny-skia never clips a path: every edge is rasterised
//! from the piece's own vertices, and a pixel's value depends only on the geometry around it. A tile-unit
//! coordinate `c` lands on canvas pixel `c × size / 4096 + margin`: a power-of-two scale and a whole-pixel shift,
//! both exact in `f32`, so a neighbour that holds the same geometry draws it on exactly the same pixel grid.

use tiny_skia::{FillRule, Path, PathBuilder, Pixmap, PremultipliedColorU8, Rect, Transform};

use super::RenderLayer;
use super::style::ZoomStyle;
use crate::config::Raster;
use crate::tiling::EXTENT;
use crate::tiling::piece::{Coord, PieceGeom};

/// A tile being drawn: the tile's pixels plus a margin around them.
pub struct Canvas {
    pixmap: Pixmap,
    /// Pixels a side of the tile.
    size: u32,
    /// Pixels added on every side.
    margin: u32,
    /// Canvas pixels per tile unit.
    scale: f32,
    background: PremultipliedColorU8,
}

/// The margin (pixels) that holds every layer's pieces and their reach: buffer plus reach, rounded up.
pub fn margin_for(layers: &[RenderLayer<'_>], raster: &Raster) -> u32 {
    layers
        .iter()
        .map(|l| (f64::from(l.buffer) / raster.units_per_pixel() + l.style.reach_pixels()).ceil() as u32)
        .max()
        .unwrap_or(0)
}

impl Canvas {
    /// A canvas for one tile, painted with the background; `None` if the size is impossible.
    pub fn new(raster: &Raster, margin: u32) -> Option<Canvas> {
        let side = raster.tile_size.checked_add(margin.checked_mul(2)?)?;
        let mut pixmap = Pixmap::new(side, side)?;
        let b = raster.background;
        pixmap.fill(tiny_skia::Color::from_rgba8(b.r, b.g, b.b, b.a));
        let background = pixmap.pixels().first().copied()?;
        Some(Canvas {
            pixmap,
            size: raster.tile_size,
            margin,
            scale: raster.tile_size as f32 / EXTENT as f32,
            background,
        })
    }

    /// Draws the layers in ascending style `order` (ties in the given order); within a layer: fills, outlines,
    /// lines, then points, each as one path so that a layer's overlapping parts blend once.
    pub fn draw(&mut self, layers: &[RenderLayer<'_>], zoom: u8) {
        let mut sorted: Vec<&RenderLayer<'_>> = layers.iter().collect();
        sorted.sort_by_key(|l| l.style.order);
        for layer in sorted {
            let style = ZoomStyle::new(layer.style, zoom);
            let has_polygons = layer.geoms.iter().any(|g| matches!(g, PieceGeom::Polygons(_) | PieceGeom::Full));
            if has_polygons && (style.fill.is_some() || style.outline.is_some()) {
                let rings = self.polygon_path(layer);
                if let (Some(fill), Some(path)) = (&style.fill, &rings) {
                    self.pixmap.fill_path(path, fill, FillRule::Winding, Transform::identity(), None);
                }
                if let (Some((outline, stroke)), Some(path)) = (&style.outline, &rings) {
                    self.pixmap.stroke_path(path, outline, stroke, Transform::identity(), None);
                }
            }
            if let Some((line, stroke)) = &style.stroke
                && let Some(path) = self.line_path(layer)
            {
                self.pixmap.stroke_path(&path, line, stroke, Transform::identity(), None);
            }
            if let Some((disc, radius)) = &style.point
                && let Some(path) = self.point_path(layer, *radius)
            {
                self.pixmap.fill_path(&path, disc, FillRule::Winding, Transform::identity(), None);
            }
        }
    }

    fn point_at(&self, c: Coord) -> (f32, f32) {
        let m = self.margin as f32;
        (c[0] as f32 * self.scale + m, c[1] as f32 * self.scale + m)
    }

    /// Every ring of the layer's polygons (exteriors clockwise, holes counter-clockwise: non-zero winding fills
    /// the union and leaves the holes); a full piece is the square of the tile plus that layer's buffer.
    fn polygon_path(&self, layer: &RenderLayer<'_>) -> Option<Path> {
        let mut path = PathBuilder::new();
        for geom in &layer.geoms {
            match geom {
                PieceGeom::Polygons(polygons) => {
                    for ring in polygons.iter().flatten() {
                        self.push_line(&mut path, ring);
                        path.close();
                    }
                }
                PieceGeom::Full => {
                    let b = layer.buffer as i32;
                    let far = EXTENT as i32 + b;
                    let (x0, y0) = self.point_at([-b, -b]);
                    let (x1, y1) = self.point_at([far, far]);
                    if let Some(rect) = Rect::from_ltrb(x0, y0, x1, y1) {
                        path.push_rect(rect);
                    }
                }
                PieceGeom::Points(_) | PieceGeom::Lines(_) => {}
            }
        }
        path.finish()
    }

    fn line_path(&self, layer: &RenderLayer<'_>) -> Option<Path> {
        let mut path = PathBuilder::new();
        for geom in &layer.geoms {
            if let PieceGeom::Lines(lines) = geom {
                for line in lines {
                    self.push_line(&mut path, line);
                }
            }
        }
        path.finish()
    }

    fn point_path(&self, layer: &RenderLayer<'_>, radius: f32) -> Option<Path> {
        let mut path = PathBuilder::new();
        for geom in &layer.geoms {
            if let PieceGeom::Points(points) = geom {
                for p in points {
                    let (x, y) = self.point_at(*p);
                    path.push_circle(x, y, radius);
                }
            }
        }
        path.finish()
    }

    fn push_line(&self, path: &mut PathBuilder, line: &[Coord]) {
        let mut coords = line.iter();
        if let Some(first) = coords.next() {
            let (x, y) = self.point_at(*first);
            path.move_to(x, y);
            for c in coords {
                let (x, y) = self.point_at(*c);
                path.line_to(x, y);
            }
        }
    }

    /// The tile's pixels (no margin), premultiplied, row by row.
    fn tile_rows(&self) -> impl Iterator<Item = &[PremultipliedColorU8]> {
        let side = self.pixmap.width() as usize;
        let (m, n) = (self.margin as usize, self.size as usize);
        self.pixmap.pixels().chunks_exact(side).skip(m).take(n).map(move |row| &row[m..m + n])
    }

    /// True when no pixel of the tile differs from the background.
    pub fn is_blank(&self) -> bool {
        self.tile_rows().all(|row| row.iter().all(|p| *p == self.background))
    }

    /// The tile's pixels (no margin) as straight-alpha RGBA bytes, row by row from the north.
    pub fn tile_rgba(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity((self.size * self.size * 4) as usize);
        for row in self.tile_rows() {
            for p in row {
                let c = p.demultiply();
                out.extend_from_slice(&[c.red(), c.green(), c.blue(), c.alpha()]);
            }
        }
        out
    }

    /// The whole canvas (tile and margin) as straight-alpha RGBA, with its side: for tests of what a tile draws
    /// beyond its edge.
    pub fn canvas_rgba(&self) -> (u32, Vec<u8>) {
        let data = self.pixmap.pixels().iter().flat_map(|p| {
            let c = p.demultiply();
            [c.red(), c.green(), c.blue(), c.alpha()]
        });
        (self.pixmap.width(), data.collect())
    }

    /// Pixels added on every side of the tile.
    pub fn margin(&self) -> u32 {
        self.margin
    }
}
