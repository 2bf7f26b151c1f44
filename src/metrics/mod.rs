//! Run metrics in the Prometheus text format, for batch jobs: written to a file (the node_exporter textfile
//! collector convention: a temp file renamed into place) and/or pushed to a Pushgateway when the command ends.
//!
//! Every series carries `tileset`, `region` (`all` for a whole tileset) and `command` (so that the files or
//! Pushgateway groups of different commands on one set never export the same series). Gauges
//! describe the last run; the `_total` counters (failures, pointer swaps, rollbacks) and
//! `tilepress_last_success_timestamp_seconds` are carried forward from the metrics file the previous run left,
//! so a textfile collector sees them grow across runs. The names are listed in [`FAMILIES`] and in
//! `docs/infra/config.md`. A device's `tilepress sync` writes a file of its own kind ([`SyncMetrics`], labelled
//! by `set` only); both render through [`Exposition`] (`text.rs`).

mod sync;
mod text;

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::BuildSummary;
use crate::publish::{DiffSummary, DrillReport, DrillStep, PromoteReport, PublishReport};

pub use sync::{SYNC_FAMILIES, SyncMetrics};
pub use text::{Exposition, Family, Samples, escape, parse_samples};

/// Every metric family: name, type, help.
pub const FAMILIES: &[Family] = &[
    ("tilepress_run_success", "gauge", "1 if the last run of the command succeeded, 0 if it failed."),
    ("tilepress_run_timestamp_seconds", "gauge", "Unix time at which the last run ended."),
    ("tilepress_run_duration_seconds", "gauge", "Wall time of the last run."),
    ("tilepress_last_success_timestamp_seconds", "gauge", "Unix time at which the last successful run ended."),
    ("tilepress_failures_total", "counter", "Failed runs, by the stage that failed."),
    ("tilepress_build_duration_seconds", "gauge", "Wall time of the last build."),
    ("tilepress_build_tiles", "gauge", "Tiles written by the last build, per zoom."),
    ("tilepress_build_tile_bytes", "gauge", "Bytes of all tiles written by the last build."),
    (
        "tilepress_build_features",
        "gauge",
        "Features of the last build: read, empty (no geometry), skipped (invalid), filtered (layer filters), dropped (tile budget).",
    ),
    ("tilepress_publish_duration_seconds", "gauge", "Wall time of the last publish or promote (upload and swap)."),
    ("tilepress_publish_objects", "gauge", "Objects of the last publish: uploaded, or skipped (already stored)."),
    ("tilepress_publish_bytes", "gauge", "Bytes uploaded by the last publish or promote."),
    ("tilepress_publish_retries", "gauge", "Store requests retried during the last run (5xx, throttling, 409)."),
    (
        "tilepress_publish_tiles",
        "gauge",
        "Tiles added, changed and removed by the last publish against the live version.",
    ),
    ("tilepress_live_tiles", "gauge", "Tiles in the live version after the last run."),
    ("tilepress_live_bytes", "gauge", "Tile bytes in the live version after the last run."),
    ("tilepress_pointer_swaps_total", "counter", "Pointer swaps made, by kind: publish, rollback, promote."),
    ("tilepress_rollbacks_total", "counter", "Rollbacks performed."),
    ("tilepress_drill_success", "gauge", "1 if the last rollback drill passed, 0 if it failed."),
    ("tilepress_drill_rollback_seconds", "gauge", "Time of the last drill's rollback to the previous version."),
    ("tilepress_drill_rollforward_seconds", "gauge", "Time of the last drill's rollback to the live version again."),
    ("tilepress_drill_verify_seconds", "gauge", "Time of the last drill's verify of each version: previous, live."),
    (
        "tilepress_drill_stranded",
        "gauge",
        "1 if the last drill failed and could not put the live version back (the previous one is live).",
    ),
];

/// Families whose previous values are carried into the next file.
const CARRIED: &[&str] = &["tilepress_failures_total", "tilepress_pointer_swaps_total", "tilepress_rollbacks_total"];

/// The batch commands' metrics file.
const RUN: Exposition =
    Exposition { families: FAMILIES, carried: CARRIED, kept: &["tilepress_last_success_timestamp_seconds"] };

/// The metrics of one run of one command.
#[derive(Debug, Clone)]
pub struct RunMetrics {
    tileset: String,
    region: String,
    command: String,
    /// `name{labels}` → value, in family order then label order.
    samples: Samples,
}

impl RunMetrics {
    /// Metrics for `command` on a tileset (and region) — for set names (`NAME.REGION`) use [`RunMetrics::for_set`].
    /// A dry run is its own command (`publish-dry-run`), so it never stands in for the real one.
    pub fn new(tileset: &str, region: Option<&str>, command: &str) -> RunMetrics {
        RunMetrics {
            tileset: tileset.to_owned(),
            region: region.unwrap_or("all").to_owned(),
            command: command.to_owned(),
            samples: Samples::new(),
        }
    }

    /// Metrics for a published set name: `NAME` or `NAME.REGION`.
    pub fn for_set(set: &str, command: &str) -> RunMetrics {
        let (tileset, region) = match set.split_once('.') {
            Some((name, region)) => (name, Some(region)),
            None => (set, None),
        };
        RunMetrics::new(tileset, region, command)
    }

    /// The `tileset`, `region` and `command` labels, for log lines.
    pub fn labels(&self) -> (&str, &str, &str) {
        (&self.tileset, &self.region, &self.command)
    }

    /// Names the tileset (once it is loaded: its `name`, not the file's); applies to samples set afterwards.
    pub fn set_tileset(&mut self, name: &str) {
        name.clone_into(&mut self.tileset);
    }

    /// Sets a sample; `extra` labels come after `tileset`, `region` and `command`.
    pub fn set(&mut self, name: &str, extra: &[(&str, &str)], value: f64) {
        if let Some(key) = self.key(name, extra) {
            self.samples.insert(key, value);
        }
    }

    /// Adds to a counter sample (this run's increments; earlier runs' values are added when writing).
    pub fn add(&mut self, name: &str, extra: &[(&str, &str)], value: f64) {
        if let Some(key) = self.key(name, extra) {
            *self.samples.entry(key).or_insert(0.0) += value;
        }
    }

    fn key(&self, name: &str, extra: &[(&str, &str)]) -> Option<(usize, String)> {
        let index = RUN.index(name)?;
        let mut labels = format!(
            "tileset=\"{}\",region=\"{}\",command=\"{}\"",
            escape(&self.tileset),
            escape(&self.region),
            escape(&self.command)
        );
        for (key, value) in extra {
            let _ = write!(labels, ",{key}=\"{}\"", escape(value));
        }
        Some((index, format!("{name}{{{labels}}}")))
    }

    /// The figures of a finished build.
    pub fn record_build(&mut self, summary: &BuildSummary) {
        self.set("tilepress_build_duration_seconds", &[], summary.wall_seconds);
        for (zoom, tiles) in &summary.tiles_per_zoom {
            self.set("tilepress_build_tiles", &[("zoom", &zoom.to_string())], *tiles as f64);
        }
        self.set("tilepress_build_tile_bytes", &[], summary.tile_bytes as f64);
        for (outcome, count) in [
            ("read", summary.features_read),
            ("empty", summary.features_empty),
            ("skipped", summary.features_skipped),
            ("filtered", summary.features_filtered),
            ("dropped", summary.features_dropped),
        ] {
            self.set("tilepress_build_features", &[("outcome", outcome)], count as f64);
        }
    }

    /// The figures of a publish; `live` is the live version's (tiles, bytes) afterwards, if known.
    pub fn record_publish(&mut self, report: &PublishReport, live: Option<(u64, u64)>) {
        let objects = (report.objects_uploaded, report.objects_skipped, report.bytes_uploaded);
        self.record_transfer(report.seconds, objects, report.diff);
        if report.outcome == "published" {
            self.add("tilepress_pointer_swaps_total", &[("kind", "publish")], 1.0);
        }
        self.record_live(live);
    }

    /// The figures of a promote (copies count as uploads to the target store).
    pub fn record_promote(&mut self, report: &PromoteReport) {
        let objects = (report.objects_copied, report.objects_skipped, report.bytes_copied);
        self.record_transfer(report.seconds, objects, report.diff);
        if report.outcome == "promoted" {
            self.add("tilepress_pointer_swaps_total", &[("kind", "promote")], 1.0);
        }
        if report.outcome != "dry-run" {
            self.record_live(Some((report.tiles, report.bytes)));
        }
    }

    /// Duration, (objects uploaded, objects skipped, bytes uploaded) and tile changes of a publish or promote.
    fn record_transfer(&mut self, seconds: f64, (uploaded, skipped, bytes): (u64, u64, u64), d: DiffSummary) {
        self.set("tilepress_publish_duration_seconds", &[], seconds);
        self.set("tilepress_publish_objects", &[("outcome", "uploaded")], uploaded as f64);
        self.set("tilepress_publish_objects", &[("outcome", "skipped")], skipped as f64);
        self.set("tilepress_publish_bytes", &[("outcome", "uploaded")], bytes as f64);
        for (change, count) in [("added", d.added), ("changed", d.changed), ("removed", d.removed)] {
            self.set("tilepress_publish_tiles", &[("change", change)], count as f64);
        }
    }

    /// The figures of a rollback drill, passed or failed (its rollbacks are swaps, not `tilepress_rollbacks_total`).
    pub fn record_drill(&mut self, report: &DrillReport) {
        self.set("tilepress_drill_success", &[], if report.outcome == "passed" { 1.0 } else { 0.0 });
        self.set("tilepress_drill_stranded", &[], if report.stranded { 1.0 } else { 0.0 });
        let timed = [
            ("tilepress_drill_rollback_seconds", DrillStep::Rollback, None),
            ("tilepress_drill_rollforward_seconds", DrillStep::Rollforward, None),
            ("tilepress_drill_verify_seconds", DrillStep::VerifyPrevious, Some("previous")),
            ("tilepress_drill_verify_seconds", DrillStep::VerifyLive, Some("live")),
        ];
        for (name, step, target) in timed {
            match (report.seconds_of(step), target) {
                (Some(seconds), Some(target)) => self.set(name, &[("target", target)], seconds),
                (Some(seconds), None) => self.set(name, &[], seconds),
                (None, _) => {}
            }
        }
        if report.swaps > 0 {
            self.add("tilepress_pointer_swaps_total", &[("kind", "rollback")], report.swaps as f64);
        }
        if report.outcome == "passed" {
            self.record_live(Some((report.tiles, report.bytes)));
        }
    }

    /// The live version's size after the run.
    pub fn record_live(&mut self, live: Option<(u64, u64)>) {
        if let Some((tiles, bytes)) = live {
            self.set("tilepress_live_tiles", &[], tiles as f64);
            self.set("tilepress_live_bytes", &[], bytes as f64);
        }
    }

    /// Store requests retried during the run.
    pub fn record_retries(&mut self, retries: u64) {
        self.set("tilepress_publish_retries", &[], retries as f64);
    }

    /// Closes the run: success or the failing stage, its duration and end time.
    pub fn finish(&mut self, failed_stage: Option<&str>, duration: Duration) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        self.set("tilepress_run_success", &[], if failed_stage.is_none() { 1.0 } else { 0.0 });
        self.set("tilepress_run_timestamp_seconds", &[], now.floor());
        self.set("tilepress_run_duration_seconds", &[], duration.as_secs_f64());
        match failed_stage {
            None => self.set("tilepress_last_success_timestamp_seconds", &[], now.floor()),
            Some(stage) => self.add("tilepress_failures_total", &[("stage", stage)], 1.0),
        }
    }

    /// The text exposition, with the carried series of `previous` (an earlier file's text) merged in.
    pub fn render(&self, previous: Option<&str>) -> String {
        RUN.render(&self.samples, previous)
    }

    /// Writes the metrics file (temp file, then rename), the previous file's carried series merged in.
    pub fn write_file(&self, path: &Path) -> std::io::Result<()> {
        RUN.write_file(&self.samples, path)
    }

    /// Pushes this run's metrics to a Pushgateway (`PUT URL/metrics/job/tilepress/tileset/T/region/R/command/C`:
    /// the group of this tileset, region and command is replaced).
    pub fn push(&self, gateway: &str) -> Result<(), String> {
        let url = format!(
            "{}/metrics/job/tilepress/tileset/{}/region/{}/command/{}",
            gateway.trim_end_matches('/'),
            path_segment(&self.tileset),
            path_segment(&self.region),
            path_segment(&self.command)
        );
        let body = self.render(None);
        let agent: ureq::Agent =
            ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(10))).build().into();
        agent
            .put(&url)
            .header("Content-Type", "text/plain; version=0.0.4")
            .send(body.as_bytes())
            .map(|_| ())
            .map_err(|e| format!("{}: {e}", redact_url(gateway)))
    }
}

/// A label value as a Pushgateway URL path segment (names here are letters, digits, `.`, `_`, `-`).
fn path_segment(value: &str) -> String {
    value.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' }).collect()
}

/// A URL without any `user:password@` part, for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://…@{}", &url[..scheme], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> RunMetrics {
        let mut m = RunMetrics::for_set("default.valletta", "publish");
        m.set("tilepress_build_tiles", &[("zoom", "3")], 64.0);
        m
    }

    #[test]
    fn renders_families_with_help_and_type_once() {
        let mut m = run();
        m.set("tilepress_build_tiles", &[("zoom", "4")], 256.0);
        m.finish(None, Duration::from_millis(1500));
        let text = m.render(None);
        assert_eq!(text.matches("# TYPE tilepress_build_tiles gauge").count(), 1);
        assert!(text.contains(
            "tilepress_build_tiles{tileset=\"default\",region=\"valletta\",command=\"publish\",zoom=\"4\"} 256\n"
        ));
        assert!(
            text.contains("tilepress_run_success{tileset=\"default\",region=\"valletta\",command=\"publish\"} 1\n")
        );
        assert!(!text.contains("tilepress_failures_total"));
    }

    #[test]
    fn counters_and_last_success_carry_over_from_the_previous_file() {
        let mut first = run();
        first.finish(Some("store"), Duration::from_secs(1));
        let mut second = run();
        second.finish(Some("store"), Duration::from_secs(1));
        let text = second.render(Some(&first.render(None)));
        assert!(
            text.contains("tilepress_failures_total{tileset=\"default\",region=\"valletta\",command=\"publish\",stage=\"store\"} 2\n"),
            "{text}"
        );
        assert!(!text.contains("tilepress_last_success_timestamp_seconds"), "no success yet");

        let mut ok = run();
        ok.finish(None, Duration::from_secs(1));
        let after_success = ok.render(Some(&text));
        let mut failed = run();
        failed.finish(Some("build"), Duration::from_secs(1));
        let last = failed.render(Some(&after_success));
        assert!(last.contains("tilepress_last_success_timestamp_seconds{"), "carried: {last}");
        assert!(last.contains("stage=\"store\"} 2\n") && last.contains("stage=\"build\"} 1\n"), "{last}");
        assert!(last.contains("tilepress_run_success{tileset=\"default\",region=\"valletta\",command=\"publish\"} 0"));
    }

    #[test]
    fn label_values_are_escaped_and_urls_redacted() {
        let mut m = RunMetrics::new("a\"b", None, "build");
        m.set("tilepress_build_tile_bytes", &[], 1.0);
        assert!(m.render(None).contains("tileset=\"a\\\"b\",region=\"all\",command=\"build\""));
        assert_eq!(redact_url("https://user:pw@push.example:9091"), "https://…@push.example:9091");
        assert_eq!(path_segment("x/y"), "x_y");
    }
}
