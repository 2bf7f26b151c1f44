//! The pieces of one tile → stored tile bytes: MVT encoding ([`mvt`]), gzip, and the per-tile cap.
//!
//! Cap policy (deterministic): a tile over `max_tile_features` first loses its smallest features (polygon
//! area, line length; points weigh nothing; ties drop the later feature first) down to the cap; a tile whose
//! gzip size is over `max_tile_bytes` (or whose uncompressed size is over `max_tile_raw_bytes`) then loses its smallest features in proportion to the excess, at most
//! [`MAX_CAP_ROUNDS`] times, and if it is still too big it is left out whole. Every dropped feature is counted.

pub mod mvt;

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;

pub use mvt::{TileFeature, TileLayer, encode_tile};

use crate::config::Limits;

/// How many times a tile over its byte cap is re-encoded with fewer features before it is given up.
pub const MAX_CAP_ROUNDS: usize = 6;

/// The error of the encode stage.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("tile {tile}: gzip failed: {source}")]
    Gzip {
        tile: String,
        #[source]
        source: std::io::Error,
    },
}

/// A tile ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedTile {
    /// gzip-compressed MVT bytes.
    pub data: Vec<u8>,
    /// Features written.
    pub features: u64,
    /// Features dropped by the cap.
    pub dropped: u64,
}

/// gzip-compresses bytes deterministically (no timestamp, no file name).
pub fn gzip(raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(raw.len() / 2 + 64), Compression::new(6));
    encoder.write_all(raw)?;
    encoder.finish()
}

/// Encodes one tile under the limits. `Ok(None)` means nothing is left to store (every feature was dropped);
/// `tile` names the tile in errors. `buffer` of each layer sizes its full-tile squares.
pub fn encode_capped(
    layers: &[TileLayer<'_>],
    limits: &Limits,
    tile: &str,
) -> Result<Option<EncodedTile>, EncodeError> {
    let total: usize = layers.iter().map(|l| l.features.len()).sum();
    // Order in which features go when something must: smallest first, later features first among equals.
    let mut order: Vec<(f64, usize, usize)> = Vec::new();
    let mut keep = layers.iter().map(|l| vec![true; l.features.len()]).collect::<Vec<_>>();
    let mut kept = total;
    let mut drop_until = |keep: &mut Vec<Vec<bool>>, target: usize, kept: &mut usize| {
        if order.is_empty() {
            order = layers
                .iter()
                .enumerate()
                .flat_map(|(li, l)| l.features.iter().enumerate().map(move |(fi, f)| (f.geom.weight(l.buffer), li, fi)))
                .collect();
            order.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)).then(b.2.cmp(&a.2)));
        }
        for &(_, li, fi) in &order {
            if *kept <= target {
                break;
            }
            if keep[li][fi] {
                keep[li][fi] = false;
                *kept -= 1;
            }
        }
    };
    if kept > limits.max_tile_features {
        drop_until(&mut keep, limits.max_tile_features, &mut kept);
    }
    let gzip_err = |source| EncodeError::Gzip { tile: tile.to_owned(), source };
    for _ in 0..=MAX_CAP_ROUNDS {
        if kept == 0 {
            break;
        }
        let raw = if kept == total { encode_tile(layers) } else { encode_tile(&filtered(layers, &keep)) };
        let data = gzip(&raw).map_err(gzip_err)?;
        if data.len() <= limits.max_tile_bytes && raw.len() <= limits.max_tile_raw_bytes {
            return Ok(Some(EncodedTile { data, features: kept as u64, dropped: (total - kept) as u64 }));
        }
        // Both sizes count: the stored (gzip) one and the one a client inflates it to.
        let ratio =
            (limits.max_tile_bytes as f64 / data.len() as f64).min(limits.max_tile_raw_bytes as f64 / raw.len() as f64);
        let target = ((kept as f64) * ratio * 0.9).floor() as usize;
        drop_until(&mut keep, target.min(kept.saturating_sub(1)), &mut kept);
    }
    Ok(None)
}

/// Encodes one tile whole, or `Ok(None)` when it is over any of the limits (nothing is dropped: the caller decides
/// what goes, for the whole zoom).
pub fn encode_whole(layers: &[TileLayer<'_>], limits: &Limits, tile: &str) -> Result<Option<EncodedTile>, EncodeError> {
    let features: usize = layers.iter().map(|l| l.features.len()).sum();
    if features > limits.max_tile_features {
        return Ok(None);
    }
    let raw = encode_tile(layers);
    if raw.len() > limits.max_tile_raw_bytes {
        return Ok(None);
    }
    let data = gzip(&raw).map_err(|source| EncodeError::Gzip { tile: tile.to_owned(), source })?;
    Ok((data.len() <= limits.max_tile_bytes).then_some(EncodedTile { data, features: features as u64, dropped: 0 }))
}

fn filtered<'a>(layers: &[TileLayer<'a>], keep: &[Vec<bool>]) -> Vec<TileLayer<'a>> {
    layers
        .iter()
        .zip(keep)
        .map(|(layer, keep)| TileLayer {
            name: layer.name,
            buffer: layer.buffer,
            features: layer.features.iter().zip(keep).filter(|(_, k)| **k).map(|(f, _)| *f).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Value;
    use crate::tiling::piece::PieceGeom;

    fn points(n: usize) -> Vec<PieceGeom> {
        (0..n).map(|i| PieceGeom::Points(vec![[(i * 37 % 4096) as i32, (i * 91 % 4096) as i32]])).collect()
    }

    #[test]
    fn feature_cap_drops_smallest_first_deterministically() {
        let props: Vec<Vec<(String, Value)>> = (0..10).map(|i| vec![("i".to_owned(), Value::Int(i))]).collect();
        let big = PieceGeom::Full;
        let mut geoms = points(9);
        geoms.insert(0, big);
        let layer = TileLayer {
            name: "l",
            buffer: 0,
            features: geoms.iter().zip(&props).map(|(g, p)| TileFeature { properties: p, geom: g }).collect(),
        };
        let limits = Limits { max_tile_bytes: 1 << 20, max_tile_features: 3, ..Limits::default() };
        let out = encode_capped(std::slice::from_ref(&layer), &limits, "0/0/0").expect("encodes").expect("a tile");
        assert_eq!((out.features, out.dropped), (3, 7));
        let again = encode_capped(&[layer], &limits, "0/0/0").expect("encodes").expect("a tile");
        assert_eq!(out, again);
    }

    #[test]
    fn byte_cap_is_never_exceeded_and_ends() {
        let props: Vec<Vec<(String, Value)>> = (0..2000)
            .map(|i| vec![("name".to_owned(), Value::String(format!("feature number {i} {}", i * 7919)))])
            .collect();
        let geoms = points(2000);
        let layer = TileLayer {
            name: "l",
            buffer: 0,
            features: geoms.iter().zip(&props).map(|(g, p)| TileFeature { properties: p, geom: g }).collect(),
        };
        for cap in [100_000, 10_000, 2_000, 50] {
            let limits = Limits { max_tile_bytes: cap, max_tile_features: 200_000, ..Limits::default() };
            match encode_capped(std::slice::from_ref(&layer), &limits, "1/0/0").expect("encodes") {
                Some(tile) => {
                    assert!(tile.data.len() <= cap, "cap {cap}: {} bytes", tile.data.len());
                    assert_eq!(tile.features + tile.dropped, 2000);
                }
                None => assert!(cap < 200, "only a tiny cap may leave nothing (cap {cap})"),
            }
        }
    }

    #[test]
    fn a_tile_that_inflates_past_the_raw_cap_loses_features() {
        // 20,000 copies of one point: gzip makes them tiny, a client would inflate them whole.
        let geoms: Vec<PieceGeom> = (0..20_000).map(|_| PieceGeom::Points(vec![[100, 100]])).collect();
        let props: Vec<Vec<(String, Value)>> = (0..20_000).map(|_| Vec::new()).collect();
        let layer = TileLayer {
            name: "l",
            buffer: 0,
            features: geoms.iter().zip(&props).map(|(g, p)| TileFeature { properties: p, geom: g }).collect(),
        };
        let raw_cap = 50_000;
        let limits = Limits { max_tile_raw_bytes: raw_cap, ..Limits::default() };
        let tile = encode_capped(std::slice::from_ref(&layer), &limits, "1/0/0").expect("encodes").expect("a tile");
        assert!(tile.data.len() < 10_000, "small on disk: {}", tile.data.len());
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&tile.data[..]), &mut raw).expect("gunzip");
        assert!(raw.len() <= raw_cap, "inflates to {} bytes, over the {raw_cap} cap", raw.len());
        assert!(tile.dropped > 0 && tile.features + tile.dropped == 20_000);
    }

    #[test]
    fn gzip_is_deterministic_and_round_trips() {
        use std::io::Read;
        let raw = b"some tile bytes, some tile bytes";
        let a = gzip(raw).expect("gzip");
        assert_eq!(a, gzip(raw).expect("gzip"));
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&a[..]).read_to_end(&mut out).expect("gunzip");
        assert_eq!(out, raw);
    }
}
