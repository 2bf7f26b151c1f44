//! The nightly job end to end, run exactly as the Kubernetes CronJob runs it: the command line and environment
//! are read from `infra/k8s/base/cronjob-nightly.yaml` (and its ConfigMap), only the cluster's paths and
//! endpoints are mapped to local ones (the tilesets ConfigMap mount → `tilesets/`, the store → a bucket on a
//! moto server, the Pushgateway → a local listener). Checks: exit 0, a version that verifies, a metrics file
//! that `promtool` accepts, a push of the same metrics, and JSON logs that parse line by line.

mod common;

use common::k8s::{self, LocalRun};
use common::prom::promtool_check;
use common::s3::Moto;
use common::*;
use serde_json::Value;

#[test]
fn the_nightly_cronjob_command_line_builds_publishes_and_reports() {
    let jobs = k8s::cronjobs("infra/k8s/base/cronjob-nightly.yaml");
    assert!(jobs.len() >= 3, "one CronJob per set: {jobs:?}");
    let moto = Moto::start();
    moto.create_bucket("nightly");
    let store = "s3://nightly/tiles";
    // Two sets, so both the whole-tileset and the --region forms run.
    for name in ["tilepress-nightly-default-valletta", "tilepress-nightly-monaco-harbour"] {
        let job = k8s::find(&jobs, name);
        let work = tempfile::tempdir().expect("tempdir");
        let (gateway, pushed) = common::pushgateway::start();
        let local = LocalRun::new(job, store, &gateway, work.path());
        let (args, env) = (&local.args, &local.env);
        assert_eq!(args[0], "publish");
        let out = local.run(work.path(), &moto.env());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {args:?}\n{stderr}");

        // Logs: JSON, one object per line, with the stage lines.
        let lines: Vec<Value> = stderr
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {l}")))
            .collect();
        assert!(lines.iter().any(|l| l["fields"]["message"] == "publish finished: pointer swapped"), "{stderr}");

        // Metrics: the file the job names, valid for Prometheus, saying success; and the same pushed.
        let metrics = std::path::PathBuf::from(&env["TILEPRESS_METRICS_FILE"]);
        promtool_check(&metrics);
        let text = std::fs::read_to_string(&metrics).expect("metrics");
        assert!(text.lines().any(|l| l.starts_with("tilepress_run_success{") && l.ends_with(" 1")), "{text}");
        assert!(text.contains("tilepress_live_tiles{"), "{text}");
        let (request_line, body) = pushed.join().expect("pushgateway");
        assert!(request_line.starts_with("PUT /metrics/job/tilepress/tileset/"), "{request_line}");
        assert!(body.contains("tilepress_run_success{") && body.contains("command=\"publish\"} 1"), "{body}");

        // The published set verifies.
        let set = args.iter().position(|a| a == "--region").map_or_else(
            || std::path::Path::new(&args[1]).file_stem().expect("stem").to_string_lossy().into_owned(),
            |i| {
                format!(
                    "{}.{}",
                    std::path::Path::new(&args[1]).file_stem().expect("stem").to_string_lossy(),
                    args[i + 1]
                )
            },
        );
        let verify = tilepress_env(&["verify", &set, "--to", store, "--json"], &moto.env());
        assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
        let report: Value = serde_json::from_slice(&verify.stdout).expect("json");
        assert_eq!(report["problem_count"], 0);
    }
}
