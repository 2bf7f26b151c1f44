use super::*;
use crate::manifest::{ManifestError, sha256};

fn header() -> Header {
    Header {
        name: "t".into(),
        format: "pbf".into(),
        minzoom: 0,
        maxzoom: 3,
        bounds: [-180.0, -85.0, 180.0, 85.0],
        vector_layers: serde_json::json!([{"id": "l", "fields": {"b": "Number", "a": "String"}}]),
        sources: vec![],
        generator: "tilepress test".into(),
        metadata: Default::default(),
    }
}

fn entries(n: u32) -> Vec<Entry> {
    let mut out = Vec::new();
    'outer: for z in 0..=12u8 {
        for x in 0..(1u32 << z) {
            for y in 0..(1u32 << z).min(4) {
                if out.len() as u32 == n {
                    break 'outer;
                }
                let tile = TileId { z, x, y };
                out.push(Entry { tile, size: 100 + x, sha256: sha256(tile.to_string().as_bytes()) });
            }
        }
    }
    out
}

fn read_all(path: &Path) -> Result<(Header, Vec<Entry>), ManifestError> {
    let mut reader = ManifestReader::open(path)?;
    let mut out = Vec::new();
    while let Some(e) = reader.next_entry()? {
        out.push(e);
    }
    Ok((reader.header().clone(), out))
}

#[test]
fn round_trips_and_is_byte_identical_when_written_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a.manifest.zst"), dir.path().join("b.manifest.zst"));
    let list = entries(5000);
    let info_a = write_manifest(&a, &header(), list.clone()).expect("write");
    let info_b = write_manifest(&b, &header(), list.clone()).expect("write");
    assert_eq!(std::fs::read(&a).expect("a"), std::fs::read(&b).expect("b"));
    assert_eq!(info_a.sha256, info_b.sha256);
    assert_eq!(info_a.tiles, 5000);
    assert_eq!(info_a.bytes, list.iter().map(|e| u64::from(e.size)).sum::<u64>());
    let (h, read) = read_all(&a).expect("read");
    assert_eq!(h, header());
    assert_eq!(read, list);
    assert_eq!(ManifestReader::open(&a).expect("open").verify().expect("verify"), (5000, info_a.bytes));
    let leftovers = std::fs::read_dir(dir.path()).expect("dir").count();
    assert_eq!(leftovers, 2, "no temporary files");
}

#[test]
fn an_empty_manifest_is_valid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("e.manifest.zst");
    write_manifest(&path, &header(), Vec::new()).expect("write");
    assert_eq!(read_all(&path).expect("read").1, vec![]);
}

#[test]
fn a_tile_outside_the_grid_of_its_zoom_is_refused_on_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("g.manifest.zst");
    let mut list = entries(3);
    // z1 has columns 0 and 1; TileId's fields are public, so nothing else stops this one.
    list.push(Entry { tile: TileId { z: 1, x: 2, y: 0 }, size: 1, sha256: [0; 32] });
    list.sort_by_key(|e| e.tile);
    let err = write_manifest(&path, &header(), list).expect_err("off the grid");
    assert!(matches!(err, ManifestError::OffGrid { .. }), "{err}");
    assert!(err.to_string().contains("1/2/0"), "{err}");
    assert!(!path.exists(), "a failed write leaves nothing");
}

#[test]
fn tiles_must_be_pushed_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("o.manifest.zst");
    let mut list = entries(10);
    list.swap(3, 4);
    let err = write_manifest(&path, &header(), list).expect_err("out of order");
    assert!(matches!(err, ManifestError::OutOfOrder { .. }), "{err}");
    assert!(!path.exists(), "a failed write leaves nothing");
}

#[test]
fn every_truncation_is_an_error_never_a_shorter_list() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.manifest.zst");
    write_manifest(&path, &header(), entries(3000)).expect("write");
    let bytes = std::fs::read(&path).expect("read");
    let cut = dir.path().join("cut.manifest.zst");
    for len in (0..bytes.len()).step_by(97).chain([bytes.len() - 1, bytes.len() - 4]) {
        std::fs::write(&cut, &bytes[..len]).expect("write");
        let err = read_all(&cut).expect_err("a truncated manifest must not read");
        assert!(
            matches!(
                err,
                ManifestError::Truncated { .. } | ManifestError::Corrupt { .. } | ManifestError::NotAManifest { .. }
            ),
            "cut at {len}: {err}"
        );
        assert!(err.to_string().contains("cut.manifest.zst"));
    }
}

#[test]
fn every_flipped_byte_is_detected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.manifest.zst");
    write_manifest(&path, &header(), entries(2000)).expect("write");
    let bytes = std::fs::read(&path).expect("read");
    let bad = dir.path().join("bad.manifest.zst");
    for i in (0..bytes.len()).step_by(53) {
        let mut copy = bytes.clone();
        copy[i] ^= 0x20;
        std::fs::write(&bad, &copy).expect("write");
        assert!(read_all(&bad).is_err(), "flipping byte {i} went unnoticed");
    }
}

/// Writes an uncompressed stream as a manifest file, bypassing the writer's checks.
fn raw(path: &Path, stream: &[u8]) {
    std::fs::write(path, zstd::encode_all(stream, 3).expect("zstd")).expect("write");
}

#[test]
fn unknown_versions_and_foreign_files_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v.manifest.zst");
    let mut stream = MAGIC.to_vec();
    stream.extend_from_slice(&2u32.to_le_bytes());
    stream.extend_from_slice(&2u32.to_le_bytes());
    stream.extend_from_slice(b"{}");
    raw(&path, &stream);
    let err = read_all(&path).expect_err("version 2");
    assert!(matches!(err, ManifestError::UnsupportedVersion { version: 2, .. }), "{err}");
    assert!(err.to_string().contains("version 2"));

    raw(&path, b"PK\x03\x04 something else entirely");
    assert!(matches!(read_all(&path), Err(ManifestError::NotAManifest { .. })));
    std::fs::write(&path, b"not even zstd").expect("write");
    let err = read_all(&path).expect_err("not zstd");
    assert!(matches!(err, ManifestError::NotAManifest { .. } | ManifestError::Corrupt { .. }), "{err}");
    let missing = dir.path().join("missing.manifest.zst");
    assert!(matches!(read_all(&missing), Err(ManifestError::Io { .. })));
}

#[test]
fn records_out_of_order_or_outside_the_grid_are_refused_on_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("r.manifest.zst");
    let json = serde_json::to_vec(&header()).expect("json");
    let preamble = |stream: &mut Vec<u8>| {
        stream.extend_from_slice(MAGIC);
        stream.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        stream.extend_from_slice(&(json.len() as u32).to_le_bytes());
        stream.extend_from_slice(&json);
    };
    let record = |stream: &mut Vec<u8>, z: u8, x: u32, y: u32| {
        stream.push(z);
        stream.extend_from_slice(&x.to_le_bytes());
        stream.extend_from_slice(&y.to_le_bytes());
        stream.extend_from_slice(&10u32.to_le_bytes());
        stream.extend_from_slice(&[7u8; 32]);
    };
    let mut stream = Vec::new();
    preamble(&mut stream);
    record(&mut stream, 2, 1, 1);
    record(&mut stream, 2, 0, 3);
    raw(&path, &stream);
    assert!(matches!(read_all(&path), Err(ManifestError::OutOfOrder { .. })));
    let mut stream = Vec::new();
    preamble(&mut stream);
    record(&mut stream, 1, 5, 0);
    raw(&path, &stream);
    let err = read_all(&path).expect_err("outside the grid");
    assert!(err.to_string().contains("1/5/0"), "{err}");
}
