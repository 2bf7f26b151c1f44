//! The rollback drill, run exactly as staging's CronJob runs it (command line and environment read from
//! `infra/k8s/overlays/staging/cronjob-drill.yaml`) against a moto server holding two published versions: a
//! passing drill (report, pointer, history, metrics file and push), a failing one (a tile of the previous version
//! deleted: the live version is put back and the failure recorded), and the states a drill refuses to start from.

mod common;

use std::path::Path;

use common::k8s::{self, LocalRun};
use common::prom::{promtool_check, sample};
use common::s3::Moto;
use common::*;
use serde_json::Value;

const SET: &str = "monaco.harbour";
const CRONJOB: &str = "tilepress-drill-monaco-harbour";

/// Two builds of monaco's harbour region, P (fewer properties: every tile differs) then L (the real tileset),
/// published in that order to `store`; returns (P, L) and their manifests.
fn publish_two(dir: &Path, store: &str, env: &[(&str, String)]) -> ((String, String), (String, String)) {
    let real = std::fs::read_to_string(repo().join("tilesets/monaco.toml")).expect("tileset");
    let real = real.replace("../fixtures/", &format!("{}/fixtures/", repo().display()));
    let older = real.replace(r#"properties = ["kind", "name", "class", "osm_id"]"#, r#"properties = ["kind"]"#);
    assert_ne!(older, real, "the variant differs");
    let mut out = Vec::new();
    for (name, toml) in [("p", older), ("l", real)] {
        let folder = dir.join(name);
        std::fs::create_dir_all(&folder).expect("dir");
        let tileset = folder.join("monaco.toml");
        std::fs::write(&tileset, toml).expect("write tileset");
        let mbtiles = folder.join("monaco.harbour.mbtiles");
        let summary = build_json(&tileset, &mbtiles, &["--region", "harbour"]);
        let manifest = summary["manifest"].as_str().expect("manifest path").to_owned();
        let args =
            ["publish", path(&tileset), "--region", "harbour", "--mbtiles", path(&mbtiles), "--to", store, "--json"];
        let published = tilepress_env(&args, env);
        assert!(published.status.success(), "{}", String::from_utf8_lossy(&published.stderr));
        let report: Value = serde_json::from_slice(&published.stdout).expect("json");
        out.push((report["version"].as_str().expect("version").to_owned(), manifest));
    }
    let l = out.pop().expect("L");
    let p = out.pop().expect("P");
    (p, l)
}

/// A moto server with a bucket holding the set published twice (P, then L); the store URL and a work folder.
struct Staging {
    moto: Moto,
    bucket: &'static str,
    store: String,
    dir: tempfile::TempDir,
    p: (String, String),
    l: (String, String),
}

fn staging(bucket: &'static str) -> Staging {
    let moto = Moto::start();
    moto.create_bucket(bucket);
    let store = format!("s3://{bucket}/tiles");
    let dir = tempfile::tempdir().expect("tempdir");
    let (p, l) = publish_two(dir.path(), &store, &moto.env());
    Staging { moto, bucket, store, dir, p, l }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The drill CronJob of the harbour set, made local, with its own Pushgateway stand-in.
fn drill_job(store: &str, work: &Path) -> (LocalRun, std::thread::JoinHandle<(String, String)>) {
    let jobs = k8s::cronjobs("infra/k8s/overlays/staging/cronjob-drill.yaml");
    assert_eq!(jobs.len(), 5, "one drill per published set");
    let job = k8s::find(&jobs, CRONJOB);
    assert_eq!(job["serviceAccountName"], "tilepress", "the publisher's identity: a drill swaps the pointer");
    let (gateway, pushed) = common::pushgateway::start();
    let local = LocalRun::new(job, store, &gateway, work);
    assert_eq!(local.args[..2], ["drill", SET]);
    (local, pushed)
}

fn live(store: &str, env: &[(&str, String)]) -> String {
    let out = tilepress_env(&["versions", SET, "--to", store, "--json"], env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json");
    let live: Vec<_> = list.iter().filter(|v| v["live"] == true).collect();
    assert_eq!(live.len(), 1, "{list:?}");
    live[0]["record"]["version"].as_str().expect("version").to_owned()
}

/// The pointer's generation, and the history record of one generation.
fn generation(moto: &Moto, bucket: &str) -> u64 {
    let pointer: Value =
        serde_json::from_str(&moto.get_object(bucket, &format!("tiles/{SET}/current.json")).expect("pointer"))
            .expect("json");
    pointer["generation"].as_u64().expect("generation")
}

fn history(moto: &Moto, bucket: &str, generation: u64) -> Value {
    let key = format!("tiles/{SET}/history/{generation:020}.json");
    serde_json::from_str(&moto.get_object(bucket, &key).unwrap_or_else(|| panic!("no {key}"))).expect("json")
}

fn metrics_of(local: &LocalRun) -> String {
    let file = Path::new(&local.env["TILEPRESS_METRICS_FILE"]).to_owned();
    promtool_check(&file);
    std::fs::read_to_string(&file).expect("metrics")
}

const LABELS: &str = "{tileset=\"monaco\",region=\"harbour\",command=\"drill\"";

#[test]
fn the_drill_cronjob_rolls_back_verifies_and_rolls_forward() {
    let Staging { moto, bucket, store, dir, p: (p, _), l: (l, _) } = staging("drill");
    let store = store.as_str();
    let before = generation(&moto, bucket);

    let (local, pushed) = drill_job(store, dir.path());
    let out = local.run(dir.path(), &moto.env());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{:?}\n{stderr}", local.args);
    for line in stderr.lines() {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }

    let report: Value = serde_json::from_slice(&out.stdout).expect("the JSON report");
    assert_eq!(report["outcome"], "passed");
    assert_eq!((report["live"].as_str(), report["previous"].as_str()), (Some(l.as_str()), Some(p.as_str())));
    let steps: Vec<(&str, &str)> = report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            assert_eq!(s["ok"], true, "{s}");
            (s["step"].as_str().expect("step"), s["version"].as_str().expect("version"))
        })
        .collect();
    assert_eq!(steps, [("rollback", &*p), ("verify-previous", &*p), ("rollforward", &*l), ("verify-live", &*l)]);
    eprintln!("drill step times: {}", report["steps"]);
    assert_eq!((report["swaps"].as_u64(), report["stranded"].as_bool()), (Some(2), Some(false)));

    // L is live again, two generations later: to P, then back to L.
    assert_eq!(live(store, &moto.env()), l);
    assert_eq!(generation(&moto, bucket), before + 2);
    let (back, forth) = (history(&moto, bucket, before + 1), history(&moto, bucket, before + 2));
    assert_eq!((back["action"].as_str(), back["version"].as_str()), (Some("rollback"), Some(p.as_str())));
    assert_eq!((forth["action"].as_str(), forth["version"].as_str()), (Some("rollback"), Some(l.as_str())));

    let text = metrics_of(&local);
    assert_eq!(sample(&text, &format!("tilepress_drill_success{LABELS}}}")), Some(1.0), "{text}");
    assert_eq!(sample(&text, &format!("tilepress_run_success{LABELS}}}")), Some(1.0));
    assert_eq!(sample(&text, &format!("tilepress_drill_stranded{LABELS}}}")), Some(0.0));
    for series in [
        format!("tilepress_drill_rollback_seconds{LABELS}}}"),
        format!("tilepress_drill_rollforward_seconds{LABELS}}}"),
        format!("tilepress_drill_verify_seconds{LABELS},target=\"previous\"}}"),
        format!("tilepress_drill_verify_seconds{LABELS},target=\"live\"}}"),
    ] {
        let seconds = sample(&text, &series).unwrap_or_else(|| panic!("no {series}:\n{text}"));
        assert!((0.0..60.0).contains(&seconds), "{series} {seconds}");
    }
    assert_eq!(sample(&text, &format!("tilepress_pointer_swaps_total{LABELS},kind=\"rollback\"}}")), Some(2.0));
    assert_eq!(sample(&text, "tilepress_rollbacks_total{"), None, "a drill is not a rollback for the alerts");
    let (request_line, body) = pushed.join().expect("pushgateway");
    assert!(request_line.starts_with("PUT /metrics/job/tilepress/tileset/monaco/region/harbour/command/drill "));
    assert!(body.contains(&format!("tilepress_drill_success{LABELS}}} 1")), "{body}");
}

#[test]
fn a_drill_that_finds_the_previous_version_broken_puts_the_live_one_back() {
    let Staging { moto, bucket, store, dir, p: (p, p_manifest), l: (l, l_manifest) } = staging("broken");
    let store = store.as_str();

    // One tile object that only P has: P can still be made live (its record, manifest and archive are there),
    // but it would serve a 404.
    let diff = tilepress(&["diff", &p_manifest, &l_manifest, "--list", "--json"]);
    let diff: Value = serde_json::from_slice(&diff.stdout).expect("diff json");
    let changes = diff["changes"].as_array().expect("changes");
    let new: Vec<&Value> = changes.iter().map(|c| &c["new"]["sha256"]).collect();
    let sha = changes
        .iter()
        .filter_map(|c| c["old"]["sha256"].as_str())
        .find(|old| !new.iter().any(|n| n.as_str() == Some(old)))
        .expect("a tile of P only");
    let key = format!("{SET}/tiles/{}/{sha}", &sha[..2]);
    assert_eq!(moto.delete_prefix(bucket, &format!("tiles/{key}")), 1, "under the store's prefix `tiles/`");

    let (local, pushed) = drill_job(store, dir.path());
    let out = local.run(dir.path(), &moto.env());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(8), "a verify found a problem: {stderr}");
    let error = stderr.lines().last().expect("error line");
    for part in ["verify-previous", p.as_str(), key.as_str(), "put", l.as_str()] {
        assert!(error.contains(part), "`{part}` not in: {error}");
    }
    let report: Value = serde_json::from_slice(&out.stdout).expect("the JSON report, on failure too");
    assert_eq!(report["outcome"], "failed");
    assert_eq!((report["live_after"].as_str(), report["stranded"].as_bool()), (Some(l.as_str()), Some(false)));
    let last = report["steps"].as_array().and_then(|s| s.last()).expect("steps");
    assert_eq!((last["step"].as_str(), last["ok"].as_bool()), (Some("restore"), Some(true)), "{report}");

    assert_eq!(live(store, &moto.env()), l, "L is live again");
    let verify = tilepress_env(&["verify", SET, "--to", store], &moto.env());
    assert!(verify.status.success(), "the deleted tile was P's only: {}", String::from_utf8_lossy(&verify.stdout));
    let text = metrics_of(&local);
    assert_eq!(sample(&text, &format!("tilepress_drill_success{LABELS}}}")), Some(0.0), "{text}");
    assert_eq!(sample(&text, &format!("tilepress_run_success{LABELS}}}")), Some(0.0));
    assert_eq!(sample(&text, &format!("tilepress_drill_stranded{LABELS}}}")), Some(0.0));
    assert!(sample(&text, &format!("tilepress_failures_total{LABELS},stage=\"drill\"}}")).is_some(), "{text}");
    let (_, body) = pushed.join().expect("pushgateway");
    assert!(body.contains(&format!("tilepress_drill_success{LABELS}}} 0")), "{body}");
}

#[test]
fn a_drill_does_not_start_with_nothing_published_or_from_a_rollback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = format!("file://{}", dir.path().join("store").display());
    let drill = |metrics: &str| {
        let metrics = dir.path().join(metrics);
        let out = tilepress(&["drill", SET, "--to", &store, "--metrics-file", path(&metrics)]);
        let text = std::fs::read_to_string(&metrics).expect("metrics written on failure");
        (out, text)
    };
    // Nothing published yet.
    let (out, text) = drill("none.prom");
    assert_eq!(out.status.code(), Some(7), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(sample(&text, &format!("tilepress_drill_success{LABELS}}}")), Some(0.0), "{text}");

    let ((p, _), (l, _)) = publish_two(dir.path(), &store, &[]);
    let rolled = tilepress(&["rollback", SET, "--to", &store]);
    assert!(rolled.status.success(), "{}", String::from_utf8_lossy(&rolled.stderr));
    // P is live with L as its previous: a drill would make L live again. It refuses and swaps nothing.
    let (out, _) = drill("rolled.prom");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert!(stderr.contains("made live by a rollback") && stderr.contains(&l), "{stderr}");
    assert_eq!(live(&store, &[]), p);
}
