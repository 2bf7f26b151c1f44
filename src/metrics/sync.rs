//! The metrics file of `tilepress sync` on a device (`tilepress_sync_*`, labelled by `set`): bytes by kind,
//! resumes, failures by reason, the last success and the age of the version the device holds. The example
//! file and the alerts that read it are in `infra/monitoring/` (`example-sync.prom`, `alerts.yml`).

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use super::text::{Exposition, Family, Samples, escape};

/// Every family of the sync metrics file: name, type, help.
pub const SYNC_FAMILIES: &[Family] = &[
    (
        "tilepress_sync_bytes_total",
        "counter",
        "Bytes downloaded by sync, by kind: delta, archive, metadata (current.json, version.json).",
    ),
    ("tilepress_sync_resumes_total", "counter", "Downloads resumed with a Range request after a dropped transfer."),
    ("tilepress_sync_failures_total", "counter", "Failed sync runs, by reason: network, verify, apply, refused."),
    ("tilepress_sync_last_success_timestamp_seconds", "gauge", "Unix time at which the last successful sync ended."),
    (
        "tilepress_sync_version_age_seconds",
        "gauge",
        "Age of the version the device holds after the last run: the run's end time minus the version's created time.",
    ),
    ("tilepress_sync_duration_seconds", "gauge", "Wall time of the last sync run."),
];

/// The reasons of `tilepress_sync_failures_total`, all written from the first run on (0 until they happen).
pub const FAILURE_REASONS: &[&str] = &["network", "verify", "apply", "refused"];

/// The kinds of `tilepress_sync_bytes_total`.
pub const BYTE_KINDS: &[&str] = &["delta", "archive", "metadata"];

const SYNC: Exposition = Exposition {
    families: SYNC_FAMILIES,
    carried: &["tilepress_sync_bytes_total", "tilepress_sync_resumes_total", "tilepress_sync_failures_total"],
    kept: &["tilepress_sync_last_success_timestamp_seconds", "tilepress_sync_version_age_seconds"],
};

/// The metrics of one sync run of one set.
#[derive(Debug, Clone)]
pub struct SyncMetrics {
    set: String,
    samples: Samples,
}

impl SyncMetrics {
    /// Every counter at 0 for `set`, so that a device's first failure is an increase.
    pub fn new(set: &str) -> SyncMetrics {
        let mut metrics = SyncMetrics { set: set.to_owned(), samples: Samples::new() };
        for kind in BYTE_KINDS {
            metrics.add("tilepress_sync_bytes_total", &[("kind", kind)], 0.0);
        }
        metrics.add("tilepress_sync_resumes_total", &[], 0.0);
        for reason in FAILURE_REASONS {
            metrics.add("tilepress_sync_failures_total", &[("reason", reason)], 0.0);
        }
        metrics
    }

    /// Bytes fetched over the wire this run, of one kind (delta, archive, metadata).
    pub fn add_bytes(&mut self, kind: &str, bytes: u64) {
        self.add("tilepress_sync_bytes_total", &[("kind", kind)], bytes as f64);
    }

    pub fn add_resumes(&mut self, resumes: u64) {
        self.add("tilepress_sync_resumes_total", &[], resumes as f64);
    }

    /// The age of the version the device holds now, from its record's creation time (Unix seconds).
    pub fn set_version_created(&mut self, created_unix_seconds: f64) {
        let age = (now_unix() - created_unix_seconds).max(0.0);
        self.set("tilepress_sync_version_age_seconds", &[], age.floor());
    }

    /// The end of the run: its wall time, and the failure reason or the success time.
    pub fn finish(&mut self, failure: Option<&str>, seconds: f64) {
        self.set("tilepress_sync_duration_seconds", &[], seconds);
        match failure {
            None => self.set("tilepress_sync_last_success_timestamp_seconds", &[], now_unix().floor()),
            Some(reason) => self.add("tilepress_sync_failures_total", &[("reason", reason)], 1.0),
        }
    }

    /// The text exposition, with the counters of `previous` (the file an earlier run left) added in.
    pub fn render(&self, previous: Option<&str>) -> String {
        SYNC.render(&self.samples, previous)
    }

    /// Writes the file (temp file, then rename), the counters of the file already there carried forward.
    pub fn write_file(&self, path: &Path) -> std::io::Result<()> {
        SYNC.write_file(&self.samples, path)
    }

    fn set(&mut self, name: &str, extra: &[(&str, &str)], value: f64) {
        if let Some(key) = self.key(name, extra) {
            self.samples.insert(key, value);
        }
    }

    fn add(&mut self, name: &str, extra: &[(&str, &str)], value: f64) {
        if let Some(key) = self.key(name, extra) {
            *self.samples.entry(key).or_insert(0.0) += value;
        }
    }

    fn key(&self, name: &str, extra: &[(&str, &str)]) -> Option<(usize, String)> {
        let index = SYNC.index(name)?;
        let mut labels = format!("set=\"{}\"", escape(&self.set));
        for (key, value) in extra {
            labels.push_str(&format!(",{key}=\"{}\"", escape(value)));
        }
        Some((index, format!("{name}{{{labels}}}")))
    }
}

fn now_unix() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_and_kind_is_written_from_the_first_run() {
        let mut m = SyncMetrics::new("default.valletta");
        m.finish(None, 1.5);
        let text = m.render(None);
        for reason in FAILURE_REASONS {
            assert!(
                text.contains(&format!(
                    "tilepress_sync_failures_total{{set=\"default.valletta\",reason=\"{reason}\"}} 0"
                ))
            );
        }
        for kind in BYTE_KINDS {
            assert!(
                text.contains(&format!("tilepress_sync_bytes_total{{set=\"default.valletta\",kind=\"{kind}\"}} 0"))
            );
        }
        assert!(text.contains("tilepress_sync_duration_seconds{set=\"default.valletta\"} 1.5"));
        assert_eq!(text.matches("# TYPE tilepress_sync_failures_total counter").count(), 1);
    }

    #[test]
    fn counters_grow_and_the_last_success_and_age_survive_a_failed_run() {
        let mut first = SyncMetrics::new("monaco");
        first.add_bytes("archive", 1000);
        first.add_resumes(2);
        first.set_version_created(now_unix() - 60.0);
        first.finish(None, 3.0);
        let before = first.render(None);
        let mut second = SyncMetrics::new("monaco");
        second.add_bytes("delta", 10);
        second.finish(Some("network"), 0.5);
        let after = second.render(Some(&before));
        assert!(after.contains("tilepress_sync_bytes_total{set=\"monaco\",kind=\"archive\"} 1000"));
        assert!(after.contains("tilepress_sync_bytes_total{set=\"monaco\",kind=\"delta\"} 10"));
        assert!(after.contains("tilepress_sync_resumes_total{set=\"monaco\"} 2"));
        assert!(after.contains("tilepress_sync_failures_total{set=\"monaco\",reason=\"network\"} 1"));
        assert!(after.contains("tilepress_sync_last_success_timestamp_seconds{set=\"monaco\"}"));
        let age_line = after.lines().find(|l| l.starts_with("tilepress_sync_version_age_seconds")).unwrap();
        let age: f64 = age_line.rsplit_once(' ').unwrap().1.parse().unwrap();
        assert!((59.0..120.0).contains(&age), "{age_line}");
        assert!(after.contains("tilepress_sync_duration_seconds{set=\"monaco\"} 0.5"));
    }
}
