//! Tile patches: a changed vector tile sent as the difference from the device's own copy instead of whole.
//! A nightly change of 1% of the features touches most tiles of a small region a little; whole tiles then make
//! a delta hardly smaller than the archive. A patch is the target tile's uncompressed MVT compressed by zstd
//! with the base tile's uncompressed MVT as its dictionary, so only what changed costs bytes. zstd does this
//! natively (raw-content dictionaries); no bsdiff-style crate fits bytes that are gzip-compressed at rest.
//!
//! The device rebuilds the stored bytes by gzip-compressing the result with the build's settings
//! ([`crate::encode::gzip`]); a patch is made only when that reproduces the target's bytes exactly here, and the
//! device checks the SHA-256 of what it rebuilt, so a different gzip on a device is an error (sync then fetches
//! the whole archive), never a wrong tile.

use std::io::Read;

use crate::encode::gzip;

/// zstd level of a patch: tiles are small, so the slow levels cost little and save bytes on the link.
const PATCH_LEVEL: i32 = 19;
/// A patch must save at least this many bytes over the whole tile (its record carries a 32-byte base hash).
const MIN_SAVING: usize = 64;
/// Uncompressed tiles larger than this are never patched (the build's caps are far below it).
const MAX_RAW_BYTES: usize = 64 << 20;

/// The patch that turns stored tile `base` into stored tile `target`: 4 bytes of the target's uncompressed size
/// (u32 LE), then a zstd frame. None when either is not gzip, when gzip does not reproduce `target` exactly, or
/// when the patch would not be clearly smaller than `target`.
pub fn make_patch(base: &[u8], target: &[u8]) -> Option<Vec<u8>> {
    let dictionary = gunzip(base)?;
    let raw = gunzip(target)?;
    if gzip(&raw).ok()? != target {
        return None;
    }
    let size = u32::try_from(raw.len()).ok()?;
    let mut compressor = zstd::bulk::Compressor::with_dictionary(PATCH_LEVEL, &dictionary).ok()?;
    let frame = compressor.compress(&raw).ok()?;
    let mut patch = Vec::with_capacity(4 + frame.len());
    patch.extend_from_slice(&size.to_le_bytes());
    patch.extend_from_slice(&frame);
    // The device's rebuild, tried here first: a patch is only sent if it gives back `target` exactly.
    (patch.len() + MIN_SAVING < target.len() && apply_patch(base, &patch).ok()? == target).then_some(patch)
}

/// The stored bytes of the target tile, rebuilt from the device's `base` tile and a patch. The caller checks
/// them against the target's SHA-256.
pub fn apply_patch(base: &[u8], patch: &[u8]) -> Result<Vec<u8>, String> {
    let dictionary = gunzip(base).ok_or("the base tile is not gzip-compressed")?;
    let (size, frame) = patch.split_first_chunk::<4>().ok_or("the patch is shorter than its size field")?;
    let size = u32::from_le_bytes(*size) as usize;
    if size > MAX_RAW_BYTES {
        return Err(format!("the patch claims a tile of {size} bytes"));
    }
    let mut decompressor = zstd::bulk::Decompressor::with_dictionary(&dictionary).map_err(|e| format!("zstd: {e}"))?;
    let raw = decompressor.decompress(frame, size).map_err(|e| format!("zstd: {e}"))?;
    if raw.len() != size {
        return Err(format!("the patch gave {} bytes, not {size}", raw.len()));
    }
    gzip(&raw).map_err(|e| format!("gzip: {e}"))
}

fn gunzip(data: &[u8]) -> Option<Vec<u8>> {
    if !data.starts_with(&[0x1f, 0x8b]) {
        return None;
    }
    let mut raw = Vec::with_capacity(data.len() * 3);
    flate2::read::GzDecoder::new(data).take(MAX_RAW_BYTES as u64 + 1).read_to_end(&mut raw).ok()?;
    (raw.len() <= MAX_RAW_BYTES).then_some(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(seed: u32, len: usize) -> Vec<u8> {
        let mut x = seed;
        (0..len)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (x >> 24) as u8 % 16
            })
            .collect()
    }

    #[test]
    fn a_small_change_makes_a_small_patch_that_rebuilds_the_exact_bytes() {
        let old_raw = tile(7, 20_000);
        let mut new_raw = old_raw.clone();
        new_raw[10_000..10_010].copy_from_slice(b"0123456789");
        let (old, new) = (gzip(&old_raw).unwrap(), gzip(&new_raw).unwrap());
        let patch = make_patch(&old, &new).expect("a patch");
        assert!(patch.len() * 20 < new.len(), "patch {} vs tile {}", patch.len(), new.len());
        assert_eq!(apply_patch(&old, &patch).unwrap(), new);
    }

    #[test]
    fn no_patch_for_tiles_that_are_not_gzip_or_gain_nothing() {
        let png = b"\x89PNG\r\n\x1a\n....".to_vec();
        assert!(make_patch(&png, &png).is_none());
        let (a, b) = (gzip(&tile(1, 100)).unwrap(), gzip(&tile(2, 100)).unwrap());
        assert!(make_patch(&a, &b).is_none(), "unrelated small tiles gain nothing");
    }

    #[test]
    fn a_damaged_patch_or_the_wrong_base_is_an_error_or_other_bytes() {
        let old_raw = tile(3, 5_000);
        let mut new_raw = old_raw.clone();
        new_raw[100] ^= 1;
        let (old, new) = (gzip(&old_raw).unwrap(), gzip(&new_raw).unwrap());
        let patch = make_patch(&old, &new).unwrap();
        assert!(apply_patch(&old, &patch[..3]).is_err());
        let mut bad = patch.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x55;
        assert_ne!(apply_patch(&old, &bad).ok(), Some(new.clone()));
        let other = gzip(&tile(4, 5_000)).unwrap();
        assert_ne!(apply_patch(&other, &patch).ok(), Some(new));
    }
}
