//! Forge integration: each project's forge settings (the token only sealed) and the outbox of
//! commit statuses waiting to be sent to it.

use async_trait::async_trait;

use super::StoreResult;
use crate::forge_records::{OutboxStatus, ProjectForge};
use crate::ids::ProjectId;
use crate::records::Millis;
use crate::secret_records::SealedValue;

/// Projects' forges. A project has at most one.
#[async_trait]
pub trait ForgeStore: Send + Sync {
    /// A project's forge, if one is set.
    async fn project_forge(&self, project_id: &ProjectId) -> StoreResult<Option<ProjectForge>>;
    /// Sets a project's forge (replacing any), clearing the last error;
    /// [`crate::StoreError::NotFound`] if there is no such project.
    async fn set_project_forge(&self, forge: ProjectForge) -> StoreResult<ProjectForge>;
    /// Removes a project's forge and its statuses still waiting; false if it had none.
    async fn delete_project_forge(&self, project_id: &ProjectId) -> StoreResult<bool>;
    /// Records the last delivery error (`Some`) or clears it (`None`).
    async fn record_forge_error(
        &self,
        project_id: &ProjectId,
        error: Option<&str>,
        now: Millis,
    ) -> StoreResult<()>;
    /// Every project's forge (for key rotation).
    async fn all_project_forges(&self) -> StoreResult<Vec<ProjectForge>>;
    /// Replaces a forge's sealed token with `to`, only if it still holds the value `forge` was
    /// read with; false otherwise.
    async fn reseal_forge_token(&self, forge: &ProjectForge, to: &SealedValue)
    -> StoreResult<bool>;
}

/// The outbox of commit statuses. Rows are written by the job changes themselves (settles and
/// claims, in their transactions) for projects whose forge reports statuses.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Up to `limit` rows due at `now`, oldest first.
    async fn due_statuses(&self, now: Millis, limit: u32) -> StoreResult<Vec<OutboxStatus>>;
    /// Deletes `sent` and the older rows of its key (project, sha, context); how many.
    async fn delete_sent_statuses(&self, sent: &OutboxStatus) -> StoreResult<u64>;
    /// Makes a project's rows due no sooner than `until`, and the rows written until then too.
    async fn defer_statuses(&self, project_id: &ProjectId, until: Millis) -> StoreResult<()>;
    /// How many rows of a project wait.
    async fn status_backlog(&self, project_id: &ProjectId) -> StoreResult<u64>;
    /// When the next row is due, if any waits.
    async fn next_status_due(&self) -> StoreResult<Option<Millis>>;
}
