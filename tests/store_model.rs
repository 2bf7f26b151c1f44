//! A model test of the store protocol (proptest): random sequences of publish / rollback / gc / promote, some run
//! next to a concurrent gc, some killed at a random store request, against `file://` and an in-memory store with
//! random delays. After every step: the live version verifies, the history chains (each record follows the one
//! before it), and every swap that reported success has its generation in the history with its version.
//! `PROPTEST_CASES` sets the number of cases (a few hundred in `make test`, 100,000 in `make soak`).

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use proptest::prelude::*;
use tilepress::publish::testing::MemoryStore;
use tilepress::publish::{self, GcRequest, Listed, PromoteRequest, PublishRequest, PutOptions, Store, StoreError};

const SET: &str = "valletta";
/// Distinct builds to publish (each a different POI position).
const VARIANTS: usize = 4;

/// The builds, made once per test process.
fn variants() -> &'static Vec<(PathBuf, PathBuf)> {
    static BUILDS: OnceLock<(tempfile::TempDir, Vec<(PathBuf, PathBuf)>)> = OnceLock::new();
    &BUILDS
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let builds = (0..VARIANTS)
                .map(|i| {
                    let tileset = common::valletta(dir.path(), 14.50 + 0.005 * i as f64);
                    let out = dir.path().join(format!("v{i}.mbtiles"));
                    common::build_json(&tileset, &out, &["--maxzoom", "13"]);
                    let manifest = tilepress::pipeline::manifest_path_for(&out);
                    (out, manifest)
                })
                .collect();
            (dir, builds)
        })
        .1
}

/// A store that sleeps a little before each request (random, from the case's seed) and, when armed, fails every
/// request after the first `kill_after`: the process died there.
struct Chaos<'a> {
    inner: &'a dyn Store,
    seed: AtomicU64,
    max_delay_us: u64,
    calls: AtomicU64,
    kill_after: Option<u64>,
}

impl Chaos<'_> {
    fn step(&self, key: &str) -> Result<(), StoreError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if self.kill_after.is_some_and(|k| n >= k) {
            return Err(StoreError::Io { location: key.to_owned(), source: std::io::Error::other("killed") });
        }
        if self.max_delay_us > 0 {
            // xorshift: reproducible from the case.
            let mut x = self.seed.load(Ordering::Relaxed) | 1;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.seed.store(x, Ordering::Relaxed);
            // The pointer write is the slow one (S3 retries): the window in which a gc may start.
            let scale = if key.ends_with("current.json") { 50 } else { 1 };
            std::thread::sleep(Duration::from_micros(x % (self.max_delay_us * scale)));
        }
        Ok(())
    }
}

impl Store for Chaos<'_> {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn get(&self, key: &str, max_bytes: u64) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        self.step(key)?;
        self.inner.get(key, max_bytes)
    }
    fn head(&self, key: &str) -> Result<Option<u64>, StoreError> {
        self.step(key)?;
        self.inner.head(key)
    }
    fn put(&self, key: &str, data: &[u8], options: &PutOptions) -> Result<String, StoreError> {
        self.step(key)?;
        self.inner.put(key, data, options)
    }
    fn list(&self, prefix: &str) -> Result<Vec<Listed>, StoreError> {
        self.step(prefix)?;
        self.inner.list(prefix)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.step(key)?;
        self.inner.delete(key)
    }
}

#[derive(Debug, Clone)]
enum Op {
    Publish(usize),
    Rollback,
    Gc {
        keep: usize,
    },
    /// Promote the other store's live version into this one.
    Promote,
}

#[derive(Debug, Clone)]
struct Step {
    op: Op,
    /// A gc runs at the same time.
    with_gc: bool,
    /// The op dies after this many store requests.
    kill_after: Option<u64>,
}

fn step() -> impl Strategy<Value = Step> {
    let op = prop_oneof![
        4 => (0..VARIANTS).prop_map(Op::Publish),
        2 => Just(Op::Rollback),
        2 => (0usize..3).prop_map(|keep| Op::Gc { keep }),
        1 => Just(Op::Promote),
    ];
    // A killed gc leaves its lease for 10 minutes (tests/gc_lease.rs covers that); here only swaps are killed.
    (op, proptest::bool::weighted(0.25), proptest::option::weighted(0.2, 0u64..60)).prop_map(
        |(op, with_gc, kill_after)| {
            let kill_after = kill_after.filter(|_| !matches!(op, Op::Gc { .. }));
            Step { op, with_gc, kill_after }
        },
    )
}

/// What the model knows: every generation a successful swap reported, with its version.
#[derive(Default)]
struct Model {
    swaps: BTreeMap<u64, String>,
}

/// Runs `op` through `store` (possibly killed); `plain` is the same store, for reading what happened.
fn run(store: &dyn Store, plain: &dyn Store, other: &dyn Store, op: &Op) -> Result<Option<(u64, String)>, String> {
    let err = |e: publish::PublishError| e.to_string();
    match op {
        Op::Publish(i) => {
            let (mbtiles, manifest) = &variants()[*i];
            let request = PublishRequest {
                set: SET,
                mbtiles,
                manifest,
                dry_run: false,
                allow_shrink: true,
                max_shrink: 0.2,
                deltas: 2,
            };
            let report = publish::publish(store, &request).map_err(err)?;
            if report.outcome != "published" {
                return Ok(None);
            }
            Ok(Some((live(plain).0, report.version)))
        }
        Op::Rollback => {
            let report = publish::rollback(store, SET, None).map_err(err)?;
            Ok(Some((report.generation, report.to)))
        }
        Op::Gc { keep } => {
            gc(store, *keep).map_err(err)?;
            Ok(None)
        }
        Op::Promote => {
            let request =
                PromoteRequest { set: SET, version: None, dry_run: false, allow_shrink: true, max_shrink: 0.2 };
            let report = publish::promote(other, store, &request).map_err(err)?;
            if report.outcome != "promoted" {
                return Ok(None);
            }
            Ok(Some((live(plain).0, report.version)))
        }
    }
}

fn gc(store: &dyn Store, keep: usize) -> Result<publish::GcReport, publish::PublishError> {
    let request = GcRequest { set: SET, keep_last: keep, keep_versions: &[], grace: Duration::ZERO, dry_run: false };
    publish::gc(store, &request)
}

/// The live pointer's generation and version.
fn live(store: &dyn Store) -> (u64, String) {
    let (bytes, _) = store.get(&format!("{SET}/current.json"), 1 << 20).expect("get").expect("pointer");
    let pointer: publish::Pointer = serde_json::from_slice(&bytes).expect("pointer json");
    (pointer.generation, pointer.version)
}

fn history(store: &dyn Store, generation: u64) -> Option<publish::HistoryRecord> {
    let key = format!("{SET}/history/{generation:020}.json");
    store.get(&key, 1 << 20).expect("get").map(|(bytes, _)| serde_json::from_slice(&bytes).expect("history json"))
}

/// The invariants, after every step.
fn check(store: &dyn Store, model: &Model) -> Result<(), TestCaseError> {
    if store.head(&format!("{SET}/current.json")).expect("head").is_none() {
        prop_assert!(model.swaps.is_empty(), "no pointer, yet swaps succeeded: {:?}", model.swaps);
        return Ok(());
    }
    let (generation, version) = live(store);
    let verified = publish::verify(store, SET, None).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(verified.problem_count, 0, "live {} is incomplete: {:?}", version, verified.problems);
    // Every reported success is in the history under its generation (the newest may wait for the next swap to
    // write its record, if the writer died right after its swap).
    for (g, v) in &model.swaps {
        match history(store, *g) {
            Some(record) => prop_assert_eq!(&record.version, v, "generation {} won by {}", g, v),
            None => prop_assert_eq!(*g, generation, "history of generation {} is missing", g),
        }
    }
    // The history chains: each record follows the one before it.
    let mut before: Option<publish::HistoryRecord> = None;
    for g in 1..=generation {
        let record = history(store, g);
        if let (Some(prev), Some(record)) = (&before, &record) {
            if record.action == "gc" {
                prop_assert_eq!(&record.version, &prev.version, "a gc fence keeps the version (generation {})", g);
            } else if record.action != "recovered" {
                prop_assert_eq!(record.previous.as_ref(), Some(&prev.version), "generation {} follows {}", g, g - 1);
            }
        }
        before = record;
    }
    Ok(())
}

fn run_case(
    store: &dyn Store,
    other: &dyn Store,
    steps: &[Step],
    seed: u64,
    max_delay_us: u64,
) -> Result<(), TestCaseError> {
    // The other store (the promote source) gets one version.
    let (mbtiles, manifest) = &variants()[0];
    let request =
        PublishRequest { set: SET, mbtiles, manifest, dry_run: false, allow_shrink: true, max_shrink: 0.2, deltas: 2 };
    if publish::publish(other, &request).is_err() {
        return Err(TestCaseError::fail("could not seed the promote source"));
    }
    let mut model = Model::default();
    for (i, step) in steps.iter().enumerate() {
        let chaos = Chaos {
            inner: store,
            seed: AtomicU64::new(seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            max_delay_us,
            calls: AtomicU64::new(0),
            kill_after: step.kill_after,
        };
        let outcome = std::thread::scope(|scope| {
            let concurrent = step.with_gc.then(|| scope.spawn(|| gc(store, 0)));
            let outcome = run(&chaos, store, other, &step.op);
            if let Some(handle) = concurrent {
                let _ = handle.join();
            }
            outcome
        });
        if let Ok(Some((generation, version))) = outcome {
            prop_assert!(
                model.swaps.insert(generation, version.clone()).is_none(),
                "two successes claim generation {}",
                generation
            );
        }
        check(store, &model)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_file_store_keeps_every_live_version_complete(steps in proptest::collection::vec(step(), 1..8), seed in any::<u64>()) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = publish::open(&format!("file://{}", dir.path().join("store").display())).expect("store");
        let other = MemoryStore::new();
        run_case(store.as_ref(), &other, &steps, seed, 0)?;
    }

    #[test]
    fn a_slow_memory_store_keeps_every_live_version_complete(steps in proptest::collection::vec(step(), 1..8), seed in any::<u64>()) {
        let store = MemoryStore::new();
        let other = MemoryStore::new();
        run_case(&store, &other, &steps, seed, 300)?;
    }
}

/// Cases per property: `PROPTEST_CASES`, else 150 (so each property takes well under a minute in `make test`).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(150)
}

/// Found by the soak (`make soak`): gc removed the live version's previous one; a promote of the same version id
/// (same content, same second) then wrote its record back and lost its swap to a gc fence, leaving a record
/// whose tiles were gone; rollback trusted it as "the previous version, so complete" and made it live
/// incomplete. Now gc clears `previous` in the pointer before it removes that version (`forget_previous`).
#[test]
fn a_previous_version_that_gc_removed_and_a_dead_promote_brought_back_is_not_made_live() {
    let s = |op, with_gc, kill_after| Step { op, with_gc, kill_after };
    let cases = [
        vec![
            s(Op::Publish(1), false, None),
            s(Op::Publish(0), false, None),
            s(Op::Publish(3), false, None),
            s(Op::Promote, true, None),
            s(Op::Rollback, true, None),
        ],
        vec![
            s(Op::Publish(0), false, None),
            s(Op::Publish(3), false, None),
            s(Op::Gc { keep: 1 }, false, None),
            s(Op::Promote, true, None),
            s(Op::Publish(0), false, Some(4)),
            s(Op::Rollback, true, None),
            s(Op::Promote, false, None),
        ],
    ];
    for steps in &cases {
        // The race needs the promote and the gc side by side: a few runs of each (each failed at its first run).
        for _ in 0..10 {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = publish::open(&format!("file://{}", dir.path().join("store").display())).expect("store");
            let other = MemoryStore::new();
            if let Err(failure) = run_case(store.as_ref(), &other, steps, 1, 0) {
                panic!("{failure}");
            }
        }
    }
}
