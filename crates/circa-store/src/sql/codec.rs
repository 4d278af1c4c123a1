//! Values to and from their stored form. Anything that does not read back is
//! [`StoreError::Corrupt`], never a panic.

use circa_model::{JobStatus, WorkflowStatus};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::StoreError;
use crate::records::{PipelineState, TaskState, TokenKind};
use crate::store::StoreResult;

/// A new row id (a UUID v4), as text or as a typed id.
pub(crate) fn new_id<T: From<String>>() -> T {
    T::from(uuid::Uuid::new_v4().to_string())
}

/// A value as JSON text.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T, what: &str) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// A value from JSON text.
pub(crate) fn from_json<T: DeserializeOwned>(text: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// A job status from its CircleCI name.
pub(crate) fn job_status(text: &str) -> StoreResult<JobStatus> {
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("{e}")))
}

/// A workflow status from its CircleCI name.
pub(crate) fn workflow_status(text: &str) -> StoreResult<WorkflowStatus> {
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("{e}")))
}

/// A pipeline state from its CircleCI name.
pub(crate) fn pipeline_state(text: &str) -> StoreResult<PipelineState> {
    [
        PipelineState::Created,
        PipelineState::Errored,
        PipelineState::SetupPending,
        PipelineState::Setup,
    ]
    .into_iter()
    .find(|s| s.as_str() == text)
    .ok_or_else(|| StoreError::Corrupt(format!("`{text}` is not a pipeline state")))
}

/// A token kind from its stored name.
pub(crate) fn token_kind(text: &str) -> StoreResult<TokenKind> {
    [TokenKind::Admin, TokenKind::User, TokenKind::Runner]
        .into_iter()
        .find(|k| k.as_str() == text)
        .ok_or_else(|| StoreError::Corrupt(format!("`{text}` is not a token kind")))
}

/// A task state's stored name.
pub(crate) fn task_state_str(state: TaskState) -> &'static str {
    match state {
        TaskState::Queued => "queued",
        TaskState::Running => "running",
        TaskState::Finished => "finished",
    }
}

/// A task state from its stored name.
pub(crate) fn task_state(text: &str) -> StoreResult<TaskState> {
    [TaskState::Queued, TaskState::Running, TaskState::Finished]
        .into_iter()
        .find(|s| task_state_str(*s) == text)
        .ok_or_else(|| StoreError::Corrupt(format!("`{text}` is not a task state")))
}

/// A stored integer as a `u32`.
pub(crate) fn to_u32(value: i64, what: &str) -> StoreResult<u32> {
    u32::try_from(value)
        .map_err(|_| StoreError::Corrupt(format!("{what}: {value} is out of range")))
}

/// A stored integer as a `u64`.
pub(crate) fn to_u64(value: i64, what: &str) -> StoreResult<u64> {
    u64::try_from(value)
        .map_err(|_| StoreError::Corrupt(format!("{what}: {value} is out of range")))
}

/// A `u64` for a BIGINT column; values beyond `i64::MAX` are stored as `i64::MAX`.
pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for state in [TaskState::Queued, TaskState::Running, TaskState::Finished] {
            assert_eq!(task_state(task_state_str(state)).unwrap(), state);
        }
        for kind in [TokenKind::Admin, TokenKind::User, TokenKind::Runner] {
            assert_eq!(token_kind(kind.as_str()).unwrap(), kind);
        }
        assert_eq!(
            pipeline_state("setup-pending").unwrap(),
            PipelineState::SetupPending
        );
    }

    #[test]
    fn bad_values_are_corrupt() {
        assert!(matches!(job_status("sucess"), Err(StoreError::Corrupt(_))));
        assert!(matches!(to_u32(-1, "node"), Err(StoreError::Corrupt(_))));
        assert!(matches!(
            from_json::<Vec<String>>("{", "contexts"),
            Err(StoreError::Corrupt(_))
        ));
        assert_eq!(to_i64(u64::MAX), i64::MAX);
    }
}
