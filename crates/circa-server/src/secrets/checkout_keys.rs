//! Checkout keys: an ed25519 key pair per project for fetching its repository. The private
//! half (OpenSSH PEM) is sealed like a variable's value — owner the project, name
//! [`sealed_name`] — so the store holds it only sealed; the public half and its fingerprints
//! are kept in clear.

use circa_store::{CheckoutKey, CheckoutKeyKind, EnvOwner, NewCheckoutKey, ProjectId, Store};
use md5::{Digest, Md5};
use ssh_key::rand_core::OsRng;
use ssh_key::{Algorithm, HashAlg, LineEnding, PrivateKey, PublicKey};
use zeroize::Zeroizing;

use super::{SecretError, Vault};
use crate::state::now_ms;

/// The comment of every public key Circa makes.
const COMMENT: &str = "circa-checkout-key";

/// A new key pair, the private half still in clear.
pub struct KeyPair {
    /// The public key, one OpenSSH line (`ssh-ed25519 AAAA… comment`).
    pub public_key: String,
    /// The SHA256 fingerprint as `ssh-keygen -l` prints it (`SHA256:…`).
    pub sha256: String,
    /// The MD5 fingerprint, colon-separated hex.
    pub md5: String,
    /// The private key, OpenSSH PEM.
    pub private_pem: Zeroizing<String>,
}

/// Makes a new ed25519 key pair.
pub fn generate() -> Result<KeyPair, SecretError> {
    let mut private = PrivateKey::random(&mut OsRng, Algorithm::Ed25519)?;
    private.set_comment(COMMENT);
    let public = private.public_key();
    Ok(KeyPair {
        public_key: public.to_openssh()?,
        sha256: public.fingerprint(HashAlg::Sha256).to_string(),
        md5: md5_fingerprint(public)?,
        private_pem: private.to_openssh(LineEnding::LF)?,
    })
}

/// The MD5 fingerprint of a public key: its wire encoding's MD5 as colon-separated hex.
pub fn md5_fingerprint(public: &PublicKey) -> Result<String, SecretError> {
    let digest = Md5::digest(public.to_bytes()?);
    Ok(digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":"))
}

/// The name a checkout key's private half is sealed under (no variable name has a `/`, so
/// it can never be opened as a variable's value, nor a variable's as a key).
pub fn sealed_name(sha256: &str) -> String {
    format!("checkout-key/{sha256}")
}

/// Makes a key pair for a project, seals its private half and stores it.
pub async fn add(
    store: &dyn Store,
    vault: &Vault,
    project_id: &ProjectId,
    kind: CheckoutKeyKind,
) -> Result<CheckoutKey, SecretError> {
    let pair = generate()?;
    let owner = EnvOwner::Project(project_id.clone());
    let sealed = vault.seal(&owner, &sealed_name(&pair.sha256), &pair.private_pem)?;
    let new = NewCheckoutKey {
        project_id: project_id.clone(),
        fingerprint: pair.sha256,
        md5: pair.md5,
        public_key: pair.public_key,
        private_key: sealed,
        kind,
    };
    Ok(store.add_checkout_key(new, now_ms()).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::keys::{Key, Keyring};

    #[test]
    fn a_new_pair_has_both_fingerprints_of_its_public_key() {
        let pair = generate().unwrap();
        assert!(
            pair.public_key.starts_with("ssh-ed25519 AAAA"),
            "{}",
            pair.public_key
        );
        assert!(pair.public_key.ends_with(COMMENT));
        assert!(!pair.public_key.contains('\n'));
        assert!(
            pair.private_pem
                .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n")
        );
        let public = PublicKey::from_openssh(&pair.public_key).unwrap();
        assert_eq!(public.fingerprint(HashAlg::Sha256).to_string(), pair.sha256);
        assert!(pair.sha256.starts_with("SHA256:") && pair.sha256.len() == 7 + 43);
        assert_eq!(pair.md5.len(), 16 * 3 - 1);
        assert!(pair.md5.split(':').all(|h| h.len() == 2));
        // The private half opens to the same public key.
        let private = PrivateKey::from_openssh(pair.private_pem.as_bytes()).unwrap();
        assert_eq!(private.public_key().to_openssh().unwrap(), pair.public_key);
        assert_ne!(generate().unwrap().sha256, pair.sha256, "each pair is new");
    }

    #[test]
    fn fingerprints_are_those_ssh_keygen_prints() {
        // `ssh-keygen -l -E md5 -f` and `ssh-keygen -l -f` of this key print these.
        let line = "ssh-ed25519 \
            AAAAC3NzaC1lZDI1NTE5AAAAINIRALENFJ7rqqsgW8q9aVFPAlUs+lwwMbWVKwJnQ36W circa";
        let public = PublicKey::from_openssh(line).unwrap();
        assert_eq!(
            md5_fingerprint(&public).unwrap(),
            "f0:87:f7:2d:0a:32:26:d0:95:e6:c5:8c:56:67:28:ba"
        );
        assert_eq!(
            public.fingerprint(HashAlg::Sha256).to_string(),
            "SHA256:nM1J5E26PTkYeOcMyjwahkOKBwVWfGQG7XzJNdEerZs"
        );
    }

    #[test]
    fn the_sealed_private_half_opens_only_under_its_own_name() {
        let vault = Vault::in_memory(Keyring::single(Key::generate()));
        let pair = generate().unwrap();
        let owner = EnvOwner::Project("p1".into());
        let sealed = vault
            .seal(&owner, &sealed_name(&pair.sha256), &pair.private_pem)
            .unwrap();
        assert!(!sealed.sealed.contains("OPENSSH"));
        let opened = vault
            .open_value(&owner, &sealed_name(&pair.sha256), &sealed)
            .unwrap();
        assert_eq!(*opened, *pair.private_pem);
        assert!(vault.open_value(&owner, "KEY", &sealed).is_err());
    }
}
