//! `versions`: every version of a set (oldest first), marking the live one.

use serde::Serialize;

use super::error::PublishError;
use super::objects::checked;
use super::pointer::read_pointer;
use super::records::{VersionRecord, age_order};
use super::store::{MAX_SMALL_OBJECT, Store};

/// One version of a set, for `versions`.
#[derive(Debug, Clone, Serialize)]
pub struct VersionInfo {
    pub record: VersionRecord,
    pub live: bool,
}

/// Every version of a set (oldest first), marking the live one.
pub fn versions(store: &dyn Store, set: &str) -> Result<Vec<VersionInfo>, PublishError> {
    let layout = checked(set)?;
    let live = read_pointer(store, &layout)?.map(|(p, _)| p.version);
    let mut out = Vec::new();
    for key in store.list(&layout.versions_prefix())?.into_iter().map(|l| l.key) {
        if !key.ends_with("/version.json") {
            continue;
        }
        let (bytes, _) =
            store.get(&key, MAX_SMALL_OBJECT)?.ok_or_else(|| PublishError::MissingObject { key: key.clone() })?;
        let record: VersionRecord = serde_json::from_slice(&bytes)
            .map_err(|e| PublishError::BrokenPointer { key: key.clone(), detail: e.to_string() })?;
        let is_live = live.as_deref() == Some(record.version.as_str());
        out.push(VersionInfo { record, live: is_live });
    }
    out.sort_by_key(|v| age_order(&v.record.version, Some(&v.record)));
    if out.is_empty() && live.is_none() {
        return Err(PublishError::NothingPublished { set: set.to_owned(), store: store.location() });
    }
    Ok(out)
}
