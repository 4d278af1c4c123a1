//! The rows of projects' additional SSH keys: private keys a project's admins gave, which
//! `add_ssh_keys` installs in its jobs.
//!
//! The store never sees a private key in clear: it arrives sealed by the server
//! ([`SealedValue`]); the hostname, public key and fingerprints are stored as they are.

use crate::ids::ProjectId;
use crate::records::Millis;
use crate::secret_records::SealedValue;

/// An additional SSH key to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSshKey {
    /// The project it belongs to.
    pub project_id: ProjectId,
    /// The host it is for; empty for every host.
    pub hostname: String,
    /// The SHA256 fingerprint (`SHA256:…`).
    pub fingerprint: String,
    /// The MD5 fingerprint (colon-separated hex), as CircleCI shows it.
    pub md5: String,
    /// The public key, one OpenSSH line, derived from the private key.
    pub public_key: String,
    /// The private key, sealed.
    pub private_key: SealedValue,
}

/// A stored additional SSH key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshKey {
    /// The project it belongs to.
    pub project_id: ProjectId,
    /// The host it is for; empty for every host.
    pub hostname: String,
    /// The SHA256 fingerprint (`SHA256:…`).
    pub fingerprint: String,
    /// The MD5 fingerprint (colon-separated hex).
    pub md5: String,
    /// The public key, one OpenSSH line.
    pub public_key: String,
    /// The private key, sealed.
    pub private_key: SealedValue,
    /// When it was added.
    pub created_at: Millis,
}
