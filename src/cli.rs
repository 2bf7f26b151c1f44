//! The command line (clap): one subcommand per user job, resolved once into the options the library takes.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Build map tilesets into MBTiles.
#[derive(Debug, Parser)]
#[command(name = "tilepress", version, about, long_about = None)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Human, global = true)]
    pub log_format: LogFormat,
    /// More log output (-v: debug, -vv: trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only warnings and errors in the log.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Write the run's metrics (Prometheus text) to this file when the command ends, success or failure: the
    /// node_exporter textfile collector's convention (temp file, then rename; counters carried across runs).
    #[arg(long, env = "TILEPRESS_METRICS_FILE", global = true, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
    /// Push the run's metrics to this Prometheus Pushgateway when the command ends, success or failure.
    #[arg(long, env = "TILEPRESS_PUSHGATEWAY", global = true, value_name = "URL")]
    pub pushgateway: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a tileset (a tilesets/*.toml file) into an MBTiles file and its manifest.
    Build(BuildArgs),
    /// Write the manifest (SHA-256 of every tile) of any MBTiles or PMTiles file.
    Manifest(ManifestArgs),
    /// Convert an MBTiles into a PMTiles or back (format by extension), every tile's bytes kept.
    Convert(ConvertArgs),
    /// Compare two manifests: exit 0 if identical, 1 if they differ, 2 on error.
    Diff(DiffArgs),
    /// Build a tileset (or take --mbtiles) and publish it as a new version: upload what the store lacks, then
    /// swap the pointer atomically.
    Publish(PublishArgs),
    /// List the versions of a published set and which one is live.
    Versions(SetArgs),
    /// Make an earlier version live again (default: the previous one), without uploading anything.
    Rollback(RollbackArgs),
    /// Check that every object of a version (default: the live one) is present with the right checksum.
    Verify(VerifyArgs),
    /// Rehearse a rollback: make the previous version live, verify it, make the live version live again, verify
    /// it, timing each step; after any failure put the live version back.
    Drill(SetArgs),
    /// Remove tiles, archives and versions that no retained version needs (older than a grace period).
    Gc(GcArgs),
    /// Make a version of one store (staging) live in another (production) with no rebuild: copy the objects the
    /// target lacks, verify the whole version there, then swap the target's pointer.
    Promote(PromoteArgs),
    /// Lay the PNG tiles of one zoom of a raster MBTiles side by side in one PNG, to look at a build.
    Mosaic(MosaicArgs),
    /// Keep a device's file of a published set current: fetch the delta from the version it holds (or the whole
    /// archive), resume dropped downloads, verify every tile, then swap the file in with one rename.
    Sync(SyncArgs),
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Where the set is published: the CDN or web server in front of a store (https://HOST/PREFIX), or the store
    /// itself (file://DIR, s3://BUCKET/PREFIX).
    pub source: String,
    /// The published set: NAME or NAME.REGION.
    pub set: String,
    /// The device's file, `.mbtiles` or `.pmtiles`; replaced only by a complete, verified file.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Cap the download rate: bytes per second, with k, M or G (1024 multiples), e.g. 200k.
    #[arg(long, value_parser = tilepress::sync::parse_rate)]
    pub limit_rate: Option<u64>,
    /// Retries after a failed request or a dropped transfer that made no progress.
    #[arg(long, default_value_t = 10)]
    pub retries: u32,
    /// Seconds without a byte before a request counts as failed.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Always fetch the whole archive, never a delta.
    #[arg(long)]
    pub no_delta: bool,
    /// S3 endpoint for an s3:// source on an S3-compatible server (overrides AWS_ENDPOINT_URL).
    #[arg(long)]
    pub endpoint: Option<String>,
    /// No progress bar, even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The published set: NAME or NAME.REGION.
    pub set: String,
    /// The store the version comes from: file://DIR or s3://BUCKET/PREFIX.
    #[arg(long)]
    pub from: String,
    /// The store to make it live in.
    #[arg(long)]
    pub to: String,
    /// The version to promote [default: the one live in --from].
    #[arg(long)]
    pub version: Option<String>,
    /// S3 endpoint of the --from store (overrides AWS_ENDPOINT_URL).
    #[arg(long)]
    pub from_endpoint: Option<String>,
    /// S3 endpoint of the --to store (overrides AWS_ENDPOINT_URL).
    #[arg(long)]
    pub to_endpoint: Option<String>,
    /// Say what would be copied; copy nothing and swap nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Allow a version that removes more than 20% of the target's live tiles or bytes.
    #[arg(long)]
    pub allow_shrink: bool,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MosaicArgs {
    /// The raster MBTiles (format png).
    pub mbtiles: PathBuf,
    /// The zoom level to show.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=30))]
    pub zoom: u8,
    /// Only the tiles covering this area: W,S,E,N in degrees [default: every tile stored at that zoom].
    #[arg(long, value_parser = parse_bbox, allow_hyphen_values = true)]
    pub bbox: Option<tilepress::Bbox>,
    /// Painted under the tiles and where tiles are missing: "#rrggbb" or "#rrggbbaa" [default: transparent].
    #[arg(long, value_parser = parse_color)]
    pub background: Option<tilepress::config::Color>,
    /// The PNG to write.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    #[command(flatten)]
    pub target: SetArgs,
    /// Keep the newest N versions besides the live one.
    #[arg(long, default_value_t = 5)]
    pub keep: usize,
    /// Also keep this version (repeatable).
    #[arg(long = "keep-version")]
    pub keep_versions: Vec<String>,
    /// Never remove anything younger than this: 7d, 12h, 30m, 45s, 0.
    #[arg(long, default_value = "7d", value_parser = tilepress::publish::parse_grace)]
    pub grace: std::time::Duration,
    /// List what would be removed; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// The default store: a local folder standing in for S3.
pub const DEFAULT_STORE: &str = "file://out/store";

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The tileset file (names the published set: NAME, or NAME.REGION with --region).
    pub tileset: PathBuf,
    /// The store: file://DIR or s3://BUCKET/PREFIX.
    #[arg(long, default_value = DEFAULT_STORE)]
    pub to: String,
    /// S3 endpoint for an S3-compatible server (overrides AWS_ENDPOINT_URL).
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Publish one named region of the tileset (set NAME.REGION).
    #[arg(long)]
    pub region: Option<String>,
    /// Publish this MBTiles instead of building (its manifest is computed).
    #[arg(long)]
    pub mbtiles: Option<PathBuf>,
    /// Say what would be uploaded; upload nothing and swap nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Allow a publish that removes more of the live version's tiles or bytes than the tileset's
    /// `[publish] max_shrink` (default 20%).
    #[arg(long)]
    pub allow_shrink: bool,
    /// Worker threads for the build (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Never draw a progress bar (log lines instead).
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Debug, Args)]
pub struct SetArgs {
    /// The published set: NAME or NAME.REGION.
    pub set: String,
    /// The store: file://DIR or s3://BUCKET/PREFIX.
    #[arg(long, default_value = DEFAULT_STORE)]
    pub to: String,
    /// S3 endpoint for an S3-compatible server (overrides AWS_ENDPOINT_URL).
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub target: SetArgs,
    /// The version to make live [default: the previous one].
    #[arg(long)]
    pub version: Option<String>,
    /// Refuse (exit 7, nothing swapped) unless this is the live version: roll back from what you looked at.
    #[arg(long, value_name = "VERSION")]
    pub expect_live: Option<String>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub target: SetArgs,
    /// The version to check [default: the live one].
    #[arg(long)]
    pub version: Option<String>,
}

#[derive(Debug, Args)]
pub struct ManifestArgs {
    /// The MBTiles or PMTiles file (ours or another tool's).
    pub mbtiles: PathBuf,
    /// Output path [default: beside the archive, NAME.manifest.zst].
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The archive to read: .mbtiles or .pmtiles (else told by its first bytes).
    pub input: PathBuf,
    /// The archive to write: .pmtiles or .mbtiles.
    pub output: PathBuf,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older manifest.
    pub old: PathBuf,
    /// The newer manifest.
    pub new: PathBuf,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// List every changed tile: `z/x/y  old-hash → new-hash` (`-` where absent).
    #[arg(long)]
    pub list: bool,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The tileset file.
    pub tileset: PathBuf,
    /// Output path, .mbtiles or .pmtiles [default: out/NAME.mbtiles, or out/NAME.REGION.mbtiles with --region].
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Build only this named region of the tileset.
    #[arg(long, conflicts_with = "bbox")]
    pub region: Option<String>,
    /// Build only this area: W,S,E,N in degrees.
    #[arg(long, value_parser = parse_bbox, allow_hyphen_values = true)]
    pub bbox: Option<tilepress::Bbox>,
    /// Lowest zoom to build (default: the tileset's).
    #[arg(long)]
    pub minzoom: Option<u8>,
    /// Highest zoom to build (default: the tileset's; overrides `maxzoom = "auto"`).
    #[arg(long)]
    pub maxzoom: Option<u8>,
    /// While the deepest zoom still drops features to meet the tile budget, build one zoom deeper (up to 20),
    /// as the tileset's `generalize.extend_zooms_if_still_dropping = true`.
    #[arg(long)]
    pub extend_zooms_if_still_dropping: bool,
    /// Worker threads (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,
    /// Print the summary as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Never draw a progress bar (log lines instead).
    #[arg(long)]
    pub no_progress: bool,
}

fn parse_bbox(text: &str) -> Result<tilepress::Bbox, String> {
    tilepress::Bbox::parse(text)
}

fn parse_color(text: &str) -> Result<tilepress::config::Color, String> {
    tilepress::config::Color::parse(text)
}
