//! Dispatch: claims that also start their jobs, so a runner's claim (of one task or of
//! several) costs one transaction.

use super::Backend;
use crate::records::{Claim, Job, Task};
use crate::sql::columns::job_columns;
use crate::sql::rows::{JobRow, TaskRow};
use crate::store::StoreResult;

/// Takes one queued task per claim, oldest first, until none is left, and starts their jobs;
/// one transaction for all of them.
pub(super) async fn claim_and_start(
    store: &Backend,
    claims: Vec<Claim>,
) -> StoreResult<Vec<(Task, Option<Job>)>> {
    let mut claimed = Vec::with_capacity(claims.len());
    let mut tx = store.begin().await?;
    for claim in claims {
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
            break;
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
        claimed.push((task, job));
    }
    tx.commit().await?;
    Ok(claimed)
}
