//! The statements of a batch claim (`QueueStore::claim_tasks_and_start_jobs`): a claim takes
//! 16 tasks to a statement and starts their jobs 16 to a statement, after a read found
//! anything queued (a long-polling runner's empty claim takes no write transaction), so a
//! runner's claim costs one transaction of a few statements.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use sqlx::AssertSqlSafe;

use super::{Backend, CLAIM_LOCK};
use crate::ids::JobId;
use crate::records::{Claim, Job, Millis, Task};
use crate::sql::columns::{job_columns, task_columns};
use crate::sql::rows::{JobRow, TaskRow};
use crate::store::StoreResult;

/// Tasks taken per statement; a shorter chunk leaves the rest of the token list NULL, which
/// no picked task is paired with, so one statement text serves every chunk.
pub(super) const TASKS_PER_CLAIM: usize = 16;

/// Takes up to `$2` queued tasks of resource class `$1`, oldest first, and gives the n-th
/// the n-th token hash of `$3`…: the picked tasks are numbered in queue order and joined to
/// the numbered tokens. Then `$19` the runner, `$20` now, `$21` the lease's end. The backend's
/// [`CLAIM_LOCK`] (PostgreSQL's `FOR UPDATE SKIP LOCKED`) keeps concurrent claims apart.
static CLAIM_TASKS: LazyLock<String> = LazyLock::new(|| {
    let tokens: Vec<String> = (0..TASKS_PER_CLAIM)
        .map(|i| format!("({}, ${})", i + 1, i + 3))
        .collect();
    let after = TASKS_PER_CLAIM + 3;
    format!(
        "WITH picked (pick_id, pick_n) AS (SELECT id, ROW_NUMBER() OVER (ORDER BY queued_at, ord) \
         FROM (SELECT id, queued_at, ord FROM tasks WHERE state = 'queued' AND resource_class = $1 \
         ORDER BY queued_at, ord LIMIT CAST($2 AS BIGINT){CLAIM_LOCK}) AS oldest), \
         tokens (tok_n, tok_hash) AS (VALUES {}) \
         UPDATE tasks SET state = 'running', runner = ${after}, token_hash = tok_hash, \
         started_at = ${}, lease_expires_at = ${}, attempts = attempts + 1 \
         FROM picked JOIN tokens ON tok_n = pick_n \
         WHERE id = pick_id AND state = 'queued' RETURNING {}",
        tokens.join(", "),
        after + 1,
        after + 2,
        task_columns!()
    )
});

/// Starts the jobs of `$2`…, those still queued, at `$1`.
static START_JOBS: LazyLock<String> = LazyLock::new(|| {
    let ids: Vec<String> = (0..TASKS_PER_CLAIM)
        .map(|i| format!("${}", i + 2))
        .collect();
    format!(
        "UPDATE jobs SET status = 'running', started_at = COALESCE(started_at, $1) \
         WHERE status = 'queued' AND id IN ({}) RETURNING {}",
        ids.join(", "),
        job_columns!()
    )
});

/// Whether a task of any claim's resource class is queued: read first, so that a claim that
/// finds nothing (a long-polling runner's usual claim) takes no write transaction. A task
/// queued after this read wakes the claim's waiter, which claims again.
pub(super) async fn any_queued(store: &Backend, claims: &[Claim]) -> StoreResult<bool> {
    let mut classes: Vec<&str> = claims.iter().map(|c| c.resource_class.as_str()).collect();
    classes.sort_unstable();
    classes.dedup();
    for class in classes {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(1 AS BIGINT) FROM tasks WHERE state = 'queued' AND resource_class = $1 LIMIT 1",
        )
        .bind(class)
        .fetch_optional(&mut *store.reader().await?)
        .await?;
        if found.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Takes up to one task per claim of `chunk` (claims alike, at most [`TASKS_PER_CLAIM`]) into
/// `tasks`, in claim order; whether every claim got one.
pub(super) async fn claim_chunk(
    conn: &mut super::Conn,
    chunk: &[Claim],
    tasks: &mut Vec<Task>,
) -> StoreResult<bool> {
    let first = &chunk[0];
    let sql: &'static str = CLAIM_TASKS.as_str();
    let mut claim = sqlx::query_as::<_, TaskRow>(AssertSqlSafe(Cow::Borrowed(sql)))
        .bind(&first.resource_class)
        .bind(chunk.len() as i64);
    for i in 0..TASKS_PER_CLAIM {
        claim = claim.bind(chunk.get(i).map(|c| c.token_hash.as_str()));
    }
    let rows = claim
        .bind(&first.runner)
        .bind(first.now)
        .bind(first.lease_expires_at)
        .fetch_all(&mut *conn)
        .await?;
    // Rows come back in no set order: the token each got says which claim it answers.
    let order: HashMap<&str, usize> = chunk
        .iter()
        .enumerate()
        .map(|(i, c)| (c.token_hash.as_str(), i))
        .collect();
    let mut got = rows
        .into_iter()
        .map(TaskRow::decode)
        .collect::<Result<Vec<Task>, _>>()?;
    got.sort_by_key(|t| t.token_hash.as_deref().and_then(|h| order.get(h)).copied());
    let full = got.len() == chunk.len();
    tasks.extend(got);
    Ok(full)
}

/// Starts the jobs of `tasks` still queued, at `now`, into `started` by id, with their commit
/// statuses (for projects whose forge reports them) into the outbox.
pub(super) async fn start_jobs(
    conn: &mut super::Conn,
    tasks: &[Task],
    now: Millis,
    started: &mut HashMap<JobId, Job>,
) -> StoreResult<()> {
    let mut job_ids: Vec<&JobId> = tasks.iter().map(|t| &t.job_id).collect();
    job_ids.sort_unstable();
    job_ids.dedup();
    for chunk in job_ids.chunks(TASKS_PER_CLAIM) {
        let sql: &'static str = START_JOBS.as_str();
        let mut start = sqlx::query_as::<_, JobRow>(AssertSqlSafe(Cow::Borrowed(sql))).bind(now);
        for i in 0..TASKS_PER_CLAIM {
            start = start.bind(chunk.get(i).copied());
        }
        let mut now_running: Vec<JobId> = Vec::with_capacity(chunk.len());
        for row in start.fetch_all(&mut *conn).await? {
            let job = row.decode()?;
            now_running.push(job.id.clone());
            started.insert(job.id.clone(), job);
        }
        let ids: Vec<&JobId> = now_running.iter().collect();
        super::outbox::enqueue(conn, &ids, now).await?;
    }
    Ok(())
}
