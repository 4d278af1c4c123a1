//! Key rotation: a new key becomes current, every stored value is sealed again with it, and
//! the old keys are dropped only once no value needs them.
//!
//! The new key is written to the key file (after the old ones) before any value changes, so
//! a crash part-way leaves a key file that still opens every value; running the rotation
//! again finishes the job. Values written while the rotation runs are sealed with the new key
//! already; a value changed between read and reseal is left as the writer set it.

use circa_store::Store;

use super::keys::Key;
use super::{SecretError, Vault, seal};

/// What a rotation did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Rotation {
    /// The new current key's id.
    pub key_id: String,
    /// The keys dropped.
    pub retired: Vec<String>,
    /// How many values were sealed again.
    pub resealed: usize,
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
    // Whatever was written meanwhile used the new key; check before dropping the old ones.
    let in_use = store.env_var_key_ids().await?;
    if in_use.iter().all(|id| *id == key_id) {
        ring.retire_old();
        vault.replace(ring)?;
        Ok(Rotation {
            key_id,
            retired: old,
            resealed,
        })
    } else {
        Ok(Rotation {
            key_id,
            retired: Vec::new(),
            resealed,
        })
    }
}
