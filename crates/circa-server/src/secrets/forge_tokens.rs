//! Forge API tokens: sealed like a variable's value — owner the project, name [`SEALED_NAME`]
//! — so the store holds them only sealed; opened only to authenticate a request to the forge.

use circa_store::{EnvOwner, ProjectForge, ProjectId, Store};
use zeroize::Zeroizing;

use super::keys::{Key, Keyring};
use super::{SecretError, Vault, seal};

/// The name a forge token is sealed under (no variable name has a `/`, so it can never be
/// opened as a variable's value, nor a variable's as a token).
pub const SEALED_NAME: &str = "forge/token";

/// Seals a project's forge token.
pub fn seal_token(
    vault: &Vault,
    project_id: &ProjectId,
    token: &str,
) -> Result<circa_store::SealedValue, SecretError> {
    vault.seal(&EnvOwner::Project(project_id.clone()), SEALED_NAME, token)
}

/// A forge's token in clear, if one is set.
pub fn open_token(
    vault: &Vault,
    forge: &ProjectForge,
) -> Result<Option<Zeroizing<String>>, SecretError> {
    forge
        .token
        .as_ref()
        .map(|sealed| {
            let owner = EnvOwner::Project(forge.project_id.clone());
            vault.open_value(&owner, SEALED_NAME, sealed)
        })
        .transpose()
}

/// Seals every forge token again with `key`; how many were.
pub async fn reseal_all(
    store: &dyn Store,
    ring: &Keyring,
    key: &Key,
) -> Result<usize, SecretError> {
    let mut resealed = 0;
    for forge in store.all_project_forges().await? {
        let Some(sealed) = &forge.token else {
            continue;
        };
        if sealed.key_id == key.id() {
            continue;
        }
        let owner = EnvOwner::Project(forge.project_id.clone());
        let token = seal::open(ring, &owner, SEALED_NAME, sealed)?;
        let again = seal::seal_with(key, &owner, SEALED_NAME, &token)?;
        if store.reseal_forge_token(&forge, &again).await? {
            resealed += 1;
        }
    }
    Ok(resealed)
}
