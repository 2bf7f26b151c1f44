//! A publisher killed (SIGKILL) at many points of a publish never leaves the store broken: the live version is
//! always complete and verifiable (the old one or the new one), and a rerun finishes the job without uploading
//! again what is already there. Run against the `file://` store and against S3 (moto on loopback).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::s3::Moto;
use common::*;
use serde_json::Value;

#[test]
fn killing_the_publisher_never_breaks_the_live_version_on_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let to = format!("file://{}", dir.path().join("store").display());
    // Kills 5–155 ms in: a file:// publish of new content takes about 0.1–0.5 s in a debug build.
    kill_rounds(dir.path(), &to, &[], 16, |round| 5 + (round * 7919) % 150);
    // A publisher killed while holding a lock leaves the lock file; it names a dead process, so the next writer
    // of that object breaks it at once (the reruns above went through such locks).
    for lock in walk(&dir.path().join("store")).into_iter().filter(|p| p.ends_with(".lock")) {
        let pid = std::fs::read_to_string(&lock).unwrap_or_default();
        assert!(
            !Path::new(&format!("/proc/{}", pid.trim())).exists() || pid.trim().is_empty(),
            "{lock} held by a live process"
        );
    }
}

#[test]
fn killing_the_publisher_never_breaks_the_live_version_on_s3() {
    let moto = Moto::start();
    moto.create_bucket("crash");
    let dir = tempfile::tempdir().expect("tempdir");
    // moto takes a few milliseconds an object: spread the kills over 50–1250 ms.
    kill_rounds(dir.path(), "s3://crash/p", &moto.env(), 6, |round| 50 + (round * 7919) % 1200);
}

/// Publishes a new content each round, kills the publisher after `delay(round)` ms, checks the live version,
/// reruns to completion and checks again.
fn kill_rounds(dir: &Path, to: &str, env: &[(&str, String)], rounds: u64, delay: impl Fn(u64) -> u64) {
    // Another simplification tolerance changes many tiles, so each killed run is cut among new objects.
    let countries = repo().join("fixtures/countries.geojson");
    let content = |round: u64| {
        let tileset = tileset_in(
            dir,
            &format!(
                "name = \"default\"\nmaxzoom = 6\n[[layers]]\nid = \"countries\"\nsource = \"{}\"\nsimplify = {}\n",
                countries.display(),
                1.0 + round as f64 * 0.25
            ),
        );
        let out = dir.join(format!("round{round}.mbtiles"));
        build_json(&tileset, &out, &[]);
        out
    };
    let tileset = repo().join("tilesets/default.toml");
    let verify_live = || {
        let out = tilepress_env(&["verify", "default", "--to", to, "--json"], env);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if stderr.contains("nothing is published") {
            return None;
        }
        assert!(
            out.status.success(),
            "the live version must verify:\n{stderr}\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let report: Value = serde_json::from_slice(&out.stdout).expect("json");
        Some(report["version"].as_str().expect("version").to_owned())
    };
    let mut resumed_with_skips = 0;
    for round in 0..rounds {
        let source = content(round);
        let args = [
            "publish",
            tileset.to_str().expect("path"),
            "--to",
            to,
            "--mbtiles",
            source.to_str().expect("path"),
            "--allow-shrink",
            "--json",
        ];
        let mut command = Command::new(env!("CARGO_BIN_EXE_tilepress"));
        command.args(args).current_dir(repo()).stdout(Stdio::null()).stderr(Stdio::null());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn");
        std::thread::sleep(Duration::from_millis(delay(round)));
        let _ = child.kill();
        let _ = child.wait();
        verify_live();
        // A rerun completes and reuses what the killed run uploaded.
        let out = tilepress_env(&args, env);
        assert!(out.status.success(), "rerun {round}: {}", String::from_utf8_lossy(&out.stderr));
        let report: Value = serde_json::from_slice(&out.stdout).expect("json");
        eprintln!(
            "round {round}: {} {} uploaded, {} skipped",
            report["outcome"], report["objects_uploaded"], report["objects_skipped"]
        );
        if report["objects_skipped"].as_u64().unwrap_or(0) > 0 {
            resumed_with_skips += 1;
        }
        let live = verify_live().expect("published");
        assert_eq!(Some(live.as_str()), report["version"].as_str(), "round {round}");
    }
    assert!(resumed_with_skips > 0, "some reruns found objects of the killed run and did not upload them again");
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path().display().to_string());
            }
        }
    }
    out
}
