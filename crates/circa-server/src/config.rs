//! What a server is started with.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use circa_config::orbs::OrbSource;

/// Where blobs live.
#[derive(Clone, Debug)]
pub enum BlobConfig {
    /// A folder on this host.
    Local(PathBuf),
    /// An S3-compatible bucket.
    S3(circa_store::blobs::S3Config),
}

/// A server's settings.
#[derive(Clone)]
pub struct ServerConfig {
    /// Where to listen (port 0 picks a free port).
    pub listen: SocketAddr,
    /// The folder for git mirrors and temporary files (and, by default, the database and
    /// blobs).
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// Where blobs live.
    pub blobs: BlobConfig,
    /// The URL people and runners reach the server at (for build URLs); defaults to
    /// `http://LISTEN`.
    pub public_url: Option<String>,
    /// How long a task's lease lasts without a heartbeat (at most 60 s).
    pub lease: Duration,
    /// The largest log a step keeps.
    pub step_log_limit: u64,
    /// How long a setup workflow's continuation key stays valid.
    pub continuation_ttl: Duration,
    /// The largest request body accepted (uploads included).
    pub max_body_bytes: usize,
    /// Where orbs referenced by configs are found.
    pub orbs: Arc<dyn OrbSource + Send + Sync>,
    /// The key file that seals secrets at rest; `None`: `DATA/secret.keys`, created with a new
    /// key on first start.
    pub secret_key_file: Option<PathBuf>,
    /// The longest any one `git` run (a clone, a fetch, a read of the mirror) may take; it is
    /// killed with everything it started after that.
    pub git_timeout: Duration,
    /// The shortest interval between two ticks a schedule may have.
    pub min_schedule_interval: Duration,
    /// The longest a shutdown takes, from the signal to the end (see `crate::drain`).
    pub shutdown_grace: Duration,
    /// How long a server shutting down goes on accepting connections (with `/readyz` at 503)
    /// before it lets the requests in flight finish; within the grace period.
    pub shutdown_delay: Duration,
    /// The bearer token `/metrics` on the main listener asks for; `None`: not served there.
    pub metrics_token: Option<crate::metrics::MetricsToken>,
    /// Where `/metrics` is served open, on a listener of its own.
    pub metrics_listen: Option<SocketAddr>,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("blobs", &self.blobs)
            .field("lease", &self.lease)
            .field("secret_key_file", &self.secret_key_file)
            .field("git_timeout", &self.git_timeout)
            .field("min_schedule_interval", &self.min_schedule_interval)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("shutdown_delay", &self.shutdown_delay)
            .field("metrics_listen", &self.metrics_listen)
            .finish_non_exhaustive()
    }
}

/// A step's log limit when none is configured: 512 MiB.
pub const DEFAULT_STEP_LOG_LIMIT: u64 = 512 * 1024 * 1024;

/// The lease when none is configured.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// CircleCI's limit for continuing a pipeline: six hours.
pub const DEFAULT_CONTINUATION_TTL: Duration = Duration::from_secs(6 * 3600);

/// The largest request body when none is configured: 5 GiB (artifacts, workspace layers).
pub const DEFAULT_MAX_BODY_BYTES: usize = 5 * 1024 * 1024 * 1024;

/// How long one `git` run may take when nothing is configured: ten minutes.
pub const DEFAULT_GIT_TIMEOUT: Duration = Duration::from_secs(600);

/// The shortest interval between a schedule's ticks when nothing is configured: one minute.
pub const DEFAULT_MIN_SCHEDULE_INTERVAL: Duration = Duration::from_secs(60);

impl ServerConfig {
    /// Defaults for a data folder: SQLite at `DATA/circa.db`, blobs in `DATA/blobs`.
    pub fn new(
        listen: SocketAddr,
        data_dir: PathBuf,
        orbs: Arc<dyn OrbSource + Send + Sync>,
    ) -> Self {
        ServerConfig {
            listen,
            database_url: format!("sqlite://{}", data_dir.join("circa.db").display()),
            blobs: BlobConfig::Local(data_dir.join("blobs")),
            data_dir,
            public_url: None,
            lease: DEFAULT_LEASE,
            step_log_limit: DEFAULT_STEP_LOG_LIMIT,
            continuation_ttl: DEFAULT_CONTINUATION_TTL,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            orbs,
            secret_key_file: None,
            git_timeout: DEFAULT_GIT_TIMEOUT,
            min_schedule_interval: DEFAULT_MIN_SCHEDULE_INTERVAL,
            shutdown_grace: crate::drain::DEFAULT_SHUTDOWN_GRACE,
            shutdown_delay: crate::drain::DEFAULT_SHUTDOWN_DELAY,
            metrics_token: None,
            metrics_listen: None,
        }
    }
}
