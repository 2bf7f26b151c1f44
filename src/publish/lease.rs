//! The gc lease, `SET/gc.lock`: gc holds it while it marks and sweeps, and a publish, promote or rollback
//! waits for it before the pointer swap, so that no version goes live missing an object gc removed.
//!
//! The race it closes: a publish finds an old, unreferenced tile already in the store and skips it; a gc that
//! marked before the publish wrote its version record then deletes that tile; the publish swaps and the live
//! version lacks a tile. The grace period does not help, because the tile itself is old.
//!
//! The protocol. gc takes the lease (a create-only put, or a compare-and-swap over a finished or expired
//! one), marks, sweeps while renewing it (and reading it back before each delete step: a lease taken over or
//! deleted stops it), and ends by writing it back as `done` — so the lease object's ETag changes with every gc
//! that starts or ends (a random token keeps any two leases' bytes apart). A publisher notes that ETag before
//! it looks at what the store has ([`LeaseWatch::start`]); after its version record is written and before the
//! swap ([`LeaseWatch::settle`]) it waits while a gc runs, and if the ETag moved (a gc ran meanwhile), or a gc
//! had died holding the lease when it started, it checks again that every object it needs is there,
//! re-uploading what is not. A gc that starts after that reads the publisher's version record, which is
//! younger than the grace period, and keeps its objects.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use super::error::PublishError;
use super::records::{Layout, utc_stamps};
use super::store::{Condition, MAX_SMALL_OBJECT, PutOptions, Store, StoreError};

/// How long a lease lasts unless renewed; gc renews it when half is left.
pub const LEASE_TTL: Duration = Duration::from_secs(600);
/// How often a waiting publisher looks at the lease again.
const POLL: Duration = Duration::from_millis(500);
/// How long a publisher waits for gc before it gives up (nothing swapped): a gc Job ends within the hour.
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// The content of `SET/gc.lock`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// `running` while a gc holds it, `done` after.
    pub state: String,
    /// Who: `host:pid`.
    pub holder: String,
    /// When the holder took it (UTC).
    pub started_at: String,
    /// Unix time after which a `running` lease is abandoned (its gc died) and may be taken over.
    pub expires_unix: u64,
    /// Random per gc run, so that no two leases ever have the same bytes (and ETag).
    #[serde(default)]
    pub token: String,
}

impl Lease {
    fn running(&self, now: u64) -> bool {
        self.state == "running" && now < self.expires_unix
    }
}

fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// 64 random bits (the standard library's per-process random hash keys, mixed with the time).
fn token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    format!("{:016x}", hasher.finish())
}

fn holder() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}:{}", std::process::id())
}

fn options(condition: Condition) -> PutOptions {
    PutOptions { content_type: "application/json", content_encoding: None, cache_control: "no-store", condition }
}

/// The lease and its ETag, or `None` if no gc ever ran on the set.
fn read(store: &dyn Store, layout: &Layout) -> Result<Option<(Lease, String)>, PublishError> {
    read_key(store, &layout.gc_lease())
}

fn read_key(store: &dyn Store, key: &str) -> Result<Option<(Lease, String)>, PublishError> {
    let key = key.to_owned();
    let Some((bytes, etag)) = store.get(&key, MAX_SMALL_OBJECT)? else { return Ok(None) };
    let lease = serde_json::from_slice(&bytes)
        .map_err(|e| PublishError::BrokenLease { key: key.clone(), detail: e.to_string() })?;
    Ok(Some((lease, etag)))
}

/// A lease held by this gc.
pub struct HeldLease {
    key: String,
    lease: Lease,
    etag: String,
}

impl HeldLease {
    /// Takes the set's lease, or refuses if another gc holds it.
    pub fn acquire(store: &dyn Store, layout: &Layout, set: &str) -> Result<HeldLease, PublishError> {
        let key = layout.gc_lease();
        let now = now_unix();
        let condition = match read(store, layout)? {
            None => Condition::IfAbsent,
            Some((other, _)) if other.running(now) => {
                return Err(PublishError::GcRunning { set: set.to_owned(), holder: other.holder });
            }
            Some((other, etag)) => {
                if other.state == "running" {
                    warn!(set, holder = %other.holder, "taking over an expired gc lease (its gc stopped without releasing it)");
                }
                Condition::IfMatch(etag)
            }
        };
        let lease = Lease {
            state: "running".to_owned(),
            holder: holder(),
            started_at: utc_stamps(now).1,
            expires_unix: now + LEASE_TTL.as_secs(),
            token: token(),
        };
        let etag = put(store, &key, &lease, condition).map_err(|e| match e {
            StoreError::PreconditionFailed { .. } => {
                PublishError::GcRunning { set: set.to_owned(), holder: "another gc (it started just now)".to_owned() }
            }
            e => e.into(),
        })?;
        info!(set, holder = %lease.holder, "gc lease taken");
        Ok(HeldLease { key, lease, etag })
    }

    /// Before each delete step: checks that the lease in the store is still this one (not taken over, deleted
    /// or edited by hand) and not past its time, and renews it when half of it is gone. An error means this gc
    /// must delete nothing more.
    pub fn renew(&mut self, store: &dyn Store, set: &str) -> Result<(), PublishError> {
        self.keep(store, set, false)
    }

    /// Before a long step (a listing of every tile): renews the lease whatever is left of it.
    pub fn refresh(&mut self, store: &dyn Store, set: &str) -> Result<(), PublishError> {
        self.keep(store, set, true)
    }

    fn keep(&mut self, store: &dyn Store, set: &str, always: bool) -> Result<(), PublishError> {
        let lost = |why: &str| PublishError::GcLeaseLost { set: set.to_owned(), why: why.to_owned() };
        let now = now_unix();
        if now >= self.lease.expires_unix {
            return Err(lost("it ran past its lease time"));
        }
        match read_key(store, &self.key)? {
            Some((_, etag)) if etag == self.etag => {}
            Some((other, _)) => return Err(lost(&format!("the lease now belongs to {}", other.holder))),
            None => return Err(lost("the lease was deleted")),
        }
        if !always && now + LEASE_TTL.as_secs() / 2 < self.lease.expires_unix {
            return Ok(());
        }
        let mut renewed = self.lease.clone();
        renewed.expires_unix = now + LEASE_TTL.as_secs();
        self.etag = put(store, &self.key, &renewed, Condition::IfMatch(self.etag.clone())).map_err(|e| match e {
            StoreError::PreconditionFailed { .. } => lost("another gc took it over"),
            e => e.into(),
        })?;
        self.lease = renewed;
        Ok(())
    }

    /// Marks the lease `done` (it stays, so that its ETag tells publishers a gc ran).
    pub fn release(self, store: &dyn Store, set: &str) {
        let done = Lease { state: "done".to_owned(), ..self.lease };
        if let Err(err) = put(store, &self.key, &done, Condition::IfMatch(self.etag)) {
            warn!(set, error = %err, "could not release the gc lease; it expires by itself");
        }
    }
}

fn put(store: &dyn Store, key: &str, lease: &Lease, condition: Condition) -> Result<String, StoreError> {
    let body = serde_json::to_vec_pretty(lease)
        .map_err(|e| StoreError::Io { location: key.to_owned(), source: std::io::Error::other(e) })?;
    store.put(key, &body, &options(condition))
}

/// A publisher's view of the lease: its ETag when the publisher started looking at the store, and whether a
/// gc was running then (or had died holding it: it may have deleted something just before).
pub struct LeaseWatch {
    etag: Option<String>,
    gc_was_running: bool,
}

impl LeaseWatch {
    /// Notes the lease's ETag; call it before finding out which objects the store has.
    pub fn start(store: &dyn Store, layout: &Layout) -> Result<LeaseWatch, PublishError> {
        let lease = read(store, layout)?;
        let gc_was_running = lease.as_ref().is_some_and(|(lease, _)| lease.state == "running");
        Ok(LeaseWatch { etag: lease.map(|(_, etag)| etag), gc_was_running })
    }

    /// Call after the version record is written, just before the swap. Waits while a gc runs; then, if a gc
    /// ran since [`LeaseWatch::start`], calls `recheck` (which must make every object the version needs
    /// present again) and looks once more, until the lease stands still.
    pub fn settle(
        &mut self,
        store: &dyn Store,
        layout: &Layout,
        set: &str,
        recheck: &mut dyn FnMut() -> Result<(), PublishError>,
    ) -> Result<(), PublishError> {
        let mut waiting_since: Option<Instant> = None;
        let first_wait = Instant::now();
        loop {
            let current = read(store, layout)?;
            if let Some((lease, _)) = &current
                && lease.running(now_unix())
            {
                let since = *waiting_since.get_or_insert_with(|| {
                    info!(set, holder = %lease.holder, "waiting for a running gc to finish before the swap");
                    Instant::now()
                });
                if since.elapsed() > MAX_WAIT || first_wait.elapsed() > MAX_WAIT {
                    return Err(PublishError::GcTooLong {
                        set: set.to_owned(),
                        holder: lease.holder.clone(),
                        minutes: MAX_WAIT.as_secs() / 60,
                    });
                }
                std::thread::sleep(POLL);
                continue;
            }
            if let Some(since) = waiting_since.take() {
                info!(set, waited_seconds = since.elapsed().as_secs_f64(), "gc finished");
            }
            let etag = current.map(|(_, etag)| etag);
            if etag == self.etag && !self.gc_was_running {
                return Ok(());
            }
            info!(set, "a gc ran during this run: checking again that every object is in the store");
            self.etag = etag;
            self.gc_was_running = false;
            recheck()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::file::FileStore;
    use super::*;

    fn store() -> (tempfile::TempDir, FileStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileStore::new(dir.path().to_owned()).expect("store");
        (dir, store)
    }

    #[test]
    fn one_gc_at_a_time_and_released_as_done() {
        let (_dir, store) = store();
        let layout = Layout::new("s");
        let held = HeldLease::acquire(&store, &layout, "s").expect("first");
        assert!(matches!(HeldLease::acquire(&store, &layout, "s"), Err(PublishError::GcRunning { .. })));
        held.release(&store, "s");
        let (lease, _) = read(&store, &layout).expect("read").expect("lease");
        assert_eq!(lease.state, "done");
        HeldLease::acquire(&store, &layout, "s").expect("again after release").release(&store, "s");
    }

    #[test]
    fn a_lease_past_its_time_is_lost_and_one_taken_over_cannot_be_renewed() {
        let (_dir, store) = store();
        let layout = Layout::new("s");
        let mut held = HeldLease::acquire(&store, &layout, "s").expect("acquire");
        held.renew(&store, "s").expect("a fresh lease needs no renewal");

        // Half gone: renewed, with a later expiry and a new ETag.
        held.lease.expires_unix = now_unix() + 10;
        held.renew(&store, "s").expect("renew");
        assert!(held.lease.expires_unix >= now_unix() + LEASE_TTL.as_secs() - 1);
        let (stored, etag) = read(&store, &layout).expect("read").expect("lease");
        assert_eq!((stored, etag), (held.lease.clone(), held.etag.clone()), "the store holds the renewed lease");

        // Another gc took it over (as after an expiry): this one may delete nothing more.
        let other = Lease { holder: "other:1".to_owned(), ..held.lease.clone() };
        put(&store, &layout.gc_lease(), &other, Condition::Always).expect("take over");
        held.lease.expires_unix = now_unix() + 10;
        assert!(matches!(held.renew(&store, "s"), Err(PublishError::GcLeaseLost { .. })));

        // Past its time: lost without asking the store.
        held.lease.expires_unix = now_unix() - 1;
        assert!(matches!(held.renew(&store, "s"), Err(PublishError::GcLeaseLost { .. })));
    }

    #[test]
    fn a_damaged_lease_is_a_clear_error() {
        let (_dir, store) = store();
        let layout = Layout::new("s");
        store.put(&layout.gc_lease(), b"{not json", &options(Condition::Always)).expect("put");
        let err = LeaseWatch::start(&store, &layout).err().expect("an error");
        assert!(err.to_string().starts_with("s/gc.lock: unreadable gc lease:"), "{err}");
        assert!(matches!(HeldLease::acquire(&store, &layout, "s"), Err(PublishError::BrokenLease { .. })));
    }

    #[test]
    fn a_watch_rechecks_only_when_a_gc_ran() {
        let (_dir, store) = store();
        let layout = Layout::new("s");
        let mut rechecks = 0;
        let mut watch = LeaseWatch::start(&store, &layout).expect("start");
        watch
            .settle(&store, &layout, "s", &mut || {
                rechecks += 1;
                Ok(())
            })
            .expect("settle");
        assert_eq!(rechecks, 0, "no gc, no recheck");

        let mut watch = LeaseWatch::start(&store, &layout).expect("start");
        HeldLease::acquire(&store, &layout, "s").expect("gc").release(&store, "s");
        watch
            .settle(&store, &layout, "s", &mut || {
                rechecks += 1;
                Ok(())
            })
            .expect("settle");
        assert_eq!(rechecks, 1, "a gc ran in between");

        // A lease abandoned while running (expired) is not waited for, but still means a gc ran.
        let mut watch = LeaseWatch::start(&store, &layout).expect("start");
        let dead = Lease {
            state: "running".to_owned(),
            holder: "dead:1".to_owned(),
            started_at: String::new(),
            expires_unix: now_unix() - 1,
            token: String::new(),
        };
        put(&store, &layout.gc_lease(), &dead, Condition::Always).expect("put");
        watch
            .settle(&store, &layout, "s", &mut || {
                rechecks += 1;
                Ok(())
            })
            .expect("settle");
        assert_eq!(rechecks, 2);

        // The same dead lease, already there when the run started: its gc may have deleted something just
        // before it died, so it still means a recheck.
        let mut watch = LeaseWatch::start(&store, &layout).expect("start");
        watch
            .settle(&store, &layout, "s", &mut || {
                rechecks += 1;
                Ok(())
            })
            .expect("settle");
        assert_eq!(rechecks, 3);
    }

    #[test]
    fn a_lease_deleted_by_hand_stops_its_gc_at_the_next_step() {
        let (_dir, store) = store();
        let layout = Layout::new("s");
        let mut held = HeldLease::acquire(&store, &layout, "s").expect("acquire");
        held.renew(&store, "s").expect("still ours");
        store.delete(&layout.gc_lease()).expect("delete");
        let err = held.renew(&store, "s").expect_err("lost");
        assert!(err.to_string().contains("the lease was deleted"), "{err}");
    }
}
