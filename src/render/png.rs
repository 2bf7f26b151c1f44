//! Straight-alpha RGBA pixels → PNG bytes, fast and deterministic: the `png` crate's `Fast` deflate (fdeflate),
//! RGB when every pixel is opaque, RGBA otherwise; and when the tile has at most 256 colours, also an indexed
//! image (palette + `tRNS`, 1 to 8 bits a pixel, zlib), kept when it is smaller. And back: PNG bytes → RGBA.

use std::io::Cursor;

use png::{BitDepth, ColorType, Compression, Encoder, Filter, Transformations};
use rustc_hash::FxHashMap;

/// Most colours an indexed PNG can hold.
const PALETTE_COLORS: usize = 256;

/// Encodes a `width`×`height` RGBA image (straight alpha, rows from the top).
///
/// ```
/// let red = [255u8, 0, 0, 255].repeat(16 * 8);
/// let png = tilepress::render::encode_png(&red, 16, 8).expect("encodes");
/// assert_eq!(tilepress::render::decode_png(&png).expect("decodes"), (16, 8, red));
/// ```
pub fn encode_png(rgba: &[u8], width: u32, height: u32) -> Result<Vec<u8>, png::EncodingError> {
    let size = (width, height);
    let opaque = rgba.chunks_exact(4).all(|p| p[3] == 255);
    let truecolor = if opaque {
        let rgb: Vec<u8> = rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
        encode(&rgb, size, ColorType::Rgb, BitDepth::Eight, None)?
    } else {
        encode(rgba, size, ColorType::Rgba, BitDepth::Eight, None)?
    };
    let Some((palette, indices)) = palette_of(rgba) else { return Ok(truecolor) };
    let depth = match palette.len() {
        0..=2 => BitDepth::One,
        3..=4 => BitDepth::Two,
        5..=16 => BitDepth::Four,
        _ => BitDepth::Eight,
    };
    let packed = pack(&indices, width as usize, depth as usize);
    let indexed = encode(&packed, size, ColorType::Indexed, depth, Some(&palette))?;
    Ok(if indexed.len() < truecolor.len() { indexed } else { truecolor })
}

/// The distinct colours (at most [`PALETTE_COLORS`]; translucent ones first, so that `tRNS` stays short, then
/// in order of first appearance) and each pixel's index; `None` when there are more.
fn palette_of(rgba: &[u8]) -> Option<(Vec<[u8; 4]>, Vec<u8>)> {
    let mut index: FxHashMap<[u8; 4], u8> = FxHashMap::default();
    let mut colors: Vec<[u8; 4]> = Vec::new();
    let mut indices = Vec::with_capacity(rgba.len() / 4);
    let mut last: Option<([u8; 4], u8)> = None;
    for p in rgba.chunks_exact(4) {
        let color = [p[0], p[1], p[2], p[3]];
        let i = match last {
            Some((c, i)) if c == color => i,
            _ => match index.get(&color) {
                Some(i) => *i,
                None => {
                    if colors.len() == PALETTE_COLORS {
                        return None;
                    }
                    let i = colors.len() as u8;
                    colors.push(color);
                    index.insert(color, i);
                    i
                }
            },
        };
        last = Some((color, i));
        indices.push(i);
    }
    // Translucent colours first (stable: first appearance within each group).
    let mut order: Vec<usize> = (0..colors.len()).collect();
    order.sort_by_key(|&i| colors[i][3] == 255);
    let mut remap = vec![0u8; colors.len()];
    for (new, &old) in order.iter().enumerate() {
        remap[old] = new as u8;
    }
    let palette = order.iter().map(|&i| colors[i]).collect();
    indices.iter_mut().for_each(|i| *i = remap[usize::from(*i)]);
    Some((palette, indices))
}

/// Packs 8-bit indices into rows of `depth`-bit samples (the high bits first, each row padded to a byte).
fn pack(indices: &[u8], width: usize, depth: usize) -> Vec<u8> {
    if depth == 8 {
        return indices.to_vec();
    }
    let per_byte = 8 / depth;
    let mut out = Vec::with_capacity(indices.len() / per_byte + width);
    for row in indices.chunks_exact(width) {
        for chunk in row.chunks(per_byte) {
            let mut byte = 0u8;
            for (k, &i) in chunk.iter().enumerate() {
                byte |= i << (8 - depth * (k + 1));
            }
            out.push(byte);
        }
    }
    out
}

fn encode(
    data: &[u8],
    (width, height): (u32, u32),
    color: ColorType,
    depth: BitDepth,
    palette: Option<&[[u8; 4]]>,
) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::with_capacity(data.len() / 4 + 256);
    let mut encoder = Encoder::new(&mut out, width, height);
    encoder.set_color(color);
    encoder.set_depth(depth);
    encoder.set_compression(Compression::Fast);
    if let Some(palette) = palette {
        // Indexed data is a quarter of RGBA or less (a 32nd at 1 bit): zlib's default level costs little there
        // and packs the long runs of few-colour tiles far better than fdeflate's fastest mode. No filtering, as
        // the PNG spec advises for indexed images.
        encoder.set_compression(Compression::Balanced);
        encoder.set_filter(Filter::NoFilter);
        encoder.set_palette(palette.iter().flat_map(|c| [c[0], c[1], c[2]]).collect::<Vec<u8>>());
        let alphas: Vec<u8> = palette.iter().map(|c| c[3]).take_while(|a| *a < 255).collect();
        if !alphas.is_empty() {
            encoder.set_trns(alphas);
        }
    }
    let mut writer = encoder.write_header()?;
    writer.write_image_data(data)?;
    writer.finish()?;
    Ok(out)
}

/// Decodes a PNG of any colour type and depth into `(width, height, straight-alpha RGBA)`.
pub fn decode_png(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), String> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(Transformations::normalize_to_color8() | Transformations::ALPHA);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let size = reader.output_buffer_size().ok_or("the image is too large")?;
    let mut buf = vec![0u8; size];
    let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
    buf.truncate(info.buffer_size());
    let rgba = match info.color_type {
        ColorType::Rgba => buf,
        ColorType::Rgb => buf.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect(),
        ColorType::GrayscaleAlpha => buf.chunks_exact(2).flat_map(|p| [p[0], p[0], p[0], p[1]]).collect(),
        ColorType::Grayscale => buf.iter().flat_map(|g| [*g, *g, *g, 255]).collect(),
        ColorType::Indexed => return Err("the palette was not expanded".to_owned()),
    };
    Ok((info.width, info.height, rgba))
}
