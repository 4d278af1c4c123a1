//! What can go wrong in the orchestrator (`crate::error` turns it into an answer).

use circa_store::{BlobError, StoreError};

use crate::compiles::CompileStopped;
use crate::logs::LogError;
use crate::secrets::SecretError;

/// An orchestrator operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OrchestratorError {
    /// A request field is not acceptable.
    #[error("{field}: {message}")]
    Invalid {
        /// The field, as the caller spells it (`parameters.x`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A request the current state refuses (rerun of a running workflow, an unknown branch).
    #[error("{0}")]
    BadRequest(String),
    /// A credential does not allow it (a wrong continuation key).
    #[error("{0}")]
    Forbidden(String),
    /// What the operation names does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Something changed meanwhile, or was done already.
    #[error("{0}")]
    Conflict(String),
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The object storage.
    #[error(transparent)]
    Blobs(#[from] BlobError),
    /// Step logs.
    #[error(transparent)]
    Logs(#[from] LogError),
    /// Secrets.
    #[error(transparent)]
    Secrets(#[from] SecretError),
    /// The config compiler stopped.
    #[error(transparent)]
    Compile(#[from] CompileStopped),
    /// The database could not be reached (passed on from another task).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Something failed inside.
    #[error("{what}: {cause}")]
    Internal {
        /// What was being done.
        what: &'static str,
        /// Why it failed.
        cause: String,
    },
}

impl OrchestratorError {
    /// A copy to hand to every waiter of a shared operation: client faults as they are,
    /// faults inside as their text (kept for the log, never shown).
    pub fn shared(&self) -> OrchestratorError {
        use OrchestratorError as E;
        match self {
            E::Invalid { field, message } => E::Invalid {
                field: field.clone(),
                message: message.clone(),
            },
            E::BadRequest(m) => E::BadRequest(m.clone()),
            E::Forbidden(m) => E::Forbidden(m.clone()),
            E::NotFound(what) => E::NotFound(what),
            E::Conflict(m) => E::Conflict(m.clone()),
            E::Store(StoreError::Conflict(what)) => E::Conflict(format!("{what} already exists")),
            E::Store(e) if e.is_unavailable() => E::Unavailable(e.to_string()),
            E::Unavailable(cause) => E::Unavailable(cause.clone()),
            other => E::Internal {
                what: "a shared settle",
                cause: other.to_string(),
            },
        }
    }
}

/// A shorthand for orchestrator results.
pub type OrchestratorResult<T> = Result<T, OrchestratorError>;
