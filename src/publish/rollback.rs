//! `rollback`: a pointer swap to an earlier version (default: the live version's previous one), O(1) in the
//! size of the tileset for the previous version, after checking the target's objects are in the store.

use serde::Serialize;
use tracing::info;

use super::error::PublishError;
use super::lease::LeaseWatch;
use super::objects::{checked, read_manifest, read_record};
use super::pointer::{Target, read_pointer, swap};
use super::records::{Layout, VersionRecord};
use super::store::Store;
use super::tiles::missing_tiles;

/// What a rollback did.
#[derive(Debug, Clone, Serialize)]
pub struct RollbackReport {
    pub set: String,
    pub from: String,
    pub to: String,
    pub generation: u64,
    /// Tiles and tile bytes of the version now live.
    pub tiles: u64,
    pub bytes: u64,
}

/// Makes an earlier version live (default: the live version's previous one), after checking that its
/// objects are in the store: its record, manifest and archive. For the previous version that is enough for
/// its tiles too, and keeps rollback O(1): it was live, so complete, and gc removes a version's manifest
/// before any tile only it needed (and holds the lease while it does, which rollback waits for). Any other
/// version also has its tiles checked, with one listing of the tiles folder.
pub fn rollback(store: &dyn Store, set: &str, target: Option<&str>) -> Result<RollbackReport, PublishError> {
    rollback_expecting(store, set, target, None)
}

/// [`rollback`], refused (nothing swapped) unless the live version is `expect_live`: an operator who looked at
/// the set rolls back from what they saw, not from a publish that landed since.
pub fn rollback_expecting(
    store: &dyn Store,
    set: &str,
    target: Option<&str>,
    expect_live: Option<&str>,
) -> Result<RollbackReport, PublishError> {
    let layout = checked(set)?;
    let mut watch = LeaseWatch::start(store, &layout)?;
    let (live, etag) = read_pointer(store, &layout)?
        .ok_or_else(|| PublishError::NothingPublished { set: set.to_owned(), store: store.location() })?;
    if let Some(expected) = expect_live
        && expected != live.version
    {
        return Err(PublishError::LiveChanged {
            set: set.to_owned(),
            expected: expected.to_owned(),
            live: live.version.clone(),
        });
    }
    let target = match target {
        Some(t) => t.to_owned(),
        None => live.previous.clone().ok_or_else(|| PublishError::NoPrevious { set: set.to_owned() })?,
    };
    if target == live.version {
        return Err(PublishError::AlreadyLive { set: set.to_owned(), version: target });
    }
    // The previous version was live, so complete; any other may be one that never went live (its publish died
    // waiting for a gc that removed a tile it had reused): check its tiles too.
    let check_tiles = live.previous.as_deref() != Some(target.as_str());
    let check = || -> Result<VersionRecord, PublishError> {
        let record = read_record(store, &layout, set, &target)?;
        // One GET and a hash: a damaged or swapped manifest is refused, whatever the size of the set.
        let manifest = read_manifest(store, &layout, &target, &record.manifest_sha256)?;
        for archive in
            std::iter::once(layout.archive(&record.archive_sha256)).chain(record.pmtiles(&layout).map(|(k, _)| k))
        {
            if store.head(&archive)?.is_none() {
                return Err(PublishError::MissingObject { key: archive });
            }
        }
        if check_tiles && let Some(key) = first_missing_tile(store, &layout, &target, &manifest)? {
            return Err(PublishError::MissingObject { key });
        }
        Ok(record)
    };
    let record = check()?;
    let from = live.version.clone();
    let target_ref = Target { version: &target, manifest_sha256: &record.manifest_sha256, action: "rollback" };
    let pointer = swap(store, &layout, set, Some((live, etag)), &target_ref, &mut watch, &mut || {
        // A gc ran since the check: check again (it may have removed the target).
        let again = check()?;
        if again.manifest_sha256 != record.manifest_sha256 {
            return Err(PublishError::Untrusted {
                key: layout.version_record(&target),
                detail: "the record changed during the rollback".to_owned(),
            });
        }
        Ok(())
    })?;
    info!(set, from = %from, to = %target, generation = pointer.generation, "rolled back");
    Ok(RollbackReport {
        set: set.to_owned(),
        from,
        to: target,
        generation: pointer.generation,
        tiles: record.tiles,
        bytes: record.bytes,
    })
}

/// The first tile of a version that is not in the store (or is there with another size).
fn first_missing_tile(
    store: &dyn Store,
    layout: &Layout,
    version: &str,
    manifest: &[u8],
) -> Result<Option<String>, PublishError> {
    let missing = missing_tiles(store, layout, layout.manifest(version), manifest)?;
    Ok(missing.tiles.iter().map(|sha| layout.tile(&hex::encode(sha))).min())
}
