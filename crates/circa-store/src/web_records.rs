//! Rows the web UI keeps and reads: browser sessions and the runners seen lately.

use serde::{Deserialize, Serialize};

use crate::ids::UserId;
use crate::records::Millis;

/// A browser signed in as a user. The cookie holds a random id; only its hash is stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// SHA-256 (hex) of the cookie's id.
    pub id_hash: String,
    /// The user signed in.
    pub user_id: UserId,
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

/// One day of a project's workflows, summed by the database (the web UI's 30-day chart).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowDay {
    /// Days since the start of the period (0 is the first day).
    pub day: i64,
    /// Workflows created that day that have finished.
    pub finished: i64,
    /// Their total duration (creation to finish), milliseconds.
    pub total_ms: i64,
    /// How many of them succeeded.
    pub succeeded: i64,
}
