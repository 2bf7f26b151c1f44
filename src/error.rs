//! The crate's error: one variant per stage, each wrapping that stage's own error type.

use crate::archive::ArchiveError;
use crate::config::ConfigError;
use crate::encode::EncodeError;
use crate::manifest::ManifestError;
use crate::pipeline::BuildError;
use crate::publish::{Aftermath, DrillCause, DrillError, PublishError};
use crate::render::RenderError;
use crate::source::SourceError;

/// Any error of tilepress; the message names the file, feature, key or tile at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Build(BuildError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// A failed rollback drill (boxed: it carries the drill's report).
    #[error(transparent)]
    Drill(#[from] Box<DrillError>),
}

impl Error {
    /// The process exit code for this error (documented in the README).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config(_) | Error::Build(_) => 3,
            Error::Source(_) => 4,
            Error::Archive(_) => 5,
            Error::Manifest(ManifestError::Io { .. } | ManifestError::Archive(_)) => 5,
            Error::Manifest(_) => 6,
            Error::Encode(_) => 1,
            Error::Render(RenderError::Encode { .. } | RenderError::Canvas { .. }) => 1,
            Error::Render(RenderError::Mosaic { .. }) => 3,
            Error::Render(_) => 5,
            Error::Publish(err) => publish_exit_code(err),
            // The live version could not be put back after a failed drill: someone must act.
            Error::Drill(err) if matches!(err.after, Aftermath::Stranded { .. }) => 9,
            Error::Drill(err) => match &err.cause {
                DrillCause::Publish(err) => publish_exit_code(err),
                DrillCause::Problems { .. } => 8,
                DrillCause::WrongLanding { .. } | DrillCause::RolledBack { .. } => 7,
            },
        }
    }
}

fn publish_exit_code(err: &PublishError) -> i32 {
    match err {
        PublishError::Store(_) | PublishError::Archive(_) => 5,
        PublishError::Manifest(_) | PublishError::Delta(_) => 6,
        PublishError::Unverified { .. } | PublishError::DamagedObject { .. } | PublishError::Untrusted { .. } => 8,
        // Refused: a lost race, the shrink guard, an unknown version, a broken pointer.
        _ => 7,
    }
}

impl Error {
    /// The stage that failed, for metrics and logs: config, source, build, render, archive, manifest, store,
    /// publish, verify, drill.
    pub fn stage(&self) -> &'static str {
        match self {
            Error::Config(_) => "config",
            Error::Source(_) => "source",
            Error::Encode(_) | Error::Build(_) => "build",
            Error::Render(_) => "render",
            Error::Archive(_) => "archive",
            Error::Manifest(_) | Error::Publish(PublishError::Manifest(_)) => "manifest",
            Error::Publish(PublishError::Store(_)) => "store",
            Error::Publish(
                PublishError::Unverified { .. } | PublishError::DamagedObject { .. } | PublishError::Untrusted { .. },
            ) => "verify",
            Error::Publish(_) => "publish",
            Error::Drill(_) => "drill",
        }
    }
}

/// The crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
