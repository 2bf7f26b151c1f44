//! PMTiles directories: entries `(tile id, offset, length, run length)` serialized column by column as varints
//! (ids delta-coded, an offset written as 0 when it follows the previous entry's bytes), then compressed; and
//! the split into a root directory and leaf directories.
//!
//! The split is the spec's and go-pmtiles's: the root alone if it fits (with the header, in 16,384 bytes),
//! else leaves of `max(entries / 3500, 4096)` entries, grown by a fifth until the root of leaf pointers fits.

use super::FormatError;
use super::compress::compress;
use super::header::{Compression, HEADER_LEN};

/// The header and the compressed root directory fit in this many bytes.
pub const ROOT_LIMIT: usize = 16_384;
/// Entries of the smallest leaf directory tried.
const MIN_LEAF_ENTRIES: usize = 4096;

/// One directory entry: tiles `tile_id .. tile_id + run_length` share the bytes at `offset` (in the tile data
/// section), or, with `run_length` 0, a leaf directory at `offset` in the leaf section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub tile_id: u64,
    pub offset: u64,
    pub length: u32,
    pub run_length: u32,
}

/// The compressed root and leaf directories of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directories {
    pub root: Vec<u8>,
    pub leaves: Vec<u8>,
    pub leaf_count: usize,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint(bytes: &[u8], pos: &mut usize) -> Result<u64, FormatError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*pos).ok_or_else(|| FormatError::Malformed("directory ends inside a varint".into()))?;
        *pos += 1;
        let bits = u64::from(byte & 0x7f);
        if shift == 63 && bits > 1 {
            break;
        }
        value |= bits << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(FormatError::Malformed("a directory varint is longer than 64 bits".into()))
}

/// The uncompressed bytes of a directory.
pub fn serialize(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 4 + 10);
    put_varint(&mut out, entries.len() as u64);
    let mut last = 0u64;
    for e in entries {
        put_varint(&mut out, e.tile_id - last);
        last = e.tile_id;
    }
    for e in entries {
        put_varint(&mut out, u64::from(e.run_length));
    }
    for e in entries {
        put_varint(&mut out, u64::from(e.length));
    }
    for (i, e) in entries.iter().enumerate() {
        let follows = i > 0 && entries[i - 1].offset + u64::from(entries[i - 1].length) == e.offset;
        put_varint(&mut out, if follows { 0 } else { e.offset + 1 });
    }
    out
}

/// Parses an uncompressed directory; ids must ascend and lengths fit in 32 bits.
pub fn deserialize(bytes: &[u8]) -> Result<Vec<Entry>, FormatError> {
    let malformed = |what: &str| FormatError::Malformed(format!("directory: {what}"));
    let mut pos = 0;
    let count = varint(bytes, &mut pos)?;
    // Every entry takes at least four bytes: a count beyond that is a lie, not an allocation.
    if count > (bytes.len() as u64) / 4 + 1 {
        return Err(malformed(&format!("{count} entries claimed in {} bytes", bytes.len())));
    }
    let count = count as usize;
    let mut entries = vec![Entry { tile_id: 0, offset: 0, length: 0, run_length: 0 }; count];
    let mut last = 0u64;
    for (i, e) in entries.iter_mut().enumerate() {
        let delta = varint(bytes, &mut pos)?;
        if i > 0 && delta == 0 {
            return Err(malformed("tile ids do not ascend"));
        }
        last = last.checked_add(delta).ok_or_else(|| malformed("tile id overflows"))?;
        e.tile_id = last;
    }
    for e in entries.iter_mut() {
        e.run_length = u32::try_from(varint(bytes, &mut pos)?).map_err(|_| malformed("run length over 32 bits"))?;
    }
    for e in entries.iter_mut() {
        e.length = u32::try_from(varint(bytes, &mut pos)?).map_err(|_| malformed("length over 32 bits"))?;
        if e.length == 0 {
            return Err(malformed("an entry of length 0"));
        }
    }
    for i in 0..count {
        let v = varint(bytes, &mut pos)?;
        entries[i].offset = match (v, i) {
            (0, 0) => return Err(malformed("the first offset refers to a previous entry")),
            (0, _) => entries[i - 1]
                .offset
                .checked_add(u64::from(entries[i - 1].length))
                .ok_or_else(|| malformed("offset overflows"))?,
            (v, _) => v - 1,
        };
    }
    if pos != bytes.len() {
        return Err(malformed(&format!("{} bytes after the last entry", bytes.len() - pos)));
    }
    Ok(entries)
}

/// Splits tile entries (sorted by id) into a root directory that fits [`ROOT_LIMIT`] with the header and, when
/// needed, leaf directories; every directory compressed with `compression`.
pub fn build(entries: &[Entry], compression: Compression) -> Directories {
    let limit = ROOT_LIMIT - HEADER_LEN;
    if entries.len() < 16_384 {
        let root = compress(&serialize(entries), compression);
        if root.len() <= limit {
            return Directories { root, leaves: Vec::new(), leaf_count: 0 };
        }
    }
    let mut leaf_size = (entries.len() as f64 / 3500.0).max(MIN_LEAF_ENTRIES as f64);
    loop {
        let dirs = with_leaves(entries, leaf_size as usize, compression);
        if dirs.root.len() <= limit {
            return dirs;
        }
        leaf_size *= 1.2;
    }
}

fn with_leaves(entries: &[Entry], leaf_size: usize, compression: Compression) -> Directories {
    let mut leaves = Vec::new();
    let mut root = Vec::new();
    for chunk in entries.chunks(leaf_size.max(1)) {
        let leaf = compress(&serialize(chunk), compression);
        root.push(Entry {
            tile_id: chunk[0].tile_id,
            offset: leaves.len() as u64,
            length: leaf.len() as u32,
            run_length: 0,
        });
        leaves.extend_from_slice(&leaf);
    }
    Directories { root: compress(&serialize(&root), compression), leaves, leaf_count: root.len() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(tile_id: u64, offset: u64, length: u32, run_length: u32) -> Entry {
        Entry { tile_id, offset, length, run_length }
    }

    #[test]
    fn directories_round_trip_with_contiguous_and_shared_offsets() {
        let entries = vec![e(0, 0, 10, 1), e(1, 10, 5, 3), e(4, 0, 10, 1), e(9, 15, 7, 1)];
        let bytes = serialize(&entries);
        // The second and fourth offsets follow their predecessor's bytes: written as 0.
        assert_eq!(deserialize(&bytes).expect("parse"), entries);
        assert!(deserialize(&bytes[..bytes.len() - 1]).is_err());
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(deserialize(&trailing).is_err());
        assert!(deserialize(&[0xff; 11]).is_err());
        assert!(deserialize(&[0xff, 0xff, 0xff, 0x7f]).is_err());
    }

    #[test]
    fn a_large_directory_gets_leaves_and_a_root_within_the_limit() {
        let entries: Vec<Entry> = (0..300_000u64).map(|i| e(i * 3, i * 100, 100, 1 + (i % 2) as u32)).collect();
        let dirs = build(&entries, Compression::Gzip);
        assert!(dirs.leaf_count > 0);
        assert!(dirs.root.len() <= ROOT_LIMIT - HEADER_LEN);
        let small = build(&entries[..100], Compression::Gzip);
        assert_eq!(small.leaf_count, 0);
    }
}
