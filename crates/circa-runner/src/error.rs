//! Why a runner stopped.

use std::path::PathBuf;

/// Why [`crate::run`] returned an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunnerError {
    /// A setting is unusable.
    #[error("runner configuration: {0}")]
    Config(String),
    /// The server refused the runner token.
    #[error(
        "the server at {url} refused the runner token (HTTP {status}); check the token and that the runner is registered"
    )]
    Unauthorized {
        /// The server's base URL.
        url: String,
        /// 401 or 403.
        status: u16,
    },
    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
    /// A folder under the data folder could not be made.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The cache folder.
    #[error(transparent)]
    Cache(#[from] circa_exec::cache::CacheError),
    /// The workspace folder.
    #[error(transparent)]
    Workspace(#[from] circa_exec::workspace::WorkspaceError),
}
