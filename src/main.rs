//! The `tilepress` binary: parse the command line, set up logging, run the job, turn the result into an exit
//! code (0 success; see the README for the others).

mod cli;
mod commands;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use cli::{Cli, Command, LogFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    match cli.command {
        Command::Build(args) => exit(commands::build(args)),
        Command::Manifest(args) => exit(commands::manifest(args)),
        Command::Publish(args) => exit(commands::publish(args)),
        Command::Versions(args) => exit(commands::versions(args)),
        Command::Rollback(args) => exit(commands::rollback(args)),
        Command::Gc(args) => exit(commands::gc(args)),
        Command::Mosaic(args) => exit(commands::mosaic(args)),
        Command::Verify(args) => match commands::verify(args) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(8),
            Err(err) => {
                report(&err);
                ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(1))
            }
        },
        // diff(1)'s convention: 0 identical, 1 different, 2 trouble.
        Command::Diff(args) => match commands::diff(args) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(err) => {
                report(&err);
                ExitCode::from(2)
            }
        },
    }
}

fn exit(result: tilepress::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report(&err);
            ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(1))
        }
    }
}

fn report(err: &tilepress::Error) {
    tracing::error!(error = %err, "failed");
    eprintln!("error: {err}");
}

fn init_logging(cli: &Cli) {
    let default = match (cli.quiet, cli.verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = match cli.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Human => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
    };
    if let Err(err) = result {
        eprintln!("warning: cannot set up logging: {err}");
    }
}
