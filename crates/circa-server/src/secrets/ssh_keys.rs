//! Projects' additional SSH keys: private keys a project's admins give, which `add_ssh_keys`
//! installs in its jobs. The private key is read once to derive its public key and
//! fingerprints (both shown), then sealed like a variable's value — owner the project, name
//! [`sealed_name`] — so the store holds it only sealed.
//!
//! Accepted: OpenSSH private keys of every kind the `ssh-key` crate reads (RSA, ECDSA,
//! ed25519) and PEM RSA keys (`BEGIN RSA PRIVATE KEY`, what `ssh-keygen -m PEM` writes), each
//! without a passphrase, as CircleCI requires (it cannot decrypt keys either).

use circa_model::protocol::SshKeyGrant;
use circa_store::{EnvOwner, NewSshKey, ProjectId, SshKey, Store};
use rsa::pkcs1::DecodeRsaPrivateKey;
use ssh_key::private::{KeypairData, RsaKeypair};
use ssh_key::{HashAlg, PrivateKey};
use zeroize::Zeroizing;

use super::checkout_keys::md5_fingerprint;
use super::{SecretError, Vault};
use crate::state::now_ms;

/// The longest hostname accepted (DNS names are at most 253 characters).
const MAX_HOSTNAME: usize = 253;

/// A private key read from what an admin gave, the private key still in clear.
pub struct GivenKey {
    /// The public key, one OpenSSH line.
    pub public_key: String,
    /// The SHA256 fingerprint (`SHA256:…`).
    pub sha256: String,
    /// The MD5 fingerprint, colon-separated hex (what CircleCI shows).
    pub md5: String,
    /// The private key as given (trimmed, one final newline), installed as is in jobs.
    pub private_pem: Zeroizing<String>,
}

/// Reads a private key; the error says why it is refused (for a 400 naming `private_key`).
pub fn read_private_key(text: &str) -> Result<GivenKey, String> {
    let pem = Zeroizing::new(format!("{}\n", text.trim()));
    let key = if pem.starts_with("-----BEGIN RSA PRIVATE KEY-----") {
        if pem.contains("ENCRYPTED") {
            return Err(encrypted());
        }
        let rsa = rsa::RsaPrivateKey::from_pkcs1_pem(&pem)
            .map_err(|e| format!("not a readable PEM RSA private key ({e})"))?;
        let pair = RsaKeypair::try_from(&rsa).map_err(|e| format!("unusable RSA key ({e})"))?;
        PrivateKey::new(KeypairData::Rsa(pair), "").map_err(|e| e.to_string())?
    } else if pem.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----") {
        let key = PrivateKey::from_openssh(pem.as_bytes())
            .map_err(|e| format!("not a readable OpenSSH private key ({e})"))?;
        if key.is_encrypted() {
            return Err(encrypted());
        }
        key
    } else if pem.contains("ENCRYPTED") {
        return Err(encrypted());
    } else {
        return Err(
            "not an SSH private key: give an OpenSSH private key, or an RSA key in \
                    PEM form (ssh-keygen -m PEM)"
                .to_string(),
        );
    };
    let public = key.public_key();
    Ok(GivenKey {
        public_key: public.to_openssh().map_err(|e| e.to_string())?,
        sha256: public.fingerprint(HashAlg::Sha256).to_string(),
        md5: md5_fingerprint(public).map_err(|e| e.to_string())?,
        private_pem: pem,
    })
}

impl std::fmt::Debug for GivenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GivenKey")
            .field("public_key", &self.public_key)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

fn encrypted() -> String {
    "the key is encrypted: give it without a passphrase (a job cannot type one)".to_string()
}

/// Checks a hostname for `~/.ssh/config` (`Host NAME`): empty (every host) or one word of
/// visible characters; the error says why (for a 400 naming `hostname`).
pub fn check_hostname(hostname: &str) -> Result<(), String> {
    if hostname.len() > MAX_HOSTNAME {
        return Err(format!("longer than {MAX_HOSTNAME} characters"));
    }
    match hostname
        .chars()
        .find(|c| !c.is_ascii_graphic() || matches!(c, '#' | '"' | '\'' | '\\'))
    {
        Some(c) => Err(format!("{c:?} is not allowed in a hostname")),
        None => Ok(()),
    }
}

/// The name an SSH key's private half is sealed under: bound to the hostname and the key, and
/// with a `/` so that it can never be opened as a variable's value, nor a variable's as a key.
pub fn sealed_name(hostname: &str, sha256: &str) -> String {
    format!("ssh-key/{hostname}/{sha256}")
}

/// Seals a key's private half and stores it for `hostname`.
pub async fn add(
    store: &dyn Store,
    vault: &Vault,
    project_id: &ProjectId,
    hostname: &str,
    key: GivenKey,
) -> Result<SshKey, SecretError> {
    let owner = EnvOwner::Project(project_id.clone());
    let sealed = vault.seal(
        &owner,
        &sealed_name(hostname, &key.sha256),
        &key.private_pem,
    )?;
    let new = NewSshKey {
        project_id: project_id.clone(),
        hostname: hostname.to_string(),
        fingerprint: key.sha256,
        md5: key.md5,
        public_key: key.public_key,
        private_key: sealed,
    };
    Ok(store.add_ssh_key(new, now_ms()).await?)
}

/// A stored key opened for a job.
pub fn grant(vault: &Vault, key: &SshKey) -> Result<SshKeyGrant, SecretError> {
    let owner = EnvOwner::Project(key.project_id.clone());
    let name = sealed_name(&key.hostname, &key.fingerprint);
    let pem = vault.open_value(&owner, &name, &key.private_key)?;
    Ok(SshKeyGrant {
        hostname: key.hostname.clone(),
        fingerprint: key.md5.clone(),
        sha256: key.fingerprint.clone(),
        private_key: pem.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key made for this test only: `ssh-keygen -t ed25519 -N '' -C test`.
    const ED25519: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACAqFavtfxX6txEnnNGqZj/3PLZ64MSY/wwX/s2vlHiYzAAAAIgIbj01CG49
NQAAAAtzc2gtZWQyNTUxOQAAACAqFavtfxX6txEnnNGqZj/3PLZ64MSY/wwX/s2vlHiYzA
AAAEAaDVNgT92iZkMAanxNrVlE2vq0SSILkvDzvpt58OOe6yoVq+1/Ffq3ESec0apmP/c8
tnrgxJj/DBf+za+UeJjMAAAABHRlc3QB
-----END OPENSSH PRIVATE KEY-----
";

    #[test]
    fn an_openssh_key_gives_its_public_key_and_fingerprints() {
        let key = read_private_key(&format!("\n  {ED25519}\n\n")).unwrap();
        assert!(
            key.public_key.starts_with("ssh-ed25519 AAAA"),
            "{}",
            key.public_key
        );
        // As `ssh-keygen -l [-E md5]` prints them.
        assert_eq!(
            key.sha256,
            "SHA256:Cn/7aPfct3xpv9AxLKNaNrbY8xBa5WtVywVGLi/QeTA"
        );
        assert_eq!(key.md5, "6a:a8:0d:a5:6a:12:af:22:55:77:cb:9a:c3:e8:e2:7a");
        assert_eq!(key.private_pem.as_str(), ED25519);
    }

    #[test]
    fn other_text_is_refused_with_a_reason() {
        let e = read_private_key("ssh-ed25519 AAAA public").unwrap_err();
        assert!(e.contains("not an SSH private key"), "{e}");
        let e = read_private_key("-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n").unwrap_err();
        assert!(e.contains("not a readable OpenSSH"), "{e}");
        let e = read_private_key(
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nx\n-----END RSA PRIVATE KEY-----",
        )
        .unwrap_err();
        assert!(e.contains("encrypted"), "{e}");
    }

    #[test]
    fn hostnames_are_one_visible_word() {
        for ok in ["", "github.com", "*.example.com", "10.0.0.1", "[::1]:2222"] {
            assert!(check_hostname(ok).is_ok(), "{ok}");
        }
        for bad in ["a b", "a\nHost *", "a\tb", "#x", "é.com"] {
            assert!(check_hostname(bad).is_err(), "{bad:?}");
        }
        assert!(check_hostname(&"a".repeat(254)).is_err());
    }
}
