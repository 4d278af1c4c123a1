//! Circa's storage. The only crate that speaks SQL: the store's interface as one trait per
//! area ([`ProjectStore`], [`PeopleStore`], [`PipelineStore`], …) and [`Store`], all of them
//! at once, with a SQLite backend (the embedded default) and a PostgreSQL backend
//! (production), each with its own migrations and one conformance suite run against both; the
//! job queue; and [`Blobs`] over the object_store crate (a local folder by default,
//! S3-compatible in production). On a `dyn Store` every area's methods are callable as they
//! are; on a backend type or a generic, `use circa_store::prelude::*;` brings them into scope.
//!
//! # Layout
//! - `store` and `records`: the area traits and the rows they speak in; `ids`: the typed ids
//!   of those rows (strings on the wire and in the database).
//! - `sql`: what both backends share that does not depend on the database kind (row
//!   decoding, value codecs).
//! - `queries`: the area traits' implementations, one module per area with the SQL in its
//!   methods, written once and compiled into each backend module, where `super::Db` is that
//!   backend's sqlx database.
//! - `sqlite`, `postgres`: connections, pools, migrations and the few statements that differ
//!   (the batch claim's lock, bulk event inserts, the pipeline page).
//! - `replicas`: notices between the server replicas of one PostgreSQL database, and the
//!   leadership of what one replica does at a time.
//! - `cache`: the few seconds' caches of tokens and projects every API request reads, cleared
//!   by the store's own writes to them.

use std::sync::Arc;

pub mod blobs;
mod cache;
pub mod checkout_key_records;
pub mod error;
pub mod forge_records;
pub mod git_access_records;
pub mod ids;
pub mod kinds;
pub mod metrics_records;
pub mod postgres;
pub mod records;
pub mod replicas;
pub mod schedule;
pub mod secret_records;
mod sql;
pub mod sqlite;
pub mod ssh_key_records;
pub mod store;
pub mod web_records;

pub use blobs::{BlobStream, Blobs, S3Config};
pub use checkout_key_records::{CheckoutKey, CheckoutKeyKind, NewCheckoutKey};
pub use error::{BlobError, StoreError};
pub use forge_records::{ForgeKind, OutboxStatus, ProjectForge};
pub use git_access_records::{GitAccessRecord, RepoToken};
pub use ids::{
    ContextId, GroupId, JobId, PipelineId, ProjectId, ScheduleId, TaskId, TokenId, UserId,
    WorkflowId,
};
pub use kinds::{PipelineErrorKind, TriggerKind};
pub use metrics_records::{OutboxBacklog, PoolUse, QueueDepth, RunnerCount};
pub use postgres::PostgresStore;
pub use records::*;
pub use replicas::{Heard, Leadership, Replicas, Urgency};
pub use schedule::{NewSchedule, Schedule, ScheduleOrigin, ScheduledBy};
pub use secret_records::*;
pub use sqlite::SqliteStore;
pub use ssh_key_records::{NewSshKey, SshKey};
pub use store::{
    CheckoutKeyStore, DeliveryStore, ForgeStore, GitAccessStore, MetricsStore, OutboxStore,
    OutputStore, PageStore, PeopleStore, PipelineStore, ProjectStore, QueueStore, ReplicaStore,
    ScheduleStore, SecretStore, SshKeyStore, Store, StoreResult, WorkflowStore,
};
pub use web_records::{RunnerSeen, Session, WorkflowDay};

/// The store's traits, so that `use circa_store::prelude::*;` brings every area's methods into
/// scope where the store is a backend type (`SqliteStore`) or a generic rather than a
/// `dyn Store` (whose supertraits' methods need no import).
pub mod prelude {
    pub use crate::store::{
        CheckoutKeyStore, DeliveryStore, ForgeStore, GitAccessStore, MetricsStore, OutboxStore,
        OutputStore, PageStore, PeopleStore, PipelineStore, ProjectStore, QueueStore, ReplicaStore,
        ScheduleStore, SecretStore, SshKeyStore, Store, WorkflowStore,
    };
}

/// Opens the store a URL names and brings its schema up to date: `sqlite://PATH` (the file is
/// created if missing), `sqlite::memory:` (a private in-memory database, for tests), or
/// `postgres://…` / `postgresql://…`.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url == "sqlite::memory:" {
        return Ok(Arc::new(SqliteStore::in_memory().await?));
    }
    if let Some(path) = url.strip_prefix("sqlite://")
        && !path.is_empty()
    {
        return Ok(Arc::new(SqliteStore::open(path.as_ref()).await?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(PostgresStore::connect(url).await?));
    }
    Err(StoreError::UnsupportedUrl(url.to_string()))
}
