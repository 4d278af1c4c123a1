//! What tasks report: events, recorded steps, artifacts.

use async_trait::async_trait;

use super::StoreResult;
use crate::ids::{JobId, TaskId};
use crate::records::{Artifact, StepRecord, StoredEvent};

/// A task's output: its events (log lines and step changes), its finished steps, and the
/// artifacts of its job.
#[async_trait]
pub trait OutputStore: Send + Sync {
    /// Stores a task's events: each is kept only if its `seq` is the next one expected (one
    /// more than the task's `last_seq`), the rest are ignored. Returns the task's `last_seq`
    /// after. [`crate::StoreError::NotFound`] if there is no such task.
    async fn append_events(&self, task_id: &TaskId, events: &[StoredEvent]) -> StoreResult<u64>;
    /// A task's events after `after_seq`, at most `limit`, in order.
    async fn events(
        &self,
        task_id: &TaskId,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<StoredEvent>>;
    /// A step's events, in order.
    async fn step_events(&self, task_id: &TaskId, step: u32) -> StoreResult<Vec<StoredEvent>>;
    /// Records a finished step (replacing an earlier record of it), and drops its output events
    /// (its log is now in Blobs); [`crate::StoreError::NotFound`] if there is no such task.
    async fn record_step(&self, step: StepRecord) -> StoreResult<()>;
    /// A task's recorded steps, by index.
    async fn steps(&self, task_id: &TaskId) -> StoreResult<Vec<StepRecord>>;
    /// Records an artifact (replacing one of the same job, node and path);
    /// [`crate::StoreError::NotFound`] if there is no such job.
    async fn add_artifact(&self, artifact: Artifact) -> StoreResult<()>;
    /// A job's artifacts, by node and path.
    async fn artifacts(&self, job_id: &JobId) -> StoreResult<Vec<Artifact>>;
}
