//! Git access: each project's SSH host keys and HTTPS token.

use async_trait::async_trait;

use super::StoreResult;
use crate::git_access_records::{GitAccessRecord, RepoToken};
use crate::ids::ProjectId;
use crate::records::Millis;
use crate::secret_records::SealedValue;

/// What projects hold to reach their repositories, besides checkout keys. Every write is
/// [`crate::StoreError::NotFound`] when there is no such project.
#[async_trait]
pub trait GitAccessStore: Send + Sync {
    /// A project's host keys and token (empty when nothing was given).
    async fn git_access(&self, project_id: &ProjectId) -> StoreResult<GitAccessRecord>;
    /// Replaces a project's `known_hosts` lines.
    async fn set_known_hosts(
        &self,
        project_id: &ProjectId,
        lines: &[String],
        now: Millis,
    ) -> StoreResult<()>;
    /// Records `lines` as a project's host keys only if it has none yet (a first fetch's
    /// keys never replace what an admin gave meanwhile); false when it had some.
    async fn record_known_hosts(
        &self,
        project_id: &ProjectId,
        lines: &[String],
        now: Millis,
    ) -> StoreResult<bool>;
    /// Sets (or with `None` removes) a project's HTTPS token.
    async fn set_repo_token(
        &self,
        project_id: &ProjectId,
        token: Option<&RepoToken>,
        now: Millis,
    ) -> StoreResult<()>;
    /// Every project's token (for key rotation).
    async fn all_repo_tokens(&self) -> StoreResult<Vec<(ProjectId, RepoToken)>>;
    /// Replaces a project's sealed token with `to`, only if it is still `from`; false
    /// otherwise (replaced or removed meanwhile).
    async fn reseal_repo_token(
        &self,
        project_id: &ProjectId,
        from: &SealedValue,
        to: &SealedValue,
    ) -> StoreResult<bool>;
}
