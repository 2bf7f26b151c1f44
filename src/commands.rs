//! The subcommands: each resolves its arguments, runs the library, and prints for a person or, with `--json`,
//! for a pipeline.

use std::io::IsTerminal;

/// `println!` that does not panic when stdout is closed early (`tilepress diff … | head`).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}
use std::path::PathBuf;

use serde_json::json;

pub mod sync;

use crate::cli::{
    BuildArgs, Command, ConvertArgs, DiffArgs, GcArgs, ManifestArgs, MosaicArgs, PromoteArgs, PublishArgs,
    RollbackArgs, SetArgs, VerifyArgs,
};
use tilepress::manifest::{self, Change, ManifestReader};
use tilepress::metrics::RunMetrics;
use tilepress::publish::{self, PublishRequest};
use tilepress::{BuildOptions, Tileset};

/// The metrics of a run, labelled before anything is read (a tileset's labels are refined once it is loaded).
pub fn metrics_for(command: &Command) -> RunMetrics {
    let stem = |path: &std::path::Path| path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    match command {
        Command::Build(a) => RunMetrics::new(&stem(&a.tileset), a.region.as_deref(), "build"),
        Command::Publish(a) => RunMetrics::new(
            &stem(&a.tileset),
            a.region.as_deref(),
            if a.dry_run { "publish-dry-run" } else { "publish" },
        ),
        Command::Manifest(a) => RunMetrics::new(&stem(&a.mbtiles), None, "manifest"),
        Command::Convert(a) => RunMetrics::new(&stem(&a.input), None, "convert"),
        Command::Diff(a) => RunMetrics::new(&stem(&a.new), None, "diff"),
        Command::Versions(a) => RunMetrics::for_set(&a.set, "versions"),
        Command::Rollback(a) => RunMetrics::for_set(&a.target.set, "rollback"),
        Command::Verify(a) => RunMetrics::for_set(&a.target.set, "verify"),
        Command::Drill(a) => RunMetrics::for_set(&a.set, "drill"),
        Command::Gc(a) => RunMetrics::for_set(&a.target.set, if a.dry_run { "gc-dry-run" } else { "gc" }),
        Command::Promote(a) => RunMetrics::for_set(&a.set, if a.dry_run { "promote-dry-run" } else { "promote" }),
        Command::Mosaic(a) => RunMetrics::new(&stem(&a.mbtiles), None, "mosaic"),
        Command::Sync(a) => RunMetrics::for_set(&a.set, "sync"),
    }
}

pub fn build(args: BuildArgs, metrics: &mut RunMetrics) -> tilepress::Result<()> {
    let tileset = Tileset::load(&args.tileset)?;
    metrics.set_tileset(&tileset.name);
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
        extend_zooms: args.extend_zooms_if_still_dropping,
        threads: args.threads.map(usize::from),
        progress_bar: !args.no_progress && !args.json && std::io::stderr().is_terminal(),
    };
    let summary = tilepress::build(&tileset, &options)?;
    metrics.record_build(&summary);
    if args.json {
        print_json(&summary);
    } else {
        say!("{summary}");
    }
    Ok(())
}

pub fn manifest(args: ManifestArgs) -> tilepress::Result<()> {
    let output = args.output.unwrap_or_else(|| tilepress::pipeline::manifest_path_for(&args.mbtiles));
    let info = manifest::manifest_of_archive(&args.mbtiles, &output)?;
    if args.json {
        print_json(&info);
    } else {
        say!("manifest of {} → {}", args.mbtiles.display(), info.path.display());
        say!("  tiles   {} ({} bytes)", info.tiles, info.bytes);
        say!("  sha256  {}", info.sha256);
    }
    Ok(())
}

pub fn convert(args: ConvertArgs) -> tilepress::Result<()> {
    let summary = tilepress::archive::convert(&args.input, &args.output)?;
    if args.json {
        print_json(&summary);
    } else {
        say!("converted {} → {} ({})", summary.input.display(), summary.output.display(), summary.format);
        say!("  tiles   {} ({} distinct)", summary.tiles, summary.unique_tiles);
        say!("  bytes   {}", summary.bytes);
        if let Some(p) = &summary.pmtiles {
            say!(
                "  pmtiles {} directory entries, {} leaf directories, sha256 {}",
                p.tile_entries,
                p.leaf_directories,
                p.sha256
            );
        }
    }
    Ok(())
}

/// Returns whether the manifests are identical.
pub fn diff(args: DiffArgs) -> tilepress::Result<bool> {
    let mut old = ManifestReader::open(&args.old)?;
    let mut new = ManifestReader::open(&args.new)?;
    // Changes are listed only once both files have been read to the end and checked.
    let mut changes: Vec<Change> = Vec::new();
    let result = manifest::diff(&mut old, &mut new, &mut |change| {
        if args.list {
            changes.push(change);
        }
    })?;
    let identical = result.is_identical();
    if args.json {
        let listed: Vec<serde_json::Value> = changes.iter().map(change_json).collect();
        let mut value = json!({
            "identical": identical,
            "old": { "path": args.old, "tiles": result.old_tiles },
            "new": { "path": args.new, "tiles": result.new_tiles },
            "total": result.total(),
            "per_zoom": result.per_zoom,
            "header_changes": result.header_changes,
        });
        if args.list {
            value["changes"] = serde_json::Value::Array(listed);
        }
        print_json(&value);
        return Ok(identical);
    }
    say!("old  {}  ({} tiles)", args.old.display(), result.old_tiles);
    say!("new  {}  ({} tiles)", args.new.display(), result.new_tiles);
    say!(
        "{:>5} {:>9} {:>9} {:>9} {:>10} {:>12} {:>12}",
        "zoom",
        "added",
        "changed",
        "removed",
        "unchanged",
        "+bytes",
        "-bytes"
    );
    let row = |label: String, z: &manifest::ZoomDiff| {
        let plus = z.added_bytes + z.changed_new_bytes;
        let minus = z.removed_bytes + z.changed_old_bytes;
        say!("{label:>5} {:>9} {:>9} {:>9} {:>10} {plus:>12} {minus:>12}", z.added, z.changed, z.removed, z.unchanged);
    };
    for (z, counts) in &result.per_zoom {
        row(format!("z{z}"), counts);
    }
    row("all".to_owned(), &result.total());
    if !result.header_changes.is_empty() {
        say!("header changes: {}", result.header_changes.join(", "));
    }
    for change in &changes {
        let (tile, old, new) = match change {
            Change::Added(n) => (n.tile, "-".to_owned(), n.hash_hex()),
            Change::Removed(o) => (o.tile, o.hash_hex(), "-".to_owned()),
            Change::Changed { old, new } => (old.tile, old.hash_hex(), new.hash_hex()),
        };
        say!("{tile}  {old} → {new}");
    }
    say!("{}", if identical { "identical" } else { "different" });
    Ok(identical)
}

pub fn publish(args: PublishArgs, metrics: &mut RunMetrics) -> tilepress::Result<()> {
    let tileset = Tileset::load(&args.tileset)?;
    metrics.set_tileset(&tileset.name);
    let set = match &args.region {
        // Also with --mbtiles: a region the tileset does not define must not become a new set in the store.
        Some(region) if !tileset.regions.contains_key(region) => {
            return Err(tilepress::Error::Build(tilepress::pipeline::BuildError::UnknownRegion {
                path: args.tileset.clone(),
                region: region.clone(),
                known: tileset.regions.keys().cloned().collect::<Vec<_>>().join(", "),
            }));
        }
        Some(region) => format!("{}.{region}", tileset.name),
        None => tileset.name.clone(),
    };
    let store = open_store(&args.to, args.endpoint.as_deref())?;
    // The manifest of a given MBTiles: a temporary file with a random name (O_EXCL) in out/, removed when it drops.
    let mut given_manifest = None;
    let (mbtiles, manifest_path) = match &args.mbtiles {
        Some(path) => {
            let local =
                |source| publish::PublishError::from(publish::StoreError::Io { location: "out".to_owned(), source });
            std::fs::create_dir_all("out").map_err(local)?;
            let temp = tempfile::Builder::new()
                .prefix(".tilepress-")
                .suffix(".manifest.zst")
                .tempfile_in("out")
                .map_err(local)?;
            let manifest_path = temp.path().to_owned();
            given_manifest = Some(temp);
            manifest::manifest_of_mbtiles(path, &manifest_path)?;
            (path.clone(), manifest_path)
        }
        None => {
            // Built in a folder of this process's own, so that two publishes of one set on one machine never
            // read each other's half-replaced build; moved to out/SET.mbtiles (+ manifest) when done.
            let output = private_build_dir().join(format!("{set}.mbtiles"));
            let options = BuildOptions {
                output: output.clone(),
                region: args.region.clone(),
                threads: args.threads.map(usize::from),
                progress_bar: !args.json && !args.no_progress && std::io::stderr().is_terminal(),
                ..BuildOptions::default()
            };
            let summary = tilepress::build(&tileset, &options).inspect_err(|_| {
                let _ = std::fs::remove_dir_all(private_build_dir());
            })?;
            metrics.record_build(&summary);
            if !args.json {
                // Shown where the build is kept once the publish ends.
                let mut shown = summary.clone();
                shown.output = PathBuf::from("out").join(format!("{set}.mbtiles"));
                shown.manifest = tilepress::pipeline::manifest_path_for(&shown.output);
                say!("{shown}");
            }
            (output, summary.manifest)
        }
    };
    let request = PublishRequest {
        set: &set,
        mbtiles: &mbtiles,
        manifest: &manifest_path,
        dry_run: args.dry_run,
        allow_shrink: args.allow_shrink,
        max_shrink: tileset.max_shrink,
        deltas: tileset.deltas,
    };
    let result = publish::publish(store.as_ref(), &request);
    if given_manifest.is_none() {
        keep_build(&mbtiles, &manifest_path, &set);
    }
    drop(given_manifest);
    metrics.record_retries(store.retries());
    let report = result?;
    let live = matches!(report.outcome.as_str(), "published" | "unchanged").then_some((report.tiles, report.bytes));
    metrics.record_publish(&report, live);
    if args.json {
        print_json(&report);
        return Ok(());
    }
    let d = report.diff;
    match report.outcome.as_str() {
        "unchanged" => {
            say!("{set}: identical to the live version {}; nothing uploaded, pointer not swapped", report.version)
        }
        "dry-run" => say!(
            "{set}: dry run: would publish {} with {} tile objects to check/upload (+{} ~{} -{} tiles vs {})",
            report.version,
            report.objects_uploaded,
            d.added,
            d.changed,
            d.removed,
            report.previous.as_deref().unwrap_or("nothing")
        ),
        _ => say!(
            "{set}: published {} to {} (previous: {})\n  tiles    +{} added, ~{} changed, -{} removed, {} unchanged\n  objects  {} uploaded ({} bytes), {} already there\n  time     {:.2} s",
            report.version,
            report.store,
            report.previous.as_deref().unwrap_or("none"),
            d.added,
            d.changed,
            d.removed,
            d.unchanged,
            report.objects_uploaded,
            report.bytes_uploaded,
            report.objects_skipped,
            report.seconds
        ),
    }
    Ok(())
}

pub fn versions(args: SetArgs) -> tilepress::Result<()> {
    let store = open_store(&args.to, args.endpoint.as_deref())?;
    let list = publish::versions(store.as_ref(), &args.set)?;
    if args.json {
        print_json(&list);
        return Ok(());
    }
    say!("{} in {}:", args.set, store.location());
    for info in &list {
        let r = &info.record;
        say!(
            "{} {}  {} tiles  {} bytes  +{} ~{} -{}  created {}",
            if info.live { "*" } else { " " },
            r.version,
            r.tiles,
            r.bytes,
            r.diff.added,
            r.diff.changed,
            r.diff.removed,
            r.created_at
        );
    }
    say!("(* = live)");
    Ok(())
}

pub fn rollback(args: RollbackArgs, metrics: &mut RunMetrics) -> tilepress::Result<()> {
    let store = open_store(&args.target.to, args.target.endpoint.as_deref())?;
    let result = publish::rollback_expecting(
        store.as_ref(),
        &args.target.set,
        args.version.as_deref(),
        args.expect_live.as_deref(),
    );
    metrics.record_retries(store.retries());
    let report = result?;
    metrics.add("tilepress_pointer_swaps_total", &[("kind", "rollback")], 1.0);
    metrics.add("tilepress_rollbacks_total", &[], 1.0);
    metrics.record_live(Some((report.tiles, report.bytes)));
    if args.target.json {
        print_json(&report);
    } else {
        say!("{}: live version {} → {} (generation {})", report.set, report.from, report.to, report.generation);
    }
    Ok(())
}

/// Returns whether the version verified.
pub fn verify(args: VerifyArgs, metrics: &mut RunMetrics) -> tilepress::Result<bool> {
    let store = open_store(&args.target.to, args.target.endpoint.as_deref())?;
    let result = publish::verify(store.as_ref(), &args.target.set, args.version.as_deref());
    metrics.record_retries(store.retries());
    let report = result?;
    if args.target.json {
        print_json(&report);
    } else {
        say!(
            "{} {}: {} tiles, {} objects checked, {} problems",
            report.set,
            report.version,
            report.tiles,
            report.objects,
            report.problem_count
        );
        for key in &report.problems {
            say!("  missing or damaged: {key}");
        }
    }
    Ok(report.problem_count == 0)
}

/// A failed drill prints its report too (with `--json` on stdout), then fails with its error.
pub fn drill(args: SetArgs, metrics: &mut RunMetrics) -> tilepress::Result<()> {
    // Failed until the drill says otherwise (a store that cannot be opened is a failed drill too).
    metrics.set("tilepress_drill_success", &[], 0.0);
    let store = open_store(&args.to, args.endpoint.as_deref())?;
    let result = publish::drill(store.as_ref(), &args.set);
    metrics.record_retries(store.retries());
    let report = match &result {
        Ok(report) => report,
        Err(err) => &err.report,
    };
    metrics.record_drill(report);
    if args.json {
        print_json(report);
    } else {
        say!("{}: rollback drill {} in {}", report.set, report.outcome, report.store);
        for t in &report.steps {
            say!(
                "  {:<16} {:<32} {:>8.3} s  {}",
                t.step.to_string(),
                t.version,
                t.seconds,
                if t.ok { "ok" } else { "FAILED" }
            );
        }
        if let Some(live) = &report.live_after {
            say!("  live now: {live}");
        }
    }
    result.map(|_| ()).map_err(tilepress::Error::from)
}

pub fn gc(args: GcArgs, metrics: &mut RunMetrics) -> tilepress::Result<()> {
    let store = open_store(&args.target.to, args.target.endpoint.as_deref())?;
    let request = publish::GcRequest {
        set: &args.target.set,
        keep_last: args.keep,
        keep_versions: &args.keep_versions,
        grace: args.grace,
        dry_run: args.dry_run,
    };
    let result = publish::gc(store.as_ref(), &request);
    metrics.record_retries(store.retries());
    let report = result?;
    if args.target.json {
        print_json(&report);
    } else {
        let verb = if report.dry_run { "would remove" } else { "removed" };
        say!(
            "{}: kept {} versions ({}); {verb} {} versions, {} tiles, {} archives, {} deltas; {} unreferenced objects spared (younger than the grace period)",
            report.set,
            report.kept_versions.len(),
            report.kept_versions.join(", "),
            report.removed_versions.len(),
            report.removed_tiles,
            report.removed_archives,
            report.removed_deltas,
            report.spared_young
        );
    }
    Ok(())
}

pub fn promote(args: PromoteArgs, metrics: &mut RunMetrics) -> tilepress::Result<()> {
    let source = open_store(&args.from, args.from_endpoint.as_deref())?;
    let target = open_store(&args.to, args.to_endpoint.as_deref())?;
    let request = publish::PromoteRequest {
        set: &args.set,
        version: args.version.as_deref(),
        dry_run: args.dry_run,
        allow_shrink: args.allow_shrink,
        max_shrink: publish::DEFAULT_MAX_SHRINK,
    };
    let result = publish::promote(source.as_ref(), target.as_ref(), &request);
    metrics.record_retries(source.retries() + target.retries());
    let report = result?;
    metrics.record_promote(&report);
    if args.json {
        print_json(&report);
        return Ok(());
    }
    let d = report.diff;
    match report.outcome.as_str() {
        "unchanged" => say!("{}: {} is already live in {}; nothing copied", report.set, report.version, report.to),
        "dry-run" => say!(
            "{}: dry run: would promote {} from {} to {} (+{} ~{} -{} tiles vs {}), checking {} tile objects",
            report.set,
            report.version,
            report.from,
            report.to,
            d.added,
            d.changed,
            d.removed,
            report.previous.as_deref().unwrap_or("nothing"),
            report.objects_copied
        ),
        _ => say!(
            "{}: promoted {} from {} to {} (previous: {})\n  tiles    {} (+{} ~{} -{} vs previous)\n  objects  {} copied ({} bytes), {} already there; verified\n  time     {:.2} s",
            report.set,
            report.version,
            report.from,
            report.to,
            report.previous.as_deref().unwrap_or("none"),
            report.tiles,
            d.added,
            d.changed,
            d.removed,
            report.objects_copied,
            report.bytes_copied,
            report.objects_skipped,
            report.seconds
        ),
    }
    Ok(())
}

pub fn mosaic(args: MosaicArgs) -> tilepress::Result<()> {
    let request = tilepress::render::MosaicRequest {
        mbtiles: args.mbtiles,
        zoom: args.zoom,
        bbox: args.bbox,
        output: args.output,
        background: args.background,
    };
    let report = tilepress::render::mosaic(&request)?;
    if args.json {
        print_json(&report);
    } else {
        say!(
            "mosaic of z{} (columns {}..={}, rows {}..={}) → {}: {}×{} pixels, {} tiles, {} missing",
            report.zoom,
            report.columns[0],
            report.columns[1],
            report.rows[0],
            report.rows[1],
            report.output.display(),
            report.width,
            report.height,
            report.tiles_found,
            report.tiles_missing
        );
    }
    Ok(())
}

/// `out/.publish-PID/`: where `publish` builds.
fn private_build_dir() -> PathBuf {
    PathBuf::from("out").join(format!(".publish-{}", std::process::id()))
}

/// Moves a publish's build to `out/SET.mbtiles` and its manifest beside it (each an atomic rename), so the latest
/// build is where `build` would have put it; then removes the private folder.
fn keep_build(mbtiles: &std::path::Path, manifest: &std::path::Path, set: &str) {
    let target = PathBuf::from("out").join(format!("{set}.mbtiles"));
    let moves =
        [(mbtiles.to_owned(), target.clone()), (manifest.to_owned(), tilepress::pipeline::manifest_path_for(&target))];
    for (from, to) in moves {
        if let Err(err) = std::fs::rename(&from, &to) {
            tracing::warn!(from = %from.display(), to = %to.display(), error = %err, "cannot keep the build");
        }
    }
    let _ = std::fs::remove_dir_all(private_build_dir());
}

fn open_store(to: &str, endpoint: Option<&str>) -> tilepress::Result<Box<dyn publish::Store>> {
    Ok(publish::open_with_endpoint(to, endpoint).map_err(publish::PublishError::from)?)
}

fn change_json(change: &Change) -> serde_json::Value {
    let entry = |e: &manifest::Entry| json!({ "sha256": e.hash_hex(), "size": e.size });
    match change {
        Change::Added(n) => json!({ "tile": n.tile.to_string(), "change": "added", "new": entry(n) }),
        Change::Removed(o) => json!({ "tile": o.tile.to_string(), "change": "removed", "old": entry(o) }),
        Change::Changed { old, new } => {
            json!({ "tile": old.tile.to_string(), "change": "changed", "old": entry(old), "new": entry(new) })
        }
    }
}

fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string(value) {
        Ok(json) => say!("{json}"),
        Err(err) => eprintln!("error: cannot write the result as JSON: {err}"),
    }
}
