//! A Kubernetes CronJob's container run locally, exactly as its manifest says: command line and environment read
//! from the YAML (and the env ConfigMap), only the cluster's paths and endpoints mapped to local ones (the tilesets
//! ConfigMap mount → `tilesets/`, the working directory → a temporary folder, the store and Pushgateway → the
//! test's).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use super::{python, repo};

/// Every CronJob of a manifest (relative to the repository): name, command, args, workingDir and env (literal
/// values, or the value of the `tilepress-env` ConfigMap key it references).
pub fn cronjobs(manifest: &str) -> Vec<Value> {
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
                "workingDir": c.get("workingDir", "/"), "serviceAccountName": pod.get("serviceAccountName")})
print(json.dumps(out))
"#;
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(repo().join(manifest))
        .arg(repo().join("infra/k8s/base/common/configmap-env.yaml"))
        .output()
        .expect("python with PyYAML (.venv, installed by make test-deps)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<Vec<Value>>(&out.stdout).expect("json")
}

/// The CronJob called `name` among `jobs`.
pub fn find<'a>(jobs: &'a [Value], name: &str) -> &'a Value {
    jobs.iter().find(|j| j["name"] == name).unwrap_or_else(|| panic!("no CronJob {name}"))
}

/// A CronJob's container made local: its args (with `$(VAR)` expanded as Kubernetes does) and env.
pub struct LocalRun {
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
}

impl LocalRun {
    /// `store` and `gateway` stand in for the ConfigMap's store and Pushgateway; `work` for the working directory.
    pub fn new(job: &Value, store: &str, gateway: &str, work: &Path) -> LocalRun {
        let name = job["name"].as_str().expect("name");
        assert_eq!(job["command"], serde_json::json!(["tilepress"]), "{name}");
        let mut env: BTreeMap<String, String> = serde_json::from_value(job["env"].clone()).expect("env");
        assert!(env.contains_key("TILEPRESS_PUSHGATEWAY"), "{name}: pushes its metrics");
        assert!(!env.keys().any(|k| k.contains("SECRET") || k.contains("ACCESS_KEY")), "{name}: no inline credentials");
        env.insert("TILEPRESS_STORE".into(), store.into());
        env.insert("TILEPRESS_PUSHGATEWAY".into(), gateway.into());
        let working_dir = job["workingDir"].as_str().expect("workingDir").to_owned();
        let local = |text: &str| {
            text.replace("/etc/tilepress/tilesets", &repo().join("tilesets").display().to_string())
                .replace(&working_dir, &work.display().to_string())
        };
        for value in env.values_mut() {
            *value = local(value);
        }
        let args = job["args"]
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
        LocalRun { args, env }
    }

    /// Runs it in `work` with the store's credentials and endpoint (`AWS_REGION` stays the manifest's).
    pub fn run(&self, work: &Path, store_env: &[(&str, String)]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tilepress"));
        command.args(&self.args).current_dir(work).env_remove("RUST_LOG").envs(&self.env);
        for (k, v) in store_env {
            if *k != "AWS_REGION" {
                command.env(k, v);
            }
        }
        command.output().expect("run tilepress")
    }
}
