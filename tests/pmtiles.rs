//! PMTiles through the CLI: `build -o x.pmtiles`, `convert` both ways, `manifest` of a PMTiles; checked by the
//! reference Python reader (PyPI `pmtiles`) and by the directory rules, on the default build and on a 1M-tile
//! archive that needs leaf directories; damaged archives fail with exit 5 naming the file.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tilepress::archive::pmtiles::{Compression, TileType, directory::ROOT_LIMIT};
use tilepress::archive::{MbtilesReader, PmtilesReader, PmtilesWriter};
use tilepress::tiling::TileId;

fn run_ok(args: &[&str]) -> String {
    let out = tilepress(args);
    assert!(out.status.success(), "tilepress {args:?}:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("path")
}

/// Every tile of an MBTiles: `z/x/y` (XYZ) → SHA-256 hex.
fn mbtiles_tiles(path: &Path) -> BTreeMap<String, String> {
    let reader = MbtilesReader::open(path).expect("open");
    let mut out = BTreeMap::new();
    reader
        .for_each_tile(|t| {
            let tile = t.tile().expect("on the grid");
            out.insert(format!("{}/{}/{}", tile.z, tile.x, tile.y), hex::encode(Sha256::digest(t.data.expect("data"))));
            Ok::<(), tilepress::archive::ArchiveError>(())
        })
        .expect("tiles");
    out
}

fn manifest_sha(path: &Path, dir: &Path) -> String {
    let out = dir.join(format!("{}.manifest.zst", path.file_name().expect("name").to_string_lossy()));
    let info: Value = serde_json::from_str(&run_ok(&["manifest", s(path), "-o", s(&out), "--json"])).expect("json");
    info["sha256"].as_str().expect("sha").to_owned()
}

#[test]
fn the_default_build_converts_both_ways_and_python_reads_every_tile() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mbtiles, pmtiles, back) =
        (dir.path().join("d.mbtiles"), dir.path().join("d.pmtiles"), dir.path().join("back.mbtiles"));
    let built = build_json(&repo().join("tilesets/default.toml"), &mbtiles, &[]);
    run_ok(&["convert", s(&mbtiles), s(&pmtiles)]);
    run_ok(&["convert", s(&pmtiles), s(&back)]);

    // The reference reader sees every tile, byte for byte, and the header we meant.
    let probe = pmtiles_probe(&["all", s(&pmtiles)]);
    let theirs: BTreeMap<String, String> = serde_json::from_value(probe["tiles"].clone()).expect("tiles map");
    let ours = mbtiles_tiles(&mbtiles);
    assert_eq!(theirs, ours);
    let h = &probe["header"];
    let rows = MbtilesReader::open(&mbtiles).expect("open").metadata().expect("rows");
    assert_eq!(h["min_zoom"].to_string(), rows["minzoom"]);
    assert_eq!(h["max_zoom"].to_string(), rows["maxzoom"]);
    assert_eq!((h["tile_type"].as_str(), h["tile_compression"].as_str()), (Some("mvt"), Some("gzip")));
    assert_eq!(h["internal_compression"], "gzip");
    assert_eq!(h["clustered"], true);
    let bounds: Vec<f64> = rows["bounds"].split(',').map(|v| v.parse().expect("number")).collect();
    let e7 = |v: f64| (v * 1e7).round() as i64;
    let header_bounds: Vec<i64> =
        ["min_lon_e7", "min_lat_e7", "max_lon_e7", "max_lat_e7"].iter().map(|k| h[k].as_i64().expect("e7")).collect();
    assert_eq!(header_bounds, bounds.iter().map(|v| e7(*v)).collect::<Vec<_>>());
    assert_eq!(probe["metadata"]["name"], "default");
    assert!(probe["metadata"]["vector_layers"].is_array());
    let ours_header = PmtilesReader::open(&pmtiles).expect("open");
    assert_eq!(h["addressed_tiles_count"], built["tiles"]);
    assert_eq!(h["tile_contents_count"], built["unique_tiles"]);
    assert_eq!(ours_header.header().tile_type, TileType::Mvt);

    // Both ways: the same manifest, the same metadata rows.
    let sha = built["manifest_sha256"].as_str().expect("sha");
    assert_eq!(manifest_sha(&pmtiles, dir.path()), sha);
    assert_eq!(manifest_sha(&back, dir.path()), sha);
    assert_eq!(MbtilesReader::open(&back).expect("open").metadata().expect("rows"), rows);
    assert_eq!(mbtiles_tiles(&back), ours);
    eprintln!(
        "default build: MBTiles {} bytes, PMTiles {} bytes",
        std::fs::metadata(&mbtiles).expect("size").len(),
        std::fs::metadata(&pmtiles).expect("size").len()
    );
}

#[test]
fn directories_follow_the_rules_run_lengths_and_dedup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pmtiles = dir.path().join("d.pmtiles");
    let built = build_json(&repo().join("tilesets/default.toml"), &pmtiles, &[]);
    assert!(built["pmtiles"]["bytes"].as_u64().expect("bytes") > 0, "the summary reports the PMTiles");
    let reader = PmtilesReader::open(&pmtiles).expect("open");
    let h = reader.header().clone();
    assert!(h.root_offset + h.root_length <= ROOT_LIMIT as u64);
    let entries = reader.entries().expect("entries");
    assert!(entries.windows(2).all(|w| w[0].tile_id + u64::from(w[0].run_length) <= w[1].tile_id), "sorted");
    assert!(entries.iter().all(|e| e.offset + u64::from(e.length) <= h.data_length), "inside the data");
    assert_eq!(entries.iter().map(|e| u64::from(e.run_length)).sum::<u64>(), h.addressed_tiles);
    assert_eq!(entries.len() as u64, h.tile_entries);
    assert!(entries.iter().any(|e| e.run_length > 1), "consecutive identical tiles make runs");
    // Identical bytes share one offset; distinct offsets hold distinct bytes.
    let mut by_sha: BTreeMap<String, std::collections::BTreeSet<u64>> = BTreeMap::new();
    reader
        .for_each_tile(|tile, data| {
            let id = tilepress::archive::pmtiles::hilbert::tile_id(tile);
            let e = entries.iter().rfind(|e| e.tile_id <= id).expect("entry");
            by_sha.entry(hex::encode(Sha256::digest(data))).or_default().insert(e.offset);
            Ok::<(), tilepress::archive::ArchiveError>(())
        })
        .expect("walk");
    assert!(by_sha.values().all(|offsets| offsets.len() == 1), "deduplicated");
    assert_eq!(by_sha.len() as u64, h.tile_contents);
    // Tile data is clustered: each new content right after the previous one.
    let mut offsets: Vec<u64> = entries.iter().map(|e| e.offset).collect();
    offsets.dedup();
    let mut seen = std::collections::BTreeSet::new();
    let mut next = 0u64;
    for e in &entries {
        if seen.insert(e.offset) {
            assert_eq!(e.offset, next, "clustered");
            next += u64::from(e.length);
        }
    }
    assert_eq!(next, h.data_length);
}

#[test]
fn builds_on_one_and_eight_threads_give_identical_pmtiles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a.pmtiles"), dir.path().join("b.pmtiles"));
    build_json(&repo().join("tilesets/default.toml"), &a, &["--threads", "1"]);
    build_json(&repo().join("tilesets/default.toml"), &b, &["--threads", "8"]);
    assert_eq!(std::fs::read(&a).expect("a"), std::fs::read(&b).expect("b"));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("ls")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".mbtiles"))
        .collect();
    assert!(leftovers.is_empty(), "the MBTiles made on the way is removed");
}

#[test]
fn a_million_tiles_need_leaf_directories_and_read_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.pmtiles");
    let payload = |x: u32, y: u32| format!("tile {}", (x ^ (y * 7)) % 40_000).into_bytes();
    let mut writer = PmtilesWriter::create(&path).expect("create");
    for x in 0..1024u32 {
        for y in 0..1024u32 {
            writer.add(TileId::new(10, x, y).expect("tile"), &payload(x, y)).expect("add");
        }
    }
    writer.add(TileId::new(0, 0, 0).expect("tile"), b"root").expect("add");
    let rows = vec![("name".to_owned(), "big".to_owned()), ("format".to_owned(), "pbf".to_owned())];
    let summary = writer.finish(&rows).expect("finish");
    eprintln!(
        "1M tiles: {} leaf directories, root directory {} bytes, {} entries, {} bytes",
        summary.leaf_directories, summary.root_directory_bytes, summary.tile_entries, summary.bytes
    );
    assert_eq!(summary.tiles, 1_048_577);
    assert!(summary.leaf_directories > 0);
    assert!(summary.root_directory_bytes as usize + 127 <= ROOT_LIMIT);
    let reader = PmtilesReader::open(&path).expect("open");
    assert_eq!(reader.header().tile_compression, Compression::None);
    let spots = [(0u32, 0u32), (1023, 1023), (512, 17), (3, 1000), (777, 333), (1000, 1)];
    let mut asked: Vec<String> = vec!["0/0/0".to_owned()];
    for (x, y) in spots {
        let tile = TileId::new(10, x, y).expect("tile");
        assert_eq!(reader.tile(tile).expect("read"), Some(payload(x, y)));
        asked.push(format!("10/{x}/{y}"));
    }
    let mut count = 0u64;
    reader
        .for_each_tile(|tile, data| {
            if tile.z == 10 && count.is_multiple_of(4099) {
                assert_eq!(data, payload(tile.x, tile.y).as_slice());
            }
            count += 1;
            Ok::<(), tilepress::archive::ArchiveError>(())
        })
        .expect("walk");
    assert_eq!(count, 1_048_577);
    let mut args = vec!["get", s(&path)];
    args.extend(asked.iter().map(String::as_str));
    let theirs = pmtiles_probe(&args);
    assert_eq!(theirs["0/0/0"], hex::encode(Sha256::digest(b"root")));
    for (x, y) in spots {
        assert_eq!(theirs[format!("10/{x}/{y}")], hex::encode(Sha256::digest(payload(x, y))), "10/{x}/{y}");
    }
}

#[test]
fn converting_a_damaged_pmtiles_fails_with_exit_5_naming_it_and_leaves_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.pmtiles");
    build_json(&repo().join("tilesets/default.toml"), &good, &["--maxzoom", "4"]);
    let bytes = std::fs::read(&good).expect("read");
    let cases: [(&str, Vec<u8>); 3] = [
        ("garbage.pmtiles", b"this is not a tile archive at all".to_vec()),
        ("truncated.pmtiles", bytes[..bytes.len() / 2].to_vec()),
        ("header-only.pmtiles", bytes[..127].to_vec()),
    ];
    for (name, content) in cases {
        let bad = dir.path().join(name);
        std::fs::write(&bad, content).expect("write");
        let out_path = dir.path().join(format!("{name}.mbtiles"));
        let out = tilepress(&["convert", s(&bad), s(&out_path)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(5), "{name}: {stderr}");
        assert!(stderr.contains(name), "{name}: {stderr}");
        assert!(!out_path.exists(), "{name}: nothing left behind");
        let leftovers = std::fs::read_dir(dir.path())
            .expect("ls")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .count();
        assert_eq!(leftovers, 0, "{name}: no temporary file left");
        let manifest = tilepress(&["manifest", s(&bad), "-o", s(&dir.path().join("x.zst"))]);
        assert_eq!(manifest.status.code(), Some(5), "{name}");
    }
}
