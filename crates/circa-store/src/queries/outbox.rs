//! The outbox of commit statuses: rows written by job changes in their own transactions
//! ([`enqueue`]), read and deleted by the server's delivery worker.

use std::borrow::Cow;
use std::sync::LazyLock;

use async_trait::async_trait;
use sqlx::AssertSqlSafe;

use super::{Backend, Conn, TRIGGER_REVISION};
use crate::forge_records::OutboxStatus;
use crate::ids::{JobId, ProjectId};
use crate::records::Millis;
use crate::sql::codec::{job_status, to_u64};
use crate::store::{OutboxStore, StoreResult};

/// Jobs per enqueue statement; a shorter list is padded with NULL, which matches no job, so
/// one statement text serves every call.
pub(super) const JOBS_PER_ENQUEUE: usize = 16;

/// Writes a row for each job of `$2`… whose project's forge reports statuses, with the job's
/// status as it is now, at `$1`. The context is CircleCI's: `ci/circleci: JOB`, or
/// `ci/circleci: WORKFLOW/JOB` for an approval job. A row is due at once, or when the forge's
/// back-off ends. A project without a forge joins nothing: the statement writes no row.
static ENQUEUE: LazyLock<String> = LazyLock::new(|| {
    let ids: Vec<String> = (0..JOBS_PER_ENQUEUE)
        .map(|i| format!("${}", i + 2))
        .collect();
    format!(
        "INSERT INTO forge_status_outbox (project_id, sha, context, job_id, job_status, \
         job_number, pipeline_number, created_at, due_at) \
         SELECT j.project_id, {TRIGGER_REVISION}, \
         CASE WHEN j.approval THEN 'ci/circleci: ' || w.name || '/' || j.name \
         ELSE 'ci/circleci: ' || j.name END, \
         j.id, j.status, j.number, p.number, $1, \
         CASE WHEN f.retry_at > $1 THEN f.retry_at ELSE $1 END \
         FROM jobs j JOIN project_forges f ON f.project_id = j.project_id AND f.statuses \
         JOIN workflows w ON w.id = j.workflow_id JOIN pipelines p ON p.id = j.pipeline_id \
         WHERE j.id IN ({}) ORDER BY j.ord",
        ids.join(", ")
    )
});

/// Writes the outbox rows of `jobs` (just changed) in the caller's transaction.
pub(super) async fn enqueue(conn: &mut Conn, jobs: &[&JobId], now: Millis) -> StoreResult<()> {
    for chunk in jobs.chunks(JOBS_PER_ENQUEUE) {
        let sql: &'static str = ENQUEUE.as_str();
        let mut insert = sqlx::query(AssertSqlSafe(Cow::Borrowed(sql))).bind(now);
        for i in 0..JOBS_PER_ENQUEUE {
            insert = insert.bind(chunk.get(i).copied());
        }
        insert.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The columns an [`OutboxRow`] reads, as a literal for `concat!`.
macro_rules! outbox_columns {
    () => {
        "id, project_id, sha, context, job_id, job_status, job_number, pipeline_number, \
         created_at, due_at"
    };
}

/// A `forge_status_outbox` row.
#[derive(sqlx::FromRow)]
struct OutboxRow {
    id: i64,
    project_id: ProjectId,
    sha: String,
    context: String,
    job_id: JobId,
    job_status: String,
    job_number: Option<i64>,
    pipeline_number: i64,
    created_at: i64,
    due_at: i64,
}

impl OutboxRow {
    fn decode(self) -> StoreResult<OutboxStatus> {
        Ok(OutboxStatus {
            job_status: job_status(&self.job_status)?,
            id: self.id,
            project_id: self.project_id,
            sha: self.sha,
            context: self.context,
            job_id: self.job_id,
            job_number: self.job_number,
            pipeline_number: self.pipeline_number,
            created_at: self.created_at,
            due_at: self.due_at,
        })
    }
}

#[async_trait]
impl OutboxStore for Backend {
    async fn due_statuses(&self, now: Millis, limit: u32) -> StoreResult<Vec<OutboxStatus>> {
        let sql = concat!(
            "SELECT ",
            outbox_columns!(),
            " FROM forge_status_outbox WHERE due_at <= $1 ORDER BY id LIMIT CAST($2 AS BIGINT)"
        );
        let rows = sqlx::query_as::<_, OutboxRow>(sql)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&mut *self.reader().await?)
            .await?;
        rows.into_iter().map(OutboxRow::decode).collect()
    }

    async fn delete_sent_statuses(&self, sent: &OutboxStatus) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM forge_status_outbox \
             WHERE project_id = $1 AND sha = $2 AND context = $3 AND id <= $4",
        )
        .bind(&sent.project_id)
        .bind(&sent.sha)
        .bind(&sent.context)
        .bind(sent.id)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(done.rows_affected())
    }

    async fn defer_statuses(&self, project_id: &ProjectId, until: Millis) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE project_forges SET retry_at = $2 WHERE project_id = $1")
            .bind(project_id)
            .bind(until)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE forge_status_outbox SET due_at = $2 WHERE project_id = $1 AND due_at < $2",
        )
        .bind(project_id)
        .bind(until)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn status_backlog(&self, project_id: &ProjectId) -> StoreResult<u64> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM forge_status_outbox WHERE project_id = $1")
                .bind(project_id)
                .fetch_one(&mut *self.reader().await?)
                .await?;
        to_u64(count, "outbox backlog")
    }

    async fn next_status_due(&self) -> StoreResult<Option<Millis>> {
        let due: Option<i64> = sqlx::query_scalar("SELECT MIN(due_at) FROM forge_status_outbox")
            .fetch_one(&mut *self.reader().await?)
            .await?;
        Ok(due)
    }
}
