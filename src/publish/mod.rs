//! A built tileset (MBTiles + manifest) → a new immutable version in a store, made live by one atomic pointer
//! swap; and the operations around it: rollback, versions, verify, promote (one store to another), gc.
//!
//! Layout and protocol are in ARCHITECTURE.md: content-addressed tiles (`tiles/ab/<sha256>`), the archive, each
//! version's manifest and record (create-only), `current.json` swapped by compare-and-swap, and one history
//! record per swap. Everything before the swap only adds objects, so a crash leaves the old version live and a
//! rerun uploads only what is missing.
//!
//! The rooms, from the bottom up: the store (`store` trait, `file` and `s3` backends), the error, the objects of a
//! set (`records`: names and JSON types; `objects`: reading them checked), the pointer protocol (`pointer`), the gc
//! lease (`lease`), tile objects (`tiles`) and the shrink guard (`guard`); then the verbs, which import only those:
//! `upload` (publish), `versions`, `verify`, `rollback`, `promote`, `gc`; `drill` runs rollback and verify as
//! the weekly rollback drill.

mod error;
mod file;
mod s3;
mod store;
pub mod testing;

mod deltas;
mod guard;
mod lease;
mod objects;
mod pointer;
mod records;
mod tiles;

mod drill;
mod gc;
mod promote;
mod rollback;
mod upload;
mod verify;
mod versions;

pub use drill::{Aftermath, DrillCause, DrillError, DrillReport, DrillStep, DrillTiming, drill};
pub use error::PublishError;
pub use gc::{GcReport, GcRequest, gc, parse_grace};
pub use promote::{PromoteReport, PromoteRequest, promote};
pub use records::{DeltaRef, DiffSummary, HistoryRecord, Layout, Pointer, VersionRecord, check_set_name};
pub use rollback::{RollbackReport, rollback, rollback_expecting};
pub(crate) use store::check_key;
pub use store::{Condition, Listed, PutOptions, Store, StoreError, open, open_with_endpoint};
pub use upload::{PublishReport, PublishRequest, publish};
pub use verify::{VerifyReport, verify};
pub use versions::{VersionInfo, versions};

pub use crate::config::DEFAULT_MAX_SHRINK;
