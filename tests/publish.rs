//! Publishing to the `file://` store through the CLI: first publish, an unchanged republish (no upload, no
//! swap), a small change (only the changed tiles go up), rollback and forward again, the shrink guard, damaged
//! tiles found by verify, a broken pointer, unsafe names.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

fn run_json(args: &[&str]) -> Value {
    let out = tilepress(args);
    assert!(out.status.success(), "tilepress {args:?}:\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("--json output")
}

fn store_url(dir: &Path) -> String {
    format!("file://{}", dir.join("store").display())
}

/// Every file under `dir` (not under `.tmp/`), as paths relative to it.
fn list_files(dir: &Path) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                if e.file_name() != ".tmp" {
                    stack.push(e.path());
                }
            } else if let Ok(relative) = e.path().strip_prefix(dir) {
                out.insert(relative.display().to_string());
            }
        }
    }
    out
}

fn count_files(dir: &Path) -> usize {
    list_files(dir).len()
}

/// Writes a Valletta tileset in `dir` whose source is the fixture with `edit` applied.
fn valletta(dir: &Path, edit: impl FnOnce(&mut Vec<Value>)) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo().join("fixtures/valletta.geojson")).expect("fixture");
    let mut doc: Value = serde_json::from_str(&text).expect("json");
    edit(doc["features"].as_array_mut().expect("features"));
    std::fs::write(dir.join("valletta.geojson"), serde_json::to_vec(&doc).expect("json")).expect("write");
    tileset_in(
        dir,
        "name = \"valletta\"\nminzoom = 10\nmaxzoom = 14\n[generalize]\npoint_rate = 1\n[[layers]]\nid = \"v\"\nsource = \"valletta.geojson\"\n",
    )
}

#[test]
fn publish_republish_change_rollback_and_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let to = store_url(dir.path());
    let tileset = valletta(dir.path(), |_| {});
    let t = tileset.to_str().expect("path");

    let first = run_json(&["publish", t, "--to", &to, "--json"]);
    assert_eq!(first["outcome"], "published");
    assert!(first["previous"].is_null());
    let v1 = first["version"].as_str().expect("version").to_owned();
    // UTC time, then 12 hex digits of the manifest's SHA-256: 20261122T031500Z-3f9a1c2b7d4e.
    let b = v1.as_bytes();
    assert!(v1.len() == 29 && b[8] == b'T' && b[15] == b'Z' && b[16] == b'-', "{v1}");
    let store = dir.path().join("store/valletta");
    // Every distinct tile, the two archives (MBTiles and PMTiles), the manifest and the version record went up.
    let tile_objects = count_files(&store.join("tiles")) as u64;
    assert!(tile_objects > 10);
    assert_eq!(first["objects_uploaded"].as_u64(), Some(tile_objects + 4), "{first}");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.join(format!("versions/{v1}/version.json"))).expect("record"))
            .expect("json");
    let pmtiles = store.join(format!("archives/{}.pmtiles", record["pmtiles_sha256"].as_str().expect("sha")));
    assert_eq!(std::fs::metadata(&pmtiles).expect("the PMTiles archive").len(), record["pmtiles_bytes"]);
    assert!(record["archive_bytes"].as_u64().expect("bytes") > 0);
    assert!(store.join("current.json").is_file());
    assert!(store.join("history/00000000000000000001.json").is_file());
    assert!(store.join(format!("versions/{v1}/manifest.zst")).is_file());
    assert_eq!(run_json(&["verify", "valletta", "--to", &to, "--json"])["problem_count"], 0);

    // The same content again: nothing uploaded, no swap.
    let files_before = count_files(&dir.path().join("store"));
    let again = run_json(&["publish", t, "--to", &to, "--json"]);
    assert_eq!(again["outcome"], "unchanged");
    assert_eq!(again["version"].as_str(), Some(v1.as_str()));
    assert_eq!(count_files(&dir.path().join("store")), files_before);

    // Move one POI: one tile per zoom changes, so five tile objects go up (plus the two archives, manifest,
    // record, and the delta from v1).
    valletta(dir.path(), |features| {
        let poi = features.iter_mut().find(|f| f["properties"]["name"] == "Il-Furjana").expect("poi");
        poi["geometry"]["coordinates"][0] = serde_json::json!(14.5057716);
    });
    let second = run_json(&["publish", t, "--to", &to, "--json"]);
    assert_eq!(second["outcome"], "published");
    assert_eq!(second["previous"].as_str(), Some(v1.as_str()));
    assert_eq!(second["diff"]["changed"], 5);
    assert_eq!(second["objects_uploaded"], 5 + 5);
    assert_eq!(second["deltas"], serde_json::json!([v1]));
    let v2 = second["version"].as_str().expect("version").to_owned();

    // A rollback that expects another live version (the operator looked before v2 landed) swaps nothing.
    let stale = tilepress(&["rollback", "valletta", "--to", &to, "--expect-live", &v1]);
    assert_eq!(stale.status.code(), Some(7));
    let stderr = String::from_utf8_lossy(&stale.stderr);
    assert!(stderr.contains(&format!("the live version is {v2}, not {v1}")), "{stderr}");
    assert!(!store.join(format!("history/{:020}.json", 3)).exists(), "nothing was swapped");
    // Roll back to v1, then forward to v2: pointer swaps only, each with its history record.
    let back = run_json(&["rollback", "valletta", "--to", &to, "--expect-live", &v2, "--json"]);
    assert_eq!((back["from"].as_str(), back["to"].as_str()), (Some(v2.as_str()), Some(v1.as_str())));
    assert_eq!(back["generation"], 3);
    assert_eq!(run_json(&["verify", "valletta", "--to", &to, "--json"])["version"].as_str(), Some(v1.as_str()));
    let forward = run_json(&["rollback", "valletta", "--to", &to, "--version", &v2, "--json"]);
    assert_eq!(forward["to"].as_str(), Some(v2.as_str()));
    for generation in 1..=4 {
        assert!(store.join(format!("history/{generation:020}.json")).is_file(), "history {generation}");
    }
    let list = run_json(&["versions", "valletta", "--to", &to, "--json"]);
    let live: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter(|v| v["live"] == true)
        .filter_map(|v| v["record"]["version"].as_str())
        .collect();
    assert_eq!(live, [v2.as_str()]);
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    let unknown = tilepress(&["rollback", "valletta", "--to", &to, "--version", "20200101T000000Z-000000000000"]);
    assert_eq!(unknown.status.code(), Some(7));
}

#[test]
fn a_large_shrink_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let to = store_url(dir.path());
    let default = repo().join("tilesets/default.toml");
    let d = default.to_str().expect("path");
    run_json(&["publish", d, "--to", &to, "--json"]);
    // The same tileset built only to z3 (a truncated nightly run, say).
    let small = dir.path().join("small.mbtiles");
    build_json(&default, &small, &["--maxzoom", "3"]);
    let s = small.to_str().expect("path");
    let pointer = std::fs::read(dir.path().join("store/default/current.json")).expect("pointer");
    let refused = tilepress(&["publish", d, "--to", &to, "--mbtiles", s]);
    assert_eq!(refused.status.code(), Some(7));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--allow-shrink"));
    assert_eq!(std::fs::read(dir.path().join("store/default/current.json")).expect("pointer"), pointer, "no swap");
    let dry = run_json(&["publish", d, "--to", &to, "--mbtiles", s, "--allow-shrink", "--dry-run", "--json"]);
    assert_eq!(dry["outcome"], "dry-run");
    assert_eq!(std::fs::read(dir.path().join("store/default/current.json")).expect("pointer"), pointer, "no swap");
    let allowed = run_json(&["publish", d, "--to", &to, "--mbtiles", s, "--allow-shrink", "--json"]);
    assert_eq!(allowed["outcome"], "published");
    assert!(allowed["diff"]["removed"].as_u64().expect("removed") > 3000);
}

#[test]
fn verify_finds_a_damaged_tile_and_bad_state_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let to = store_url(dir.path());
    let tileset = valletta(dir.path(), |_| {});
    run_json(&["publish", tileset.to_str().expect("path"), "--to", &to, "--json"]);
    let tiles_dir = dir.path().join("store/valletta/tiles");
    let sub = std::fs::read_dir(&tiles_dir).expect("tiles").flatten().next().expect("a tile folder").path();
    let tile = std::fs::read_dir(&sub).expect("tiles").flatten().next().expect("a tile").path();
    std::fs::write(&tile, b"damaged").expect("damage");
    let out = tilepress(&["verify", "valletta", "--to", &to]);
    assert_eq!(out.status.code(), Some(8));
    let name = tile.file_name().expect("name").to_string_lossy().into_owned();
    assert!(String::from_utf8_lossy(&out.stdout).contains(&name));

    // A corrupted pointer stops a publish before anything is written.
    std::fs::write(dir.path().join("store/valletta/current.json"), b"{ not json").expect("corrupt");
    let before = count_files(&dir.path().join("store"));
    let out = tilepress(&["publish", tileset.to_str().expect("path"), "--to", &to]);
    assert_eq!(out.status.code(), Some(7));
    assert!(String::from_utf8_lossy(&out.stderr).contains("current.json"));
    assert_eq!(count_files(&dir.path().join("store")), before);

    let out = tilepress(&["versions", "../etc", "--to", &to]);
    assert_eq!(out.status.code(), Some(7));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a safe set name"));
    let out = tilepress(&["versions", "nothing-here", "--to", &to]);
    assert_eq!(out.status.code(), Some(7));
}

#[test]
fn gc_removes_only_what_no_kept_version_needs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let to = store_url(dir.path());
    let mut versions = Vec::new();
    // Three versions, each moving the same POI: each has 5 tiles (one per zoom) of its own.
    for lon in [14.5052716, 14.5057716, 14.5062716] {
        let tileset = valletta(dir.path(), |features| {
            let poi = features.iter_mut().find(|f| f["properties"]["name"] == "Il-Furjana").expect("poi");
            poi["geometry"]["coordinates"][0] = serde_json::json!(lon);
        });
        let report = run_json(&["publish", tileset.to_str().expect("path"), "--to", &to, "--json"]);
        versions.push(report["version"].as_str().expect("version").to_owned());
    }
    let (v1, v2, v3) = (&versions[0], &versions[1], &versions[2]);
    let store = dir.path().join("store");
    let before = count_files(&store);
    let files_before = list_files(&store);

    // Everything is younger than the default grace period of 7 days: every version is kept, nothing goes.
    let young = run_json(&["gc", "valletta", "--to", &to, "--keep", "0", "--json"]);
    assert_eq!(
        (young["removed_tiles"].as_u64(), young["removed_versions"].as_array().map(Vec::len)),
        (Some(0), Some(0))
    );
    // Kept versions are listed by id; ids of one second sort by their hash, so compare them as a set.
    let mut kept: Vec<String> = serde_json::from_value(young["kept_versions"].clone()).expect("kept");
    kept.sort();
    let mut all = vec![v1.clone(), v2.clone(), v3.clone()];
    all.sort();
    assert_eq!(kept, all);
    // Written: the gc lease (and the claim of its release), and the fence: the pointer's claim and its history
    // record (see docs/store-protocol.md).
    let added: Vec<String> = list_files(&store).difference(&files_before).cloned().collect();
    assert_eq!(count_files(&store), before + 4, "only the gc lease and its fence were written: {added:?}");
    assert!(std::fs::read_to_string(store.join("valletta/gc.lock")).expect("lease").contains("\"done\""));
    let history: Value = serde_json::from_slice(
        &std::fs::read(store.join("valletta/history/00000000000000000004.json")).expect("fence"),
    )
    .expect("json");
    assert_eq!((&history["action"], &history["version"]), (&serde_json::json!("gc"), &serde_json::json!(v3)));
    let before = before + 4;
    // `--keep 2` keeps the two newest, v3 (live) and v2, even when the three were published in one second
    // (their ids then sort by hash; the records' nanoseconds order them).
    let keep_one = run_json(&["gc", "valletta", "--to", &to, "--keep", "2", "--grace", "0", "--dry-run", "--json"]);
    assert_eq!(keep_one["removed_versions"], serde_json::json!([v1]), "{keep_one}");
    // A dry run says what would go and removes nothing.
    let dry = run_json(&["gc", "valletta", "--to", &to, "--keep", "0", "--grace", "0", "--dry-run", "--json"]);
    assert_eq!(dry["removed_tiles"], 10);
    assert_eq!(count_files(&store), before);

    // Keep the live v3 and the pinned v1: v2's own 5 tiles, its two archives (MBTiles, PMTiles) and its files go.
    let pinned =
        run_json(&["gc", "valletta", "--to", &to, "--keep", "0", "--keep-version", v1, "--grace", "0", "--json"]);
    assert_eq!(pinned["removed_versions"], serde_json::json!([v2]));
    assert_eq!((pinned["removed_tiles"].as_u64(), pinned["removed_archives"].as_u64()), (Some(5), Some(2)));
    let pmtiles_left = std::fs::read_dir(store.join("valletta/archives"))
        .expect("archives")
        .filter(|e| e.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".pmtiles")))
        .count();
    assert_eq!(pmtiles_left, 2, "the PMTiles of v1 and v3 are kept");
    assert_eq!(run_json(&["verify", "valletta", "--to", &to, "--json"])["problem_count"], 0);
    assert_eq!(run_json(&["verify", "valletta", "--to", &to, "--version", v1, "--json"])["problem_count"], 0);
    let gone = tilepress(&["rollback", "valletta", "--to", &to, "--version", v2]);
    assert_eq!(gone.status.code(), Some(7), "a collected version cannot be rolled back to");

    let last = run_json(&["gc", "valletta", "--to", &to, "--keep", "0", "--grace", "0", "--json"]);
    assert_eq!(last["kept_versions"], serde_json::json!([v3]));
    assert_eq!(last["removed_tiles"], 5);
    assert_eq!(run_json(&["verify", "valletta", "--to", &to, "--json"])["version"].as_str(), Some(v3.as_str()));
    assert!(store.join("valletta/history/00000000000000000003.json").is_file(), "history is never collected");
}
