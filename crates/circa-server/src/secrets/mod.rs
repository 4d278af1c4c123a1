//! Secrets at rest and on their way to a job: project and context environment variables.
//!
//! Values are sealed with XChaCha20-Poly1305 ([`seal`]) under keys from a key file
//! ([`keys`]); the store keeps only sealed values and the id of the key that sealed each. A
//! value is opened only to answer a claim (the task's environment, never the stored task) —
//! the API shows values masked the way CircleCI does ([`masked`]). [`access`] decides whether
//! a job may use its contexts (group and expression restrictions) and gathers the variables a
//! task receives; [`rotate`] moves every value to a new key; [`checkout_keys`] makes each
//! project's SSH key pair, its private half sealed the same way; [`ssh_keys`] keeps the
//! additional SSH keys admins give, for `add_ssh_keys`, sealed the same way.
//!
//! Invariant: no clear value is written to the database, to Blobs, to a log or to an API
//! answer; decrypted values live only in memory on their way into a task's assignment.

pub mod access;
pub mod checkout_keys;
pub mod delivery;
pub mod forge_tokens;
pub mod git_access;
pub mod keys;
pub mod rotate;
pub mod seal;
pub mod ssh_keys;

use std::sync::RwLock;

use circa_store::{EnvOwner, SealedValue};
use zeroize::Zeroizing;

use keys::{KeyFile, Keyring};

/// What can go wrong with secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The key file could not be read, parsed or written.
    #[error("secret key file {path}: {message}")]
    KeyFile {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A value was sealed by a key the keyring does not hold.
    #[error("no secret key with id {0} (was the key file replaced?)")]
    UnknownKey(String),
    /// A sealed value does not authenticate: changed, moved or sealed by another key.
    #[error("the stored value of {name} does not authenticate (changed or corrupt)")]
    Tampered {
        /// The variable's name.
        name: String,
    },
    /// The cipher refused (never expected with a well-formed key).
    #[error("encryption failed")]
    Crypto,
    /// What the operation names does not exist (a task's job, project or pipeline).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The store.
    #[error(transparent)]
    Store(#[from] circa_store::StoreError),
    /// An SSH key could not be made or encoded.
    #[error("checkout key: {0}")]
    SshKey(#[from] ssh_key::Error),
}

/// The keyring in use and the file it comes from.
#[derive(Debug)]
pub struct Vault {
    ring: RwLock<Keyring>,
    file: Option<KeyFile>,
}

impl Vault {
    /// A vault over a key file; the file is created with one new key when missing and
    /// `create` is set (the default key file in the data folder).
    pub fn open(file: KeyFile, create: bool) -> Result<Vault, SecretError> {
        let ring = file.load(create)?;
        Ok(Vault {
            ring: RwLock::new(ring),
            file: Some(file),
        })
    }

    /// A vault over a keyring held only in memory (tests).
    pub fn in_memory(ring: Keyring) -> Vault {
        Vault {
            ring: RwLock::new(ring),
            file: None,
        }
    }

    /// A secret for one purpose, derived from the current key (see [`keys::Key::derive`]).
    pub fn derive(&self, label: &str) -> zeroize::Zeroizing<Vec<u8>> {
        self.ring
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .current()
            .derive(label)
    }

    /// A copy of the keyring as it is now.
    pub fn keyring(&self) -> Keyring {
        self.ring.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the keyring, writing the key file first when there is one.
    pub fn replace(&self, ring: Keyring) -> Result<(), SecretError> {
        if let Some(file) = &self.file {
            file.save(&ring)?;
        }
        *self.ring.write().unwrap_or_else(|e| e.into_inner()) = ring;
        Ok(())
    }

    /// Seals a variable's value with the current key.
    pub fn seal(
        &self,
        owner: &EnvOwner,
        name: &str,
        value: &str,
    ) -> Result<SealedValue, SecretError> {
        seal::seal(&self.keyring(), owner, name, value)
    }

    /// Opens a variable's sealed value.
    pub fn open_value(
        &self,
        owner: &EnvOwner,
        name: &str,
        sealed: &SealedValue,
    ) -> Result<Zeroizing<String>, SecretError> {
        seal::open(&self.keyring(), owner, name, sealed)
    }
}

/// A value as CircleCI shows it: `xxxx` and the value's last four characters (only `xxxx`
/// when the value has four characters or fewer, so a short value is never shown whole).
pub fn masked(value: &str) -> String {
    let count = value.chars().count();
    if count <= 4 {
        return "xxxx".to_string();
    }
    let tail: String = value.chars().skip(count - 4).collect();
    format!("xxxx{tail}")
}

/// Whether `name` is a valid environment variable name: `[A-Za-z_][A-Za-z0-9_]*`, at most
/// 256 characters.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 256
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_masked_as_circleci_masks_them() {
        assert_eq!(masked("abcdef1234"), "xxxx1234");
        assert_eq!(masked("12345"), "xxxx2345");
        assert_eq!(masked("1234"), "xxxx");
        assert_eq!(masked(""), "xxxx");
        assert_eq!(masked("clé-secrète"), "xxxxrète");
    }

    #[test]
    fn names_follow_the_shell_rule() {
        for good in ["A", "_", "AWS_SECRET_KEY", "a1_b2"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "1A", "A-B", "A B", "É", "A=B", &"A".repeat(257)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
