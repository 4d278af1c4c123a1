//! A workflow update applied in the caller's transaction: what a settle writes
//! (`WorkflowStore::update_workflow`) and what a pipeline's start applies with its workflows.
//! It writes in few statements: alike job changes go 16 jobs to one `UPDATE` (the id list
//! padded with NULL, so one statement text serves every batch), new tasks 16 to a multi-row
//! `INSERT`.

use std::borrow::Cow;
use std::sync::LazyLock;

use circa_model::{JobStatus, WorkflowStatus};
use sqlx::AssertSqlSafe;

use super::{Conn, missing_parent};
use crate::error::StoreError;
use crate::ids::{JobId, TaskId, WorkflowId};
use crate::records::{JobChange, Millis, NewTask, WorkflowUpdate};
use crate::sql::codec::{new_id, to_json};
use crate::store::StoreResult;

/// Applies `update` in the caller's transaction, with the commit statuses of the changed jobs
/// (for projects whose forge reports them) into the outbox; false (the caller rolls back) if a job no
/// longer had its `from` status.
pub(super) async fn apply(conn: &mut Conn, update: &WorkflowUpdate) -> StoreResult<bool> {
    if !write_status(conn, update).await? {
        return Ok(false);
    }
    if !change_jobs(conn, &update.workflow_id, &update.changes, update.now).await? {
        return Ok(false);
    }
    let changed: Vec<&JobId> = update.changes.iter().map(|c| &c.job_id).collect();
    super::outbox::enqueue(conn, &changed, update.now).await?;
    insert_tasks(conn, &update.workflow_id, &update.new_tasks, update.now).await?;
    Ok(true)
}

/// Job ids per grouped status change; a shorter group is padded with NULL, which matches no
/// job, so one statement text serves every group.
const JOBS_PER_CHANGE: usize = 16;

/// The grouped change: `$1` the workflow, `$2` from, `$3` to, `$4`–`$6` the queued, started
/// and stopped times to set, `$7` message, `$8` actor, then [`JOBS_PER_CHANGE`] job ids.
static CHANGE_JOBS: LazyLock<String> = LazyLock::new(|| {
    let ids: Vec<String> = (0..JOBS_PER_CHANGE)
        .map(|i| format!("${}", 9 + i))
        .collect();
    format!(
        "UPDATE jobs SET status = $3, queued_at = COALESCE($4, queued_at), \
         started_at = COALESCE(started_at, $5), stopped_at = COALESCE($6, stopped_at), \
         message = COALESCE($7, message), actor = COALESCE($8, actor) \
         WHERE workflow_id = $1 AND status = $2 AND id IN ({})",
        ids.join(", ")
    )
});

/// Applies job changes, each only if the job is in the workflow and still has its `from`
/// status; false (and the caller rolls back) if any did not apply. Changes alike (same from,
/// to, message and actor — a fan-out's jobs becoming queued) go in one statement per
/// [`JOBS_PER_CHANGE`] jobs.
async fn change_jobs(
    conn: &mut Conn,
    workflow_id: &WorkflowId,
    changes: &[JobChange],
    now: Millis,
) -> StoreResult<bool> {
    let mut groups: Vec<Vec<&JobChange>> = Vec::new();
    for change in changes {
        let alike = |g: &&mut Vec<&JobChange>| {
            let c = g[0];
            (c.from, c.to, &c.message, &c.actor)
                == (change.from, change.to, &change.message, &change.actor)
        };
        match groups.iter_mut().find(alike) {
            Some(group) => group.push(change),
            None => groups.push(vec![change]),
        }
    }
    for group in groups {
        if let [one] = group.as_slice() {
            if !change_job(conn, workflow_id, one, now).await? {
                return Ok(false);
            }
            continue;
        }
        for chunk in group.chunks(JOBS_PER_CHANGE) {
            let first = chunk[0];
            let to = first.to;
            let sql: &'static str = CHANGE_JOBS.as_str();
            let mut update = sqlx::query(AssertSqlSafe(Cow::Borrowed(sql)))
                .bind(workflow_id)
                .bind(first.from.as_str())
                .bind(to.as_str())
                .bind((to == JobStatus::Queued).then_some(now))
                .bind((to == JobStatus::Running).then_some(now))
                .bind(to.is_terminal().then_some(now))
                .bind(&first.message)
                .bind(&first.actor);
            for i in 0..JOBS_PER_CHANGE {
                update = update.bind(chunk.get(i).map(|c| c.job_id.as_str()));
            }
            let changed = update.execute(&mut *conn).await?.rows_affected();
            if changed != chunk.len() as u64 {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Tasks per multi-row insert; the rest go one by one.
const TASKS_PER_INSERT: usize = 16;

/// `INSERT INTO tasks … VALUES (…), …` for [`TASKS_PER_INSERT`] rows: `$1` is the workflow,
/// `$2` the time, then five parameters per row (id, job, node, resource class, payload).
static INSERT_TASKS: LazyLock<String> = LazyLock::new(|| {
    let rows: Vec<String> = (0..TASKS_PER_INSERT)
        .map(|row| {
            let p = 3 + 5 * row;
            format!(
                "(${p}, ${}, $1, ${}, ${}, 'queued', 0, 0, FALSE, ${}, $2)",
                p + 1,
                p + 2,
                p + 3,
                p + 4
            )
        })
        .collect();
    format!(
        "INSERT INTO tasks (id, job_id, workflow_id, node, resource_class, state, attempts, \
         last_seq, cancel_requested, payload, queued_at) VALUES {}",
        rows.join(", ")
    )
});

/// Queues tasks: full chunks with one multi-row statement each, the rest one by one.
async fn insert_tasks(
    conn: &mut Conn,
    workflow_id: &WorkflowId,
    tasks: &[NewTask],
    now: Millis,
) -> StoreResult<()> {
    let mut chunks = tasks.chunks_exact(TASKS_PER_INSERT);
    for chunk in &mut chunks {
        let sql: &'static str = INSERT_TASKS.as_str();
        let mut insert = sqlx::query(AssertSqlSafe(Cow::Borrowed(sql)))
            .bind(workflow_id)
            .bind(now);
        for task in chunk {
            insert = insert
                .bind(new_id::<TaskId>())
                .bind(&task.job_id)
                .bind(i64::from(task.node))
                .bind(&task.resource_class)
                .bind(to_json(&task.payload, "task payload")?);
        }
        insert
            .execute(&mut *conn)
            .await
            .map_err(|e| missing_parent(e, || format!("a job of workflow {workflow_id}")))?;
    }
    for task in chunks.remainder() {
        insert_task(conn, workflow_id, task, now).await?;
    }
    Ok(())
}

/// Sets a workflow's status, and `stopped_at` exactly when the status is final (keeping the
/// first stop time), and moves its version on; false (the caller rolls back) if the update
/// expected a version another update has moved on since. On PostgreSQL a concurrent settle
/// of the same workflow waits here for the first one's commit, then finds the version moved.
async fn write_status(conn: &mut Conn, update: &WorkflowUpdate) -> StoreResult<bool> {
    let status: WorkflowStatus = update.status;
    let changed = sqlx::query(
        "UPDATE workflows SET status = $2, \
         stopped_at = CASE WHEN $3 THEN COALESCE(stopped_at, $4) ELSE NULL END, \
         version = version + 1 \
         WHERE id = $1 AND ($5 IS NULL OR version = $5)",
    )
    .bind(&update.workflow_id)
    .bind(status.as_str())
    .bind(status.is_terminal())
    .bind(update.now)
    .bind(update.version)
    .execute(conn)
    .await?
    .rows_affected();
    match (changed, update.version) {
        (0, None) => Err(StoreError::NotFound(format!(
            "workflow {}",
            update.workflow_id
        ))),
        (0, Some(_)) => Ok(false),
        _ => Ok(true),
    }
}

/// Applies one job change if the job is in the workflow and still has its `from` status.
async fn change_job(
    conn: &mut Conn,
    workflow_id: &WorkflowId,
    change: &JobChange,
    now: Millis,
) -> StoreResult<bool> {
    let to = change.to;
    let changed = sqlx::query(
        "UPDATE jobs SET status = $4, \
         queued_at = COALESCE($5, queued_at), \
         started_at = COALESCE(started_at, $6), \
         stopped_at = COALESCE($7, stopped_at), \
         message = COALESCE($8, message), \
         actor = COALESCE($9, actor) \
         WHERE id = $1 AND workflow_id = $2 AND status = $3",
    )
    .bind(&change.job_id)
    .bind(workflow_id)
    .bind(change.from.as_str())
    .bind(to.as_str())
    .bind((to == JobStatus::Queued).then_some(now))
    .bind((to == JobStatus::Running).then_some(now))
    .bind(to.is_terminal().then_some(now))
    .bind(&change.message)
    .bind(&change.actor)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// Queues a task.
async fn insert_task(
    conn: &mut Conn,
    workflow_id: &WorkflowId,
    task: &NewTask,
    now: Millis,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO tasks (id, job_id, workflow_id, node, resource_class, state, attempts, \
         last_seq, cancel_requested, payload, queued_at) \
         VALUES ($1, $2, $3, $4, $5, 'queued', 0, 0, FALSE, $6, $7)",
    )
    .bind(new_id::<TaskId>())
    .bind(&task.job_id)
    .bind(workflow_id)
    .bind(i64::from(task.node))
    .bind(&task.resource_class)
    .bind(to_json(&task.payload, "task payload")?)
    .bind(now)
    .execute(conn)
    .await
    .map_err(|e| missing_parent(e, || format!("job {}", task.job_id)))?;
    Ok(())
}
