//! A shared, slow, damaged or hostile store is refused, not trusted: one test per event that used to lose data or
//! make a broken version live (two publishers from two hosts, gc on a swapped manifest, a rollback racing a gc, a
//! symlink out of the store, a rollback to a damaged manifest), and per smaller hole. Each reproduces the event and
//! checks that nothing was lost: the live version verifies and the history agrees with the pointer.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::*;
use serde_json::Value;
use tilepress::publish::{self, PublishRequest, Store, testing::SlowStore};

fn store_dir(dir: &Path) -> PathBuf {
    dir.join("store")
}

fn url(dir: &Path) -> String {
    format!("file://{}", store_dir(dir).display())
}

fn run(args: &[&str]) -> Output {
    tilepress(args)
}

fn ok_json(args: &[&str]) -> Value {
    let out = run(args);
    assert!(out.status.success(), "tilepress {args:?}:\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("--json output")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Publishes Valletta with one POI at `lon` to the store in `dir`; returns the version.
fn publish_version(dir: &Path, lon: f64) -> String {
    let tileset = valletta(dir, lon);
    let report = ok_json(&["publish", tileset.to_str().expect("path"), "--to", &url(dir), "--json"]);
    assert_eq!(report["outcome"], "published", "{report}");
    report["version"].as_str().expect("version").to_owned()
}

/// Builds Valletta with one POI at `lon` into `dir/build-LON.mbtiles` (+ manifest).
fn build_version(dir: &Path, lon: f64) -> (PathBuf, PathBuf) {
    let tileset = valletta(dir, lon);
    let out = dir.join(format!("build-{lon}.mbtiles"));
    build_json(&tileset, &out, &[]);
    let manifest = tilepress::pipeline::manifest_path_for(&out);
    (out, manifest)
}

/// `store`, with every write of a pointer `seconds` late.
fn slow_pointer(store: &dyn Store, seconds: u64) -> SlowStore<'_> {
    SlowStore { inner: store, suffixes: vec!["current.json".to_owned()], delay: Duration::from_secs(seconds) }
}

fn pointer(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(store_dir(dir).join("valletta/current.json")).expect("pointer"))
        .expect("json")
}

/// The live version verifies, and every generation up to the pointer's has its history record, the last naming
/// the live version.
fn assert_intact(dir: &Path) {
    let verified = ok_json(&["verify", "valletta", "--to", &url(dir), "--json"]);
    assert_eq!(verified["problem_count"], 0, "{verified}");
    let live = pointer(dir);
    let generation = live["generation"].as_u64().expect("generation");
    for g in 1..=generation {
        let path = store_dir(dir).join(format!("valletta/history/{g:020}.json"));
        assert!(path.exists(), "history record of generation {g} is missing");
    }
    let last: Value = serde_json::from_slice(
        &std::fs::read(store_dir(dir).join(format!("valletta/history/{generation:020}.json"))).expect("history"),
    )
    .expect("json");
    assert_eq!(last["version"], live["version"], "history and pointer agree");
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let kind = entry.file_type().expect("type");
            if kind.is_dir() {
                stack.push(entry.path());
            } else {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    out
}

// 1. Two publishers on one `file://` store from two hosts: the second runs in its own PID namespace (so its pids
// mean nothing to the first) while the first stalls just before its pointer write. Exactly one wins.
#[test]
fn two_publishers_from_two_hosts_get_one_winner_per_generation() {
    if !Command::new("unshare").args(["--pid", "--fork", "--mount-proc", "true"]).status().is_ok_and(|s| s.success()) {
        eprintln!("skipped: `unshare --pid` is not available here (needs root)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    publish_version(dir.path(), 14.5);
    let (mbtiles_a, manifest_a) = build_version(dir.path(), 14.51);
    let tileset_b = valletta(dir.path(), 14.52);

    let root = store_dir(dir.path());
    let a = std::thread::spawn(move || {
        let file = publish::open(&format!("file://{}", root.display())).expect("store");
        // Host A stalls for 3 s just before its pointer write (as a slow NFS server or a paused VM would).
        let slow = slow_pointer(file.as_ref(), 3);
        let request = PublishRequest {
            set: "valletta",
            mbtiles: &mbtiles_a,
            manifest: &manifest_a,
            dry_run: false,
            allow_shrink: false,
            max_shrink: 0.2,
            deltas: 3,
        };
        publish::publish(&slow, &request).map(|r| r.version).map_err(|e| e.to_string())
    });
    std::thread::sleep(Duration::from_millis(300));
    // Host B: another PID namespace, publishing other content meanwhile.
    let b = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", env!("CARGO_BIN_EXE_tilepress")])
        .args(["publish", tileset_b.to_str().expect("path"), "--to", &url(dir.path()), "--json"])
        .current_dir(repo())
        .env_remove("RUST_LOG")
        .output()
        .expect("run host B");
    let a = a.join().expect("host A");
    let b_won = b.status.success();
    assert!(a.is_ok() != b_won, "exactly one publisher wins: A {a:?}, B {}", stderr(&b));
    if b_won {
        let err = a.expect_err("A lost");
        assert!(err.contains("another publisher swapped the pointer first"), "{err}");
    } else {
        assert_eq!(b.status.code(), Some(7), "{}", stderr(&b));
        assert!(stderr(&b).contains("another publisher swapped the pointer first"), "{}", stderr(&b));
    }
    let live = pointer(dir.path());
    assert_eq!(live["generation"], 2, "one swap, one generation: {live}");
    assert_intact(dir.path());
}

// 2. gc on a live version whose manifest was replaced by another version's: refused before anything is deleted.
#[test]
fn gc_refuses_a_live_manifest_that_does_not_match_its_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v1 = publish_version(dir.path(), 14.5);
    let v2 = publish_version(dir.path(), 14.51);
    let versions = store_dir(dir.path()).join("valletta/versions");
    let good = std::fs::read(versions.join(&v2).join("manifest.zst")).expect("manifest");
    std::fs::copy(versions.join(&v1).join("manifest.zst"), versions.join(&v2).join("manifest.zst")).expect("swap");
    let before = files_under(&store_dir(dir.path()));

    let out = run(&["gc", "valletta", "--to", &url(dir.path()), "--keep", "0", "--grace", "0"]);
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("valletta/versions/{v2}/manifest.zst: refused")), "{err}");
    let after: Vec<PathBuf> =
        files_under(&store_dir(dir.path())).into_iter().filter(|p| !p.ends_with("gc.lock")).collect();
    let before: Vec<PathBuf> = before.into_iter().filter(|p| !p.ends_with("gc.lock")).collect();
    let fenced: Vec<&PathBuf> = after.iter().filter(|p| !before.contains(p)).collect();
    assert!(before.iter().all(|p| after.contains(p)), "nothing was deleted");
    assert!(fenced.iter().all(|p| p.to_string_lossy().contains("/history/") || p.to_string_lossy().contains(".cas")));

    // publish also refuses to diff against it.
    let tileset = valletta(dir.path(), 14.52);
    let out = run(&["publish", tileset.to_str().expect("path"), "--to", &url(dir.path())]);
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    assert!(stderr(&out).contains("manifest.zst: refused"), "{}", stderr(&out));

    std::fs::write(versions.join(&v2).join("manifest.zst"), good).expect("repair");
    assert_intact(dir.path());
}

// 3. A rollback whose pointer write is slow (3 s, as S3 retries can make it) while a gc starts: the rollback's
// target is removed by the gc, so the rollback must fail, never leave the pointer naming a deleted version.
#[test]
fn a_slow_rollback_racing_a_gc_never_makes_a_deleted_version_live() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v1 = publish_version(dir.path(), 14.5);
    let v2 = publish_version(dir.path(), 14.51);
    let root = store_dir(dir.path());
    let rollback = std::thread::spawn(move || {
        let file = publish::open(&format!("file://{}", root.display())).expect("store");
        let slow = slow_pointer(file.as_ref(), 3);
        publish::rollback(&slow, "valletta", None).map(|r| r.to).map_err(|e| e.to_string())
    });
    std::thread::sleep(Duration::from_millis(500));
    let gc = ok_json(&["gc", "valletta", "--to", &url(dir.path()), "--keep", "0", "--grace", "0", "--json"]);
    assert_eq!(gc["removed_versions"], serde_json::json!([v1]), "{gc}");
    let result = rollback.join().expect("rollback thread");
    let err = result.expect_err("the rollback's target is gone: it must fail");
    assert!(err.contains(&v1), "{err}");
    assert_eq!(pointer(dir.path())["version"], v2.as_str());
    assert_intact(dir.path());
}

// 3b. The same race the other way round: the rollback lands first, and gc keeps what is live now.
#[test]
fn a_rollback_that_lands_before_the_gc_fence_is_kept_by_the_gc() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v1 = publish_version(dir.path(), 14.5);
    publish_version(dir.path(), 14.51);
    let root = store_dir(dir.path());
    let file = publish::open(&format!("file://{}", root.display())).expect("store");
    // gc's fence is slowed; the rollback is not.
    let slow = slow_pointer(file.as_ref(), 2);
    std::thread::scope(|scope| {
        let gc = scope.spawn(|| {
            let request = publish::GcRequest {
                set: "valletta",
                keep_last: 0,
                keep_versions: &[],
                grace: Duration::ZERO,
                dry_run: false,
            };
            publish::gc(&slow, &request).map_err(|e| e.to_string())
        });
        std::thread::sleep(Duration::from_millis(500));
        let out = run(&["rollback", "valletta", "--to", &url(dir.path()), "--json"]);
        let gc = gc.join().expect("gc").expect("gc");
        if out.status.success() {
            assert!(gc.kept_versions.contains(&v1), "{gc:?}");
        } else {
            // The gc fenced first: the rollback waited and found its target gone.
            assert!(gc.removed_versions.contains(&v1), "{gc:?}");
        }
    });
    assert_intact(dir.path());
}

// 4. A symlink planted under tiles/ pointing out of the store: gc never follows it.
#[test]
fn gc_never_follows_a_symlink_out_of_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    publish_version(dir.path(), 14.5);
    publish_version(dir.path(), 14.51);
    let outside = dir.path().join("precious");
    std::fs::create_dir_all(&outside).expect("mkdir");
    let name = "ab".repeat(32);
    std::fs::write(outside.join(&name), b"not yours").expect("write");
    std::os::unix::fs::symlink(&outside, store_dir(dir.path()).join("valletta/tiles/zz")).expect("symlink");

    let gc = ok_json(&["gc", "valletta", "--to", &url(dir.path()), "--keep", "0", "--grace", "0", "--json"]);
    assert_eq!(gc["removed_versions"].as_array().map(Vec::len), Some(1), "{gc}");
    assert_eq!(std::fs::read(outside.join(&name)).expect("still there"), b"not yours");
    assert_intact(dir.path());
}

// 5. A rollback to a previous version whose manifest is damaged (truncated to 100 bytes): refused, and the set
// keeps working.
#[test]
fn a_rollback_to_a_damaged_manifest_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v1 = publish_version(dir.path(), 14.5);
    let v2 = publish_version(dir.path(), 14.51);
    let manifest = store_dir(dir.path()).join(format!("valletta/versions/{v1}/manifest.zst"));
    let bytes = std::fs::read(&manifest).expect("manifest");
    std::fs::write(&manifest, &bytes[..100]).expect("truncate");

    let out = run(&["rollback", "valletta", "--to", &url(dir.path())]);
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("valletta/versions/{v1}/manifest.zst: refused")), "{}", stderr(&out));
    assert_eq!(pointer(dir.path())["version"], v2.as_str());
    // Publishing goes on as before.
    publish_version(dir.path(), 14.52);
    assert_intact(dir.path());
}

// A live tile truncated in the store is put again by the next publish, not reused.
#[test]
fn a_truncated_live_tile_is_put_again_by_the_next_publish() {
    let dir = tempfile::tempdir().expect("tempdir");
    publish_version(dir.path(), 14.5);
    // A tile the next version reuses: one whose content is also in the next build.
    let (next, _) = build_version(dir.path(), 14.51);
    let conn = open(&next);
    let mut stmt = conn.prepare("SELECT tile_data FROM images").expect("prepare");
    let reused: Vec<String> = stmt
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .expect("query")
        .map(|data| hex::encode(tilepress::manifest::sha256(&data.expect("row"))))
        .collect();
    let tiles = files_under(&store_dir(dir.path()).join("valletta/tiles"));
    let victim = tiles
        .iter()
        .filter(|p| reused.iter().any(|sha| p.ends_with(sha)))
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .expect("a reused tile");
    let bytes = std::fs::read(victim).expect("tile");
    std::fs::write(victim, &bytes[..bytes.len() / 2]).expect("truncate");
    let tileset = valletta(dir.path(), 14.51);
    let args =
        ["publish", tileset.to_str().expect("p"), "--to", &url(dir.path()), "--mbtiles", next.to_str().expect("p")];
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("differ in size from the manifest"), "{}", stderr(&out));
    assert_eq!(std::fs::read(victim).expect("tile"), bytes, "the damaged tile was put again");
    assert_intact(dir.path());
}

// Predictable names in the system temp folder are not written through; no temporary file is left behind.
#[test]
fn temporary_files_have_random_names_and_are_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");
    let (mbtiles, _) = build_version(dir.path(), 14.5);
    let tileset = valletta(dir.path(), 14.5);
    // A trap at every name the old code would have used, for the next few pids.
    let target = dir.path().join("target-file");
    std::fs::write(&target, b"untouched").expect("write");
    let me = std::process::id();
    for pid in me..me + 200 {
        for name in [format!("tilepress-{pid}.manifest.zst"), format!("tilepress-promote-{pid}.mbtiles")] {
            let _ = std::os::unix::fs::symlink(&target, tmp.join(name));
        }
    }
    let out_dir = repo().join("out");
    let ours = |p: &PathBuf| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(".tilepress-"));
    let before: Vec<PathBuf> = files_under(&out_dir).into_iter().filter(ours).collect();
    let env = [("TMPDIR", tmp.display().to_string())];
    let args = [
        "publish",
        tileset.to_str().expect("path"),
        "--to",
        &url(dir.path()),
        "--mbtiles",
        mbtiles.to_str().expect("p"),
    ];
    let out = tilepress_env(&args, &env);
    assert!(out.status.success(), "{}", stderr(&out));
    let prod = format!("file://{}", dir.path().join("prod").display());
    let out = tilepress_env(&["promote", "valletta", "--from", &url(dir.path()), "--to", &prod], &env);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&target).expect("target"), b"untouched");
    let left: Vec<PathBuf> = files_under(&tmp).into_iter().filter(|p| !p.is_symlink()).collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    // (Other tests kill publishers on purpose; only what this one left counts.)
    let stray: Vec<PathBuf> = files_under(&out_dir).into_iter().filter(ours).filter(|p| !before.contains(p)).collect();
    assert!(stray.is_empty(), "{stray:?}");
    for store in [store_dir(dir.path()), dir.path().join("prod")] {
        assert!(files_under(&store.join(".tmp")).is_empty(), "nothing left in {}/.tmp", store.display());
    }
}

// A huge grace is refused, not wrapped; a pointer at the last generation cannot be swapped past it.
#[test]
fn durations_and_generations_never_wrap() {
    let dir = tempfile::tempdir().expect("tempdir");
    publish_version(dir.path(), 14.5);
    let out = run(&["gc", "valletta", "--to", &url(dir.path()), "--grace", "213503982334602d"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("longer than the longest grace period"), "{}", stderr(&out));

    let path = store_dir(dir.path()).join("valletta/current.json");
    let mut live = pointer(dir.path());
    live["generation"] = Value::from(u64::MAX);
    std::fs::write(&path, serde_json::to_vec(&live).expect("json")).expect("write");
    let tileset = valletta(dir.path(), 14.51);
    let out = run(&["publish", tileset.to_str().expect("path"), "--to", &url(dir.path())]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(stderr(&out).contains("would overflow"), "{}", stderr(&out));
    assert_eq!(pointer(dir.path())["generation"], Value::from(u64::MAX), "nothing swapped");
}

// A pointer far larger than any pointer is refused unread.
#[test]
fn an_oversized_pointer_is_refused_unread() {
    let dir = tempfile::tempdir().expect("tempdir");
    publish_version(dir.path(), 14.5);
    let path = store_dir(dir.path()).join("valletta/current.json");
    let mut big = std::fs::read(&path).expect("pointer");
    big.resize(2 << 20, b' ');
    std::fs::write(&path, big).expect("write");
    let out = run(&["verify", "valletta", "--to", &url(dir.path())]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("valletta/current.json: 2097152 bytes, over the 1048576 bytes"), "{}", stderr(&out));
}

// A file tilepress does not write, under tiles/: reported and left alone, and gc still works.
#[test]
fn a_foreign_file_under_tiles_is_reported_and_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    publish_version(dir.path(), 14.5);
    publish_version(dir.path(), 14.51);
    let foreign = store_dir(dir.path()).join("valletta/tiles/ab/notes from ops.txt");
    std::fs::create_dir_all(foreign.parent().expect("parent")).expect("mkdir");
    std::fs::write(&foreign, b"hello").expect("write");
    let gc = ok_json(&["gc", "valletta", "--to", &url(dir.path()), "--keep", "0", "--grace", "0", "--json"]);
    assert_eq!(gc["foreign_count"], 1, "{gc}");
    assert_eq!(gc["foreign_keys"][0], "valletta/tiles/ab/notes from ops.txt");
    assert!(foreign.exists());
    assert_intact(dir.path());
}

// A rollback to the live version, and a publish of an unknown region, are refused.
#[test]
fn a_rollback_to_the_live_version_and_an_unknown_region_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v1 = publish_version(dir.path(), 14.5);
    let out = run(&["rollback", "valletta", "--to", &url(dir.path()), "--version", &v1]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(stderr(&out).contains("is already the live version"), "{}", stderr(&out));

    let (mbtiles, _) = build_version(dir.path(), 14.51);
    let tileset = valletta(dir.path(), 14.51);
    let args =
        ["publish", tileset.to_str().expect("p"), "--to", &url(dir.path()), "--mbtiles", mbtiles.to_str().expect("p")];
    let out = run(&[&args[..], &["--region", "nosuchregion"]].concat());
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("no region named `nosuchregion`"), "{}", stderr(&out));
    assert!(!store_dir(dir.path()).join("valletta.nosuchregion").exists(), "no new set");
    assert_eq!(pointer(dir.path())["generation"], 1);
}

// Commands that only read create nothing, not even the store's folder.
#[test]
fn read_only_commands_create_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let to = url(dir.path());
    for args in [
        vec!["versions", "valletta", "--to", &to],
        vec!["verify", "valletta", "--to", &to],
        vec!["gc", "valletta", "--to", &to, "--dry-run"],
    ] {
        let out = run(&args);
        assert!(!out.status.success(), "{args:?}: nothing is published");
        assert!(!store_dir(dir.path()).exists(), "{args:?} created {}", store_dir(dir.path()).display());
    }
}

// The file store fsyncs the folder after it renames or links an object into it (a rename that a power loss can
// undo is no commit): seen with strace, the pointer's folder is opened and fsynced by the publisher.
#[test]
fn the_file_store_fsyncs_the_folder_after_a_rename() {
    if !Command::new("strace").arg("-V").output().is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: strace is not installed (make test-deps installs it)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let tileset = valletta(dir.path(), 14.5);
    let log = dir.path().join("strace.log");
    let out = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=openat,fsync", "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_tilepress"))
        .args(["publish", tileset.to_str().expect("path"), "--to", &url(dir.path())])
        .current_dir(repo())
        .output()
        .expect("strace");
    assert!(out.status.success(), "{}", stderr(&out));
    let set_dir = format!("\"{}\"", store_dir(dir.path()).join("valletta").display());
    let text = std::fs::read_to_string(&log).expect("log");
    let mut open_dirs: Vec<(String, String)> = Vec::new();
    let mut synced = 0;
    for line in text.lines() {
        let Some((pid, call)) = line.split_once(' ') else { continue };
        let call = call.trim_start();
        if call.starts_with("openat(") && call.contains(&set_dir) {
            // `= 4`, or `<unfinished ...>` with the result on a later `resumed` line (rare: then not counted).
            if let Some(fd) =
                call.rsplit("= ").next().map(str::trim).filter(|fd| fd.chars().all(|c| c.is_ascii_digit()))
            {
                open_dirs.push((pid.to_owned(), fd.to_owned()));
            }
        } else if let Some(rest) = call.strip_prefix("fsync(")
            && let fd = rest.chars().take_while(char::is_ascii_digit).collect::<String>()
            && open_dirs.iter().any(|(p, f)| p == pid && *f == fd)
        {
            synced += 1;
        }
    }
    // The pointer and the first history record's folder at least (the set folder holds current.json).
    assert!(synced >= 1, "no fsync of {set_dir} after the pointer was put there:\n{text}");
}
