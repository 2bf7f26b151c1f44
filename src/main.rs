//! The `tilepress` binary: parse the command line, set up logging, run the job, turn the result into an exit
//! code (0 success; see the README for the others).

mod cli;
mod commands;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use cli::{Cli, Command, LogFormat};
use tilepress::metrics::RunMetrics;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    let started = Instant::now();
    // sync writes a device's metrics file of its own (tilepress_sync_*), not the batch commands' one.
    if let Command::Sync(args) = cli.command {
        return ExitCode::from(commands::sync::run(args, cli.metrics_file.as_deref()));
    }
    let mut metrics = commands::metrics_for(&cli.command);
    let command = cli.command;
    let (code, failed_stage) = match command {
        Command::Build(args) => exit(commands::build(args, &mut metrics), &metrics),
        Command::Manifest(args) => exit(commands::manifest(args), &metrics),
        Command::Convert(args) => exit(commands::convert(args), &metrics),
        Command::Publish(args) => exit(commands::publish(args, &mut metrics), &metrics),
        Command::Versions(args) => exit(commands::versions(args), &metrics),
        Command::Rollback(args) => exit(commands::rollback(args, &mut metrics), &metrics),
        Command::Drill(args) => exit(commands::drill(args, &mut metrics), &metrics),
        Command::Gc(args) => exit(commands::gc(args, &mut metrics), &metrics),
        Command::Promote(args) => exit(commands::promote(args, &mut metrics), &metrics),
        Command::Mosaic(args) => exit(commands::mosaic(args), &metrics),
        // Returned above, with its own metrics file; kept here so the match stays exhaustive.
        Command::Sync(args) => (ExitCode::from(commands::sync::run(args, None)), None),
        Command::Verify(args) => match commands::verify(args, &mut metrics) {
            Ok(true) => (ExitCode::SUCCESS, None),
            Ok(false) => (ExitCode::from(8), Some("verify")),
            Err(err) => fail(&err, &metrics),
        },
        // diff(1)'s convention: 0 identical, 1 different, 2 trouble.
        Command::Diff(args) => match commands::diff(args) {
            Ok(true) => (ExitCode::SUCCESS, None),
            Ok(false) => (ExitCode::from(1), None),
            Err(err) => {
                report(&err, &metrics);
                (ExitCode::from(2), Some(err.stage()))
            }
        },
    };
    metrics.finish(failed_stage, started.elapsed());
    write_metrics(&metrics, cli.metrics_file.as_deref(), cli.pushgateway.as_deref());
    code
}

/// Writes and pushes the run's metrics; trouble here is a warning, never a failed run.
fn write_metrics(metrics: &RunMetrics, file: Option<&std::path::Path>, gateway: Option<&str>) {
    if let Some(path) = file
        && let Err(err) = metrics.write_file(path)
    {
        tracing::warn!(path = %path.display(), error = %err, "cannot write the metrics file");
    }
    if let Some(url) = gateway.filter(|u| !u.is_empty())
        && let Err(err) = metrics.push(url)
    {
        tracing::warn!(error = %err, "cannot push metrics to the Pushgateway");
    }
}

fn exit(result: tilepress::Result<()>, metrics: &RunMetrics) -> (ExitCode, Option<&'static str>) {
    match result {
        Ok(()) => (ExitCode::SUCCESS, None),
        Err(err) => fail(&err, metrics),
    }
}

fn fail(err: &tilepress::Error, metrics: &RunMetrics) -> (ExitCode, Option<&'static str>) {
    report(err, metrics);
    (ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(1)), Some(err.stage()))
}

/// The error on stderr for a person, and as a log line with its context for the log shipper.
fn report(err: &tilepress::Error, metrics: &RunMetrics) {
    let (tileset, region, command) = metrics.labels();
    tracing::error!(error = %err, stage = err.stage(), tileset, region, command, "failed");
    eprintln!("error: {err}");
}

/// Crates whose logs may carry credentials or signed requests.
const SDK_TARGETS: &[&str] = &[
    "aws_config",
    "aws_credential_types",
    "aws_runtime",
    "aws_sdk_s3",
    "aws_sdk_sso",
    "aws_sdk_ssooidc",
    "aws_sdk_sts",
    "aws_sigv4",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "aws_smithy_types",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
];

fn init_logging(cli: &Cli) {
    let default = match (cli.quiet, cli.verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // The AWS SDK's debug and trace output shows request headers, signing steps and credentials (the access key
    // ID at least): capped whatever RUST_LOG or -vv asks for, so that no credential reaches a log.
    for target in SDK_TARGETS {
        if let Ok(directive) = format!("{target}=info").parse() {
            filter = filter.add_directive(directive);
        }
    }
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = match cli.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Human => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
    };
    if let Err(err) = result {
        eprintln!("warning: cannot set up logging: {err}");
    }
}
