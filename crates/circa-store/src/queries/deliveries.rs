//! Webhook delivery ids seen in the last day.

use async_trait::async_trait;

use super::Backend;
use crate::ids::ProjectId;
use crate::records::Millis;
use crate::store::StoreResult;
use crate::store::{DELIVERY_RETENTION_MS, DeliveryStore};

#[async_trait]
impl DeliveryStore for Backend {
    async fn record_delivery(
        &self,
        project_id: &ProjectId,
        delivery_id: &str,
        now: Millis,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM webhook_deliveries WHERE received_at < $1")
            .bind(now - DELIVERY_RETENTION_MS)
            .execute(&mut *tx)
            .await?;
        let added = sqlx::query(
            "INSERT INTO webhook_deliveries (project_id, delivery_id, received_at) \
             VALUES ($1, $2, $3) ON CONFLICT (project_id, delivery_id) DO NOTHING",
        )
        .bind(project_id)
        .bind(delivery_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| super::missing_parent(e, || format!("project {project_id}")))?
        .rows_affected();
        tx.commit().await?;
        Ok(added == 1)
    }

    async fn forget_delivery(
        &self,
        project_id: &ProjectId,
        delivery_id: &str,
    ) -> StoreResult<bool> {
        let removed = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE project_id = $1 AND delivery_id = $2",
        )
        .bind(project_id)
        .bind(delivery_id)
        .execute(&mut *self.writer().await?)
        .await?
        .rows_affected();
        Ok(removed == 1)
    }
}
