//! Dispatch: a claim that also starts its job, so a runner's claim costs one transaction.

use super::Backend;
use crate::records::{Claim, Job, Task};
use crate::sql::columns::job_columns;
use crate::sql::rows::{JobRow, TaskRow};
use crate::store::StoreResult;

pub(super) async fn claim_and_start(
    store: &Backend,
    claim: Claim,
) -> StoreResult<Option<(Task, Option<Job>)>> {
    let mut tx = store.begin().await?;
    // One statement picks and takes the oldest queued task; see the backend's CLAIM_SQL.
    let Some(task) = sqlx::query_as::<_, TaskRow>(super::CLAIM_SQL)
        .bind(&claim.resource_class)
        .bind(&claim.runner)
        .bind(&claim.token_hash)
        .bind(claim.now)
        .bind(claim.lease_expires_at)
        .fetch_optional(&mut *tx)
        .await?
    else {
        tx.commit().await?;
        return Ok(None);
    };
    let task = task.decode()?;
    // Conditional, as every job change is: a job cancelled meanwhile stays cancelled.
    let job = sqlx::query_as::<_, JobRow>(concat!(
        "UPDATE jobs SET status = 'running', started_at = COALESCE(started_at, $2) \
         WHERE id = $1 AND status = 'queued' RETURNING ",
        job_columns!()
    ))
    .bind(&task.job_id)
    .bind(claim.now)
    .fetch_optional(&mut *tx)
    .await?
    .map(JobRow::decode)
    .transpose()?;
    tx.commit().await?;
    Ok(Some((task, job)))
}
