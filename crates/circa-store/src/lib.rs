//! Circa's storage. The only crate that speaks SQL: one [`Store`] trait with a SQLite backend
//! (the embedded default) and a PostgreSQL backend (production), each with its own migrations
//! and one conformance suite run against both; the job queue; and [`Blobs`] over the
//! object_store crate (a local folder by default, S3-compatible in production).

pub mod blobs;
pub mod error;
pub mod records;
pub mod store;

pub use blobs::Blobs;
pub use error::{BlobError, StoreError};
pub use records::*;
pub use store::{Store, StoreResult};

/// Opens the store a URL names (`sqlite://PATH` or `postgres://…`) and runs its migrations.
pub async fn connect(url: &str) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    Err(StoreError::UnsupportedUrl(url.to_string()))
}
