//! What the server replicas of one database share besides the data: notices and leadership
//! (`crate::replicas`).

use crate::replicas::Replicas;

/// The link to the other server replicas of the same database.
pub trait ReplicaStore: Send + Sync {
    /// The notices of this database's replicas; `None` for an embedded (SQLite) database,
    /// which one server process holds alone.
    fn replicas(&self) -> Option<Replicas>;
}
