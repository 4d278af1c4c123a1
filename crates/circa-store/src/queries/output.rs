//! What tasks report: events, recorded steps, artifacts (their Blobs keys). A batch of events
//! goes in few statements (`super::insert_events`: 32 rows to a statement on SQLite, one
//! `UNNEST` on PostgreSQL), with `last_seq` moved by one conditional `UPDATE` when the batch
//! continues its task exactly.

use async_trait::async_trait;

use super::{Backend, missing_parent};
use crate::error::StoreError;
use crate::ids::{JobId, TaskId};
use crate::records::{Artifact, StepRecord, StoredEvent};
use crate::sql::codec::{to_i64, to_u64};
use crate::sql::columns::{artifact_columns, event_columns, step_columns};
use crate::sql::events::{OUTPUT_KIND, continuing};
use crate::sql::rows::{ArtifactRow, EventRow, StepRow, decode_all};
use crate::store::{OutputStore, StoreResult};

#[async_trait]
impl OutputStore for Backend {
    async fn append_events(&self, task_id: &TaskId, batch: &[StoredEvent]) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        // The usual batch continues the task exactly: one conditional UPDATE checks that and
        // moves `last_seq` (locking the task's row on PostgreSQL, so concurrent appends take
        // turns).
        let expected = batch.first().map_or(0, |e| e.seq.saturating_sub(1));
        let kept = continuing(expected, batch);
        if let Some(new_last) = kept.last().map(|e| e.seq)
            && kept.len() == batch.len()
        {
            let moved =
                sqlx::query("UPDATE tasks SET last_seq = $3 WHERE id = $1 AND last_seq = $2")
                    .bind(task_id)
                    .bind(to_i64(expected))
                    .bind(new_last)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            if moved == 1 {
                super::insert_events(&mut tx, task_id, &kept).await?;
                tx.commit().await?;
                return to_u64(new_last, "task last_seq");
            }
        }
        // A resend, a gap or a missing task: read `last_seq` (a no-op UPDATE, which locks the
        // row on PostgreSQL) and keep what continues it.
        let last: Option<i64> = sqlx::query_scalar(
            "UPDATE tasks SET last_seq = last_seq WHERE id = $1 RETURNING last_seq",
        )
        .bind(task_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(last) = last else {
            tx.rollback().await?;
            return Err(StoreError::NotFound(format!("task {task_id}")));
        };
        let last = to_u64(last, "task last_seq")?;
        let kept = continuing(last, batch);
        let Some(new_last) = kept.last().map(|e| e.seq) else {
            tx.rollback().await?;
            return Ok(last);
        };
        super::insert_events(&mut tx, task_id, &kept).await?;
        sqlx::query("UPDATE tasks SET last_seq = $2 WHERE id = $1")
            .bind(task_id)
            .bind(new_last)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        to_u64(new_last, "task last_seq")
    }

    async fn events(
        &self,
        task_id: &TaskId,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<StoredEvent>> {
        let rows = sqlx::query_as::<_, EventRow>(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE task_id = $1 AND seq > $2 ORDER BY seq LIMIT CAST($3 AS BIGINT)"
        ))
        .bind(task_id)
        .bind(to_i64(after_seq))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.reader().await?)
        .await?;
        decode_all(rows, EventRow::decode)
    }

    async fn step_events(&self, task_id: &TaskId, step: u32) -> StoreResult<Vec<StoredEvent>> {
        let rows = sqlx::query_as::<_, EventRow>(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE task_id = $1 AND step = $2 ORDER BY seq"
        ))
        .bind(task_id)
        .bind(i64::from(step))
        .fetch_all(&mut *self.reader().await?)
        .await?;
        decode_all(rows, EventRow::decode)
    }

    async fn record_step(&self, step: StepRecord) -> StoreResult<()> {
        // Two statements, no transaction: the record goes first, so a failure between them
        // leaves only output events that are no longer read (they go with their task).
        sqlx::query(
            "INSERT INTO steps (task_id, step, name, status, exit_code, duration_ms, started_at, \
             log_key, log_bytes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (task_id, step) DO UPDATE SET name = excluded.name, \
             status = excluded.status, exit_code = excluded.exit_code, \
             duration_ms = excluded.duration_ms, started_at = excluded.started_at, \
             log_key = excluded.log_key, log_bytes = excluded.log_bytes",
        )
        .bind(&step.task_id)
        .bind(i64::from(step.step))
        .bind(&step.name)
        .bind(&step.status)
        .bind(step.exit_code)
        .bind(to_i64(step.duration_ms))
        .bind(step.started_at)
        .bind(&step.log_key)
        .bind(to_i64(step.log_bytes))
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| missing_parent(e, || format!("task {}", step.task_id)))?;
        // The step's log is in Blobs now: its output events are no longer needed.
        sqlx::query("DELETE FROM events WHERE task_id = $1 AND step = $2 AND kind = $3")
            .bind(&step.task_id)
            .bind(i64::from(step.step))
            .bind(OUTPUT_KIND)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }

    async fn steps(&self, task_id: &TaskId) -> StoreResult<Vec<StepRecord>> {
        let rows = sqlx::query_as::<_, StepRow>(concat!(
            "SELECT ",
            step_columns!(),
            " FROM steps WHERE task_id = $1 ORDER BY step"
        ))
        .bind(task_id)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        decode_all(rows, StepRow::decode)
    }

    async fn add_artifact(&self, artifact: Artifact) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO artifacts (job_id, node, path, blob_key, size) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (job_id, node, path) \
             DO UPDATE SET blob_key = excluded.blob_key, size = excluded.size",
        )
        .bind(&artifact.job_id)
        .bind(i64::from(artifact.node))
        .bind(&artifact.path)
        .bind(&artifact.blob_key)
        .bind(to_i64(artifact.size))
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| missing_parent(e, || format!("job {}", artifact.job_id)))?;
        Ok(())
    }

    async fn artifacts(&self, job_id: &JobId) -> StoreResult<Vec<Artifact>> {
        let rows = sqlx::query_as::<_, ArtifactRow>(concat!(
            "SELECT ",
            artifact_columns!(),
            " FROM artifacts WHERE job_id = $1"
        ))
        .bind(job_id)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        // Sorted here, byte-wise: the databases' collations differ.
        let mut artifacts = decode_all(rows, ArtifactRow::decode)?;
        artifacts.sort_by(|a, b| (a.node, &a.path).cmp(&(b.node, &b.path)));
        Ok(artifacts)
    }
}
