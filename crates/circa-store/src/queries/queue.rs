//! The task queue: claims, leases, completion, cancellation.

use circa_model::JobStatus;

use super::Backend;
use crate::records::{Claim, Millis, Task};
use crate::sql::columns::task_columns;
use crate::sql::rows::{TaskRow, decode_all};
use crate::store::StoreResult;

pub(super) async fn claim(store: &Backend, claim: Claim) -> StoreResult<Option<Task>> {
    // One statement picks and takes the oldest queued task; see the backend's CLAIM_SQL.
    sqlx::query_as::<_, TaskRow>(super::CLAIM_SQL)
        .bind(&claim.resource_class)
        .bind(&claim.runner)
        .bind(&claim.token_hash)
        .bind(claim.now)
        .bind(claim.lease_expires_at)
        .fetch_optional(&mut *store.writer().await?)
        .await?
        .map(TaskRow::decode)
        .transpose()
}

pub(super) async fn by_id(store: &Backend, id: &str) -> StoreResult<Option<Task>> {
    sqlx::query_as::<_, TaskRow>(concat!(
        "SELECT ",
        task_columns!(),
        " FROM tasks WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *store.reader().await?)
    .await?
    .map(TaskRow::decode)
    .transpose()
}

pub(super) async fn of_job(store: &Backend, job_id: &str) -> StoreResult<Vec<Task>> {
    let rows = sqlx::query_as::<_, TaskRow>(concat!(
        "SELECT ",
        task_columns!(),
        " FROM tasks WHERE job_id = $1 ORDER BY node, ord"
    ))
    .bind(job_id)
    .fetch_all(&mut *store.reader().await?)
    .await?;
    decode_all(rows, TaskRow::decode)
}

pub(super) async fn heartbeat(
    store: &Backend,
    task_id: &str,
    lease_expires_at: Millis,
) -> StoreResult<Option<Task>> {
    sqlx::query_as::<_, TaskRow>(concat!(
        "UPDATE tasks SET lease_expires_at = $2 WHERE id = $1 AND state = 'running' RETURNING ",
        task_columns!()
    ))
    .bind(task_id)
    .bind(lease_expires_at)
    .fetch_optional(&mut *store.writer().await?)
    .await?
    .map(TaskRow::decode)
    .transpose()
}

pub(super) async fn cancel(store: &Backend, job_id: &str, now: Millis) -> StoreResult<Vec<Task>> {
    let mut tx = store.begin().await?;
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

pub(super) async fn finish(
    store: &Backend,
    task_id: &str,
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
    .fetch_optional(&mut *store.writer().await?)
    .await?
    .map(TaskRow::decode)
    .transpose()
}

pub(super) async fn expired(store: &Backend, now: Millis) -> StoreResult<Vec<Task>> {
    let rows = sqlx::query_as::<_, TaskRow>(concat!(
        "SELECT ",
        task_columns!(),
        " FROM tasks WHERE state = 'running' AND lease_expires_at < $1 \
         ORDER BY lease_expires_at, ord"
    ))
    .bind(now)
    .fetch_all(&mut *store.reader().await?)
    .await?;
    decode_all(rows, TaskRow::decode)
}

pub(super) async fn requeue(store: &Backend, task_id: &str, now: Millis) -> StoreResult<bool> {
    let changed = sqlx::query(
        "UPDATE tasks SET state = 'queued', runner = NULL, token_hash = NULL, \
         lease_expires_at = NULL, queued_at = $2 WHERE id = $1 AND state = 'running'",
    )
    .bind(task_id)
    .bind(now)
    .execute(&mut *store.writer().await?)
    .await?
    .rows_affected();
    Ok(changed > 0)
}

pub(super) async fn queued(store: &Backend) -> StoreResult<Vec<Task>> {
    let rows = sqlx::query_as::<_, TaskRow>(concat!(
        "SELECT ",
        task_columns!(),
        " FROM tasks WHERE state = 'queued' ORDER BY resource_class, queued_at, ord"
    ))
    .fetch_all(&mut *store.reader().await?)
    .await?;
    decode_all(rows, TaskRow::decode)
}
