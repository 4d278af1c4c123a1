//! Workflows inserted with their jobs, in the caller's transaction: what a pipeline's
//! creation, a rerun, a continuation and a start share. A workflow's jobs go 16 to a
//! multi-row `INSERT`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use sqlx::AssertSqlSafe;

use super::{Conn, Db};
use crate::ids::JobId;
use crate::records::{Job, NewWorkflow, Workflow};
use crate::sql::codec::to_json;
use crate::sql::columns::job_columns;
use crate::sql::jobs::{self as new_jobs, Parent};
use crate::sql::rows::JobRow;
use crate::store::StoreResult;

/// Inserts workflows and their jobs. Jobs that take a build number get the project's next
/// ones, in order; a job copied by a rerun keeps its source's number and times.
pub(super) async fn workflows(
    conn: &mut Conn,
    parent: &Parent<'_>,
    workflows: Vec<NewWorkflow>,
) -> StoreResult<(Vec<Workflow>, Vec<Job>)> {
    let mut sources: HashMap<JobId, Job> = HashMap::new();
    for id in workflows
        .iter()
        .flat_map(|w| &w.jobs)
        .filter_map(|j| j.copied_from.as_ref())
    {
        if !sources.contains_key(id)
            && let Some(source) = read_job(&mut *conn, id).await?
        {
            sources.insert(id.clone(), source);
        }
    }
    let source_of =
        |copied_from: &Option<JobId>| copied_from.as_ref().and_then(|id| sources.get(id));
    let needed: i64 = workflows
        .iter()
        .flat_map(|w| &w.jobs)
        .filter(|j| new_jobs::takes_number(j, source_of(&j.copied_from)))
        .count()
        .try_into()
        .unwrap_or(i64::MAX);
    let mut next_number = if needed > 0 {
        let last: i64 = sqlx::query_scalar(
            "UPDATE projects SET build_counter = build_counter + $2 WHERE id = $1 \
             RETURNING build_counter",
        )
        .bind(parent.project_id)
        .bind(needed)
        .fetch_one(&mut *conn)
        .await?;
        last - needed + 1
    } else {
        0
    };

    let mut created = Vec::with_capacity(workflows.len());
    let mut created_jobs = Vec::new();
    for new in workflows {
        let workflow = new_jobs::workflow(parent, &new);
        sqlx::query(
            "INSERT INTO workflows \
             (id, pipeline_id, project_id, name, status, setup, rerun_of, created_at, stopped_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&workflow.id)
        .bind(&workflow.pipeline_id)
        .bind(&workflow.project_id)
        .bind(&workflow.name)
        .bind(workflow.status.as_str())
        .bind(workflow.setup)
        .bind(&workflow.rerun_of)
        .bind(workflow.created_at)
        .bind(workflow.stopped_at)
        .execute(&mut *conn)
        .await?;
        let first = created_jobs.len();
        let mut copies = Vec::with_capacity(new.jobs.len());
        for job in new.jobs {
            let copied_from = job.copied_from.clone();
            let source = source_of(&copied_from);
            let number = new_jobs::takes_number(&job, source).then(|| {
                next_number += 1;
                next_number - 1
            });
            created_jobs.push(new_jobs::job(parent, &workflow.id, job, number, source));
            copies.push(copied_from);
        }
        let rows: Vec<(&Job, Option<&str>)> = created_jobs[first..]
            .iter()
            .zip(copies.iter().map(Option::as_deref))
            .collect();
        insert_jobs(&mut *conn, &rows).await?;
        created.push(workflow);
    }
    Ok((created, created_jobs))
}

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
async fn insert_jobs(conn: &mut Conn, jobs: &[(&Job, Option<&str>)]) -> StoreResult<()> {
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
pub(super) async fn read_job<'e, E>(executor: E, id: &JobId) -> StoreResult<Option<Job>>
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
