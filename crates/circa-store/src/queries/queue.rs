//! The task queue: claims (with their statements in `dispatch`), leases, completion,
//! cancellation, and the runners that asked for work.

use std::collections::HashMap;

use async_trait::async_trait;
use circa_model::JobStatus;

use super::Backend;
use super::dispatch::{TASKS_PER_CLAIM, any_queued, claim_chunk, start_jobs};
use crate::ids::{JobId, TaskId};
use crate::records::{Claim, Job, Millis, Task};
use crate::sql::codec::to_u64;
use crate::sql::columns::task_columns;
use crate::sql::rows::{TaskRow, decode_all};
use crate::store::{QueueStore, StoreResult};
use crate::web_records::RunnerSeen;

#[async_trait]
impl QueueStore for Backend {
    /// Takes one queued task per claim, oldest first, until none is left, and starts their
    /// jobs (a job once, with its first task); one transaction for all of them, in a statement
    /// per [`TASKS_PER_CLAIM`] tasks and one per as many jobs. Consecutive claims with the
    /// same resource class, runner and times (a runner's batch) go together; each brings its
    /// own token hash. A group that finds its queue empty stops; the next group still claims.
    async fn claim_tasks_and_start_jobs(
        &self,
        claims: Vec<Claim>,
    ) -> StoreResult<Vec<(Task, Option<Job>)>> {
        if claims.is_empty() || !any_queued(self, &claims).await? {
            return Ok(Vec::new());
        }
        let mut tasks: Vec<Task> = Vec::with_capacity(claims.len());
        let mut started: HashMap<JobId, Job> = HashMap::new();
        let mut tx = self.begin().await?;
        let alike = |a: &Claim, b: &Claim| {
            (&a.resource_class, &a.runner, a.now, a.lease_expires_at)
                == (&b.resource_class, &b.runner, b.now, b.lease_expires_at)
        };
        for group in claims.chunk_by(alike) {
            let from = tasks.len();
            for chunk in group.chunks(TASKS_PER_CLAIM) {
                if !claim_chunk(&mut tx, chunk, &mut tasks).await? {
                    break;
                }
            }
            start_jobs(&mut tx, &tasks[from..], group[0].now, &mut started).await?;
        }
        tx.commit().await?;
        // A job goes with the first of its tasks (a job cancelled meanwhile stays cancelled
        // and goes with none).
        Ok(tasks
            .into_iter()
            .map(|task| {
                let job = started.remove(&task.job_id);
                (task, job)
            })
            .collect())
    }

    async fn task(&self, id: &TaskId) -> StoreResult<Option<Task>> {
        sqlx::query_as::<_, TaskRow>(concat!(
            "SELECT ",
            task_columns!(),
            " FROM tasks WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *self.reader().await?)
        .await?
        .map(TaskRow::decode)
        .transpose()
    }

    async fn tasks_of_job(&self, job_id: &JobId) -> StoreResult<Vec<Task>> {
        let rows = sqlx::query_as::<_, TaskRow>(concat!(
            "SELECT ",
            task_columns!(),
            " FROM tasks WHERE job_id = $1 ORDER BY node, ord"
        ))
        .bind(job_id)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        decode_all(rows, TaskRow::decode)
    }

    async fn heartbeat(
        &self,
        task_id: &TaskId,
        lease_expires_at: Millis,
    ) -> StoreResult<Option<Task>> {
        sqlx::query_as::<_, TaskRow>(concat!(
            "UPDATE tasks SET lease_expires_at = $2 WHERE id = $1 AND state = 'running' \
             RETURNING ",
            task_columns!()
        ))
        .bind(task_id)
        .bind(lease_expires_at)
        .fetch_optional(&mut *self.writer().await?)
        .await?
        .map(TaskRow::decode)
        .transpose()
    }

    async fn cancel_tasks(&self, job_id: &JobId, now: Millis) -> StoreResult<Vec<Task>> {
        let mut tx = self.begin().await?;
        let mut rows = sqlx::query_as::<_, TaskRow>(concat!(
            "UPDATE tasks SET cancel_requested = TRUE \
             WHERE job_id = $1 AND state = 'running' AND NOT cancel_requested RETURNING ",
            task_columns!()
        ))
        .bind(job_id)
        .fetch_all(&mut *tx)
        .await?;
        rows.extend(
            sqlx::query_as::<_, TaskRow>(concat!(
                "UPDATE tasks SET state = 'finished', result = 'canceled', finished_at = $2 \
                 WHERE job_id = $1 AND state = 'queued' RETURNING ",
                task_columns!()
            ))
            .bind(job_id)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?,
        );
        tx.commit().await?;
        let mut tasks = decode_all(rows, TaskRow::decode)?;
        tasks.sort_by_key(|t| t.node);
        Ok(tasks)
    }

    async fn finish_task(
        &self,
        task_id: &TaskId,
        result: JobStatus,
        message: Option<&str>,
        now: Millis,
    ) -> StoreResult<Option<Task>> {
        sqlx::query_as::<_, TaskRow>(concat!(
            "UPDATE tasks SET state = 'finished', result = $2, message = $3, finished_at = $4 \
             WHERE id = $1 AND state = 'running' RETURNING ",
            task_columns!()
        ))
        .bind(task_id)
        .bind(result.as_str())
        .bind(message)
        .bind(now)
        .fetch_optional(&mut *self.writer().await?)
        .await?
        .map(TaskRow::decode)
        .transpose()
    }

    async fn expired_tasks(&self, now: Millis) -> StoreResult<Vec<Task>> {
        let rows = sqlx::query_as::<_, TaskRow>(concat!(
            "SELECT ",
            task_columns!(),
            " FROM tasks WHERE state = 'running' AND lease_expires_at < $1 \
             ORDER BY lease_expires_at, ord"
        ))
        .bind(now)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        decode_all(rows, TaskRow::decode)
    }

    async fn unsettled_tasks(&self, before: Millis, limit: u32) -> StoreResult<Vec<Task>> {
        let rows = sqlx::query_as::<_, TaskRow>(concat!(
            "SELECT ",
            task_columns!(),
            " FROM tasks t WHERE t.state = 'finished' AND t.finished_at < $1 \
             AND t.job_id IN (SELECT j.id FROM jobs j WHERE j.status IN ('queued', 'running')) \
             AND NOT EXISTS (SELECT 1 FROM tasks o WHERE o.job_id = t.job_id \
             AND o.state <> 'finished') \
             ORDER BY t.ord LIMIT CAST($2 AS BIGINT)"
        ))
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.reader().await?)
        .await?;
        decode_all(rows, TaskRow::decode)
    }

    async fn requeue_task(&self, task_id: &TaskId, now: Millis) -> StoreResult<bool> {
        let changed = sqlx::query(
            "UPDATE tasks SET state = 'queued', runner = NULL, token_hash = NULL, \
             lease_expires_at = NULL, queued_at = $2 WHERE id = $1 AND state = 'running'",
        )
        .bind(task_id)
        .bind(now)
        .execute(&mut *self.writer().await?)
        .await?
        .rows_affected();
        Ok(changed > 0)
    }

    async fn queued_tasks(&self) -> StoreResult<Vec<Task>> {
        let rows = sqlx::query_as::<_, TaskRow>(concat!(
            "SELECT ",
            task_columns!(),
            " FROM tasks WHERE state = 'queued' ORDER BY resource_class, queued_at, ord"
        ))
        .fetch_all(&mut *self.reader().await?)
        .await?;
        decode_all(rows, TaskRow::decode)
    }

    async fn queued_before(&self, resource_class: &str, before: Millis) -> StoreResult<bool> {
        // `tasks_queue` (resource_class, queued_at) WHERE state = 'queued': one index seek.
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(1 AS BIGINT) FROM tasks \
             WHERE state = 'queued' AND resource_class = $1 AND queued_at < $2 LIMIT 1",
        )
        .bind(resource_class)
        .bind(before)
        .fetch_optional(&mut *self.reader().await?)
        .await?;
        Ok(found.is_some())
    }

    async fn runner_seen(&self, name: &str, resource_class: &str, now: Millis) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO runners (name, resource_class, last_seen) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET resource_class = excluded.resource_class, \
             last_seen = excluded.last_seen",
        )
        .bind(name)
        .bind(resource_class)
        .bind(now)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(())
    }

    async fn runners_seen(&self, resource_class: &str, since: Millis) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM runners WHERE resource_class = $1 AND last_seen >= $2",
        )
        .bind(resource_class)
        .bind(since)
        .fetch_one(&mut *self.reader().await?)
        .await?;
        to_u64(count, "runner count")
    }

    async fn runners_since(&self, since: Millis) -> StoreResult<Vec<RunnerSeen>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT name, resource_class, last_seen FROM runners WHERE last_seen >= $1 \
             ORDER BY last_seen DESC, name LIMIT 500",
        )
        .bind(since)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(name, resource_class, last_seen)| RunnerSeen {
                name,
                resource_class,
                last_seen,
            })
            .collect())
    }
}
