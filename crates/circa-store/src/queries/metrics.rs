//! Grouped counts for metrics scrapes; the pool's use comes from each backend's
//! `Backend::pool_use_now`.

use async_trait::async_trait;

use super::Backend;
use crate::metrics_records::{OutboxBacklog, PoolUse, QueueDepth, RunnerCount};
use crate::records::Millis;
use crate::sql::codec::to_u64;
use crate::store::{MetricsStore, StoreResult};

#[async_trait]
impl MetricsStore for Backend {
    async fn queue_depths(&self) -> StoreResult<Vec<QueueDepth>> {
        // `tasks_queue` (resource_class, queued_at) WHERE state = 'queued' covers this.
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT resource_class, COUNT(*), MIN(queued_at) FROM tasks \
             WHERE state = 'queued' GROUP BY resource_class ORDER BY resource_class",
        )
        .fetch_all(&mut *self.reader().await?)
        .await?;
        rows.into_iter()
            .map(|(resource_class, queued, oldest_queued_at)| {
                Ok(QueueDepth {
                    resource_class,
                    queued: to_u64(queued, "queue depth")?,
                    oldest_queued_at,
                })
            })
            .collect()
    }

    async fn runner_counts(&self, since: Millis) -> StoreResult<Vec<RunnerCount>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT resource_class, COUNT(*) FROM runners WHERE last_seen >= $1 \
             GROUP BY resource_class ORDER BY resource_class",
        )
        .bind(since)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        rows.into_iter()
            .map(|(resource_class, runners)| {
                Ok(RunnerCount {
                    resource_class,
                    runners: to_u64(runners, "runner count")?,
                })
            })
            .collect()
    }

    async fn outbox_backlog(&self) -> StoreResult<OutboxBacklog> {
        let (rows, oldest_created_at): (i64, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM forge_status_outbox")
                .fetch_one(&mut *self.reader().await?)
                .await?;
        Ok(OutboxBacklog {
            rows: to_u64(rows, "outbox backlog")?,
            oldest_created_at,
        })
    }

    fn pool_use(&self) -> PoolUse {
        self.pool_use_now()
    }
}
