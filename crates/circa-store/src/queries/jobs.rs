//! Jobs.

use std::borrow::Cow;
use std::sync::LazyLock;

use sqlx::AssertSqlSafe;

use super::{Backend, Conn, Db};
use crate::records::Job;
use crate::sql::codec::to_json;
use crate::sql::columns::job_columns;
use crate::sql::rows::{JobRow, JobWorkflowRow, decode_all};
use crate::store::StoreResult;

/// Job rows per insert statement.
const JOBS_PER_INSERT: usize = 16;

/// Parameters per job row.
const JOB_PARAMS: usize = 22;

/// `INSERT INTO jobs … VALUES (…), …` for 1 to [`JOBS_PER_INSERT`] rows (index `n - 1`), built
/// once from constants: a workflow's jobs go in a statement per [`JOBS_PER_INSERT`].
static INSERT_JOBS: LazyLock<Vec<String>> = LazyLock::new(|| {
    (1..=JOBS_PER_INSERT)
        .map(|rows| {
            let values: Vec<String> = (0..rows)
                .map(|row| {
                    let params: Vec<String> = (1..=JOB_PARAMS)
                        .map(|i| format!("${}", row * JOB_PARAMS + i))
                        .collect();
                    format!("({})", params.join(", "))
                })
                .collect();
            format!(
                "INSERT INTO jobs (id, workflow_id, pipeline_id, project_id, name, job_key, \
                 number, status, approval, requires, contexts, spec, resource_class, \
                 parallelism, approval_request_id, actor, message, copied_from, created_at, \
                 queued_at, started_at, stopped_at) VALUES {}",
                values.join(", ")
            )
        })
        .collect()
});

/// Inserts job records, each with the job a rerun copied it from, if any.
pub(super) async fn insert(conn: &mut Conn, jobs: &[(&Job, Option<&str>)]) -> StoreResult<()> {
    for chunk in jobs.chunks(JOBS_PER_INSERT) {
        let sql: &'static str = INSERT_JOBS[chunk.len() - 1].as_str();
        let mut insert = sqlx::query(AssertSqlSafe(Cow::Borrowed(sql)));
        for (job, copied_from) in chunk {
            let spec = job
                .spec
                .as_ref()
                .map(|spec| to_json(spec, "job spec"))
                .transpose()?;
            insert = insert
                .bind(job.id.as_str())
                .bind(job.workflow_id.as_str())
                .bind(job.pipeline_id.as_str())
                .bind(job.project_id.as_str())
                .bind(job.name.as_str())
                .bind(job.job_key.as_str())
                .bind(job.number)
                .bind(job.status.as_str())
                .bind(job.approval)
                .bind(to_json(&job.requires, "job requires")?)
                .bind(to_json(&job.contexts, "job contexts")?)
                .bind(spec)
                .bind(job.resource_class.as_str())
                .bind(i64::from(job.parallelism))
                .bind(job.approval_request_id.as_deref())
                .bind(job.actor.as_deref())
                .bind(job.message.as_deref())
                .bind(*copied_from)
                .bind(job.created_at)
                .bind(job.queued_at)
                .bind(job.started_at)
                .bind(job.stopped_at);
        }
        insert.execute(&mut *conn).await?;
    }
    Ok(())
}

/// A job by id, read through any executor (a pool, or a transaction's connection).
pub(super) async fn fetch<'e, E>(executor: E, id: &str) -> StoreResult<Option<Job>>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    sqlx::query_as::<_, JobRow>(concat!(
        "SELECT ",
        job_columns!(),
        " FROM jobs WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(executor)
    .await?
    .map(JobRow::decode)
    .transpose()
}

pub(super) async fn by_id(store: &Backend, id: &str) -> StoreResult<Option<Job>> {
    fetch(&mut *store.reader().await?, id).await
}

pub(super) async fn by_number(
    store: &Backend,
    project_id: &str,
    number: i64,
) -> StoreResult<Option<Job>> {
    // A rerun's copies share their source's number; the source comes first.
    sqlx::query_as::<_, JobRow>(concat!(
        "SELECT ",
        job_columns!(),
        " FROM jobs WHERE project_id = $1 AND number = $2 ORDER BY ord LIMIT 1"
    ))
    .bind(project_id)
    .bind(number)
    .fetch_optional(&mut *store.reader().await?)
    .await?
    .map(JobRow::decode)
    .transpose()
}

pub(super) async fn by_number_with_workflow(
    store: &Backend,
    project_id: &str,
    number: i64,
) -> StoreResult<Option<(Job, Option<String>)>> {
    // As `by_number`, with the workflow's name read in the same statement.
    sqlx::query_as::<_, JobWorkflowRow>(concat!(
        "SELECT j.*, (SELECT w.name FROM workflows w WHERE w.id = j.workflow_id) \
         AS workflow_name FROM (SELECT ",
        job_columns!(),
        " FROM jobs WHERE project_id = $1 AND number = $2 ORDER BY ord LIMIT 1) j"
    ))
    .bind(project_id)
    .bind(number)
    .fetch_optional(&mut *store.reader().await?)
    .await?
    .map(JobWorkflowRow::decode)
    .transpose()
}

pub(super) async fn of_workflow(store: &Backend, workflow_id: &str) -> StoreResult<Vec<Job>> {
    let rows = sqlx::query_as::<_, JobRow>(concat!(
        "SELECT ",
        job_columns!(),
        " FROM jobs WHERE workflow_id = $1 ORDER BY ord"
    ))
    .bind(workflow_id)
    .fetch_all(&mut *store.reader().await?)
    .await?;
    decode_all(rows, JobRow::decode)
}
