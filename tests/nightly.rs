//! The nightly job end to end, run exactly as the Kubernetes CronJob runs it: the command line and environment
//! are read from `infra/k8s/base/cronjob-nightly.yaml` (and its ConfigMap), only the cluster's paths and
//! endpoints are mapped to local ones (the tilesets ConfigMap mount → `tilesets/`, the store → a bucket on a
//! moto server, the Pushgateway → a local listener). Checks: exit 0, a version that verifies, a metrics file
//! that `promtool` accepts, a push of the same metrics, and JSON logs that parse line by line.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::s3::Moto;
use common::*;
use serde_json::Value;

/// Every nightly CronJob's container: name, args and env (literal values, or `configmap:KEY` references).
fn cronjobs() -> Vec<Value> {
    let script = r#"
import json, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "CronJob"]
config = {}
for d in yaml.safe_load_all(open(sys.argv[2])):
    if d and d.get("kind") == "ConfigMap":
        config.update(d.get("data", {}))
out = []
for d in docs:
    pod = d["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (c,) = [c for c in pod["containers"] if c["name"] == "tilepress"]
    env = {}
    for e in c.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
        else:
            env[e["name"]] = config[e["valueFrom"]["configMapKeyRef"]["key"]]
    out.append({"name": d["metadata"]["name"], "command": c["command"], "args": c["args"], "env": env,
                "workingDir": c.get("workingDir", "/")})
print(json.dumps(out))
"#;
    let k8s = repo().join("infra/k8s/base");
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(k8s.join("cronjob-nightly.yaml"))
        .arg(k8s.join("common/configmap-env.yaml"))
        .output()
        .expect("python with PyYAML (.venv, installed by make test-deps)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<Vec<Value>>(&out.stdout).expect("json")
}

#[test]
fn the_nightly_cronjob_command_line_builds_publishes_and_reports() {
    let jobs = cronjobs();
    assert!(jobs.len() >= 3, "one CronJob per set: {jobs:?}");
    let moto = Moto::start();
    moto.create_bucket("nightly");
    let store = "s3://nightly/tiles";
    // Two sets, so both the whole-tileset and the --region forms run.
    for name in ["tilepress-nightly-default-valletta", "tilepress-nightly-monaco-harbour"] {
        let job = jobs.iter().find(|j| j["name"] == name).unwrap_or_else(|| panic!("no CronJob {name}"));
        assert_eq!(job["command"], serde_json::json!(["tilepress"]));
        let work = tempfile::tempdir().expect("tempdir");
        let (gateway, pushed) = common::pushgateway::start();

        // The container's environment, with the cluster's endpoints mapped to local ones.
        let mut env: BTreeMap<String, String> = serde_json::from_value(job["env"].clone()).expect("env");
        assert!(env.contains_key("TILEPRESS_PUSHGATEWAY"), "{name}: pushes its metrics");
        assert!(!env.keys().any(|k| k.contains("SECRET") || k.contains("ACCESS_KEY")), "{name}: no inline credentials");
        env.insert("TILEPRESS_STORE".into(), store.into());
        env.insert("TILEPRESS_PUSHGATEWAY".into(), gateway);
        let working_dir = job["workingDir"].as_str().expect("workingDir").to_owned();
        let local = |text: &str| {
            text.replace("/etc/tilepress/tilesets", &repo().join("tilesets").display().to_string())
                .replace(&working_dir, &work.path().display().to_string())
        };
        for value in env.values_mut() {
            *value = local(value);
        }
        // Kubernetes expands $(VAR) in args from the container's env.
        let args: Vec<String> = job["args"]
            .as_array()
            .expect("args")
            .iter()
            .map(|a| {
                let mut a = a.as_str().expect("arg").to_owned();
                for (k, v) in &env {
                    a = a.replace(&format!("$({k})"), v);
                }
                assert!(!a.contains("$("), "{name}: undefined variable in `{a}`");
                local(&a)
            })
            .collect();
        assert_eq!(args[0], "publish");
        let mut command = Command::new(env!("CARGO_BIN_EXE_tilepress"));
        command.args(&args).current_dir(work.path()).env_remove("RUST_LOG").envs(&env);
        for (k, v) in moto.env() {
            if k != "AWS_REGION" {
                command.env(k, v);
            }
        }
        let out = command.output().expect("run tilepress");
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
        let check = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::fs::File::open(&metrics).expect("metrics file written"))
            .output()
            .expect("promtool");
        assert!(
            check.status.success(),
            "{}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
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
