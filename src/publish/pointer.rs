//! The pointer protocol: `current.json` names the live version and its generation; it only ever changes by a
//! compare-and-swap from the content a writer read (on S3 `If-Match`, on `file://` a create-only claim: see
//! `file.rs`), so each generation has exactly one winner on every backend, and each winner writes
//! `history/<generation>.json` (create-only).
//!
//! gc *fences* the pointer before it deletes anything: a swap of the same version to the next generation. A swap
//! that a writer prepared before the fence (a rollback whose PUT was slow, say) then fails its compare-and-swap
//! instead of landing after gc marked; the writer reads the pointer again, sees the same version one generation
//! on, waits for the gc (its lease), checks again that what it makes live is complete, and retries. Details and
//! the argument are in `docs/store-protocol.md`.

use tracing::{info, warn};

use super::error::PublishError;
use super::lease::LeaseWatch;
use super::records::{HistoryRecord, Layout, Pointer, utc_now};
use super::store::{self, Condition, MAX_SMALL_OBJECT, PutOptions, Store, StoreError};

/// Times a swap is retried after losing only to gc fences (each retry waits for that gc first).
const MAX_FENCE_RETRIES: usize = 20;

/// Reads and parses a set's pointer with its ETag, or `None` before the first publish.
pub fn read_pointer(store: &dyn Store, layout: &Layout) -> Result<Option<(Pointer, String)>, PublishError> {
    let key = layout.pointer();
    let Some((bytes, etag)) = store.get(&key, MAX_SMALL_OBJECT)? else { return Ok(None) };
    let pointer: Pointer = serde_json::from_slice(&bytes)
        .map_err(|e| PublishError::BrokenPointer { key: key.clone(), detail: e.to_string() })?;
    if pointer.version.contains('/') || store::check_key(&pointer.version).is_err() {
        return Err(PublishError::BrokenPointer { key, detail: format!("`{}` is not a version id", pointer.version) });
    }
    Ok(Some((pointer, etag)))
}

/// What a swap makes live.
pub struct Target<'a> {
    pub version: &'a str,
    pub manifest_sha256: &'a str,
    /// `publish`, `rollback` or `promote` (in the history record).
    pub action: &'a str,
}

/// Makes `target` live over `base` (the pointer the caller read and decided on; `None` for a first publish).
/// Before each attempt it settles with the gc lease (`watch`: waits for a running gc and, if one ran, calls
/// `recheck`, which must make sure again that the target is complete). A lost compare-and-swap is
/// [`PublishError::LostRace`], unless the winner was a gc fence (the same version, one generation on): then it
/// retries from there. Returns the pointer written.
pub fn swap(
    store: &dyn Store,
    layout: &Layout,
    set: &str,
    mut base: Option<(Pointer, String)>,
    target: &Target<'_>,
    watch: &mut LeaseWatch,
    recheck: &mut dyn FnMut() -> Result<(), PublishError>,
) -> Result<Pointer, PublishError> {
    let decided_on = base.as_ref().map(|(p, _)| p.version.clone());
    for _ in 0..=MAX_FENCE_RETRIES {
        watch.settle(store, layout, set, recheck)?;
        let generation = match &base {
            Some((p, _)) => p.generation.checked_add(1).ok_or_else(|| PublishError::Overflow {
                set: set.to_owned(),
                what: "the pointer generation".to_owned(),
            })?,
            None => 1,
        };
        if let Some((p, _)) = &base {
            backfill_history(store, layout, set, p);
        }
        let pointer = Pointer {
            version: target.version.to_owned(),
            manifest_sha256: target.manifest_sha256.to_owned(),
            previous: decided_on.clone(),
            generation,
            swapped_at: utc_now().1,
        };
        match cas(store, layout, &pointer, base.as_ref().map(|(_, etag)| etag.clone()), target.action) {
            Ok(()) => return Ok(pointer),
            Err(PublishError::Store(StoreError::PreconditionFailed { .. })) => {}
            Err(e) => return Err(e),
        }
        let now = read_pointer(store, layout)?;
        let fenced = matches!((&now, &base), (Some((n, _)), Some((b, _)))
            if n.version == b.version && n.manifest_sha256 == b.manifest_sha256
                && (n.previous == b.previous || n.previous.is_none()) && n.generation > b.generation);
        if !fenced {
            let winner = now.map_or_else(|| "none".to_owned(), |(p, _)| p.version);
            return Err(PublishError::LostRace { set: set.to_owned(), winner });
        }
        info!(set, "a gc fenced the pointer just before this swap: waiting for it, then trying again");
        base = now;
    }
    Err(PublishError::LostRace { set: set.to_owned(), winner: "a gc that kept fencing the pointer".to_owned() })
}

/// gc's fence: the live version swapped to the next generation, so that no swap prepared before it can land.
/// Returns the fenced pointer (what gc then marks from).
pub fn fence(store: &dyn Store, layout: &Layout, set: &str) -> Result<Pointer, PublishError> {
    for _ in 0..=MAX_FENCE_RETRIES {
        let Some((live, etag)) = read_pointer(store, layout)? else {
            return Err(PublishError::NothingPublished { set: set.to_owned(), store: store.location() });
        };
        let generation = live
            .generation
            .checked_add(1)
            .ok_or_else(|| PublishError::Overflow { set: set.to_owned(), what: "the pointer generation".to_owned() })?;
        backfill_history(store, layout, set, &live);
        let fenced = Pointer { generation, ..live };
        match cas(store, layout, &fenced, Some(etag), "gc") {
            Ok(()) => return Ok(fenced),
            // A swap that was on its way landed first: fence what is live now.
            Err(PublishError::Store(StoreError::PreconditionFailed { .. })) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(PublishError::LostRace { set: set.to_owned(), winner: "swaps that kept landing before gc's fence".to_owned() })
}

/// gc's second fence, when it is about to remove the live version's `previous`: the pointer, one generation on,
/// with `previous` cleared. A rollback to the previous version skips the check of its tiles (it was live, so
/// complete, and gc removes a version's record before its tiles); that holds only while the record is the one
/// that was live. Once gc removes it, a publish or promote of the same version id (same content in the same
/// second, or a promote of a version this store had) that dies after writing its record would bring back a
/// record whose tiles are gone. With `previous` cleared, a rollback must name the version, and its tiles are
/// checked. Called under gc's lease, so the only swap that can land meanwhile is none; a lost race stops gc.
pub fn forget_previous(store: &dyn Store, layout: &Layout, set: &str) -> Result<(), PublishError> {
    let Some((live, etag)) = read_pointer(store, layout)? else {
        return Err(PublishError::NothingPublished { set: set.to_owned(), store: store.location() });
    };
    if live.previous.is_none() {
        return Ok(());
    }
    let generation = live
        .generation
        .checked_add(1)
        .ok_or_else(|| PublishError::Overflow { set: set.to_owned(), what: "the pointer generation".to_owned() })?;
    let cleared = Pointer { generation, previous: None, ..live };
    match cas(store, layout, &cleared, Some(etag), "gc") {
        Err(PublishError::Store(StoreError::PreconditionFailed { .. })) => {
            let winner = read_pointer(store, layout)?.map_or_else(|| "none".to_owned(), |(p, _)| p.version);
            Err(PublishError::LostRace { set: set.to_owned(), winner })
        }
        other => other,
    }
}

/// The compare-and-swap of the pointer against `etag` (create-only when `None`), then its history record.
fn cas(
    store: &dyn Store,
    layout: &Layout,
    pointer: &Pointer,
    etag: Option<String>,
    action: &str,
) -> Result<(), PublishError> {
    let condition = etag.map_or(Condition::IfAbsent, Condition::IfMatch);
    let options = PutOptions {
        content_type: "application/json",
        content_encoding: None,
        cache_control: store::SHORT_LIVED,
        condition,
    };
    let body = serde_json::to_vec_pretty(pointer)
        .map_err(|e| StoreError::Io { location: layout.pointer(), source: std::io::Error::other(e) })?;
    store.put(&layout.pointer(), &body, &options)?;
    let record = HistoryRecord {
        generation: pointer.generation,
        action: action.to_owned(),
        version: pointer.version.clone(),
        previous: pointer.previous.clone(),
        swapped_at: pointer.swapped_at.clone(),
    };
    if let Err(err) = put_history(store, layout, &record) {
        // The swap happened (it is the commit); the next swap writes the missing record from this pointer.
        warn!(generation = pointer.generation, error = %err, "could not write the history record; the next swap writes it");
    }
    Ok(())
}

fn put_history(store: &dyn Store, layout: &Layout, record: &HistoryRecord) -> Result<(), StoreError> {
    let key = layout.history(record.generation);
    let body = serde_json::to_vec_pretty(record)
        .map_err(|e| StoreError::Io { location: key.clone(), source: std::io::Error::other(e) })?;
    let options = PutOptions {
        content_type: "application/json",
        content_encoding: None,
        cache_control: store::IMMUTABLE,
        condition: Condition::IfAbsent,
    };
    match store.put(&key, &body, &options) {
        Ok(_) | Err(StoreError::PreconditionFailed { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Writes the base generation's history record if its writer could not (one HEAD when it is there).
fn backfill_history(store: &dyn Store, layout: &Layout, set: &str, base: &Pointer) {
    let key = layout.history(base.generation);
    match store.head(&key) {
        Ok(Some(_)) => {}
        Ok(None) => {
            let record = HistoryRecord {
                generation: base.generation,
                action: "recovered".to_owned(),
                version: base.version.clone(),
                previous: base.previous.clone(),
                swapped_at: base.swapped_at.clone(),
            };
            match put_history(store, layout, &record) {
                Ok(()) => info!(set, generation = base.generation, "wrote the history record the last swap could not"),
                Err(err) => warn!(set, error = %err, "could not write a missing history record"),
            }
        }
        Err(err) => warn!(set, error = %err, "could not check the history record of the live generation"),
    }
}
