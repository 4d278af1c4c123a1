//! Webhook deliveries seen: a forge's delivery id is kept for a day, so the same signed
//! delivery sent again (a replay, or the forge's own redelivery) starts no second pipeline.

use async_trait::async_trait;

use super::StoreResult;
use crate::ids::ProjectId;
use crate::records::Millis;

/// How long a delivery id is remembered: one day.
pub const DELIVERY_RETENTION_MS: Millis = 24 * 3600 * 1000;

/// The webhook deliveries a store remembers.
#[async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Records `delivery_id` for a project at `now`: true when it is new, false when it was
    /// recorded within [`DELIVERY_RETENTION_MS`]. Ids older than that are forgotten by the
    /// same call.
    async fn record_delivery(
        &self,
        project_id: &ProjectId,
        delivery_id: &str,
        now: Millis,
    ) -> StoreResult<bool>;
    /// Forgets `delivery_id` of a project (its build could not be started, so the forge's
    /// redelivery must be taken); false if it was not recorded.
    async fn forget_delivery(&self, project_id: &ProjectId, delivery_id: &str)
    -> StoreResult<bool>;
}
