//! `gc`: removes what no retained version needs. Mark: the tiles and archive of the live version, the last N
//! versions, any version named by the operator, any version younger than the grace period and any version
//! created since the last pointer swap (a publish in flight). Sweep: tiles, archives and version files not marked, never anything younger than the grace period.
//! History records are never removed.
//!
//! gc holds the set's lease (`lease.rs`) while it works, so that a publish that reuses an old tile cannot
//! go live while gc deletes it. It removes a version's manifest and record before its tiles: a gc that stops
//! half way leaves unreferenced tiles for the next run, never a version that rollback would accept but whose
//! tiles are gone. Before each batch of deletes it reads the pointer again, so a version made live meanwhile
//! (a rollback) is kept too.

use std::collections::{BTreeSet, HashSet};
use std::io::Cursor;
use std::time::Duration;

use serde::Serialize;
use tracing::warn;

use super::error::PublishError;
use super::lease::HeldLease;
use super::objects::{checked, read_live, read_manifest, read_record};
use super::pointer::{fence, forget_previous, read_pointer};
use super::records::{AgeKey, Layout, VersionRecord, age_order};
use super::store::Store;
use crate::manifest::ManifestReader;

/// What to keep.
#[derive(Debug, Clone)]
pub struct GcRequest<'a> {
    pub set: &'a str,
    /// Keep the newest N versions (and the live one, whether or not it is among them).
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
    pub removed_deltas: u64,
    /// Unreferenced tiles and archives spared because they are younger than the grace period (versions younger
    /// than it are kept, and listed in `kept_versions`).
    pub spared_young: u64,
    /// Objects under the set's folders that tilepress does not write (reported, never touched): how many, and
    /// the first 20.
    pub foreign_count: u64,
    pub foreign_keys: Vec<String>,
    /// Stale temporary files of the store removed (`file://`: `.tmp/` files older than the grace period).
    pub removed_temp: u64,
    pub dry_run: bool,
}

impl GcReport {
    fn foreign(&mut self, key: String) {
        self.foreign_count += 1;
        if self.foreign_keys.len() < 20 {
            self.foreign_keys.push(key);
        }
    }
}

pub fn gc(store: &dyn Store, request: &GcRequest<'_>) -> Result<GcReport, PublishError> {
    let layout = checked(request.set)?;
    if read_pointer(store, &layout)?.is_none() {
        // Before the lease: a gc of a set that does not exist leaves nothing behind.
        return Err(PublishError::NothingPublished { set: request.set.to_owned(), store: store.location() });
    }
    if request.dry_run {
        return mark_and_sweep(store, &layout, request, None);
    }
    let mut lease = HeldLease::acquire(store, &layout, request.set)?;
    // The fence (see `pointer.rs`): from here on no swap prepared before gc took its lease can land, and any
    // later one waits for the lease. Marking starts from the fenced pointer.
    let result =
        fence(store, &layout, request.set).and_then(|_| mark_and_sweep(store, &layout, request, Some(&mut lease)));
    lease.release(store, request.set);
    result
}

/// What a set of kept versions needs.
#[derive(Default)]
struct Marked {
    versions: BTreeSet<String>,
    tiles: HashSet<String>,
    archives: HashSet<String>,
}

impl Marked {
    /// Marks a version's archive and tiles. A kept version that cannot be read stops gc before anything more
    /// is deleted.
    fn add(&mut self, store: &dyn Store, layout: &Layout, set: &str, version: &str) -> Result<(), PublishError> {
        if self.versions.contains(version) {
            return Ok(());
        }
        let record = read_record(store, layout, set, version)?;
        // Marks come from a manifest checked against its record: a swapped or damaged one stops gc.
        let bytes = read_manifest(store, layout, version, &record.manifest_sha256)?;
        self.mark(layout, version, &record, bytes)
    }

    fn mark(
        &mut self,
        layout: &Layout,
        version: &str,
        record: &VersionRecord,
        bytes: Vec<u8>,
    ) -> Result<(), PublishError> {
        self.versions.insert(version.to_owned());
        self.archives.insert(layout.archive(&record.archive_sha256));
        if let Some((key, _)) = record.pmtiles(layout) {
            self.archives.insert(key);
        }
        // A delta is kept while its target is (whether or not its base still is).
        for delta in &record.deltas {
            self.archives.insert(layout.delta(&delta.base_version, &delta.sha256));
        }
        let key = layout.manifest(version);
        let mut reader = ManifestReader::new(key, Cursor::new(bytes))?;
        while let Some(entry) = reader.next_entry()? {
            self.tiles.insert(layout.tile(&entry.hash_hex()));
        }
        Ok(())
    }

    /// Reads the pointer again and marks the live version if it is new (a rollback or promote since).
    fn add_live(&mut self, store: &dyn Store, layout: &Layout, set: &str) -> Result<(), PublishError> {
        match read_pointer(store, layout)? {
            Some((pointer, _)) if self.versions.contains(&pointer.version) => Ok(()),
            Some((pointer, _)) => {
                // The live version's record and manifest are also checked against the pointer.
                let (record, bytes) = read_live(store, layout, set, &pointer)?;
                self.mark(layout, &pointer.version, &record, bytes)
            }
            None => Err(PublishError::NothingPublished { set: set.to_owned(), store: store.location() }),
        }
    }
}

/// Keys per delete step: the lease is renewed and the pointer read again between steps.
const DELETE_STEP: usize = 10_000;

/// The marks, and the lease that lets gc act on them (none for a dry run, which deletes nothing).
struct Sweep<'a> {
    store: &'a dyn Store,
    layout: &'a Layout,
    set: &'a str,
    lease: Option<&'a mut HeldLease>,
    marked: Marked,
}

impl Sweep<'_> {
    /// Keeps the lease alive between steps (a stalled gc whose lease ran out, or was taken, stops here).
    fn renew(&mut self) -> Result<(), PublishError> {
        match self.lease.as_deref_mut() {
            Some(lease) => lease.renew(self.store, self.set),
            None => Ok(()),
        }
    }

    /// Renews the lease in full before a long step (a listing of every tile).
    fn refresh(&mut self) -> Result<(), PublishError> {
        match self.lease.as_deref_mut() {
            Some(lease) => lease.refresh(self.store, self.set),
            None => Ok(()),
        }
    }

    /// Deletes `keys` in steps; before each, renews the lease, reads the pointer again (a version made live
    /// since is kept) and drops whatever is now marked. Returns how many it deleted (a dry run: would delete).
    fn delete(&mut self, keys: &[String]) -> Result<u64, PublishError> {
        if self.lease.is_none() {
            return Ok(keys.len() as u64);
        }
        let mut deleted = 0;
        for step in keys.chunks(DELETE_STEP) {
            self.renew()?;
            self.marked.add_live(self.store, self.layout, self.set)?;
            let marked = &self.marked;
            let kept_version_files: Vec<String> =
                marked.versions.iter().map(|v| self.layout.version_prefix(v)).collect();
            let step: Vec<String> = step
                .iter()
                .filter(|k| {
                    !marked.tiles.contains(*k)
                        && !marked.archives.contains(*k)
                        && !kept_version_files.iter().any(|prefix| k.starts_with(prefix))
                })
                .cloned()
                .collect();
            self.store.delete_many(&step)?;
            deleted += step.len() as u64;
        }
        Ok(deleted)
    }
}

fn mark_and_sweep(
    store: &dyn Store,
    layout: &Layout,
    request: &GcRequest<'_>,
    lease: Option<&mut HeldLease>,
) -> Result<GcReport, PublishError> {
    let set = request.set;
    // Every version, with the age of its record.
    let mut report = GcReport { set: set.to_owned(), dry_run: request.dry_run, ..GcReport::default() };
    let mut versions: Vec<(String, Duration)> = Vec::new();
    for listed in store.list(&layout.versions_prefix())? {
        match version_file(layout, &listed.key) {
            Some((version, true)) => versions.push((version.to_owned(), listed.age)),
            Some((_, false)) => {}
            None => report.foreign(listed.key),
        }
    }
    // Oldest first by their records' creation time: ids of one second sort by hash, not by age. (Records are
    // immutable: the ones read here serve the rest of the run.)
    let records: std::collections::HashMap<String, VersionRecord> =
        versions.iter().filter_map(|(v, _)| read_record(store, layout, set, v).ok().map(|r| (v.clone(), r))).collect();
    let mut aged: Vec<(AgeKey, (String, Duration))> =
        versions.into_iter().map(|(v, age)| (age_order(&v, records.get(&v)), (v, age))).collect();
    aged.sort_by(|a, b| a.0.cmp(&b.0));
    let versions: Vec<(String, Duration)> = aged.into_iter().map(|(_, v)| v).collect();
    let mut sweep = Sweep { store, layout, set, lease, marked: Marked::default() };
    sweep.marked.add_live(store, layout, set)?;
    let newest = versions.iter().rev().take(request.keep_last).map(|(v, _)| v);
    let young = versions.iter().filter(|(_, age)| *age < request.grace).map(|(v, _)| v);
    for version in newest.chain(young).chain(request.keep_versions.iter()) {
        match sweep.marked.add(store, layout, set, version) {
            // What an earlier gc cut short left: a record whose manifest is gone. Nothing can use it; it goes.
            Err(PublishError::MissingObject { key }) if key == layout.manifest(version) => {
                warn!(set, version = %version, "a version without its manifest (an interrupted gc?): removing it");
            }
            other => other?,
        }
        sweep.renew()?;
    }
    // A version created since the last swap is a publish or promote on its way to its swap (it may have waited
    // for a gc longer than the grace period): keep it. If it was abandoned, the next swap makes it fair game.
    let last_swap = read_pointer(store, layout)?.map(|(pointer, _)| pointer.swapped_at).unwrap_or_default();
    let unmarked: Vec<&String> =
        versions.iter().map(|(v, _)| v).filter(|v| !sweep.marked.versions.contains(*v)).collect();
    for version in unmarked {
        let Some(record) = records.get(version) else { continue };
        // (Times are to the second: one created in the second of the swap is left to the grace period.)
        if record.created_at > last_swap {
            sweep.marked.add(store, layout, set, version)?;
        }
    }

    // The live version's previous one goes: say so in the pointer first (see `forget_previous`).
    if sweep.lease.is_some()
        && let Some((pointer, _)) = read_pointer(store, layout)?
        && pointer.previous.as_ref().is_some_and(|p| !sweep.marked.versions.contains(p))
    {
        forget_previous(store, layout, set)?;
    }
    // Versions first (manifest, then record: a version without its record is invisible to `versions` and
    // `rollback`), then the tiles and archives only they needed.
    let (mut manifests, mut records) = (Vec::new(), Vec::new());
    for (version, _) in versions.iter().filter(|(v, _)| !sweep.marked.versions.contains(v)) {
        manifests.push(layout.manifest(version));
        records.push(layout.version_record(version));
        report.removed_versions.push(version.clone());
    }
    sweep.delete(&manifests)?;
    sweep.delete(&records)?;
    // (A version made live meanwhile was kept.)
    report.removed_versions.retain(|v| !sweep.marked.versions.contains(v));

    for kind in [Kind::Tiles, Kind::Archives, Kind::Deltas] {
        sweep.refresh()?;
        let mut doomed = Vec::new();
        let prefix = match kind {
            Kind::Tiles => layout.tiles_prefix(),
            Kind::Archives => layout.archives_prefix(),
            Kind::Deltas => layout.deltas_prefix(),
        };
        for object in store.list(&prefix)? {
            // Only what tilepress writes there; anything else is reported and left alone.
            let ours = match kind {
                Kind::Tiles => is_tile_key(layout, &object.key),
                Kind::Archives => is_archive_key(layout, &object.key),
                Kind::Deltas => is_delta_key(layout, &object.key),
            };
            if !ours {
                report.foreign(object.key);
                continue;
            }
            if sweep.marked.tiles.contains(&object.key) || sweep.marked.archives.contains(&object.key) {
                continue;
            }
            if object.age < request.grace {
                report.spared_young += 1;
                continue;
            }
            doomed.push(object.key);
        }
        let removed = sweep.delete(&doomed)?;
        match kind {
            Kind::Tiles => report.removed_tiles = removed,
            Kind::Archives => report.removed_archives = removed,
            Kind::Deltas => report.removed_deltas = removed,
        }
    }
    report.kept_versions = sweep.marked.versions.into_iter().collect();
    if sweep.lease.is_some() {
        report.removed_temp = store.sweep_temp(request.grace)?;
    }
    if !report.foreign_keys.is_empty() {
        warn!(set, count = report.foreign_count, first = %report.foreign_keys[0], "objects gc does not know were left alone");
    }
    Ok(report)
}

/// `(version, is_record)` of a key under `versions/`, or `None` for a key tilepress does not write there.
fn version_file<'k>(layout: &Layout, key: &'k str) -> Option<(&'k str, bool)> {
    let rest = key.strip_prefix(&layout.versions_prefix())?;
    let (version, file) = rest.split_once('/')?;
    if super::store::check_key(version).is_err() {
        return None;
    }
    match file {
        "version.json" => Some((version, true)),
        "manifest.zst" => Some((version, false)),
        _ => None,
    }
}

fn is_hex64(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `tiles/ab/ab…` with 64 lower-case hex digits.
fn is_tile_key(layout: &Layout, key: &str) -> bool {
    key.strip_prefix(&layout.tiles_prefix())
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(dir, name)| is_hex64(name) && name.starts_with(dir) && dir.len() == 2)
}

/// The folders gc sweeps of what no kept version needs.
#[derive(Clone, Copy)]
enum Kind {
    Tiles,
    Archives,
    Deltas,
}

/// `deltas/<base-version>/<sha256>`.
fn is_delta_key(layout: &Layout, key: &str) -> bool {
    key.strip_prefix(&layout.deltas_prefix())
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(base, name)| super::store::check_key(base).is_ok() && !base.is_empty() && is_hex64(name))
}

/// `archives/<sha256>.mbtiles` (or `.pmtiles`).
fn is_archive_key(layout: &Layout, key: &str) -> bool {
    key.strip_prefix(&layout.archives_prefix())
        .and_then(|name| name.strip_suffix(".mbtiles").or_else(|| name.strip_suffix(".pmtiles")))
        .is_some_and(is_hex64)
}

/// The longest grace period: 100 years.
const MAX_GRACE_SECS: u64 = 100 * 365 * 86_400;

/// Parses a duration like `7d`, `12h`, `30m`, `45s` or `0`.
pub fn parse_grace(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: u64 = number.parse().map_err(|_| format!("`{text}` is not a duration like 7d, 12h, 30m or 45s"))?;
    let unit_secs: u64 = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => return Err(format!("`{text}` is not a duration like 7d, 12h, 30m or 45s")),
    };
    // Checked: a huge number is an error, never a wrapped (shorter) grace.
    let secs = n.checked_mul(unit_secs).filter(|s| *s <= MAX_GRACE_SECS).ok_or_else(|| {
        format!("`{text}` is longer than the longest grace period ({} days)", MAX_GRACE_SECS / 86_400)
    })?;
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
        assert!(parse_grace("213503982334602d").is_err(), "would wrap to about 17 h");
        assert!(parse_grace("18446744073709551615s").is_err());
        assert_eq!(parse_grace("36500d"), Ok(Duration::from_secs(36_500 * 86_400)));
    }
}
