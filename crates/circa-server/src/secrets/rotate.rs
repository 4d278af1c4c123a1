//! Key rotation: a new key becomes current, every stored value (variables' values, checkout
//! keys' private halves, additional SSH keys' private keys, repository tokens and forge tokens)
//! is sealed again with it, and the old keys are dropped only
//! once no value needs them.
//!
//! The new key is written to the key file (after the old ones) before any value changes, so
//! a crash part-way leaves a key file that still opens every value; running the rotation
//! again finishes the job. Values written while the rotation runs are sealed with the new key
//! already; a value changed between read and reseal is left as the writer set it.

use circa_store::{EnvOwner, Store};

use super::keys::{Key, Keyring};
use super::{SecretError, Vault, checkout_keys, forge_tokens, git_access, seal, ssh_keys};

/// What a rotation did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Rotation {
    /// The new current key's id.
    pub key_id: String,
    /// The keys dropped.
    pub retired: Vec<String>,
    /// How many variables' values were sealed again.
    pub resealed: usize,
    /// How many checkout keys' private halves were sealed again.
    pub resealed_checkout_keys: usize,
    /// How many projects' repository tokens were sealed again.
    pub resealed_repo_tokens: usize,
    /// How many additional SSH keys' private keys were sealed again.
    pub resealed_ssh_keys: usize,
    /// How many forge tokens were sealed again.
    pub resealed_forge_tokens: usize,
}

/// Rotates the vault's key and reseals every stored value.
pub async fn rotate(store: &dyn Store, vault: &Vault) -> Result<Rotation, SecretError> {
    let mut ring = vault.keyring();
    let old = ring.ids();
    let key = Key::generate();
    let key_id = key.id().to_string();
    ring.push(key.clone());
    vault.replace(ring.clone())?;
    let mut resealed = 0;
    for var in store.all_env_vars().await? {
        if var.value.key_id == key_id {
            continue;
        }
        let value = seal::open(&ring, &var.owner, &var.name, &var.value)?;
        let sealed = seal::seal_with(&key, &var.owner, &var.name, &value)?;
        if store.reseal_env_var(&var, &sealed).await? {
            resealed += 1;
        }
    }
    let resealed_checkout_keys = reseal_checkout_keys(store, &ring, &key).await?;
    let resealed_repo_tokens = reseal_repo_tokens(store, &ring, &key).await?;
    let resealed_ssh_keys = reseal_ssh_keys(store, &ring, &key).await?;
    let resealed_forge_tokens = forge_tokens::reseal_all(store, &ring, &key).await?;
    // Whatever was written meanwhile used the new key; check before dropping the old ones.
    let in_use = store.env_var_key_ids().await?;
    if in_use.iter().all(|id| *id == key_id) {
        ring.retire_old();
        vault.replace(ring)?;
        Ok(Rotation {
            key_id,
            retired: old,
            resealed,
            resealed_checkout_keys,
            resealed_repo_tokens,
            resealed_ssh_keys,
            resealed_forge_tokens,
        })
    } else {
        Ok(Rotation {
            key_id,
            retired: Vec::new(),
            resealed,
            resealed_checkout_keys,
            resealed_repo_tokens,
            resealed_ssh_keys,
            resealed_forge_tokens,
        })
    }
}

/// Seals every checkout key's private half again with `key`; how many were.
async fn reseal_checkout_keys(
    store: &dyn Store,
    ring: &Keyring,
    key: &Key,
) -> Result<usize, SecretError> {
    let mut resealed = 0;
    for stored in store.all_checkout_keys().await? {
        if stored.private_key.key_id == key.id() {
            continue;
        }
        let owner = EnvOwner::Project(stored.project_id.clone());
        let name = checkout_keys::sealed_name(&stored.fingerprint);
        let pem = seal::open(ring, &owner, &name, &stored.private_key)?;
        let sealed = seal::seal_with(key, &owner, &name, &pem)?;
        if store.reseal_checkout_key(&stored, &sealed).await? {
            resealed += 1;
        }
    }
    Ok(resealed)
}

/// Seals every project's repository token again with `key`; how many were.
async fn reseal_repo_tokens(
    store: &dyn Store,
    ring: &Keyring,
    key: &Key,
) -> Result<usize, SecretError> {
    let mut resealed = 0;
    for (project_id, stored) in store.all_repo_tokens().await? {
        if stored.token.key_id == key.id() {
            continue;
        }
        let owner = EnvOwner::Project(project_id.clone());
        let name = git_access::TOKEN_NAME;
        let value = seal::open(ring, &owner, name, &stored.token)?;
        let sealed = seal::seal_with(key, &owner, name, &value)?;
        if store
            .reseal_repo_token(&project_id, &stored.token, &sealed)
            .await?
        {
            resealed += 1;
        }
    }
    Ok(resealed)
}

/// Seals every additional SSH key's private key again with `key`; how many were.
async fn reseal_ssh_keys(
    store: &dyn Store,
    ring: &Keyring,
    key: &Key,
) -> Result<usize, SecretError> {
    let mut resealed = 0;
    for stored in store.all_ssh_keys().await? {
        if stored.private_key.key_id == key.id() {
            continue;
        }
        let owner = EnvOwner::Project(stored.project_id.clone());
        let name = ssh_keys::sealed_name(&stored.hostname, &stored.fingerprint);
        let pem = seal::open(ring, &owner, &name, &stored.private_key)?;
        let sealed = seal::seal_with(key, &owner, &name, &pem)?;
        if store.reseal_ssh_key(&stored, &sealed).await? {
            resealed += 1;
        }
    }
    Ok(resealed)
}
