//! `tilepress sync` end to end, through the CLI against the loopback HTTP server of `tests/common/http.rs`
//! serving a file store: install, update by delta, up to date; ten drops in one archive download; SIGKILL while
//! downloading and while applying, with the old file intact throughout; a file that is no published version
//! gets the whole archive, never a delta; no network leaves the file untouched; PMTiles on the device.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::http::HttpServer;
use common::{tilepress, valletta};
use serde_json::Value;
use tilepress::delta::archive_manifest_sha256;

fn run_json(args: &[&str]) -> Value {
    let out = tilepress(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

/// A file store with the Valletta set published once per POI position, in order; returns the version records.
struct Published {
    dir: tempfile::TempDir,
    store: PathBuf,
    records: Vec<Value>,
}

impl Published {
    fn new() -> Published {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = dir.path().join("store");
        Published { dir, store, records: Vec::new() }
    }

    fn publish(&mut self, lon: f64) -> &Value {
        let tileset = valletta(self.dir.path(), lon);
        let to = format!("file://{}", self.store.display());
        let report = run_json(&["publish", tileset.to_str().unwrap(), "--to", &to, "--json"]);
        let version = report["version"].as_str().expect("version");
        let path = self.store.join("valletta/versions").join(version).join("version.json");
        self.records.push(serde_json::from_slice(&std::fs::read(path).expect("record")).expect("json"));
        self.records.last().unwrap()
    }

    fn device(&self, name: &str) -> PathBuf {
        let dir = self.dir.path().join("device");
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }
}

fn manifest_of(path: &Path) -> String {
    archive_manifest_sha256(path).expect("the device's file reads")
}

fn sync(url: &str, file: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["sync", url, "valletta", "-o", file.to_str().unwrap(), "--json", "--timeout", "5"];
    args.extend_from_slice(extra);
    tilepress(&args)
}

fn sync_ok(url: &str, file: &Path, extra: &[&str]) -> Value {
    let out = sync(url, file, extra);
    assert!(out.status.success(), "sync: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn sync_installs_then_updates_by_delta_then_is_up_to_date() {
    let mut set = Published::new();
    let v1 = set.publish(14.500).clone();
    let server = HttpServer::start(&set.store);
    let file = set.device("valletta.mbtiles");
    let metrics = set.device("sync.prom");

    let out = tilepress(&[
        "--metrics-file",
        metrics.to_str().unwrap(),
        "sync",
        &server.url,
        "valletta",
        "-o",
        file.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let first: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(first["outcome"], "installed", "{first}");
    assert_eq!(first["via"], "archive");
    assert_eq!(manifest_of(&file), v1["manifest_sha256"].as_str().unwrap());
    assert!(!set.device(".valletta.mbtiles.sync").exists(), "the work folder is removed after an install");

    let v2 = set.publish(14.505).clone();
    let second = sync_ok(&server.url, &file, &[]);
    assert_eq!(second["outcome"], "updated", "{second}");
    assert_eq!(second["via"], "delta", "{second}");
    assert_eq!(second["previous_version"], v1["version"]);
    assert_eq!(manifest_of(&file), v2["manifest_sha256"].as_str().unwrap());
    let (delta, archive) = (second["delta_bytes_fetched"].as_u64().unwrap(), second["archive_bytes"].as_u64().unwrap());
    assert!(delta > 0 && delta * 20 < archive, "a one-POI delta of {delta} B against an archive of {archive} B");

    let third = sync_ok(&server.url, &file, &[]);
    assert_eq!(third["outcome"], "up-to-date", "{third}");
    assert_eq!(third["delta_bytes_fetched"], 0);
    assert_eq!(third["archive_bytes_fetched"], 0);

    // The device's metrics file: every reason from the first run on, the bytes by kind, an age.
    let text = std::fs::read_to_string(&metrics).expect("metrics file");
    for reason in ["network", "verify", "apply", "refused"] {
        assert!(text.contains(&format!("tilepress_sync_failures_total{{set=\"valletta\",reason=\"{reason}\"}} 0")));
    }
    let archive_line = format!(
        "tilepress_sync_bytes_total{{set=\"valletta\",kind=\"archive\"}} {}",
        first["bytes_fetched"].as_u64().unwrap() - first["metadata_bytes_fetched"].as_u64().unwrap()
    );
    assert!(text.contains(&archive_line), "{archive_line} in\n{text}");
    assert!(text.contains("tilepress_sync_version_age_seconds{set=\"valletta\"}"), "{text}");
    common::prom::promtool_check(&metrics);
}

#[test]
fn ten_drops_during_one_archive_download() {
    let mut set = Published::new();
    let v1 = set.publish(14.500).clone();
    let archive = v1["archive_bytes"].as_u64().expect("archive_bytes");
    let server = HttpServer::start(&set.store);
    server.set(&server.knobs.drop_every, archive / 11 + 1);
    let file = set.device("valletta.mbtiles");
    let report = sync_ok(&server.url, &file, &[]);
    assert_eq!(manifest_of(&file), v1["manifest_sha256"].as_str().unwrap());
    assert!(report["resumes"].as_u64().unwrap() >= 10, "{report}");
    let sent = server.bytes_sent();
    assert!(sent as f64 <= 1.2 * archive as f64, "{sent} bytes sent for an archive of {archive}");
}

#[test]
fn no_network_leaves_the_file_untouched_and_says_the_old_version_stays() {
    let mut set = Published::new();
    set.publish(14.500);
    let server = HttpServer::start(&set.store);
    let file = set.device("valletta.mbtiles");
    sync_ok(&server.url, &file, &[]);
    set.publish(14.505);
    let before = std::fs::read(&file).unwrap();
    server.stop();
    let out = sync(&server.url, &file, &["--retries", "2"]);
    assert_eq!(out.status.code(), Some(10), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stays in use"), "{stderr}");
    assert_eq!(std::fs::read(&file).unwrap(), before, "the file was changed");
}

#[test]
fn a_file_that_is_no_published_version_gets_the_whole_archive() {
    let mut set = Published::new();
    set.publish(14.500);
    let server = HttpServer::start(&set.store);
    let file = set.device("valletta.mbtiles");
    sync_ok(&server.url, &file, &[]);
    // A tile changed on the device: its manifest is no version's, so no delta may be applied to it.
    let conn = rusqlite::Connection::open(&file).unwrap();
    conn.execute("UPDATE metadata SET value = 'edited' WHERE name = 'name'", []).unwrap();
    drop(conn);
    let v2 = set.publish(14.505).clone();
    let report = sync_ok(&server.url, &file, &[]);
    assert_eq!(report["via"], "archive", "{report}");
    assert!(report["previous_version"].is_null());
    assert_eq!(manifest_of(&file), v2["manifest_sha256"].as_str().unwrap());
}

/// Starts `tilepress sync` and kills it (SIGKILL) once `ready` says so; the killed run's output is dropped.
fn kill_when(url: &str, file: &Path, extra: &[&str], ready: impl Fn() -> bool) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tilepress"))
        .args(["sync", url, "valletta", "-o", file.to_str().unwrap(), "--json"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if ready() {
            child.kill().expect("kill");
            child.wait().unwrap();
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().ok();
    child.wait().ok();
    false
}

fn part_bytes(work: &Path) -> u64 {
    std::fs::read_dir(work)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .sum()
}

#[test]
fn sigkill_while_downloading_and_while_applying_then_a_rerun_finishes() {
    let mut set = Published::new();
    let v1 = set.publish(14.500).clone();
    let server = HttpServer::start(&set.store);
    let file = set.device("valletta.mbtiles");
    sync_ok(&server.url, &file, &[]);
    let v2 = set.publish(14.505).clone();
    let work = set.device(".valletta.mbtiles.sync");
    let old = v1["manifest_sha256"].as_str().unwrap();

    // Killed while downloading the whole archive (throttled so that it takes a while).
    let archive = v2["archive_bytes"].as_u64().unwrap();
    server.set(&server.knobs.rate, archive / 4);
    assert!(kill_when(&server.url, &file, &["--no-delta"], || part_bytes(&work) > archive / 8), "never killed");
    assert_eq!(manifest_of(&file), old, "the old file must open and verify after a kill");
    server.set(&server.knobs.rate, 0);
    let report = sync_ok(&server.url, &file, &["--no-delta"]);
    assert!(report["resumed_from"].as_u64().unwrap() > 0, "the rerun resumed nothing: {report}");
    assert_eq!(manifest_of(&file), v2["manifest_sha256"].as_str().unwrap());

    // Killed while applying a delta: as soon as the new file appears in the work folder. The apply of this
    // small set is quick, so a few tries may be needed to land the kill inside it.
    let v3 = set.publish(14.510).clone();
    let next = work.join("next.mbtiles");
    let landed = (0..20).any(|_| kill_when(&server.url, &file, &[], || next.exists()) && !file_is(&file, &v3));
    assert!(landed, "no kill landed during the apply in 20 tries");
    assert_eq!(manifest_of(&file), v2["manifest_sha256"].as_str().unwrap(), "the old file after a kill in apply");
    let report = sync_ok(&server.url, &file, &[]);
    assert_eq!(report["via"], "delta", "{report}");
    assert_eq!(manifest_of(&file), v3["manifest_sha256"].as_str().unwrap());
}

fn file_is(file: &Path, record: &Value) -> bool {
    manifest_of(file) == record["manifest_sha256"].as_str().unwrap()
}

#[test]
fn a_pmtiles_device_installs_the_pmtiles_archive_then_applies_deltas() {
    let mut set = Published::new();
    let v1 = set.publish(14.500).clone();
    let server = HttpServer::start(&set.store);
    let file = set.device("valletta.pmtiles");
    let first = sync_ok(&server.url, &file, &[]);
    assert_eq!(first["via"], "archive");
    assert_eq!(first["object_bytes"], v1["pmtiles_bytes"], "{first}");
    assert_eq!(manifest_of(&file), v1["manifest_sha256"].as_str().unwrap());
    let v2 = set.publish(14.505).clone();
    let second = sync_ok(&server.url, &file, &[]);
    assert_eq!(second["via"], "delta", "{second}");
    assert_eq!(manifest_of(&file), v2["manifest_sha256"].as_str().unwrap());
    // The reference reader opens the result.
    let probe = common::pmtiles_probe(&["all", file.to_str().unwrap()]);
    assert!(!probe["tiles"].as_object().expect("tiles").is_empty(), "{probe}");
}
