//! `gc`: removes what no retained version needs. Mark: the tiles and archive of the live version, the last N
//! versions and any version named by the operator. Sweep: tiles, archives and version files not marked — but
//! never anything younger than the grace period, so a publish in flight (its tiles go up before its pointer
//! swap) is never robbed. History records are never removed.

use std::collections::{BTreeSet, HashSet};
use std::io::Cursor;
use std::time::Duration;

use serde::Serialize;

use super::manage::{checked, read_record};
use super::store::Store;
use super::{PublishError, read_pointer};
use crate::manifest::ManifestReader;

/// What to keep.
#[derive(Debug, Clone)]
pub struct GcRequest<'a> {
    pub set: &'a str,
    /// Keep the newest N versions (besides the live one).
    pub keep_last: usize,
    /// Keep these versions too (pinned).
    pub keep_versions: &'a [String],
    /// Never delete an object younger than this.
    pub grace: Duration,
    /// List what would go; delete nothing.
    pub dry_run: bool,
}

/// What gc removed (or, with `dry_run`, would remove).
#[derive(Debug, Clone, Default, Serialize)]
pub struct GcReport {
    pub set: String,
    pub kept_versions: Vec<String>,
    pub removed_versions: Vec<String>,
    pub removed_tiles: u64,
    pub removed_archives: u64,
    /// Unreferenced objects spared because they are younger than the grace period.
    pub spared_young: u64,
    pub dry_run: bool,
}

pub fn gc(store: &dyn Store, request: &GcRequest<'_>) -> Result<GcReport, PublishError> {
    let set = request.set;
    let layout = checked(set)?;
    let (pointer, _) = read_pointer(store, &layout)?
        .ok_or_else(|| PublishError::NothingPublished { set: set.to_owned(), store: store.location() })?;
    let versions: BTreeSet<String> = store
        .list(&layout.versions_prefix())?
        .into_iter()
        .filter_map(|l| l.key.strip_suffix("/version.json").and_then(|k| k.rsplit('/').next()).map(str::to_owned))
        .collect();
    let mut keep: BTreeSet<String> = versions.iter().rev().take(request.keep_last).cloned().collect();
    keep.insert(pointer.version.clone());
    keep.extend(request.keep_versions.iter().cloned());

    // Mark. Any kept version that cannot be read stops gc before anything is deleted.
    let mut tiles: HashSet<String> = HashSet::new();
    let mut archives: HashSet<String> = HashSet::new();
    for version in &keep {
        let record = read_record(store, &layout, set, version)?;
        archives.insert(layout.archive(&record.archive_sha256));
        let key = layout.manifest(version);
        let (bytes, _) = store.get(&key)?.ok_or_else(|| PublishError::MissingObject { key: key.clone() })?;
        let mut reader = ManifestReader::new(key, Cursor::new(bytes))?;
        while let Some(entry) = reader.next_entry()? {
            tiles.insert(layout.tile(&entry.hash_hex()));
        }
    }

    // Sweep.
    let mut report = GcReport { set: set.to_owned(), dry_run: request.dry_run, ..GcReport::default() };
    let base = layout.pointer().trim_end_matches("current.json").to_owned();
    for (prefix, marked, counter) in [
        (layout.tiles_prefix(), &tiles, &mut report.removed_tiles),
        (format!("{base}archives/"), &archives, &mut report.removed_archives),
    ] {
        let mut doomed = Vec::new();
        for object in store.list(&prefix)? {
            if marked.contains(&object.key) {
                continue;
            }
            if object.age < request.grace {
                report.spared_young += 1;
                continue;
            }
            doomed.push(object.key);
        }
        *counter += doomed.len() as u64;
        if !request.dry_run {
            store.delete_many(&doomed)?;
        }
    }
    let (mut manifests, mut records) = (Vec::new(), Vec::new());
    for version in versions.iter().filter(|v| !keep.contains(*v)) {
        let files = [layout.version_record(version), layout.manifest(version)];
        let young =
            store.list(&format!("{}versions/{version}/", base))?.iter().any(|object| object.age < request.grace);
        if young {
            report.spared_young += 1;
            continue;
        }
        let [record, manifest] = files;
        records.push(record);
        manifests.push(manifest);
        report.removed_versions.push(version.clone());
    }
    if !request.dry_run {
        // Manifests first: a version without its record is invisible to `versions` and `rollback`.
        store.delete_many(&manifests)?;
        store.delete_many(&records)?;
    }
    report.kept_versions = keep.into_iter().collect();
    Ok(report)
}

/// Parses a duration like `7d`, `12h`, `30m`, `45s` or `0`.
pub fn parse_grace(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: u64 = number.parse().map_err(|_| format!("`{text}` is not a duration like 7d, 12h, 30m or 45s"))?;
    let secs = match unit {
        "d" => n * 86_400,
        "h" => n * 3_600,
        "m" => n * 60,
        "s" => n,
        _ => return Err(format!("`{text}` is not a duration like 7d, 12h, 30m or 45s")),
    };
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_periods_parse() {
        assert_eq!(parse_grace("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_grace("12h"), Ok(Duration::from_secs(12 * 3_600)));
        assert_eq!(parse_grace("0"), Ok(Duration::ZERO));
        assert_eq!(parse_grace("0s"), Ok(Duration::ZERO));
        assert!(parse_grace("7 days").is_err());
        assert!(parse_grace("").is_err());
        assert!(parse_grace("d").is_err());
    }
}
