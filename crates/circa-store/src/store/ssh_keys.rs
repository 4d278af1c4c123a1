//! Projects' additional SSH keys, the private key sealed.

use async_trait::async_trait;

use super::StoreResult;
use crate::ids::ProjectId;
use crate::records::Millis;
use crate::secret_records::SealedValue;
use crate::ssh_key_records::{NewSshKey, SshKey};

/// The additional SSH keys of projects, one row per (hostname, key).
#[async_trait]
pub trait SshKeyStore: Send + Sync {
    /// Stores a key; [`crate::StoreError::NotFound`] if there is no such project,
    /// [`crate::StoreError::Conflict`] if the project has that key for that hostname already.
    async fn add_ssh_key(&self, new: NewSshKey, now: Millis) -> StoreResult<SshKey>;
    /// A project's keys, oldest first.
    async fn ssh_keys(&self, project_id: &ProjectId) -> StoreResult<Vec<SshKey>>;
    /// Every project's keys (for key rotation).
    async fn all_ssh_keys(&self) -> StoreResult<Vec<SshKey>>;
    /// Replaces a key's sealed private key with `to`, only if it still holds the value `key`
    /// was read with; false otherwise (deleted meanwhile).
    async fn reseal_ssh_key(&self, key: &SshKey, to: &SealedValue) -> StoreResult<bool>;
    /// Deletes a project's key by its SHA256 or MD5 fingerprint, for `hostname` only when
    /// given (else for every hostname); how many rows went.
    async fn delete_ssh_key(
        &self,
        project_id: &ProjectId,
        fingerprint: &str,
        hostname: Option<&str>,
    ) -> StoreResult<u64>;
}
