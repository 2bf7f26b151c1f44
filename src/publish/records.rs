//! The small JSON objects of a published set: the pointer (`current.json`), each version's record and each
//! swap's history record — and the names of every object (the store layout in ARCHITECTURE.md).

use serde::{Deserialize, Serialize};

use crate::manifest::SourceFingerprint;

/// `current.json`: which version readers get.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pointer {
    pub version: String,
    pub manifest_sha256: String,
    pub previous: Option<String>,
    pub generation: u64,
    pub swapped_at: String,
}

/// What changed against the parent version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffSummary {
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
    pub unchanged: u64,
}

/// `versions/<VERSION>/version.json`: immutable facts about one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRecord {
    pub version: String,
    pub manifest_sha256: String,
    pub archive_sha256: String,
    /// Bytes of the MBTiles archive; 0 in records of older tilepress versions.
    #[serde(default)]
    pub archive_bytes: u64,
    /// SHA-256 of the PMTiles archive (`archives/<sha256>.pmtiles`); none in records of older tilepress
    /// versions.
    #[serde(default)]
    pub pmtiles_sha256: Option<String>,
    #[serde(default)]
    pub pmtiles_bytes: u64,
    pub tiles: u64,
    pub bytes: u64,
    pub created_at: String,
    /// Nanoseconds since the Unix epoch when the record was made: orders versions made in one second (their ids
    /// then sort by hash). 0 in records of older tilepress versions.
    #[serde(default)]
    pub created_ns: u64,
    pub sources: Vec<SourceFingerprint>,
    pub tool: String,
    pub parent: Option<String>,
    pub diff: DiffSummary,
    /// Delta packages to this version from earlier live ones (`deltas/<base>/<sha256>`); none in records of
    /// older tilepress versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deltas: Vec<DeltaRef>,
}

impl VersionRecord {
    /// The key and SHA-256 of the version's PMTiles archive, if it has one.
    pub fn pmtiles(&self, layout: &Layout) -> Option<(String, &str)> {
        self.pmtiles_sha256.as_deref().map(|sha| (layout.pmtiles_archive(sha), sha))
    }
}

/// One delta package a version record lists: from `base_version` to the record's version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeltaRef {
    pub base_version: String,
    pub base_manifest_sha256: String,
    /// SHA-256 of the delta file: its name under `deltas/<base_version>/`.
    pub sha256: String,
    pub bytes: u64,
    /// Tiles it puts (added or changed) and removes.
    pub puts: u64,
    pub removes: u64,
}

/// `history/<generation>.json`: one pointer swap, never rewritten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRecord {
    pub generation: u64,
    /// `publish`, `rollback` or `promote`.
    pub action: String,
    pub version: String,
    pub previous: Option<String>,
    pub swapped_at: String,
}

/// Object keys of one published set (`SET` = `NAME` or `NAME.REGION`).
#[derive(Debug, Clone)]
pub struct Layout {
    base: String,
}

impl Layout {
    pub fn new(set: &str) -> Layout {
        Layout { base: format!("{set}/") }
    }
    pub fn pointer(&self) -> String {
        format!("{}current.json", self.base)
    }
    pub fn tile(&self, sha256_hex: &str) -> String {
        format!("{}tiles/{}/{sha256_hex}", self.base, &sha256_hex[..2.min(sha256_hex.len())])
    }
    /// The folder of every tile object of the set.
    pub fn tiles_prefix(&self) -> String {
        format!("{}tiles/", self.base)
    }
    pub fn archive(&self, sha256_hex: &str) -> String {
        format!("{}archives/{sha256_hex}.mbtiles", self.base)
    }
    /// The PMTiles of a version: `archives/<sha256>.pmtiles`.
    pub fn pmtiles_archive(&self, sha256_hex: &str) -> String {
        format!("{}archives/{sha256_hex}.pmtiles", self.base)
    }
    pub fn manifest(&self, version: &str) -> String {
        format!("{}versions/{version}/manifest.zst", self.base)
    }
    pub fn version_record(&self, version: &str) -> String {
        format!("{}versions/{version}/version.json", self.base)
    }
    /// The folder of one version's manifest and record.
    pub fn version_prefix(&self, version: &str) -> String {
        format!("{}versions/{version}/", self.base)
    }
    /// A delta package from `base_version` (`deltas/<base>/<sha256>`).
    pub fn delta(&self, base_version: &str, sha256_hex: &str) -> String {
        format!("{}deltas/{base_version}/{sha256_hex}", self.base)
    }
    /// The folder of every delta of the set.
    pub fn deltas_prefix(&self) -> String {
        format!("{}deltas/", self.base)
    }
    /// The folder of every history record.
    pub fn history_prefix(&self) -> String {
        format!("{}history/", self.base)
    }
    /// The folder of every archive of the set.
    pub fn archives_prefix(&self) -> String {
        format!("{}archives/", self.base)
    }
    pub fn versions_prefix(&self) -> String {
        format!("{}versions/", self.base)
    }
    /// The gc lease (see `lease.rs`).
    pub fn gc_lease(&self) -> String {
        format!("{}gc.lock", self.base)
    }
    pub fn history(&self, generation: u64) -> String {
        format!("{}history/{generation:020}.json", self.base)
    }
}

/// A published set's name must be a safe single path part: letters, digits, `-`, `_`, and `.` between them.
pub fn check_set_name(set: &str) -> bool {
    !set.is_empty()
        && !set.starts_with('.')
        && !set.ends_with('.')
        && !set.contains("..")
        && set.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Nanoseconds since the Unix epoch, now (0 on a clock before 1970, `u64::MAX` after 2554).
pub fn unix_ns_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A sort key of [`age_order`]: (unreadable, created_at, created_ns, id).
pub type AgeKey = (bool, String, u64, String);

/// The order of versions by age, oldest first: by creation time (to the second, then the nanosecond), then id.
/// A version whose record could not be read (`None`) counts as newest, so that gc keeps it and reports it.
pub fn age_order(version: &str, record: Option<&VersionRecord>) -> AgeKey {
    match record {
        Some(r) => (false, r.created_at.clone(), r.created_ns, version.to_owned()),
        None => (true, String::new(), 0, version.to_owned()),
    }
}

/// UTC now as (`20261122T031500Z`, `2026-11-22T03:15:00Z`).
pub fn utc_now() -> (String, String) {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    utc_stamps(secs)
}

/// A Unix time as (`20261122T031500Z`, `2026-11-22T03:15:00Z`).
pub fn utc_stamps(secs: u64) -> (String, String) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    (format!("{y:04}{mo:02}{d:02}T{h:02}{m:02}{s:02}Z"), format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z"))
}

/// A version id: UTC publish time, then the first 12 hex digits of the manifest's SHA-256.
pub fn version_id(compact_time: &str, manifest_sha256: &str) -> String {
    format!("{compact_time}-{}", &manifest_sha256[..12.min(manifest_sha256.len())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_of_one_second_order_by_nanoseconds_not_by_hash() {
        let record = |id: &str, ns: u64| VersionRecord {
            version: id.to_owned(),
            manifest_sha256: String::new(),
            archive_sha256: String::new(),
            archive_bytes: 0,
            pmtiles_sha256: None,
            pmtiles_bytes: 0,
            tiles: 0,
            bytes: 0,
            created_at: "2026-11-22T03:15:00Z".to_owned(),
            created_ns: ns,
            sources: Vec::new(),
            tool: String::new(),
            parent: None,
            diff: DiffSummary::default(),
            deltas: Vec::new(),
        };
        // Made in this order within one second; their ids sort the other way.
        let (first, second) = (record("20261122T031500Z-ff", 10), record("20261122T031500Z-00", 20));
        let mut ids = [("20261122T031500Z-00", Some(&second)), ("20261122T031500Z-ff", Some(&first))];
        ids.sort_by_key(|(id, r)| age_order(id, *r));
        assert_eq!(ids.map(|(id, _)| id), ["20261122T031500Z-ff", "20261122T031500Z-00"]);
        // An unreadable record counts as the newest; an older second is older whatever its nanoseconds.
        let mut older = record("20261122T031459Z-aa", 99);
        older.created_at = "2026-11-22T03:14:59Z".to_owned();
        assert!(age_order("x", None) > age_order(&second.version, Some(&second)));
        assert!(age_order(&older.version, Some(&older)) < age_order(&first.version, Some(&first)));
        // A record of an older tilepress (no created_ns) still reads.
        let old: VersionRecord = serde_json::from_str(
            r#"{"version":"v","manifest_sha256":"","archive_sha256":"","tiles":0,"bytes":0,"created_at":"x","sources":[],"tool":"","parent":null,"diff":{"added":0,"changed":0,"removed":0,"unchanged":0}}"#,
        )
        .expect("old record");
        assert_eq!((old.created_ns, old.archive_bytes, old.pmtiles_sha256, old.pmtiles_bytes), (0, 0, None, 0));
        assert_eq!(Layout::new("m").pmtiles_archive("ab"), "m/archives/ab.pmtiles");
    }

    #[test]
    fn time_stamps_and_version_ids() {
        assert_eq!(utc_stamps(0).1, "1970-01-01T00:00:00Z");
        // 2026-11-22T03:15:00Z
        assert_eq!(utc_stamps(1_795_317_300), ("20261122T031500Z".to_owned(), "2026-11-22T03:15:00Z".to_owned()));
        assert_eq!(utc_stamps(951_782_400).1, "2000-02-29T00:00:00Z");
        assert_eq!(version_id("20261122T031500Z", "3f9a1c2b7d4e99"), "20261122T031500Z-3f9a1c2b7d4e");
    }

    #[test]
    fn layout_and_names() {
        let l = Layout::new("monaco.harbour");
        assert_eq!(l.tile("abcdef"), "monaco.harbour/tiles/ab/abcdef");
        assert_eq!(l.history(42), "monaco.harbour/history/00000000000000000042.json");
        assert!(check_set_name("monaco-base.harbour"));
        for bad in ["", "../x", "a/b", "a..b", ".hidden", "x.", "a b"] {
            assert!(!check_set_name(bad), "{bad}");
        }
    }
}
