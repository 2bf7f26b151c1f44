//! The same inputs and tileset give byte-identical tiles (vector or PNG) and the same (z, x, y, tile_id) set on
//! 1, 2 or 8 threads, run after run.

mod common;

use common::*;

/// What must not change between runs: every (z, x, y, tile_id), `agg_tiles_hash`, and every stored tile.
type Snapshot = (Vec<(u8, u32, u32, String)>, String, Vec<(String, Vec<u8>)>);

#[test]
fn same_tiles_on_any_thread_count_run_after_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut reference: Option<Snapshot> = None;
    for (run, threads) in ["1", "2", "8", "8", "2"].iter().enumerate() {
        let out = dir.path().join(format!("run{run}.mbtiles"));
        // Monaco at z0–16: lines, polygons and points, down to deep zooms.
        build_json(&repo().join("tilesets/monaco.toml"), &out, &["--threads", threads]);
        let ids = tile_ids(&out);
        let agg = metadata(&out, "agg_tiles_hash").expect("agg_tiles_hash");
        let conn = open(&out);
        let mut stmt = conn.prepare("SELECT tile_id, tile_data FROM images ORDER BY tile_id").expect("prepare");
        let images: Vec<(String, Vec<u8>)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).expect("query").collect::<Result<_, _>>().expect("rows");
        assert!(ids.len() > 50, "a real build ({} tiles)", ids.len());
        match &reference {
            None => reference = Some((ids, agg, images)),
            Some((ref_ids, ref_agg, ref_images)) => {
                assert_eq!(&ids, ref_ids, "tile set differs with {threads} threads (run {run})");
                assert_eq!(&agg, ref_agg);
                assert!(&images == ref_images, "tile bytes differ with {threads} threads (run {run})");
            }
        }
    }
}

#[test]
fn the_default_tileset_is_deterministic_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.mbtiles");
    let b = dir.path().join("b.mbtiles");
    build_json(&repo().join("tilesets/default.toml"), &a, &["--threads", "1"]);
    build_json(&repo().join("tilesets/default.toml"), &b, &["--threads", "8"]);
    assert_eq!(tile_ids(&a), tile_ids(&b));
    assert_eq!(metadata(&a, "agg_tiles_hash"), metadata(&b, "agg_tiles_hash"));
    assert_eq!(metadata(&a, "json"), metadata(&b, "json"));
}

#[test]
fn the_tile_cap_drops_the_same_features_on_any_thread_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = repo().join("fixtures/valletta.geojson");
    let tileset = tileset_in(
        dir.path(),
        &format!(
            "name = \"capped\"\nminzoom = 8\nmaxzoom = 14\n[limits]\nmax_tile_bytes = 20000\nmax_tile_features = 1500\n\
             [[layers]]\nid = \"v\"\nsource = \"{}\"\n",
            source.display()
        ),
    );
    let a = dir.path().join("a.mbtiles");
    let b = dir.path().join("b.mbtiles");
    let sa = build_json(&tileset, &a, &["--threads", "1"]);
    let sb = build_json(&tileset, &b, &["--threads", "8"]);
    assert!(sa["features_dropped"].as_u64().expect("dropped") > 0, "the caps must bite in this test");
    assert_eq!(sa["features_dropped"], sb["features_dropped"]);
    assert_eq!(tile_ids(&a), tile_ids(&b));
    let conn = open(&a);
    let biggest: i64 = conn.query_row("SELECT max(length(tile_data)) FROM images", [], |r| r.get(0)).expect("max");
    assert!(biggest <= 20000, "no tile over the cap: {biggest}");
}

#[test]
fn raster_tiles_are_the_same_bytes_on_1_and_8_threads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut reference: Option<Snapshot> = None;
    for threads in ["1", "8"] {
        let out = dir.path().join(format!("r{threads}.mbtiles"));
        // Monaco in 512-pixel PNG tiles at z10–16: fills, outlines, strokes and discs, with opacity.
        let summary = build_json(&repo().join("tilesets/monaco-raster.toml"), &out, &["--threads", threads]);
        let conn = open(&out);
        let mut stmt = conn.prepare("SELECT tile_id, tile_data FROM images ORDER BY tile_id").expect("prepare");
        let images: Vec<(String, Vec<u8>)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).expect("query").collect::<Result<_, _>>().expect("rows");
        let snapshot = (tile_ids(&out), metadata(&out, "agg_tiles_hash").expect("agg_tiles_hash"), images);
        assert!(snapshot.0.len() > 40, "a real build ({summary})");
        match &reference {
            None => reference = Some(snapshot),
            Some(first) => {
                assert_eq!(snapshot.0, first.0, "tile set differs with {threads} threads");
                assert_eq!(snapshot.1, first.1);
                assert!(snapshot.2 == first.2, "PNG bytes differ with {threads} threads");
            }
        }
    }
}
