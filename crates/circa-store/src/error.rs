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

impl StoreError {
    /// Whether the database could not be reached (refused or dropped connections, a pool
    /// that gave up waiting, a server shutting down or not accepting connections yet), as
    /// opposed to a query it answered with an error. A caller may try again later.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(e) => sqlx_unavailable(e),
            StoreError::Migrate(sqlx::migrate::MigrateError::Execute(e)) => sqlx_unavailable(e),
            _ => false,
        }
    }
}

/// Whether a sqlx error means the database is out of reach.
fn sqlx_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(e) => e.code().is_some_and(|code| unavailable_code(&code)),
        _ => false,
    }
}

/// SQLSTATE codes of a server that cannot serve now: class 08 (connection exception), 57P01
/// to 57P03 (shutting down, crash recovery, not accepting connections yet) and 53300 (too many
/// connections); SQLite's busy and locked codes (5, 6) and its I/O error (10).
fn unavailable_code(code: &str) -> bool {
    code.starts_with("08")
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "53300" | "5" | "6" | "10"
        )
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
