//! Reading a set's objects from a store, checked before anything is done with them: the set name checked into a
//! [`Layout`], a version's record (bounded, naming its own version), a version's manifest (its SHA-256 against
//! the record's and, for the live version, the pointer's), and the version a command acts on.

use super::error::PublishError;
use super::pointer::read_pointer;
use super::records::{Layout, Pointer, VersionRecord, check_set_name};
use super::store::{MAX_MANIFEST, MAX_SMALL_OBJECT, Store, check_key};
use crate::manifest;

/// The layout of a set, once its name is known to be safe.
pub fn checked(set: &str) -> Result<Layout, PublishError> {
    if check_set_name(set) { Ok(Layout::new(set)) } else { Err(PublishError::UnsafeSet { set: set.to_owned() }) }
}

/// `version`, or the live version of the set when `None`.
pub fn version_or_live(
    store: &dyn Store,
    layout: &Layout,
    set: &str,
    version: Option<&str>,
) -> Result<String, PublishError> {
    match version {
        Some(v) => Ok(v.to_owned()),
        None => Ok(read_pointer(store, layout)?
            .ok_or_else(|| PublishError::NothingPublished { set: set.to_owned(), store: store.location() })?
            .0
            .version),
    }
}

/// A version's record: bounded in size, parsed, and naming the version it is filed under with a well-formed
/// manifest SHA-256.
pub fn read_record(
    store: &dyn Store,
    layout: &Layout,
    set: &str,
    version: &str,
) -> Result<VersionRecord, PublishError> {
    if check_key(version).is_err() || version.contains('/') {
        return Err(PublishError::UnknownVersion { set: set.to_owned(), version: version.to_owned() });
    }
    let key = layout.version_record(version);
    let (bytes, _) = store
        .get(&key, MAX_SMALL_OBJECT)?
        .ok_or_else(|| PublishError::UnknownVersion { set: set.to_owned(), version: version.to_owned() })?;
    let record: VersionRecord = serde_json::from_slice(&bytes)
        .map_err(|e| PublishError::BrokenPointer { key: key.clone(), detail: e.to_string() })?;
    if record.version != version {
        return Err(PublishError::Untrusted { key, detail: format!("it names version {}", record.version) });
    }
    if !is_sha256_hex(&record.manifest_sha256)
        || !is_sha256_hex(&record.archive_sha256)
        || record.pmtiles_sha256.as_deref().is_some_and(|sha| !is_sha256_hex(sha))
    {
        return Err(PublishError::Untrusted { key, detail: "its SHA-256 fields are malformed".to_owned() });
    }
    Ok(record)
}

/// A version's manifest, refused unless its SHA-256 is `expected` (the record's, or the pointer's).
pub fn read_manifest(
    store: &dyn Store,
    layout: &Layout,
    version: &str,
    expected: &str,
) -> Result<Vec<u8>, PublishError> {
    let key = layout.manifest(version);
    let (bytes, _) = store.get(&key, MAX_MANIFEST)?.ok_or_else(|| PublishError::MissingObject { key: key.clone() })?;
    let actual = hex::encode(manifest::sha256(&bytes));
    if actual != expected {
        return Err(PublishError::Untrusted {
            key,
            detail: format!("its SHA-256 is {actual}, the version says {expected}"),
        });
    }
    Ok(bytes)
}

/// The record and manifest of the live version, each checked against the pointer.
pub fn read_live(
    store: &dyn Store,
    layout: &Layout,
    set: &str,
    pointer: &Pointer,
) -> Result<(VersionRecord, Vec<u8>), PublishError> {
    let record = read_record(store, layout, set, &pointer.version)?;
    if record.manifest_sha256 != pointer.manifest_sha256 {
        return Err(PublishError::Untrusted {
            key: layout.version_record(&pointer.version),
            detail: format!(
                "its manifest SHA-256 {} differs from the pointer's {}",
                record.manifest_sha256, pointer.manifest_sha256
            ),
        });
    }
    let manifest = read_manifest(store, layout, &pointer.version, &pointer.manifest_sha256)?;
    Ok((record, manifest))
}

fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}
