//! `tilepress sync`: keep a device's file of one published set current, over links that drop.

use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing::info;

use crate::cli::SyncArgs;
use tilepress::metrics::SyncMetrics;
use tilepress::sync::{ByteProgress, DownloadOptions, Source, SyncError, SyncReport, SyncRequest, sync};

/// Runs the sync, writes its metrics file (success or failure), and returns the exit code.
pub fn run(args: SyncArgs, metrics_file: Option<&Path>) -> u8 {
    let started = Instant::now();
    let mut metrics = SyncMetrics::new(&args.set);
    let result = run_sync(&args);
    match &result {
        Ok(report) => {
            metrics.add_bytes("delta", report.delta_bytes_fetched);
            metrics.add_bytes("archive", report.archive_bytes_fetched);
            metrics.add_bytes("metadata", report.metadata_bytes_fetched);
            metrics.add_resumes(u64::from(report.resumes));
            // 0 in records of tilepress versions before created_ns: no age then.
            if report.version_created_ns > 0 {
                metrics.set_version_created(report.version_created_ns as f64 / 1e9);
            }
            metrics.finish(None, started.elapsed().as_secs_f64());
        }
        Err(err) => metrics.finish(Some(err.reason()), started.elapsed().as_secs_f64()),
    }
    if let Some(path) = metrics_file
        && let Err(err) = metrics.write_file(path)
    {
        tracing::warn!(path = %path.display(), error = %err, "cannot write the metrics file");
    }
    match result {
        Ok(report) => {
            print_report(&report, args.json);
            0
        }
        Err(err) => {
            let kept = if args.output.exists() {
                format!("{} is untouched: the version it holds stays in use", args.output.display())
            } else {
                format!("{} was not created", args.output.display())
            };
            tracing::error!(error = %err, reason = err.reason(), set = %args.set, "sync failed");
            eprintln!("error: {err}\n{kept}{}", if err.reason() == "network" { "; rerun to resume" } else { "" });
            if args.json {
                super::print_json(&serde_json::json!({
                    "set": args.set, "output": args.output.display().to_string(), "outcome": "failed",
                    "reason": err.reason(), "error": err.to_string(),
                }));
            }
            err.exit_code()
        }
    }
}

fn run_sync(args: &SyncArgs) -> Result<SyncReport, SyncError> {
    let source = Source::parse(&args.source, args.endpoint.as_deref())?;
    let request = SyncRequest {
        source: &source,
        set: &args.set,
        output: &args.output,
        download: DownloadOptions {
            limit_rate: args.limit_rate,
            retries: args.retries,
            timeout: Duration::from_secs(args.timeout),
            ..DownloadOptions::default()
        },
        use_deltas: !args.no_delta,
    };
    let bar = (!args.json && !args.no_progress && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "[{bar:40}] {bytes}/{total_bytes} {bytes_per_sec}, {elapsed} elapsed, about {eta} left",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    });
    let mut last_log = Instant::now();
    let mut on_progress = |p: ByteProgress| match &bar {
        Some(bar) => {
            bar.set_length(p.total);
            bar.set_position(p.done);
        }
        None if last_log.elapsed() >= Duration::from_secs(5) => {
            last_log = Instant::now();
            let percent = if p.total > 0 { 100.0 * p.done as f64 / p.total as f64 } else { 0.0 };
            info!(done = p.done, total = p.total, "downloaded {percent:.0}%");
        }
        None => {}
    };
    let report = sync(&request, &mut on_progress);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    report
}

fn print_report(report: &SyncReport, json: bool) {
    if json {
        super::print_json(report);
        return;
    }
    match report.outcome {
        "up-to-date" => say!("{}: {} already holds the live version {}", report.set, report.output, report.version),
        _ => say!(
            "{}: {} {} version {} via {} ({} of {} bytes fetched; full archive {} bytes){}\n  time  {:.2} s, {} resumes, {} retries",
            report.set,
            report.output,
            if report.outcome == "installed" { "installed" } else { "updated to" },
            report.version,
            match (report.via, report.previous_version.as_deref()) {
                ("delta", Some(from)) => format!("a delta from {from}"),
                _ => "the whole archive".to_owned(),
            },
            report.bytes_fetched,
            report.object_bytes,
            report.archive_bytes,
            report.delta_fallback.as_deref().map(|why| format!("\n  delta not used: {why}")).unwrap_or_default(),
            report.seconds,
            report.resumes,
            report.retries
        ),
    }
}
