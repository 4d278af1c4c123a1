//! Reads behind the web UI's pages that must stay fast with a long history: a project's
//! finished workflows summed per day in the database, so a chart never loads the workflows
//! themselves.

use super::Backend;
use crate::records::Millis;
use crate::store::StoreResult;
use crate::web_records::WorkflowDay;

pub(super) async fn workflow_days(
    store: &Backend,
    project_id: &str,
    since: Millis,
    day_ms: i64,
) -> StoreResult<Vec<WorkflowDay>> {
    let day_ms = day_ms.max(1);
    let rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT CAST((created_at - $2) / $3 AS BIGINT) AS day, CAST(COUNT(*) AS BIGINT), \
         CAST(SUM(stopped_at - created_at) AS BIGINT), \
         CAST(SUM(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS BIGINT) \
         FROM workflows WHERE project_id = $1 AND created_at >= $2 AND stopped_at IS NOT NULL \
         GROUP BY day ORDER BY day",
    )
    .bind(project_id)
    .bind(since)
    .bind(day_ms)
    .fetch_all(&mut *store.reader().await?)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(day, finished, total_ms, succeeded)| WorkflowDay {
            day,
            finished,
            total_ms,
            succeeded,
        })
        .collect())
}
