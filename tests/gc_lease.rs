//! The gc lease (`SET/gc.lock`), on the `file://` store and through S3 (moto): a publish that reuses old tiles
//! waits for a running gc before its swap and puts back what that gc removed (a promote copies it again); a
//! second gc is refused while one runs; an abandoned lease is taken over; rollback refuses a version whose
//! archive is gone; a version an interrupted gc left without its manifest is removed by the next.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::s3::Moto;
use common::*;
use serde_json::{Value, json};

/// A store the test can also reach behind tilepress's back, as a gc (or an operator) would.
enum Backend {
    File(PathBuf),
    S3(Moto),
}

impl Backend {
    fn file(dir: &Path) -> Backend {
        Backend::File(dir.join("store"))
    }

    fn s3() -> Backend {
        let moto = Moto::start();
        moto.create_bucket("tiles");
        Backend::S3(moto)
    }

    fn url(&self) -> String {
        match self {
            Backend::File(dir) => format!("file://{}", dir.display()),
            Backend::S3(_) => "s3://tiles/p".to_owned(),
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        match self {
            Backend::File(_) => Vec::new(),
            Backend::S3(moto) => moto.env(),
        }
    }

    fn put(&self, key: &str, body: &str) {
        match self {
            Backend::File(dir) => {
                let path = dir.join(key);
                std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                std::fs::write(path, body).expect("write");
            }
            Backend::S3(moto) => moto.put_object("tiles", &format!("p/{key}"), body),
        }
    }

    fn get(&self, key: &str) -> Option<String> {
        match self {
            Backend::File(dir) => std::fs::read_to_string(dir.join(key)).ok(),
            Backend::S3(moto) => moto.get_object("tiles", &format!("p/{key}")),
        }
    }

    /// Deletes every object under `prefix`; returns how many went.
    fn delete_prefix(&self, prefix: &str) -> usize {
        match self {
            Backend::File(dir) => {
                let mut n = 0;
                let mut stack = vec![dir.join(prefix)];
                while let Some(d) = stack.pop() {
                    for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                        if entry.path().is_dir() {
                            stack.push(entry.path());
                        } else {
                            std::fs::remove_file(entry.path()).expect("remove");
                            n += 1;
                        }
                    }
                }
                n
            }
            Backend::S3(moto) => moto.delete_prefix("tiles", &format!("p/{prefix}")),
        }
    }

    fn run(&self, args: &[&str]) -> Value {
        let out = tilepress_env(args, &self.env());
        assert!(out.status.success(), "tilepress {args:?}:\n{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("--json output")
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs()
}

/// A lease as gc writes it.
fn lease(state: &str, expires_unix: u64) -> String {
    json!({"state": state, "holder": "test-gc:1", "started_at": "2026-11-25T00:00:00Z", "expires_unix": expires_unix})
        .to_string()
}

/// Starts `tilepress ARGS` against `store` without waiting for it.
fn spawn(store: &Backend, args: &[&str]) -> std::process::Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tilepress"));
    command.args(args).current_dir(repo()).env_remove("RUST_LOG").stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in store.env() {
        command.env(k, v);
    }
    command.spawn().expect("spawn tilepress")
}

/// Waits until `store` lists `n` versions of valletta, and returns them.
fn wait_for_versions(store: &Backend, n: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let out = tilepress_env(&["versions", "valletta", "--to", &store.url(), "--json"], &store.env());
        if let Ok(Value::Array(versions)) = serde_json::from_slice::<Value>(&out.stdout)
            && versions.len() == n
        {
            return versions;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the run never wrote its version record");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A publish that found v1's tiles in the store and skipped them must not go live after a gc removed them.
fn publish_waits_for_a_running_gc_and_puts_back_what_it_removed(store: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let to = store.url();
    let (t1, t2) = (valletta(dir.path(), 14.505_271_6), valletta(dir.path(), 14.506_271_6));
    let (t1, t2) = (t1.to_str().expect("path"), t2.to_str().expect("path"));
    let v1 = store.run(&["publish", t1, "--to", &to, "--json"])["version"].as_str().expect("v1").to_owned();
    let v2 = store.run(&["publish", t2, "--to", &to, "--json"])["version"].as_str().expect("v2").to_owned();
    assert_ne!(v1, v2);

    // A gc holds the lease (it marked from v2 only), while v1's content is published again: its tiles are all
    // in the store, so the publish uploads none of them.
    store.put("valletta/gc.lock", &lease("running", now() + 600));
    // (A version id names the second: this one must not be v1's.)
    std::thread::sleep(Duration::from_millis(1100));
    let publisher = spawn(&store, &["publish", t1, "--to", &to, "--json", "--no-progress"]);

    // Once its version record is written the publisher waits for the lease; it must not have swapped.
    let versions = wait_for_versions(&store, 3);
    let live: Vec<&Value> = versions.iter().filter(|v| v["live"] == true).collect();
    assert_eq!(live[0]["record"]["version"].as_str(), Some(v2.as_str()), "no swap while gc runs");
    std::thread::sleep(Duration::from_millis(300));
    // The gc sweeps (here: every tile) and finishes.
    let removed = store.delete_prefix("valletta/tiles/");
    assert!(removed > 10, "{removed}");
    store.put("valletta/gc.lock", &lease("done", now() + 600));

    let out = publisher.wait_with_output().expect("publish");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "publish: {stderr}");
    assert!(stderr.contains("waiting for a running gc"), "{stderr}");
    assert!(stderr.contains("put back tiles a gc removed"), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("--json");
    assert_eq!(report["outcome"], "published");
    assert_eq!(report["previous"].as_str(), Some(v2.as_str()));
    let verified = store.run(&["verify", "valletta", "--to", &to, "--json"]);
    assert_eq!(verified["version"], report["version"]);
    assert_eq!(verified["problem_count"], 0, "{verified}");
}

#[test]
fn file_store_publish_waits_for_a_running_gc_and_puts_back_what_it_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    publish_waits_for_a_running_gc_and_puts_back_what_it_removed(Backend::file(dir.path()));
}

#[test]
fn s3_publish_waits_for_a_running_gc_and_puts_back_what_it_removed() {
    publish_waits_for_a_running_gc_and_puts_back_what_it_removed(Backend::s3());
}

#[test]
fn promote_waits_for_a_running_gc_in_the_target_and_copies_again_what_it_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let staging = Backend::File(dir.path().join("staging"));
    let production = Backend::file(dir.path());
    let t1 = valletta(dir.path(), 14.505_271_6);
    let v1 = staging.run(&["publish", t1.to_str().expect("path"), "--to", &staging.url(), "--json"])["version"].clone();

    production.put("valletta/gc.lock", &lease("running", now() + 600));
    let promoter =
        spawn(&production, &["promote", "valletta", "--from", &staging.url(), "--to", &production.url(), "--json"]);
    let versions = wait_for_versions(&production, 1);
    assert_eq!(versions[0]["live"], false, "no swap while gc runs");
    std::thread::sleep(Duration::from_millis(300));
    assert!(production.delete_prefix("valletta/tiles/") > 10);
    production.put("valletta/gc.lock", &lease("done", now() + 600));

    let out = promoter.wait_with_output().expect("promote");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "promote: {stderr}");
    assert!(stderr.contains("waiting for a running gc"), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("--json");
    assert_eq!((report["outcome"].as_str(), &report["version"]), (Some("promoted"), &v1));
    let verified = production.run(&["verify", "valletta", "--to", &production.url(), "--json"]);
    assert_eq!((&verified["version"], &verified["problem_count"]), (&v1, &json!(0)), "{verified}");
}

#[test]
fn a_second_gc_is_refused_and_an_abandoned_lease_is_taken_over() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Backend::file(dir.path());
    let to = store.url();
    let (t1, t2) = (valletta(dir.path(), 14.505_271_6), valletta(dir.path(), 14.506_271_6));
    store.run(&["publish", t1.to_str().expect("path"), "--to", &to, "--json"]);
    store.run(&["publish", t2.to_str().expect("path"), "--to", &to, "--json"]);

    let running = lease("running", now() + 600);
    store.put("valletta/gc.lock", &running);
    let out = tilepress(&["gc", "valletta", "--to", &to, "--grace", "0"]);
    assert_eq!(out.status.code(), Some(7));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("a gc is running on this set (test-gc:1)"), "{stderr}");
    // A set that does not exist: refused before any lease is written.
    let out = tilepress(&["gc", "nothing-here", "--to", &to]);
    assert_eq!(out.status.code(), Some(7));
    assert!(store.get("nothing-here/gc.lock").is_none());
    // A dry run deletes nothing, so it needs no lease (and leaves the running one as it is).
    let dry = store.run(&["gc", "valletta", "--to", &to, "--keep", "0", "--grace", "0", "--dry-run", "--json"]);
    assert_eq!(dry["removed_tiles"], 5, "v1's own tiles would go");
    assert_eq!(store.get("valletta/gc.lock").as_deref(), Some(running.as_str()));
    assert_eq!(
        store.run(&[
            "verify",
            "valletta",
            "--to",
            &to,
            "--version",
            dry["removed_versions"][0].as_str().expect("v1"),
            "--json"
        ])["problem_count"],
        0
    );

    // The holder died an hour ago: its lease expired, the next gc takes it over and releases it when done.
    store.put("valletta/gc.lock", &lease("running", now() - 3600));
    let report = store.run(&["gc", "valletta", "--to", &to, "--keep", "0", "--grace", "0", "--json"]);
    assert_eq!(report["removed_tiles"], 5);
    let after: Value = serde_json::from_str(&store.get("valletta/gc.lock").expect("lease")).expect("json");
    assert_eq!(after["state"], "done");
    assert_ne!(after["holder"], "test-gc:1");
    assert_eq!(store.run(&["verify", "valletta", "--to", &to, "--json"])["problem_count"], 0);
}

#[test]
fn rollback_refuses_a_version_whose_archive_is_gone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Backend::file(dir.path());
    let to = store.url();
    let (t1, t2) = (valletta(dir.path(), 14.505_271_6), valletta(dir.path(), 14.506_271_6));
    let v1 = store.run(&["publish", t1.to_str().expect("path"), "--to", &to, "--json"])["version"].clone();
    let v2 = store.run(&["publish", t2.to_str().expect("path"), "--to", &to, "--json"])["version"].clone();
    let v1 = v1.as_str().expect("v1");
    let record: Value =
        serde_json::from_str(&store.get(&format!("valletta/versions/{v1}/version.json")).expect("record of v1"))
            .expect("json");
    let archive = format!("valletta/archives/{}.mbtiles", record["archive_sha256"].as_str().expect("sha"));
    let Backend::File(root) = &store else { unreachable!() };
    std::fs::remove_file(root.join(&archive)).expect("remove the archive");

    let out = tilepress(&["rollback", "valletta", "--to", &to]);
    assert_eq!(out.status.code(), Some(7));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{archive}: missing from the store")), "{stderr}");
    let live = store.run(&["versions", "valletta", "--to", &to, "--json"]);
    let live: Vec<&Value> = live.as_array().expect("array").iter().filter(|v| v["live"] == true).collect();
    assert_eq!(live[0]["record"]["version"], v2, "nothing swapped");
}

#[test]
fn rollback_to_a_version_other_than_the_previous_checks_its_tiles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Backend::file(dir.path());
    let to = store.url();
    let mut versions = Vec::new();
    for lon in [14.505_271_6, 14.506_271_6, 14.507_271_6] {
        let t = valletta(dir.path(), lon);
        versions.push(store.run(&["publish", t.to_str().expect("path"), "--to", &to, "--json"])["version"].clone());
    }
    let v1 = versions[0].as_str().expect("v1");
    // One of v1's tiles is gone (as after a publish of v1 that died waiting for a gc, so v1 never went live).
    let record: Value =
        serde_json::from_str(&store.get(&format!("valletta/versions/{v1}/version.json")).expect("record"))
            .expect("json");
    assert!(record["tiles"].as_u64().expect("tiles") > 0);
    let Backend::File(root) = &store else { unreachable!() };
    let tiles = root.join("valletta/tiles");
    let mut removed = 0;
    for dir in std::fs::read_dir(&tiles).expect("tiles").flatten() {
        for tile in std::fs::read_dir(dir.path()).expect("dir").flatten() {
            std::fs::remove_file(tile.path()).expect("remove");
            removed += 1;
        }
    }
    assert!(removed > 0);

    let out = tilepress(&["rollback", "valletta", "--to", &to, "--version", v1]);
    assert_eq!(out.status.code(), Some(7));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("valletta/tiles/") && stderr.contains("missing from the store"), "{stderr}");
    let list = store.run(&["versions", "valletta", "--to", &to, "--json"]);
    let live: Vec<&Value> = list.as_array().expect("array").iter().filter(|v| v["live"] == true).collect();
    assert_eq!(live[0]["record"]["version"], versions[2], "nothing swapped");
}

#[test]
fn gc_removes_a_version_an_interrupted_gc_left_without_its_manifest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Backend::file(dir.path());
    let to = store.url();
    let (t1, t2) = (valletta(dir.path(), 14.505_271_6), valletta(dir.path(), 14.506_271_6));
    let v1 = store.run(&["publish", t1.to_str().expect("path"), "--to", &to, "--json"])["version"].clone();
    store.run(&["publish", t2.to_str().expect("path"), "--to", &to, "--json"]);
    let v1 = v1.as_str().expect("v1");
    // gc removes a version's manifest first, then its record: a gc cut short in between leaves this.
    let Backend::File(root) = &store else { unreachable!() };
    std::fs::remove_file(root.join(format!("valletta/versions/{v1}/manifest.zst"))).expect("remove");

    let out = tilepress(&["rollback", "valletta", "--to", &to]);
    assert_eq!(out.status.code(), Some(7), "rollback refuses it");
    // Kept by --keep 5, but unusable: the next gc removes it (and the tiles only it needed) instead of stopping.
    let report = store.run(&["gc", "valletta", "--to", &to, "--keep", "5", "--grace", "0", "--json"]);
    assert_eq!(report["removed_versions"], json!([v1]));
    assert_eq!(report["removed_tiles"], 5);
    assert_eq!(store.run(&["versions", "valletta", "--to", &to, "--json"]).as_array().map(Vec::len), Some(1));
    assert_eq!(store.run(&["verify", "valletta", "--to", &to, "--json"])["problem_count"], 0);
}

/// The real thing, many times: a loop of `tilepress gc --keep 0 --grace 1s` runs while two contents are
/// published in turn, more than the grace apart, so each publish reuses tiles that are old and unreferenced
/// (the other content is live) and that gc is after. After every publish the live version must verify.
#[test]
fn publishes_alternating_with_a_concurrent_gc_loop_always_leave_a_complete_live_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Backend::file(dir.path());
    let to = store.url();
    let (a, b) = (valletta(dir.path(), 14.505_271_6), valletta(dir.path(), 14.506_271_6));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    store.run(&["publish", a.to_str().expect("path"), "--to", &to, "--json"]);

    let gc_loop = {
        let (stop, to) = (stop.clone(), to.clone());
        std::thread::spawn(move || {
            let (mut runs, mut removed) = (0u64, 0u64);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let out = tilepress(&["gc", "valletta", "--to", &to, "--keep", "0", "--grace", "1s", "--json"]);
                assert!(out.status.success(), "gc: {}", String::from_utf8_lossy(&out.stderr));
                let report: Value = serde_json::from_slice(&out.stdout).expect("--json");
                removed += report["removed_tiles"].as_u64().expect("removed_tiles");
                runs += 1;
            }
            (runs, removed)
        })
    };
    for round in 0..10 {
        std::thread::sleep(Duration::from_millis(1300));
        let tileset = if round % 2 == 0 { &b } else { &a };
        let report = store.run(&["publish", tileset.to_str().expect("path"), "--to", &to, "--json"]);
        assert_eq!(report["outcome"], "published", "round {round}");
        let verified = store.run(&["verify", "valletta", "--to", &to, "--json"]);
        assert_eq!(verified["version"], report["version"], "round {round}");
        assert_eq!(verified["problem_count"], 0, "round {round}: {verified}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (runs, removed) = gc_loop.join().expect("gc loop");
    assert!(runs > 5 && removed > 0, "gc ran {runs} times and removed {removed} tiles: the race was not exercised");
}
