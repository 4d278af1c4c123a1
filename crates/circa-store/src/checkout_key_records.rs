//! The rows of checkout keys: a project's SSH key pairs for fetching its repository.
//!
//! The store never sees a private key in clear: it arrives sealed by the server
//! ([`SealedValue`]); the public key and its fingerprints are stored as they are.

use serde::{Deserialize, Serialize};

use crate::ids::ProjectId;
use crate::records::Millis;
use crate::secret_records::SealedValue;

/// What a checkout key is, as CircleCI names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckoutKeyKind {
    /// A key the forge grants to one repository.
    DeployKey,
    /// A key acting as a user of the forge.
    UserKey,
}

impl CheckoutKeyKind {
    /// `deploy-key` or `user-key`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckoutKeyKind::DeployKey => "deploy-key",
            CheckoutKeyKind::UserKey => "user-key",
        }
    }

    /// The kind a stored name spells, if any.
    pub fn parse(text: &str) -> Option<CheckoutKeyKind> {
        match text {
            "deploy-key" => Some(CheckoutKeyKind::DeployKey),
            "user-key" => Some(CheckoutKeyKind::UserKey),
            _ => None,
        }
    }
}

/// A checkout key to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCheckoutKey {
    /// The project it belongs to.
    pub project_id: ProjectId,
    /// The SHA256 fingerprint (`SHA256:…`), unique in its project.
    pub fingerprint: String,
    /// The MD5 fingerprint (colon-separated hex).
    pub md5: String,
    /// The public key, one OpenSSH line.
    pub public_key: String,
    /// The private key, sealed.
    pub private_key: SealedValue,
    /// What kind of key it is.
    pub kind: CheckoutKeyKind,
}

/// A stored checkout key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckoutKey {
    /// The project it belongs to.
    pub project_id: ProjectId,
    /// The SHA256 fingerprint (`SHA256:…`).
    pub fingerprint: String,
    /// The MD5 fingerprint (colon-separated hex).
    pub md5: String,
    /// The public key, one OpenSSH line.
    pub public_key: String,
    /// The private key, sealed.
    pub private_key: SealedValue,
    /// What kind of key it is.
    pub kind: CheckoutKeyKind,
    /// Whether it is the key checkouts of its project use.
    pub preferred: bool,
    /// When it was made.
    pub created_at: Millis,
}
