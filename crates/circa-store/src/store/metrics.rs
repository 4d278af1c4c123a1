//! What a metrics scrape reads: grouped counts, one statement each, and the connections' use
//! (read from memory, no statement).

use async_trait::async_trait;

use super::StoreResult;
use crate::metrics_records::{OutboxBacklog, PoolUse, QueueDepth, RunnerCount};
use crate::records::Millis;

/// Counts for metrics, cheap enough to read at every scrape.
#[async_trait]
pub trait MetricsStore: Send + Sync {
    /// The queued tasks of each resource class that has any, with the oldest one's
    /// `queued_at`, by resource class.
    async fn queue_depths(&self) -> StoreResult<Vec<QueueDepth>>;
    /// How many runners of each resource class asked for work since `since`, by resource
    /// class (classes with none are left out).
    async fn runner_counts(&self, since: Millis) -> StoreResult<Vec<RunnerCount>>;
    /// How many commit statuses wait in the forge outbox, and since when.
    async fn outbox_backlog(&self) -> StoreResult<OutboxBacklog>;
    /// How many database connections are open and idle now.
    fn pool_use(&self) -> PoolUse;
}
