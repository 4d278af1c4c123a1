//! What can go wrong firing a schedule (`crate::error` turns it into an answer).

use circa_store::StoreError;

use crate::orchestrator::OrchestratorError;

/// A schedule could not fire.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// What the schedule names is gone (its project).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Starting the pipeline.
    #[error(transparent)]
    Orchestrator(#[from] OrchestratorError),
}
