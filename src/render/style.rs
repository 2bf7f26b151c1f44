//! A layer's [`LayerStyle`] at one zoom → the tiny-skia paints and strokes that draw it: colours with their
//! opacity, widths and the point radius read off their zoom curves (pixels of the tile image, whatever its size).

use tiny_skia::{LineCap, LineJoin, Paint, Stroke};

use crate::config::{Color, LayerStyle};

/// The thinnest stroke drawn as a stroke. tiny-skia draws strokes of at most one pixel as hairlines, whose
/// anti-aliasing along a segment depends on where the segment starts, so two neighbouring tiles holding the same
/// edge cut at different points would disagree near their shared edge; thinner strokes are drawn this wide
/// instead, with their alpha scaled down in proportion.
pub const MIN_STROKE_PIXELS: f64 = 1.0 + 1.0 / 16.0;

/// Strokes at least this wide get round ends and corners; thinner ones butt ends and bevel corners, which cost
/// tiny-skia's stroker about a third less.
pub const ROUND_FROM_PIXELS: f64 = 2.0;

/// How one layer is drawn at one zoom; `None` parts are not drawn.
#[derive(Debug, Clone)]
pub struct ZoomStyle {
    pub fill: Option<Paint<'static>>,
    pub outline: Option<(Paint<'static>, Stroke)>,
    pub stroke: Option<(Paint<'static>, Stroke)>,
    /// The disc paint and radius of points, in canvas pixels.
    pub point: Option<(Paint<'static>, f32)>,
}

impl ZoomStyle {
    /// Resolves `style` at `zoom`.
    pub fn new(style: &LayerStyle, zoom: u8) -> ZoomStyle {
        let stroke = |color: Option<Color>, width: f64| {
            color.filter(|c| c.a > 0 && width > 0.0).map(|c| {
                // Thinner than a hairline: as wide as the thinnest true stroke, proportionally fainter.
                let (width, color) = if width < MIN_STROKE_PIXELS {
                    (MIN_STROKE_PIXELS, c.with_opacity(width / MIN_STROKE_PIXELS))
                } else {
                    (width, c)
                };
                // Round ends and corners where they show; below that, the cheaper butt ends and bevel corners
                // (they differ by under a pixel, and neither reaches further than half the width).
                let (line_cap, line_join) = if width >= ROUND_FROM_PIXELS {
                    (LineCap::Round, LineJoin::Round)
                } else {
                    (LineCap::Butt, LineJoin::Bevel)
                };
                let stroke = Stroke { width: width as f32, line_cap, line_join, ..Stroke::default() };
                (paint(color), stroke)
            })
        };
        let radius = style.point_radius.at(zoom);
        ZoomStyle {
            fill: style.fill_color.map(|c| c.with_opacity(style.fill_opacity)).filter(|c| c.a > 0).map(paint),
            outline: stroke(style.outline_color, style.outline_width.at(zoom)),
            stroke: stroke(style.stroke_color, style.stroke_width.at(zoom)),
            point: style.point_color.filter(|c| c.a > 0 && radius > 0.0).map(|c| (paint(c), radius as f32)),
        }
    }
}

/// An anti-aliased solid paint.
pub fn paint(color: Color) -> Paint<'static> {
    let mut paint = Paint { anti_alias: true, ..Paint::default() };
    paint.set_color_rgba8(color.r, color.g, color.b, color.a);
    paint
}
