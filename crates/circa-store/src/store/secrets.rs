//! Secrets: sealed environment variables, contexts, context restrictions.

use async_trait::async_trait;

use super::StoreResult;
use crate::ids::ContextId;
use crate::records::Millis;
use crate::secret_records::{
    Context, ContextRestriction, EnvOwner, EnvVar, NewRestriction, SealedValue,
};

/// Sealed environment variables of projects and contexts, contexts, and who may use them.
#[async_trait]
pub trait SecretStore: Send + Sync {
    /// Sets an environment variable of a project or context (creating or replacing it);
    /// [`crate::StoreError::NotFound`] if there is no such owner.
    async fn put_env_var(
        &self,
        owner: &EnvOwner,
        name: &str,
        value: &SealedValue,
        now: Millis,
    ) -> StoreResult<EnvVar>;
    /// One environment variable.
    async fn env_var(&self, owner: &EnvOwner, name: &str) -> StoreResult<Option<EnvVar>>;
    /// An owner's environment variables, by name.
    async fn env_vars(&self, owner: &EnvOwner) -> StoreResult<Vec<EnvVar>>;
    /// Deletes an environment variable; false if there was none.
    async fn delete_env_var(&self, owner: &EnvOwner, name: &str) -> StoreResult<bool>;
    /// Every environment variable of every owner (for key rotation).
    async fn all_env_vars(&self) -> StoreResult<Vec<EnvVar>>;
    /// Replaces a variable's sealed value with `to`, only if it still holds the value `var`
    /// was read with (a concurrent write wins); false otherwise.
    async fn reseal_env_var(&self, var: &EnvVar, to: &SealedValue) -> StoreResult<bool>;
    /// The ids of the keys that sealed the stored values (variables', checkout keys', SSH keys'
    /// and repository tokens').
    async fn env_var_key_ids(&self) -> StoreResult<Vec<String>>;

    /// Creates a context; [`crate::StoreError::Conflict`] when the name is taken.
    async fn create_context(&self, name: &str, now: Millis) -> StoreResult<Context>;
    /// A context by id.
    async fn context(&self, id: &ContextId) -> StoreResult<Option<Context>>;
    /// A context by name.
    async fn context_by_name(&self, name: &str) -> StoreResult<Option<Context>>;
    /// Every context, by name.
    async fn contexts(&self) -> StoreResult<Vec<Context>>;
    /// Deletes a context with its variables and restrictions; false if there was none.
    async fn delete_context(&self, id: &ContextId) -> StoreResult<bool>;

    /// Adds a restriction to a context; [`crate::StoreError::NotFound`] if there is no such
    /// context.
    async fn add_context_restriction(
        &self,
        restriction: NewRestriction,
        now: Millis,
    ) -> StoreResult<ContextRestriction>;
    /// A context's restrictions, oldest first.
    async fn context_restrictions(
        &self,
        context_id: &ContextId,
    ) -> StoreResult<Vec<ContextRestriction>>;
    /// Deletes a context's restriction; false if there was none.
    async fn delete_context_restriction(
        &self,
        context_id: &ContextId,
        id: &str,
    ) -> StoreResult<bool>;
}
