//! A publisher killed (SIGKILL) at many points of a publish (16 rounds, 5–155 ms in) never leaves the store broken: the live version
//! is always complete and verifiable (the old one or the new one), and a rerun finishes the job without
//! uploading again what is already there.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::Value;

#[test]
fn killing_the_publisher_never_breaks_the_live_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let to = format!("file://{}", dir.path().join("store").display());
    // A new content every round (another simplification tolerance changes nearly every tile), so each killed
    // run is cut in the middle of thousands of new objects.
    let countries = repo().join("fixtures/countries.geojson");
    let content = |round: u64| {
        let tileset = tileset_in(
            dir.path(),
            &format!(
                "name = \"default\"\nmaxzoom = 6\n[[layers]]\nid = \"countries\"\nsource = \"{}\"\nsimplify = {}\n",
                countries.display(),
                1.0 + round as f64 * 0.25
            ),
        );
        let out = dir.path().join(format!("round{round}.mbtiles"));
        build_json(&tileset, &out, &[]);
        out
    };
    let tileset = repo().join("tilesets/default.toml");
    let publish_args = |mbtiles: &std::path::Path| {
        vec![
            "publish".to_owned(),
            tileset.display().to_string(),
            "--to".to_owned(),
            to.clone(),
            "--mbtiles".to_owned(),
            mbtiles.display().to_string(),
            "--allow-shrink".to_owned(),
            "--json".to_owned(),
        ]
    };
    let verify_live = || {
        let out = tilepress(&["verify", "default", "--to", &to, "--json"]);
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
    // Deterministic spread of kill times over the whole publish (hashing, uploads, records, swap).
    for round in 0..16u64 {
        let source = content(round);
        let args = publish_args(&source);
        let mut child = Command::new(env!("CARGO_BIN_EXE_tilepress"))
            .args(&args)
            .current_dir(repo())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(5 + (round * 7919) % 150));
        let _ = child.kill();
        let _ = child.wait();
        verify_live();
        // A rerun completes and reuses what the killed run uploaded.
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = tilepress(&args);
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
    let locks = walk(&dir.path().join("store")).into_iter().filter(|p| p.ends_with(".lock")).count();
    assert_eq!(locks, 0, "no lock left behind");
}

fn walk(dir: &std::path::Path) -> Vec<String> {
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
