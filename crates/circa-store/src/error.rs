//! What can go wrong in the store.

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A row with the same unique key exists (a project slug).
    #[error("{0} already exists")]
    Conflict(String),
    /// A row the operation needs does not exist (the project of a new pipeline, the task of
    /// new events).
    #[error("{0} not found")]
    NotFound(String),
    /// The database refused or could not be reached.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value does not read back (a JSON column, a status name).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The database URL names no supported backend.
    #[error("unsupported database URL {0:?}: expected sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
}

/// A Blobs operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// The object store refused or could not be reached.
    #[error("object storage: {0}")]
    ObjectStore(#[from] object_store::Error),
    /// A key that is not a plain relative path.
    #[error("invalid object key {0:?}")]
    InvalidKey(String),
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}
