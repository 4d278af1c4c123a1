//! Rows the web UI keeps and reads: browser sessions and the runners seen lately.

use serde::{Deserialize, Serialize};

use crate::records::Millis;

/// A browser signed in as a user. The cookie holds a random id; only its hash is stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// SHA-256 (hex) of the cookie's id.
    pub id_hash: String,
    /// The user signed in.
    pub user_id: String,
    /// When it was made.
    pub created_at: Millis,
    /// When it stops being valid.
    pub expires_at: Millis,
}

/// A runner that asked for work, and when it last did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunnerSeen {
    /// The runner's name.
    pub name: String,
    /// The resource class it claims for.
    pub resource_class: String,
    /// When it last asked for work.
    pub last_seen: Millis,
}
