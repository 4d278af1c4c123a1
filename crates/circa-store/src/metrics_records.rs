//! What the store tells a metrics scrape: the queue per resource class, runners lately seen
//! per resource class, the forge outbox's backlog, and how busy its connections are.

use serde::{Deserialize, Serialize};

use crate::records::Millis;

/// The queued tasks of one resource class.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueDepth {
    /// The resource class.
    pub resource_class: String,
    /// How many tasks wait for a runner of it.
    pub queued: u64,
    /// When the one waiting longest was queued.
    pub oldest_queued_at: Millis,
}

/// How many runners of one resource class asked for work lately.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunnerCount {
    /// The resource class.
    pub resource_class: String,
    /// How many runners (by name).
    pub runners: u64,
}

/// The commit statuses waiting in the forge outbox.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxBacklog {
    /// Rows waiting to be sent.
    pub rows: u64,
    /// When the oldest of them was written, if any waits.
    pub oldest_created_at: Option<Millis>,
}

/// The store's database connections: how many are open and how many are free now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolUse {
    /// Connections open.
    pub open: u64,
    /// Of those, connections not serving a query now.
    pub idle: u64,
}
