//! Node id → location, for building ways: a packed store (sorted ids, delta- and varint-coded, about 4 to 6
//! bytes a node) for extracts, or a dense array in a memory-mapped temporary file (8 bytes per id up to the
//! largest id) for planet-sized inputs; [`NodeStoreKind::choose`] picks one from the expected node count.
//!
//! Locations are kept as OSM stores them: decimicrodegrees (1e-7°) in `i32`, `[lon, lat]`.

use std::fs::File;
use std::path::Path;

use memmap2::MmapMut;

/// Nodes per block of the packed store: a lookup binary-searches the blocks' first ids, then decodes at most
/// this many entries. 64 keeps the per-block index (16 bytes) at 0.25 bytes a node and a lookup short.
pub const PACKED_BLOCK: usize = 64;

/// From this many nodes on the dense array is used: it costs 8 bytes for every id up to the largest (about 13
/// billion ids in 2026), a 100 GB sparse file, which only pays when nearly every id is a node (the planet).
pub const DENSE_MIN_NODES: u64 = 2_000_000_000;

/// Ids the dense store's file is first sized for: above the largest node id (13 billion in 2026), so that it
/// need not grow; the file is sparse, and only pages holding nodes take space.
pub const DENSE_IDS: u64 = 1 << 34;

/// The node count is only known after pass 1, so the store is chosen from the file size: full extracts hold
/// about one node per this many bytes of PBF (Malta: 3.9 MB, 0.33 M nodes; the planet: 80 GB, 10.5 G nodes).
pub const PBF_BYTES_PER_NODE: u64 = 8;

/// Which store holds the node locations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeStoreKind {
    #[default]
    Packed,
    Dense,
}

impl NodeStoreKind {
    /// The store for about `nodes` nodes.
    pub fn choose(nodes: u64) -> NodeStoreKind {
        if nodes >= DENSE_MIN_NODES { NodeStoreKind::Dense } else { NodeStoreKind::Packed }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NodeStoreKind::Packed => "packed",
            NodeStoreKind::Dense => "dense",
        }
    }
}

/// The node locations of a file, filled in pass 1 and read (from many threads) in pass 2.
#[derive(Debug)]
pub enum NodeStore {
    Packed(Packed),
    Dense(Dense),
}

impl NodeStore {
    /// `[lon, lat]` of node `id`, or `None` when the file has no such node.
    pub fn get(&self, id: i64) -> Option<[i32; 2]> {
        match self {
            NodeStore::Packed(p) => p.get(id),
            NodeStore::Dense(d) => d.get(id),
        }
    }

    /// Nodes stored.
    pub fn count(&self) -> u64 {
        match self {
            NodeStore::Packed(p) => p.len,
            NodeStore::Dense(d) => d.len,
        }
    }

    /// Bytes the store takes: heap bytes (packed), or the blocks its file takes on disk (dense: a sparse file of
    /// 8 bytes an id, of which only the pages holding nodes are written).
    pub fn bytes(&self) -> u64 {
        match self {
            NodeStore::Packed(p) => p.bytes(),
            NodeStore::Dense(d) => {
                use std::os::unix::fs::MetadataExt;
                d.file.metadata().map_or(d.map.len() as u64, |m| m.blocks() * 512)
            }
        }
    }

    pub fn kind(&self) -> NodeStoreKind {
        match self {
            NodeStore::Packed(_) => NodeStoreKind::Packed,
            NodeStore::Dense(_) => NodeStoreKind::Dense,
        }
    }
}

/// Fills a [`NodeStore`] from nodes in file order (ascending ids in sorted files; any order works).
#[derive(Debug)]
pub enum Builder {
    Packed(PackedBuilder),
    Dense(Dense),
}

impl Builder {
    /// A builder of `kind`; a dense one maps a temporary file in `dir` (default: the system's temporary folder)
    /// sized for ids below `expected_ids`.
    pub fn new(kind: NodeStoreKind, expected_ids: u64, dir: Option<&Path>) -> std::io::Result<Builder> {
        Ok(match kind {
            NodeStoreKind::Packed => Builder::Packed(PackedBuilder::default()),
            NodeStoreKind::Dense => Builder::Dense(Dense::new(expected_ids, dir)?),
        })
    }

    /// Adds node `id` at `[lon, lat]` (decimicrodegrees). A dense store takes no negative id.
    pub fn push(&mut self, id: i64, location: [i32; 2]) -> Result<(), String> {
        match self {
            Builder::Packed(p) => {
                p.push(id, location);
                Ok(())
            }
            Builder::Dense(d) => d.insert(id, location),
        }
    }

    pub fn finish(self) -> NodeStore {
        match self {
            Builder::Packed(p) => NodeStore::Packed(p.finish()),
            Builder::Dense(d) => NodeStore::Dense(d),
        }
    }
}

/// Sorted ids in blocks of [`PACKED_BLOCK`]: per block its first id and byte offset; in the byte stream the
/// first entry's lon/lat (zigzag varints), then for each further entry the id delta (varint) and the lon/lat
/// deltas (zigzag varints).
#[derive(Debug, Default)]
pub struct Packed {
    firsts: Vec<i64>,
    offsets: Vec<u64>,
    bytes: Vec<u8>,
    len: u64,
}

impl Packed {
    fn get(&self, id: i64) -> Option<[i32; 2]> {
        let block = self.firsts.partition_point(|first| *first <= id).checked_sub(1)?;
        let entries = (self.len as usize - block * PACKED_BLOCK).min(PACKED_BLOCK);
        let mut at = usize::try_from(self.offsets[block]).ok()?;
        let mut current = self.firsts[block];
        let mut lon = unzigzag(read_varint(&self.bytes, &mut at)?);
        let mut lat = unzigzag(read_varint(&self.bytes, &mut at)?);
        for _ in 1..entries {
            if current >= id {
                break;
            }
            current += read_varint(&self.bytes, &mut at)? as i64;
            lon += unzigzag(read_varint(&self.bytes, &mut at)?);
            lat += unzigzag(read_varint(&self.bytes, &mut at)?);
        }
        (current == id).then_some([lon as i32, lat as i32])
    }

    fn bytes(&self) -> u64 {
        (self.bytes.capacity() + self.firsts.capacity() * 8 + self.offsets.capacity() * 8) as u64
    }

    /// Every entry in id order.
    fn entries(&self) -> Vec<(i64, [i32; 2])> {
        let mut out = Vec::with_capacity(self.len as usize);
        for (block, first) in self.firsts.iter().enumerate() {
            let entries = (self.len as usize - block * PACKED_BLOCK).min(PACKED_BLOCK);
            let mut at = self.offsets[block] as usize;
            let (mut id, mut lon, mut lat) = (*first, 0i64, 0i64);
            for n in 0..entries {
                if n > 0 {
                    id += read_varint(&self.bytes, &mut at).unwrap_or(0) as i64;
                }
                lon += unzigzag(read_varint(&self.bytes, &mut at).unwrap_or(0));
                lat += unzigzag(read_varint(&self.bytes, &mut at).unwrap_or(0));
                out.push((id, [lon as i32, lat as i32]));
            }
        }
        out
    }
}

/// Builds a [`Packed`] store. Ids in ascending order are coded as they come; the first id out of order (an
/// unsorted file) turns the builder into a plain list that is sorted at the end (duplicates: the first wins).
#[derive(Debug, Default)]
pub struct PackedBuilder {
    packed: Packed,
    last: Option<(i64, [i32; 2])>,
    unsorted: Option<Vec<(i64, [i32; 2])>>,
}

impl PackedBuilder {
    pub fn push(&mut self, id: i64, location: [i32; 2]) {
        if let Some(list) = &mut self.unsorted {
            list.push((id, location));
            return;
        }
        let p = &mut self.packed;
        match self.last {
            Some((last, _)) if id <= last => {
                let mut list = p.entries();
                list.push((id, location));
                self.unsorted = Some(list);
                return;
            }
            Some((last, [lon0, lat0])) if !(p.len as usize).is_multiple_of(PACKED_BLOCK) => {
                write_varint(&mut p.bytes, (id - last) as u64);
                write_varint(&mut p.bytes, zigzag(i64::from(location[0]) - i64::from(lon0)));
                write_varint(&mut p.bytes, zigzag(i64::from(location[1]) - i64::from(lat0)));
            }
            _ => {
                p.firsts.push(id);
                p.offsets.push(p.bytes.len() as u64);
                write_varint(&mut p.bytes, zigzag(i64::from(location[0])));
                write_varint(&mut p.bytes, zigzag(i64::from(location[1])));
            }
        }
        p.len += 1;
        self.last = Some((id, location));
    }

    pub fn finish(self) -> Packed {
        let Some(mut list) = self.unsorted else {
            let mut packed = self.packed;
            packed.bytes.shrink_to_fit();
            packed.firsts.shrink_to_fit();
            packed.offsets.shrink_to_fit();
            return packed;
        };
        list.sort_by_key(|(id, _)| *id);
        list.dedup_by_key(|(id, _)| *id);
        let mut sorted = PackedBuilder::default();
        for (id, location) in list {
            sorted.push(id, location);
        }
        sorted.finish()
    }
}

/// One `u64` slot per id in a memory-mapped temporary file: lon and lat each offset by 2^31 into a `u32`, so that
/// a slot never written (zero, as a sparse file reads) means "no such node". The file grows when an id beyond
/// its end arrives.
#[derive(Debug)]
pub struct Dense {
    file: File,
    map: MmapMut,
    len: u64,
}

const OFFSET: i64 = 1 << 31;

impl Dense {
    fn new(expected_ids: u64, dir: Option<&Path>) -> std::io::Result<Dense> {
        let file = match dir {
            Some(dir) => tempfile::tempfile_in(dir)?,
            None => tempfile::tempfile()?,
        };
        let slots = expected_ids.max(1024);
        file.set_len(slots * 8)?;
        // SAFETY: the file is our own unnamed temporary file; nothing else maps or truncates it.
        let map = unsafe { MmapMut::map_mut(&file)? };
        Ok(Dense { file, map, len: 0 })
    }

    fn insert(&mut self, id: i64, location: [i32; 2]) -> Result<(), String> {
        let slot = u64::try_from(id).map_err(|_| format!("node {id}: a negative id cannot go in the dense store"))?;
        let at = slot.checked_mul(8).and_then(|a| usize::try_from(a).ok()).ok_or_else(|| format!("node id {id}"))?;
        if at + 8 > self.map.len() {
            let grown = ((at as u64 + 8) * 3 / 2).next_multiple_of(1 << 20);
            self.file.set_len(grown).map_err(|e| format!("cannot grow the node store to {grown} bytes: {e}"))?;
            // SAFETY: as in `new`; the old map is replaced (and unmapped) here.
            self.map = unsafe { MmapMut::map_mut(&self.file) }.map_err(|e| e.to_string())?;
        }
        let lon = (i64::from(location[0]) + OFFSET) as u32;
        let lat = (i64::from(location[1]) + OFFSET) as u32;
        let value = (u64::from(lon) << 32) | u64::from(lat);
        let old = u64::from_le_bytes(self.map[at..at + 8].try_into().map_err(|_| "slot".to_owned())?);
        if old == 0 {
            self.len += 1;
        }
        self.map[at..at + 8].copy_from_slice(&value.to_le_bytes());
        Ok(())
    }

    fn get(&self, id: i64) -> Option<[i32; 2]> {
        let at = usize::try_from(id).ok()?.checked_mul(8)?;
        let value = u64::from_le_bytes(self.map.get(at..at + 8)?.try_into().ok()?);
        if value == 0 {
            return None;
        }
        let lon = i64::from((value >> 32) as u32) - OFFSET;
        let lat = i64::from(value as u32) - OFFSET;
        Some([lon as i32, lat as i32])
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn read_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A node set like an extract's: ids with gaps, locations wandering by small steps, some far jumps.
    fn nodes(n: i64) -> Vec<(i64, [i32; 2])> {
        let mut id = 1_000_000_000i64;
        let (mut lon, mut lat) = (143_000_000i32, 358_000_000i32);
        (0..n)
            .map(|i| {
                id += 1 + (i * 7919) % 13;
                lon = lon.wrapping_add(((i * 104_729) % 2001 - 1000) as i32);
                lat = lat.wrapping_add(((i * 15_485_863) % 1501 - 750) as i32);
                if i % 500 == 0 {
                    lon = -lon;
                }
                (id, [lon, lat])
            })
            .collect()
    }

    fn build(kind: NodeStoreKind, list: &[(i64, [i32; 2])]) -> NodeStore {
        let mut b = Builder::new(kind, 16, None).expect("builder");
        for (id, loc) in list {
            b.push(*id, *loc).expect("push");
        }
        b.finish()
    }

    #[test]
    fn round_trip_and_missing_ids_in_both_stores() {
        let list = nodes(10_000);
        for kind in [NodeStoreKind::Packed, NodeStoreKind::Dense] {
            let store = build(kind, &list);
            assert_eq!(store.count(), 10_000, "{kind:?}");
            for (id, loc) in &list {
                assert_eq!(store.get(*id), Some(*loc), "{kind:?} node {id}");
            }
            // Ids between stored ones, before the first, after the last, negative, huge: none.
            let stored: std::collections::HashSet<i64> = list.iter().map(|(id, _)| *id).collect();
            let probes = (list[0].0 - 5..list[200].0).chain([0, -7, list[9_999].0 + 1, i64::MAX, i64::MIN]);
            for id in probes.filter(|id| !stored.contains(id)) {
                assert_eq!(store.get(id), None, "{kind:?} node {id}");
            }
        }
    }

    #[test]
    fn packed_store_is_small_and_extremes_survive() {
        let list = nodes(100_000);
        let store = build(NodeStoreKind::Packed, &list);
        let per_node = store.bytes() as f64 / store.count() as f64;
        assert!(per_node < 6.5, "{per_node} bytes per node");
        let extremes = [(1, [-1_800_000_000, -900_000_000]), (2, [1_800_000_000, 900_000_000]), (3, [0, 0])];
        let store = build(NodeStoreKind::Packed, &extremes);
        for (id, loc) in extremes {
            assert_eq!(store.get(id), Some(loc));
        }
        let dense = build(NodeStoreKind::Dense, &extremes);
        for (id, loc) in extremes {
            assert_eq!(dense.get(id), Some(loc), "a location of (0, 0) is not taken for a missing node");
        }
    }

    #[test]
    fn unsorted_input_is_sorted_and_the_first_duplicate_wins() {
        let mut list = nodes(1_000);
        let sorted = list.clone();
        list.swap(10, 900);
        list.reverse();
        list.push((sorted[5].0, [1, 1]));
        let store = build(NodeStoreKind::Packed, &list);
        assert_eq!(store.count(), 1_000);
        for (id, loc) in &sorted {
            assert_eq!(store.get(*id), Some(*loc));
        }
    }

    #[test]
    fn the_dense_store_grows_and_refuses_negative_ids() {
        let mut b = Builder::new(NodeStoreKind::Dense, 10, None).expect("builder");
        assert!(b.push(5_000_000, [7, 8]).is_ok());
        assert!(b.push(5_000_000, [7, 8]).is_ok());
        let err = b.push(-3, [0, 0]).err().unwrap_or_default();
        assert!(err.contains("node -3"), "{err}");
        let store = b.finish();
        assert_eq!((store.get(5_000_000), store.count(), store.kind()), (Some([7, 8]), 1, NodeStoreKind::Dense));
        assert!(store.bytes() >= 8 && store.bytes() < 1 << 20, "one page or so: {}", store.bytes());
    }

    #[test]
    fn the_store_follows_the_node_count() {
        assert_eq!(NodeStoreKind::choose(450_000), NodeStoreKind::Packed);
        assert_eq!(NodeStoreKind::choose(600_000_000), NodeStoreKind::Packed);
        assert_eq!(NodeStoreKind::choose(10_500_000_000), NodeStoreKind::Dense);
    }
}
