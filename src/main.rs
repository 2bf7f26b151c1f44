//! The `tilepress` binary: parse the command line, set up logging, run the job, turn the result into an exit
//! code (0 success; see the README for the others).

mod cli;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use cli::{BuildArgs, Cli, Command, LogFormat};
use tilepress::{BuildOptions, Tileset};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    let result = match cli.command {
        Command::Build(args) => run_build(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            eprintln!("error: {err}");
            ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(1))
        }
    }
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

fn run_build(args: BuildArgs) -> tilepress::Result<()> {
    let tileset = Tileset::load(&args.tileset)?;
    let output = args.output.unwrap_or_else(|| {
        let name = match &args.region {
            Some(region) => format!("{}.{region}.mbtiles", tileset.name),
            None => format!("{}.mbtiles", tileset.name),
        };
        PathBuf::from("out").join(name)
    });
    let options = BuildOptions {
        output,
        region: args.region,
        bbox: args.bbox,
        minzoom: args.minzoom,
        maxzoom: args.maxzoom,
        threads: args.threads.map(usize::from),
        progress_bar: !args.no_progress && !args.json && std::io::stderr().is_terminal(),
    };
    let summary = tilepress::build(&tileset, &options)?;
    if args.json {
        match serde_json::to_string(&summary) {
            Ok(json) => println!("{json}"),
            Err(err) => eprintln!("error: cannot write the summary as JSON: {err}"),
        }
    } else {
        println!("{summary}");
    }
    Ok(())
}
