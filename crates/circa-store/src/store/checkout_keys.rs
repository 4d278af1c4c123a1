//! Checkout keys: each project's SSH key pairs, the private half sealed.

use async_trait::async_trait;

use super::StoreResult;
use crate::checkout_key_records::{CheckoutKey, NewCheckoutKey};
use crate::ids::ProjectId;
use crate::records::Millis;

/// The checkout keys of projects. A project's first key is its preferred one; when the
/// preferred key is deleted, the newest remaining key becomes preferred.
#[async_trait]
pub trait CheckoutKeyStore: Send + Sync {
    /// Stores a key; [`crate::StoreError::NotFound`] if there is no such project,
    /// [`crate::StoreError::Conflict`] if the project has a key of that fingerprint.
    async fn add_checkout_key(&self, new: NewCheckoutKey, now: Millis) -> StoreResult<CheckoutKey>;
    /// A project's keys, newest first.
    async fn checkout_keys(&self, project_id: &ProjectId) -> StoreResult<Vec<CheckoutKey>>;
    /// A project's key by its SHA256 or MD5 fingerprint.
    async fn checkout_key(
        &self,
        project_id: &ProjectId,
        fingerprint: &str,
    ) -> StoreResult<Option<CheckoutKey>>;
    /// Every project's keys (for key rotation).
    async fn all_checkout_keys(&self) -> StoreResult<Vec<CheckoutKey>>;
    /// Replaces a key's sealed private half with `to`, only if it still holds the value `key`
    /// was read with; false otherwise (deleted meanwhile).
    async fn reseal_checkout_key(
        &self,
        key: &CheckoutKey,
        to: &crate::secret_records::SealedValue,
    ) -> StoreResult<bool>;
    /// Deletes a project's key by its SHA256 or MD5 fingerprint; false if there was none.
    async fn delete_checkout_key(
        &self,
        project_id: &ProjectId,
        fingerprint: &str,
    ) -> StoreResult<bool>;
}
