//! What can go wrong in the runner API (`crate::error` turns it into an answer).

use axum::response::{IntoResponse, Response};
use circa_store::{BlobError, StoreError, TaskId};

use crate::error::ApiError;
use crate::logs::LogError;
use crate::orchestrator::OrchestratorError;
use crate::secrets::SecretError;

/// A runner API request failed.
#[derive(Debug, thiserror::Error)]
pub enum RunnerApiError {
    /// A request field is not acceptable.
    #[error("{field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The runner token may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// What the request names does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request does not fit the task's state.
    #[error("{0}")]
    Conflict(String),
    /// The task is not running here any more.
    #[error(
        "this task is no longer running here (it finished, was cancelled, or its lease ran out)"
    )]
    Gone,
    /// A stored task's assignment does not read back.
    #[error("the stored assignment of task {task_id} is unreadable: {cause}")]
    CorruptTask {
        /// The task.
        task_id: TaskId,
        /// Why.
        cause: String,
    },
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The object storage.
    #[error(transparent)]
    Blobs(#[from] BlobError),
    /// Step logs.
    #[error(transparent)]
    Logs(#[from] LogError),
    /// Moving the task's workflow on.
    #[error(transparent)]
    Orchestrator(#[from] OrchestratorError),
    /// Secrets for the task.
    #[error(transparent)]
    Secrets(#[from] SecretError),
    /// Authentication and uploads, answered as they are.
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl IntoResponse for RunnerApiError {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

impl From<axum::extract::rejection::JsonRejection> for RunnerApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        RunnerApiError::Api(e.into())
    }
}

/// A shorthand for runner API results.
pub type RunnerResult<T> = Result<T, RunnerApiError>;
