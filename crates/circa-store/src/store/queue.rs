//! The task queue: claims, leases, completion, cancellation, and the runners that ask.

use async_trait::async_trait;
use circa_model::JobStatus;

use super::StoreResult;
use crate::ids::{JobId, TaskId};
use crate::records::{Claim, Job, Millis, Task};
use crate::web_records::RunnerSeen;

/// Tasks from queued to finished, and the runners that take them.
#[async_trait]
pub trait QueueStore: Send + Sync {
    /// Claims up to one task per claim in `claims`, oldest queued first (claims of the same
    /// resource class, runner and times go together, each with its own token), so two runners
    /// never get the same task; and moves each claimed task's job from `queued` to `running`
    /// (setting `started_at`) if it is still queued — all in one transaction, so a runner with
    /// many free slots takes a fan-out's tasks at once. Each task comes with its job as it is
    /// after the move when it moved (`None`: another node started it already, or it was
    /// cancelled). A group of claims stops at the first that finds nothing queued.
    async fn claim_tasks_and_start_jobs(
        &self,
        claims: Vec<Claim>,
    ) -> StoreResult<Vec<(Task, Option<Job>)>>;
    /// A task by id.
    async fn task(&self, id: &TaskId) -> StoreResult<Option<Task>>;
    /// A job's tasks, by node.
    async fn tasks_of_job(&self, job_id: &JobId) -> StoreResult<Vec<Task>>;
    /// Renews a running task's lease to `lease_expires_at` (even one already past, until the
    /// task is requeued); the task as it is now, or `None` if it is not running.
    async fn heartbeat(
        &self,
        task_id: &TaskId,
        lease_expires_at: Millis,
    ) -> StoreResult<Option<Task>>;
    /// Asks a job's tasks to stop: running ones get `cancel_requested`, queued ones finish as
    /// `canceled` at once. Returns the tasks changed, by node (a running task already asked is
    /// not changed again).
    async fn cancel_tasks(&self, job_id: &JobId, now: Millis) -> StoreResult<Vec<Task>>;
    /// Finishes a running task; `None` if it was not running (already finished or lost).
    async fn finish_task(
        &self,
        task_id: &TaskId,
        result: JobStatus,
        message: Option<&str>,
        now: Millis,
    ) -> StoreResult<Option<Task>>;
    /// Running tasks whose lease ended before `now`.
    async fn expired_tasks(&self, now: Millis) -> StoreResult<Vec<Task>>;
    /// Finished tasks (finished before `before`, at most `limit`) of jobs still queued or
    /// running although every task of theirs has finished: their end was stored but their job
    /// never settled (the server stopped in between).
    async fn unsettled_tasks(&self, before: Millis, limit: u32) -> StoreResult<Vec<Task>>;
    /// Puts a running task back in the queue (its runner was lost), at the back (`queued_at` is
    /// `now`), keeping `attempts` and `last_seq`; false if it was not running.
    async fn requeue_task(&self, task_id: &TaskId, now: Millis) -> StoreResult<bool>;
    /// Queued tasks, by resource class, oldest first.
    async fn queued_tasks(&self) -> StoreResult<Vec<Task>>;
    /// Whether a task of `resource_class` queued before `before` is still queued.
    async fn queued_before(&self, resource_class: &str, before: Millis) -> StoreResult<bool>;

    /// Notes that a runner of a resource class asked for work (one row per runner name).
    async fn runner_seen(&self, name: &str, resource_class: &str, now: Millis) -> StoreResult<()>;
    /// How many runners of a resource class asked for work since `since`.
    async fn runners_seen(&self, resource_class: &str, since: Millis) -> StoreResult<u64>;
    /// Runners that asked for work since `since`, most recent first.
    async fn runners_since(&self, since: Millis) -> StoreResult<Vec<RunnerSeen>>;
}
