//! One sync run, the device side of delivery: read the set's pointer and the live version's record, identify
//! the device's file by its manifest, fetch the delta from it when the record lists one (else the whole
//! archive), check every download's SHA-256, build the new file beside the old one, verify it against the
//! version's manifest, and only then rename it over the old file. Through every failure the old file stays
//! as it was, and a rerun resumes the downloads where they stopped.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use tracing::{info, warn};

use super::local::{LocalFormat, apply_delta, manifest_sha256};
use super::workdir::WorkDir;
use super::{ByteProgress, DownloadOptions, DownloadReport, Expected, Source, SyncError};
use crate::delta::DeltaReader;
use crate::publish::{DeltaRef, Layout, Pointer, VersionRecord, check_set_name};

/// The largest pointer or version record sync reads.
const MAX_RECORD_BYTES: u64 = 16 << 20;

/// What to sync, where to, and how to download.
pub struct SyncRequest<'a> {
    pub source: &'a Source,
    /// The published set: NAME or NAME.REGION.
    pub set: &'a str,
    /// The device's file (`.mbtiles` or `.pmtiles`); it need not exist yet.
    pub output: &'a Path,
    pub download: DownloadOptions,
    /// Use a delta when one applies (`--no-delta` turns this off).
    pub use_deltas: bool,
}

/// What a sync run did (`--json` prints it).
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub set: String,
    pub source: String,
    pub output: String,
    /// `up-to-date` (nothing fetched but the records), `updated` (a delta or archive replaced the file),
    /// `installed` (there was no file, or one that could not be read).
    pub outcome: &'static str,
    /// The live version, which the file now holds.
    pub version: String,
    pub version_created_at: String,
    /// Nanoseconds since the Unix epoch at which the version was made (0 if its record predates the field).
    pub version_created_ns: u64,
    /// The manifest SHA-256 the file had before (none if it did not exist or could not be read).
    pub previous_manifest_sha256: Option<String>,
    /// The version the file held before, when the record names it (as the base of a delta).
    pub previous_version: Option<String>,
    /// `none`, `delta` or `archive`: what was fetched.
    pub via: &'static str,
    /// Why a delta that applied could not be used, when the archive was fetched instead.
    pub delta_fallback: Option<String>,
    /// Size of the fetched delta or archive, and of the archive (what a full download costs).
    pub object_bytes: u64,
    pub archive_bytes: u64,
    /// Bytes over the wire this run: the delta or archive (resumed parts excluded), and the records.
    pub bytes_fetched: u64,
    pub delta_bytes_fetched: u64,
    pub archive_bytes_fetched: u64,
    pub metadata_bytes_fetched: u64,
    /// Where a download resumed a part an earlier run left, and the resumes and retries of this run.
    pub resumed_from: u64,
    pub resumes: u32,
    pub retries: u32,
    pub seconds: f64,
}

/// Runs one sync; `progress` sees the bytes of each download.
pub fn sync(request: &SyncRequest<'_>, progress: &mut dyn FnMut(ByteProgress)) -> Result<SyncReport, SyncError> {
    let started = Instant::now();
    let (set, output, source) = (request.set, request.output, request.source);
    if !check_set_name(set) {
        return Err(SyncError::BadSet { set: set.to_owned() });
    }
    let format = LocalFormat::of(output)?;
    let layout = Layout::new(set);
    let mut report = SyncReport {
        set: set.to_owned(),
        source: source.describe(),
        output: output.display().to_string(),
        outcome: "up-to-date",
        version: String::new(),
        version_created_at: String::new(),
        version_created_ns: 0,
        previous_manifest_sha256: None,
        previous_version: None,
        via: "none",
        delta_fallback: None,
        object_bytes: 0,
        archive_bytes: 0,
        bytes_fetched: 0,
        delta_bytes_fetched: 0,
        archive_bytes_fetched: 0,
        metadata_bytes_fetched: 0,
        resumed_from: 0,
        resumes: 0,
        retries: 0,
        seconds: 0.0,
    };

    let pointer: Pointer = read_json(source, &layout.pointer(), &mut report)?
        .ok_or_else(|| SyncError::NotPublished { set: set.to_owned(), at: source.describe() })?;
    let record_key = layout.version_record(&pointer.version);
    let record: VersionRecord = read_json(source, &record_key, &mut report)?
        .ok_or_else(|| SyncError::BadRecord { url: source.url_of(&record_key), detail: "missing".to_owned() })?;
    if record.version != pointer.version {
        return Err(SyncError::BadRecord {
            url: source.url_of(&record_key),
            detail: format!("it describes version {}, not {}", record.version, pointer.version),
        });
    }
    report.version = record.version.clone();
    report.version_created_at = record.created_at.clone();
    report.version_created_ns = record.created_ns;

    let archive = ArchiveObject::for_format(&layout, &record, format);
    report.archive_bytes = archive.expected.bytes;
    report.previous_manifest_sha256 = identify(output, format);
    if report.previous_manifest_sha256.as_deref() == Some(record.manifest_sha256.as_str()) {
        info!(set, version = %record.version, file = %output.display(), "the file already holds the live version");
        report.seconds = started.elapsed().as_secs_f64();
        return Ok(report);
    }

    let work = WorkDir::beside(output)?;
    let result = work.discard(&format!("next.{}", format.extension()))?;
    let delta = report
        .previous_manifest_sha256
        .as_deref()
        .and_then(|sha| record.deltas.iter().find(|d| d.base_manifest_sha256 == sha && request.use_deltas));
    let mut via_delta = false;
    // Whether the result was already checked against the version's manifest.
    let mut verified = false;
    if let Some(delta) = delta.filter(|d| archive.expected.bytes == 0 || d.bytes < archive.expected.bytes) {
        report.previous_version = Some(delta.base_version.clone());
        match fetch_and_apply_delta(request, &layout, &record, delta, format, &work, &result, &mut report, progress) {
            Ok(checked) => (via_delta, verified) = (true, checked),
            // No network: stop, the old file stays in use; a rerun resumes the download.
            Err(err @ (SyncError::Network { .. } | SyncError::Io { .. })) => return Err(err),
            Err(err) => {
                warn!(error = %err, "the delta could not be used; fetching the whole archive instead");
                report.delta_fallback = Some(err.to_string());
                work.discard(&format!("next.{}", format.extension()))?;
            }
        }
    }
    if !via_delta {
        fetch_archive(request, &archive, format, &work, &result, &mut report, progress)?;
    }
    if !verified {
        let found = manifest_sha256(&result, format)?;
        if found != record.manifest_sha256 {
            let _ = std::fs::remove_file(&result);
            return Err(SyncError::WrongResult {
                file: output.to_owned(),
                version: record.version.clone(),
                expected: record.manifest_sha256.clone(),
                found,
            });
        }
    }
    work.install(&result, output)?;
    work.clean();
    report.outcome = if report.previous_manifest_sha256.is_some() { "updated" } else { "installed" };
    report.via = if via_delta { "delta" } else { "archive" };
    report.seconds = started.elapsed().as_secs_f64();
    info!(
        set,
        version = %record.version,
        via = report.via,
        bytes = report.bytes_fetched,
        file = %output.display(),
        "the file now holds the live version"
    );
    Ok(report)
}

/// The archive a device of `format` downloads: the PMTiles one for a PMTiles file when the version has it,
/// else the MBTiles one (converted on the device).
struct ArchiveObject {
    key: String,
    expected: Expected,
    format: LocalFormat,
}

impl ArchiveObject {
    fn for_format(layout: &Layout, record: &VersionRecord, format: LocalFormat) -> ArchiveObject {
        match (&record.pmtiles_sha256, format) {
            (Some(sha), LocalFormat::Pmtiles) => ArchiveObject {
                key: layout.pmtiles_archive(sha),
                expected: Expected { sha256: sha.clone(), bytes: record.pmtiles_bytes },
                format: LocalFormat::Pmtiles,
            },
            _ => ArchiveObject {
                key: layout.archive(&record.archive_sha256),
                expected: Expected { sha256: record.archive_sha256.clone(), bytes: record.archive_bytes },
                format: LocalFormat::Mbtiles,
            },
        }
    }
}

/// The manifest SHA-256 of the device's file, or none if there is no file or it cannot be read (then the
/// whole archive is fetched and replaces it).
fn identify(output: &Path, format: LocalFormat) -> Option<String> {
    if !output.exists() {
        return None;
    }
    match manifest_sha256(output, format) {
        Ok(sha) => Some(sha),
        Err(err) => {
            warn!(file = %output.display(), error = %err, "cannot read the file's tiles; fetching the whole archive");
            None
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn fetch_and_apply_delta(
    request: &SyncRequest<'_>,
    layout: &Layout,
    record: &VersionRecord,
    delta: &DeltaRef,
    format: LocalFormat,
    work: &WorkDir,
    result: &Path,
    report: &mut SyncReport,
    progress: &mut dyn FnMut(ByteProgress),
) -> Result<bool, SyncError> {
    let key = layout.delta(&delta.base_version, &delta.sha256);
    let expected = Expected { sha256: delta.sha256.clone(), bytes: delta.bytes };
    let path = work.path(&format!("delta-{}", delta.sha256));
    info!(
        from = %delta.base_version,
        to = %record.version,
        bytes = delta.bytes,
        puts = delta.puts,
        removes = delta.removes,
        "fetching the delta"
    );
    fetch(request, &key, &path, &expected, "delta", report, progress)?;
    let header = DeltaReader::open(&path)?.header().clone();
    if header.target_manifest_sha256 != record.manifest_sha256 {
        let _ = std::fs::remove_file(&path);
        return Err(SyncError::BadRecord {
            url: request.source.url_of(&key),
            detail: format!(
                "the delta leads to manifest {}, but version {} has {}",
                header.target_manifest_sha256, record.version, record.manifest_sha256
            ),
        });
    }
    info!(puts = header.puts, removes = header.removes, "applying the delta to a copy of the file");
    apply_delta(request.output, format, &path, work, result)?;
    // The apply checked the MBTiles it wrote against the delta's target, which is this version's manifest; a
    // PMTiles converted from it is checked by the caller.
    Ok(format == LocalFormat::Mbtiles)
}

fn fetch_archive(
    request: &SyncRequest<'_>,
    archive: &ArchiveObject,
    format: LocalFormat,
    work: &WorkDir,
    result: &Path,
    report: &mut SyncReport,
    progress: &mut dyn FnMut(ByteProgress),
) -> Result<(), SyncError> {
    let path = work.path(&format!("archive-{}.{}", archive.expected.sha256, archive.format.extension()));
    info!(key = %archive.key, bytes = archive.expected.bytes, "fetching the whole archive");
    fetch(request, &archive.key, &path, &archive.expected, "archive", report, progress)?;
    if archive.format == format {
        std::fs::rename(&path, result).map_err(|source| SyncError::Io { path: result.to_owned(), source })?;
    } else {
        info!("converting the MBTiles archive to PMTiles");
        crate::archive::convert(&path, result)?;
        let _ = std::fs::remove_file(&path);
    }
    Ok(())
}

/// Downloads one object (`kind` delta or archive) and counts it in the report.
fn fetch(
    request: &SyncRequest<'_>,
    key: &str,
    path: &Path,
    expected: &Expected,
    kind: &str,
    report: &mut SyncReport,
    progress: &mut dyn FnMut(ByteProgress),
) -> Result<(), SyncError> {
    report.object_bytes = expected.bytes;
    let done = request.source.download(key, path, expected, &request.download, progress)?;
    count(report, &done, kind);
    Ok(())
}

fn count(report: &mut SyncReport, done: &DownloadReport, kind: &str) {
    report.bytes_fetched += done.bytes_fetched;
    match kind {
        "delta" => report.delta_bytes_fetched += done.bytes_fetched,
        _ => report.archive_bytes_fetched += done.bytes_fetched,
    }
    report.resumed_from = report.resumed_from.max(done.resumed_from);
    report.resumes += done.resumes;
    report.retries += done.retries;
}

fn read_json<T: serde::de::DeserializeOwned>(
    source: &Source,
    key: &str,
    report: &mut SyncReport,
) -> Result<Option<T>, SyncError> {
    let Some(bytes) = source.get_small(key, MAX_RECORD_BYTES)? else { return Ok(None) };
    report.metadata_bytes_fetched += bytes.len() as u64;
    report.bytes_fetched += bytes.len() as u64;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| SyncError::BadRecord { url: source.url_of(key), detail: e.to_string() })
}
