//! Circa's storage. The only crate that speaks SQL: one [`Store`] trait with a SQLite backend
//! (the embedded default) and a PostgreSQL backend (production), each with its own migrations
//! and one conformance suite run against both; the job queue; and [`Blobs`] over the
//! object_store crate (a local folder by default, S3-compatible in production).
//!
//! # Layout
//! - `store` and `records`: the trait and the rows it speaks in.
//! - `sql`: what both backends share that does not depend on the database kind (row
//!   decoding, value codecs).
//! - `queries`: the trait's implementation, written once and compiled into each backend
//!   module, where `super::Db` is that backend's sqlx database.
//! - `sqlite`, `postgres`: connections, pools, migrations and the few statements that differ
//!   (the queue claim, bulk event inserts).
//! - `deliveries`: webhook delivery ids seen in the last day (its own small trait, which
//!   [`Store`] includes).
//! - `cache`: the few seconds' caches of tokens and projects every API request reads, cleared
//!   by the store's own writes to them.

use std::sync::Arc;

pub mod blobs;
mod cache;
pub mod deliveries;
pub mod error;
pub mod postgres;
pub mod records;
pub mod schedule;
pub mod secret_records;
mod sql;
pub mod sqlite;
pub mod store;
pub mod web_records;

pub use blobs::{BlobStream, Blobs, S3Config};
pub use deliveries::DeliveryStore;
pub use error::{BlobError, StoreError};
pub use postgres::PostgresStore;
pub use records::*;
pub use schedule::{NewSchedule, Schedule, ScheduleOrigin, ScheduledBy};
pub use secret_records::*;
pub use sqlite::SqliteStore;
pub use store::{Store, StoreResult};
pub use web_records::{RunnerSeen, Session, WorkflowDay};

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
