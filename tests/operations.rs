//! What operators and their tooling rely on: metrics files valid for Prometheus (checked by `promtool`) with
//! counters carried across runs, a Pushgateway push on failure, JSON logs with no secret in them at any level,
//! and `promote` from a staging store to a production one through the S3 protocol.

mod common;

use common::prom::{promtool_check, sample};
use common::s3::{ACCESS_KEY_ID, Moto, SECRET};
use common::*;
use serde_json::Value;

fn json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("--json output")
}

#[test]
fn metrics_file_is_valid_and_counts_failures_across_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let metrics = dir.path().join("textfile/tilepress-monaco.prom");
    let m = metrics.to_str().expect("path");
    let store = format!("file://{}", dir.path().join("store").display());
    let ok = tilepress(&[
        "-q",
        "publish",
        "tilesets/monaco.toml",
        "--region",
        "harbour",
        "--to",
        &store,
        "--metrics-file",
        m,
    ]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    promtool_check(&metrics);
    let text = std::fs::read_to_string(&metrics).expect("metrics");
    let labels = "{tileset=\"monaco\",region=\"harbour\",command=\"publish\"";
    assert_eq!(sample(&text, &format!("tilepress_run_success{labels}}}")), Some(1.0));
    let tiles = sample(&text, &format!("tilepress_live_tiles{labels}}}")).expect("live tiles");
    assert!(tiles > 20.0, "{text}");
    let per_zoom: f64 = text
        .lines()
        .filter(|l| l.starts_with("tilepress_build_tiles{"))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum();
    assert_eq!(per_zoom, tiles, "tiles per zoom add up to the published tiles");
    assert_eq!(sample(&text, &format!("tilepress_pointer_swaps_total{labels},kind=\"publish\"}}")), Some(1.0));
    let last_success = sample(&text, "tilepress_last_success_timestamp_seconds{").expect("last success");

    // Two failing runs (a source that is not there) into the same file: the failure counter grows, the last
    // success is kept, nothing is left half-written.
    let broken = tileset_in(dir.path(), "name = \"monaco\"\n[[layers]]\nid = \"x\"\nsource = \"missing.geojson\"\n");
    let broken = broken.to_str().expect("path");
    for _ in 0..2 {
        let out = tilepress(&["-q", "publish", broken, "--region", "harbour", "--to", &store, "--metrics-file", m]);
        assert_ne!(out.status.code(), Some(0));
    }
    promtool_check(&metrics);
    let text = std::fs::read_to_string(&metrics).expect("metrics");
    assert_eq!(sample(&text, "tilepress_run_success{"), Some(0.0), "{text}");
    assert_eq!(sample(&text, "tilepress_failures_total{"), Some(2.0), "{text}");
    assert!(text.contains("stage=\"config\"") || text.contains("stage=\"source\""), "{text}");
    assert_eq!(sample(&text, "tilepress_last_success_timestamp_seconds{"), Some(last_success));
    assert_eq!(sample(&text, "tilepress_pointer_swaps_total{"), Some(1.0), "swaps carried over: {text}");
    let leftovers: Vec<_> = std::fs::read_dir(metrics.parent().expect("dir")).expect("dir").collect();
    assert_eq!(leftovers.len(), 1, "only the metrics file, no temp file");
}

#[test]
fn a_failed_run_is_pushed_to_the_pushgateway() {
    let (gateway, server) = common::pushgateway::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = format!("file://{}", dir.path().join("store").display());
    let out = tilepress_env(&["rollback", "default.europe", "--to", &store], &[("TILEPRESS_PUSHGATEWAY", gateway)]);
    assert_eq!(out.status.code(), Some(7), "nothing published: {}", String::from_utf8_lossy(&out.stderr));
    let (request_line, body) = server.join().expect("server");
    assert!(
        request_line.starts_with("PUT /metrics/job/tilepress/tileset/default/region/europe/command/rollback "),
        "{request_line}"
    );
    assert!(
        body.contains("tilepress_run_success{tileset=\"default\",region=\"europe\",command=\"rollback\"} 0"),
        "{body}"
    );
    assert!(body.contains("tilepress_failures_total{") && body.contains("stage=\"publish\""), "{body}");
    let path = dir.path().join("pushed.prom");
    std::fs::write(&path, &body).expect("write");
    promtool_check(&path);
}

#[test]
fn json_logs_of_a_publish_parse_and_never_show_a_credential() {
    let moto = Moto::start();
    moto.create_bucket("logs");
    for level in ["-v", "-vv"] {
        let to = format!("s3://logs/{}", level.len());
        let out = tilepress_env(
            &[
                level,
                "--log-format",
                "json",
                "publish",
                "tilesets/monaco.toml",
                "--region",
                "harbour",
                "--to",
                &to,
                "--no-progress",
            ],
            &moto.env(),
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.lines().count() > 10, "debug output expected at {level}");
        for line in stderr.lines() {
            let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            assert!(value["level"].is_string() && value["timestamp"].is_string(), "{line}");
        }
        // No credential of any kind, the access key ID included (the SDK's trace output is capped).
        for secret in [SECRET, ACCESS_KEY_ID, "X-Amz-Signature", "Signature=", "Credential=", "x-amz-security-token"] {
            assert!(!stderr.contains(secret), "`{secret}` in the {level} log");
        }
        let messages: Vec<String> = stderr
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v["fields"]["message"].as_str().map(str::to_owned))
            .collect();
        for stage in ["build started", "build finished", "publish started", "publish finished: pointer swapped"] {
            assert!(messages.iter().any(|m| m == stage), "no `{stage}` line at {level}");
        }
    }
}

#[test]
fn promote_puts_the_very_same_version_live_in_production() {
    let moto = Moto::start();
    moto.create_bucket("staging");
    moto.create_bucket("production");
    let env = moto.env();
    let dir = tempfile::tempdir().expect("tempdir");
    let (staging, production) = ("s3://staging/tiles", "s3://production/tiles");
    let run = |args: &[&str]| json(&tilepress_env(args, &env));

    // Nothing live in staging: a clear refusal, production untouched.
    let out = tilepress_env(&["promote", "monaco", "--from", staging, "--to", production], &env);
    assert_eq!(out.status.code(), Some(7), "{}", String::from_utf8_lossy(&out.stderr));

    let published = run(&["publish", "tilesets/monaco.toml", "--to", staging, "--json", "--no-progress"]);
    let v1 = published["version"].as_str().expect("version").to_owned();
    let dry = run(&["promote", "monaco", "--from", staging, "--to", production, "--dry-run", "--json"]);
    assert_eq!(dry["outcome"], "dry-run");
    assert_eq!(tilepress_env(&["versions", "monaco", "--to", production], &env).status.code(), Some(7));

    let metrics = dir.path().join("promote.prom");
    let promoted = json(&tilepress_env(
        &[
            "promote",
            "monaco",
            "--from",
            staging,
            "--to",
            production,
            "--json",
            "--metrics-file",
            metrics.to_str().expect("p"),
        ],
        &env,
    ));
    assert_eq!(promoted["outcome"], "promoted");
    assert_eq!(promoted["version"].as_str(), Some(v1.as_str()), "the same version id, not a rebuild");
    assert_eq!(promoted["objects_copied"], published["objects_uploaded"]);
    promtool_check(&metrics);
    let text = std::fs::read_to_string(&metrics).expect("metrics");
    assert_eq!(
        sample(
            &text,
            "tilepress_pointer_swaps_total{tileset=\"monaco\",region=\"all\",command=\"promote\",kind=\"promote\"}"
        ),
        Some(1.0)
    );

    let verified = run(&["verify", "monaco", "--to", production, "--json"]);
    assert_eq!(verified["problem_count"], 0);
    assert_eq!(verified["version"].as_str(), Some(v1.as_str()));
    let again = run(&["promote", "monaco", "--from", staging, "--to", production, "--json"]);
    assert_eq!(again["outcome"], "unchanged");

    // A second version differing in one region only: promote copies just the new objects.
    let t = tileset_in(
        dir.path(),
        &(std::fs::read_to_string(repo().join("tilesets/monaco.toml"))
            .expect("tileset")
            .replace("../fixtures/", &format!("{}/fixtures/", repo().display()))
            .replace("maxzoom = 16", "maxzoom = 15")
            // The same base zoom for point thinning, so that z0–15 stay the same tiles.
            + "\n[generalize]\nbase_zoom = 16\n"),
    );
    let second =
        run(&["publish", t.to_str().expect("p"), "--to", staging, "--json", "--allow-shrink", "--no-progress"]);
    let v2 = second["version"].as_str().expect("version").to_owned();
    let refused = tilepress_env(&["promote", "monaco", "--from", staging, "--to", production], &env);
    assert_eq!(refused.status.code(), Some(7), "the shrink guard holds in production too");
    let promoted = run(&["promote", "monaco", "--from", staging, "--to", production, "--allow-shrink", "--json"]);
    assert_eq!(promoted["version"].as_str(), Some(v2.as_str()));
    assert_eq!(
        promoted["objects_copied"], 5,
        "no tile is new at z0–15: only the two archives (MBTiles, PMTiles), manifest, record and the delta from v1 (its removed z16 tiles)"
    );

    // Production rolls back on its own; staging is untouched.
    let back = run(&["rollback", "monaco", "--to", production, "--json"]);
    assert_eq!(back["to"].as_str(), Some(v1.as_str()));
    assert_eq!(run(&["verify", "monaco", "--to", production, "--json"])["problem_count"], 0);
    assert_eq!(run(&["verify", "monaco", "--to", staging, "--json"])["version"].as_str(), Some(v2.as_str()));
}
