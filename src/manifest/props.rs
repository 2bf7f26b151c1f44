//! Property tests of the manifest: random tile sets and headers → write, read back, diff; the round trip is
//! exact, the bytes are deterministic, and a diff mirrors the diff the other way round.
//!
//! Cases: proptest's `PROPTEST_CASES` (default 256); `make soak-props` runs 100,000.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

use super::{Change, Diff, Entry, Header, ManifestReader, SourceFingerprint, ZoomDiff, diff, write_manifest};
use crate::tiling::TileId;

/// A tile anywhere in the grid, at any zoom the format allows (biased towards the low zooms of real builds).
fn tile() -> impl Strategy<Value = TileId> {
    prop_oneof![0u8..=4, 0u8..=14, 0u8..=30]
        .prop_flat_map(|z| {
            let n = 1u64 << z;
            (Just(z), 0..n, 0..n)
        })
        .prop_map(|(z, x, y)| TileId::new(z, x as u32, y as u32).expect("inside the grid by construction"))
}

fn hash() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>()
}

/// Sizes across the whole `u32` range, and small ones.
fn size() -> impl Strategy<Value = u32> {
    prop_oneof![0u32..70_000, any::<u32>()]
}

/// A sorted, duplicate-free tile list (what a build hands the writer).
fn entries() -> impl Strategy<Value = Vec<Entry>> {
    btree_map(tile(), (size(), hash()), 0..200)
        .prop_map(|m| m.into_iter().map(|(tile, (size, sha256))| Entry { tile, size, sha256 }).collect())
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".*".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            btree_map(".*", inner, 0..4).prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn coordinate() -> impl Strategy<Value = f64> {
    // Real bounds (lon/lat), and any finite double: the header must round-trip whatever it holds.
    prop_oneof![-180.0..=180.0f64, any::<f64>().prop_filter("finite", |f| f.is_finite())]
}

fn header() -> impl Strategy<Value = Header> {
    let source = (".*", ".*", any::<u64>(), "[0-9a-f]{64}")
        .prop_map(|(layer, file, bytes, sha256)| SourceFingerprint { layer, file, bytes, sha256 });
    (
        (".*", prop_oneof![Just("pbf".to_owned()), Just("png".to_owned()), ".*".boxed()], any::<u8>(), any::<u8>()),
        [coordinate(), coordinate(), coordinate(), coordinate()],
        json_value(),
        vec(source, 0..3),
        ".*",
        btree_map(".*", ".*", 0..4),
    )
        .prop_map(|((name, format, minzoom, maxzoom), bounds, vector_layers, sources, generator, metadata)| {
            Header { name, format, minzoom, maxzoom, bounds, vector_layers, sources, generator, metadata }
        })
}

/// A scratch folder, in memory where the machine has one: the writer syncs every manifest to disk, and the
/// properties are about bytes, not durability (256 cases would otherwise wait seconds on fsync).
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() };
    dir.expect("a scratch folder")
}

fn read_all(path: &Path) -> (Header, Vec<Entry>) {
    let mut reader = ManifestReader::open(path).expect("a written manifest opens");
    let mut out = Vec::new();
    while let Some(entry) = reader.next_entry().expect("a written manifest reads") {
        out.push(entry);
    }
    (reader.header().clone(), out)
}

fn diff_files(old: &Path, new: &Path) -> (Diff, Vec<Change>) {
    let mut a = ManifestReader::open(old).expect("old opens");
    let mut b = ManifestReader::open(new).expect("new opens");
    let mut changes = Vec::new();
    let d = diff(&mut a, &mut b, &mut |c| changes.push(c)).expect("diff of two good manifests");
    (d, changes)
}

/// What becomes of one tile between two manifests.
#[derive(Debug, Clone, Copy)]
enum Fate {
    OnlyOld,
    OnlyNew,
    Same,
    /// In both, with another hash (and any size) in the new one.
    Changed {
        size: u32,
        flip: u8,
    },
}

fn fate() -> impl Strategy<Value = Fate> {
    prop_oneof![
        Just(Fate::OnlyOld),
        Just(Fate::OnlyNew),
        Just(Fate::Same),
        (size(), 1u8..=255).prop_map(|(size, flip)| Fate::Changed { size, flip }),
    ]
}

/// Two manifests' tile lists that overlap, and the fate of each tile.
fn two_lists() -> impl Strategy<Value = (Vec<Entry>, Vec<Entry>, Vec<(Entry, Fate)>)> {
    btree_map(tile(), (size(), hash(), fate()), 0..200).prop_map(|m| {
        let (mut old, mut new, mut fates) = (Vec::new(), Vec::new(), Vec::new());
        for (tile, (size, sha256, fate)) in m {
            let entry = Entry { tile, size, sha256 };
            match fate {
                Fate::OnlyOld => old.push(entry),
                Fate::OnlyNew => new.push(entry),
                Fate::Same => {
                    old.push(entry);
                    new.push(entry);
                }
                Fate::Changed { size, flip } => {
                    let mut sha256 = entry.sha256;
                    sha256[usize::from(flip) % 32] ^= flip;
                    old.push(entry);
                    new.push(Entry { tile, size, sha256 });
                }
            }
            fates.push((entry, fate));
        }
        (old, new, fates)
    })
}

fn mirrored(z: &ZoomDiff) -> ZoomDiff {
    ZoomDiff {
        added: z.removed,
        removed: z.added,
        changed: z.changed,
        unchanged: z.unchanged,
        added_bytes: z.removed_bytes,
        removed_bytes: z.added_bytes,
        changed_old_bytes: z.changed_new_bytes,
        changed_new_bytes: z.changed_old_bytes,
    }
}

fn mirror_change(c: &Change) -> Change {
    match *c {
        Change::Added(e) => Change::Removed(e),
        Change::Removed(e) => Change::Added(e),
        Change::Changed { old, new } => Change::Changed { old: new, new: old },
    }
}

proptest! {
    #[test]
    fn written_manifests_read_back_exactly_and_byte_for_byte_the_same(header in header(), list in entries()) {
        let dir = scratch();
        let (a, b) = (dir.path().join("a.manifest.zst"), dir.path().join("b.manifest.zst"));
        let info = write_manifest(&a, &header, list.clone()).expect("write a");
        let again = write_manifest(&b, &header, list.clone()).expect("write b");
        prop_assert_eq!(info.tiles, list.len() as u64);
        prop_assert_eq!(info.bytes, list.iter().map(|e| u64::from(e.size)).sum::<u64>());
        let (bytes_a, bytes_b) = (std::fs::read(&a).expect("read a"), std::fs::read(&b).expect("read b"));
        prop_assert!(bytes_a == bytes_b, "the same content gave different bytes");
        prop_assert_eq!(&info.sha256, &again.sha256);
        prop_assert_eq!(&info.sha256, &hex::encode(super::sha256(&bytes_a)));
        let (read_header, read_list) = read_all(&a);
        prop_assert_eq!(read_header, header);
        prop_assert_eq!(read_list, list);
        let verified = ManifestReader::open(&a).expect("open").verify().expect("verify");
        prop_assert_eq!(verified, (info.tiles, info.bytes));
    }

    #[test]
    fn a_manifest_diffed_with_itself_is_all_unchanged(header in header(), list in entries()) {
        let dir = scratch();
        let (a, b) = (dir.path().join("a.manifest.zst"), dir.path().join("b.manifest.zst"));
        write_manifest(&a, &header, list.clone()).expect("write a");
        write_manifest(&b, &header, list.clone()).expect("write b");
        for (old, new) in [(&a, &a), (&a, &b)] {
            let (d, changes) = diff_files(old, new);
            prop_assert!(changes.is_empty(), "changes: {:?}", changes);
            prop_assert!(d.is_identical(), "{:?}", d);
            prop_assert!(d.header_changes.is_empty(), "{:?}", d.header_changes);
            prop_assert_eq!((d.old_tiles, d.new_tiles), (list.len() as u64, list.len() as u64));
            let mut per_zoom: BTreeMap<u8, u64> = BTreeMap::new();
            for e in &list {
                *per_zoom.entry(e.tile.z).or_default() += 1;
            }
            let unchanged: BTreeMap<u8, u64> = d.per_zoom.iter().map(|(z, c)| (*z, c.unchanged)).collect();
            prop_assert_eq!(unchanged, per_zoom);
            prop_assert_eq!(d.total(), ZoomDiff { unchanged: list.len() as u64, ..ZoomDiff::default() });
        }
    }

    #[test]
    fn a_diff_mirrors_the_diff_the_other_way_and_counts_every_tile(
        (old, new, fates) in two_lists(),
        header_a in header(),
        header_b in header(),
    ) {
        let dir = scratch();
        let (a, b) = (dir.path().join("a.manifest.zst"), dir.path().join("b.manifest.zst"));
        write_manifest(&a, &header_a, old.clone()).expect("write a");
        write_manifest(&b, &header_b, new.clone()).expect("write b");
        let (forward, forward_changes) = diff_files(&a, &b);
        let (backward, backward_changes) = diff_files(&b, &a);

        // Mirror: added ↔ removed, changed with old/new swapped, unchanged equal, bytes swapped.
        let mirrored_zooms: BTreeMap<u8, ZoomDiff> = backward.per_zoom.iter().map(|(z, c)| (*z, mirrored(c))).collect();
        prop_assert_eq!(&forward.per_zoom, &mirrored_zooms);
        prop_assert_eq!((forward.old_tiles, forward.new_tiles), (backward.new_tiles, backward.old_tiles));
        prop_assert_eq!(&forward.header_changes, &backward.header_changes);
        let mirrored_changes: Vec<Change> = backward_changes.iter().map(mirror_change).collect();
        prop_assert_eq!(&forward_changes, &mirrored_changes);

        // And the forward diff is the one the fates make.
        let mut expected: BTreeMap<u8, ZoomDiff> = BTreeMap::new();
        let mut expected_changes = Vec::new();
        for (entry, fate) in &fates {
            let z = expected.entry(entry.tile.z).or_default();
            let new_entry = new.iter().find(|n| n.tile == entry.tile);
            match fate {
                Fate::OnlyOld => {
                    z.removed += 1;
                    z.removed_bytes += u64::from(entry.size);
                    expected_changes.push(Change::Removed(*entry));
                }
                Fate::OnlyNew => {
                    z.added += 1;
                    z.added_bytes += u64::from(entry.size);
                    expected_changes.push(Change::Added(*entry));
                }
                Fate::Same => z.unchanged += 1,
                Fate::Changed { .. } => {
                    let new_entry = *new_entry.expect("a changed tile is in the new list");
                    z.changed += 1;
                    z.changed_old_bytes += u64::from(entry.size);
                    z.changed_new_bytes += u64::from(new_entry.size);
                    expected_changes.push(Change::Changed { old: *entry, new: new_entry });
                }
            }
        }
        prop_assert_eq!(&forward.per_zoom, &expected);
        prop_assert_eq!(&forward_changes, &expected_changes);
        prop_assert_eq!((forward.old_tiles, forward.new_tiles), (old.len() as u64, new.len() as u64));
        prop_assert_eq!(forward.header_changes.is_empty(), header_a == header_b);
    }
}
