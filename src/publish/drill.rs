//! The rollback drill: a set's live version L → `rollback` to its previous version P → `verify` P → `rollback`
//! again (P's previous is L) → `verify` L, each step timed; a [`DrillReport`] out, or a [`DrillError`] that names
//! the step and version and says whether L is live again (the drill puts it back after any failure it can).

use std::time::Instant;

use serde::Serialize;
use tracing::{info, warn};

use super::error::PublishError;
use super::objects::checked;
use super::pointer::read_pointer;
use super::records::{HistoryRecord, Layout, Pointer};
use super::rollback::rollback;
use super::store::Store;
use super::verify::verify;

/// One step of a drill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DrillStep {
    /// Reading the live pointer and checking that the drill may run.
    Start,
    /// `rollback` from L to P.
    Rollback,
    /// `verify` of P, every object.
    VerifyPrevious,
    /// `rollback` from P, which must land on L.
    Rollforward,
    /// `verify` of L, every object.
    VerifyLive,
    /// After a failure: `rollback --version L`.
    Restore,
}

impl std::fmt::Display for DrillStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        f.write_str(&name)
    }
}

/// A step that ran: which version it acted on, how long it took, and whether it succeeded.
#[derive(Debug, Clone, Serialize)]
pub struct DrillTiming {
    pub step: DrillStep,
    pub version: String,
    pub seconds: f64,
    pub ok: bool,
}

/// What a drill did (also carried by a [`DrillError`]).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DrillReport {
    pub set: String,
    pub store: String,
    /// `passed` or `failed`.
    pub outcome: String,
    /// L: the version live when the drill started.
    pub live: String,
    /// P: L's previous version, live for the duration of the drill.
    pub previous: String,
    pub steps: Vec<DrillTiming>,
    /// Pointer swaps the drill made (2 when it passes, one more when it had to restore L).
    pub swaps: u64,
    /// The version live when the drill ended, as far as it knows; `stranded` when that is not L.
    pub live_after: Option<String>,
    pub stranded: bool,
    /// Tiles and tile bytes of L.
    pub tiles: u64,
    pub bytes: u64,
    pub seconds: f64,
    /// The error, when the drill failed.
    pub error: Option<String>,
}

impl DrillReport {
    /// Seconds of a step that succeeded.
    pub fn seconds_of(&self, step: DrillStep) -> Option<f64> {
        self.steps.iter().find(|t| t.step == step && t.ok).map(|t| t.seconds)
    }
}

/// Why a drill failed.
#[derive(Debug, thiserror::Error)]
pub enum DrillCause {
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error("{count} objects missing or damaged (first: {first})")]
    Problems { count: u64, first: String },
    #[error("it made {landed} live, not {expected}")]
    WrongLanding { landed: String, expected: String },
    #[error(
        "the live version {live} was made live by a rollback from the newer {previous} (an operator's rollback, or a drill cut short): a drill would put {previous} live again, so it does not run"
    )]
    RolledBack { live: String, previous: String },
}

/// Where a failed drill left the pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Aftermath {
    /// The drill had not swapped the pointer.
    NothingSwapped,
    /// L is live (it was when the step failed).
    StillLive { live: String },
    /// The drill put L back live.
    Restored { live: String },
    /// Someone else moved the pointer during the drill; left as it is.
    MovedByOthers { current: String },
    /// L could not be put back: `current` is live.
    Stranded { live: String, current: String, why: String },
}

impl std::fmt::Display for Aftermath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Aftermath::NothingSwapped => write!(f, "the drill swapped nothing"),
            Aftermath::StillLive { live } => write!(f, "{live} is live"),
            Aftermath::Restored { live } => write!(f, "put {live} back live"),
            Aftermath::MovedByOthers { current } => {
                write!(f, "another run moved the pointer to {current} meanwhile; left as it is")
            }
            Aftermath::Stranded { live, current, why } => write!(
                f,
                "COULD NOT put {live} back live ({why}): {current} is live; roll back to {live} by hand (docs/infra/runbooks.md, \"The rollback drill failed\")"
            ),
        }
    }
}

/// A failed drill: the step and the version it acted on, why, and where the pointer was left.
#[derive(Debug, thiserror::Error)]
#[error("{set}: rollback drill failed at {step} of {version}: {cause}; {after}")]
pub struct DrillError {
    pub set: String,
    pub step: DrillStep,
    pub version: String,
    pub cause: DrillCause,
    pub after: Aftermath,
    pub report: DrillReport,
}

/// Runs the drill on a set (see the module's description); a failure is returned only once the drill has done
/// what it can to put L back live.
pub fn drill(store: &dyn Store, set: &str) -> Result<DrillReport, Box<DrillError>> {
    let started = Instant::now();
    let mut run = Drill {
        store,
        report: DrillReport { set: set.to_owned(), store: store.location(), ..DrillReport::default() },
        started,
    };
    let (live, previous) = run.start()?;
    info!(set, live = %live, previous = %previous, "drill started");
    let to_previous = run.step(DrillStep::Rollback, &previous, || rollback(store, set, None)).map_err(|cause| {
        // A lost race or a refusal: the drill did not swap.
        run.fail(DrillStep::Rollback, &previous, cause, Aftermath::NothingSwapped)
    })?;
    run.report.swaps += 1;
    if to_previous.from != live || to_previous.to != previous {
        // Someone swapped between the drill's read and its rollback: put back what was live before it.
        let cause = DrillCause::WrongLanding { landed: to_previous.to.clone(), expected: previous.clone() };
        let after = run.restore(&to_previous.from, &to_previous.to);
        return Err(run.fail(DrillStep::Rollback, &previous, cause, after));
    }
    if let Err(cause) = run.verify(DrillStep::VerifyPrevious, &previous) {
        let after = run.restore(&live, &previous);
        return Err(run.fail(DrillStep::VerifyPrevious, &previous, cause, after));
    }
    let forward = match run.step(DrillStep::Rollforward, &live, || rollback(store, set, None)) {
        Ok(report) => report,
        Err(cause) => {
            let after = run.restore(&live, &previous);
            return Err(run.fail(DrillStep::Rollforward, &live, cause, after));
        }
    };
    run.report.swaps += 1;
    if forward.to != live {
        // From P, L is what must go back; from a version another run made live meanwhile, that one.
        let back_to = if forward.from == previous { live.clone() } else { forward.from.clone() };
        let cause = DrillCause::WrongLanding { landed: forward.to.clone(), expected: live.clone() };
        let after = run.restore(&back_to, &forward.to);
        return Err(run.fail(DrillStep::Rollforward, &live, cause, after));
    }
    (run.report.tiles, run.report.bytes) = (forward.tiles, forward.bytes);
    if let Err(cause) = run.verify(DrillStep::VerifyLive, &live) {
        let after = Aftermath::StillLive { live: live.clone() };
        return Err(run.fail(DrillStep::VerifyLive, &live, cause, after));
    }
    run.report.outcome = "passed".to_owned();
    run.report.live_after = Some(live.clone());
    run.report.seconds = started.elapsed().as_secs_f64();
    let (back, forth) = (run.report.seconds_of(DrillStep::Rollback), run.report.seconds_of(DrillStep::Rollforward));
    info!(set, live = %live, previous = %previous, rollback_seconds = back, rollforward_seconds = forth, "drill passed");
    Ok(run.report)
}

struct Drill<'a> {
    store: &'a dyn Store,
    report: DrillReport,
    started: Instant,
}

impl Drill<'_> {
    /// L and P from the live pointer, refusing a set whose live version came from a rollback.
    fn start(&mut self) -> Result<(String, String), Box<DrillError>> {
        let set = self.report.set.clone();
        let untouched = Aftermath::NothingSwapped;
        let pointer = match live_pointer(self.store, &set) {
            Ok(p) => p,
            Err(e) => return Err(self.fail(DrillStep::Start, "the live version", e.into(), untouched)),
        };
        let live = pointer.version;
        self.report.live.clone_from(&live);
        let Some(previous) = pointer.previous else {
            return Err(self.fail(DrillStep::Start, &live, PublishError::NoPrevious { set }.into(), untouched));
        };
        self.report.previous.clone_from(&previous);
        // The live version was made live by a rollback (the pointer's history says so; gc fences are skipped):
        // its `previous` is the newer version it was rolled away from. Without the history, version ids sort by
        // publish time to the second.
        let rolled_back = last_action(self.store, &set, &live, pointer.generation)
            .map_or(previous > live, |action| action == "rollback");
        if rolled_back {
            let cause = DrillCause::RolledBack { live: live.clone(), previous };
            return Err(self.fail(DrillStep::Start, &live, cause, untouched));
        }
        Ok((live, previous))
    }

    /// Runs and times one step.
    fn step<T>(
        &mut self,
        step: DrillStep,
        version: &str,
        work: impl FnOnce() -> Result<T, PublishError>,
    ) -> Result<T, DrillCause> {
        let started = Instant::now();
        let result = work();
        let seconds = started.elapsed().as_secs_f64();
        self.report.steps.push(DrillTiming { step, version: version.to_owned(), seconds, ok: result.is_ok() });
        info!(set = %self.report.set, step = %step, version, seconds, ok = result.is_ok(), "drill step");
        Ok(result?)
    }

    /// A full `verify` of a version: any missing or damaged object fails the step.
    fn verify(&mut self, step: DrillStep, version: &str) -> Result<(), DrillCause> {
        let set = self.report.set.clone();
        let store = self.store;
        let checked = self.step(step, version, || verify(store, &set, Some(version)))?;
        if checked.problem_count == 0 {
            return Ok(());
        }
        if let Some(last) = self.report.steps.last_mut() {
            last.ok = false;
        }
        let first = checked.problems.first().cloned().unwrap_or_default();
        Err(DrillCause::Problems { count: checked.problem_count, first })
    }

    /// After a failure: puts `live` back if `ours` (what the drill made live) still is.
    fn restore(&mut self, live: &str, ours: &str) -> Aftermath {
        let (store, set) = (self.store, self.report.set.clone());
        let stranded = |why: String| Aftermath::Stranded { live: live.to_owned(), current: ours.to_owned(), why };
        match live_pointer(self.store, &set) {
            Err(e) => stranded(format!("cannot read the pointer: {e}")),
            Ok(p) if p.version == live => Aftermath::StillLive { live: live.to_owned() },
            Ok(p) if p.version != ours => Aftermath::MovedByOthers { current: p.version },
            Ok(_) => match self.step(DrillStep::Restore, live, || rollback(store, &set, Some(live))) {
                Ok(_) => {
                    self.report.swaps += 1;
                    warn!(set, live, "drill failed; put the live version back");
                    Aftermath::Restored { live: live.to_owned() }
                }
                Err(e) => stranded(e.to_string()),
            },
        }
    }

    fn fail(&mut self, step: DrillStep, version: &str, cause: DrillCause, after: Aftermath) -> Box<DrillError> {
        let mut report = std::mem::take(&mut self.report);
        report.outcome = "failed".to_owned();
        report.seconds = self.started.elapsed().as_secs_f64();
        report.live_after = match &after {
            Aftermath::NothingSwapped => Some(report.live.clone()).filter(|l| !l.is_empty()),
            Aftermath::StillLive { live } | Aftermath::Restored { live } => Some(live.clone()),
            Aftermath::MovedByOthers { current } | Aftermath::Stranded { current, .. } => Some(current.clone()),
        };
        report.stranded = matches!(after, Aftermath::Stranded { .. });
        let set = report.set.clone();
        let mut error = DrillError { set, step, version: version.to_owned(), cause, after, report };
        error.report.error = Some(error.to_string());
        Box::new(error)
    }
}

/// The set's live pointer (the drill needs its `previous`, which no report gives before the first swap): read
/// and checked as every command reads it.
fn live_pointer(store: &dyn Store, set: &str) -> Result<Pointer, PublishError> {
    let layout = checked(set)?;
    read_pointer(store, &layout)?
        .map(|(pointer, _)| pointer)
        .ok_or_else(|| PublishError::NothingPublished { set: set.to_owned(), store: store.location() })
}

/// The action that made `version` live at `generation` or before (gc fences, which keep the version, are skipped):
/// `None` when the history does not say (a record missing or unreadable, or more than 16 fences in a row).
fn last_action(store: &dyn Store, set: &str, version: &str, generation: u64) -> Option<String> {
    let layout = Layout::new(set);
    for generation in (0..=generation).rev().take(16) {
        let (bytes, _) = store.get(&layout.history(generation), 1 << 20).ok()??;
        let record: HistoryRecord = serde_json::from_slice(&bytes).ok()?;
        if record.version != version {
            return None;
        }
        if record.action != "gc" {
            return Some(record.action);
        }
    }
    None
}
