//! Starting and stopping a server.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use circa_model::protocol::RUNNER_API_PREFIX;
use circa_store::{Blobs, NewToken, NewUser, TokenKind, User};
use tokio_util::sync::CancellationToken;

use crate::auth;
use crate::config::{BlobConfig, ServerConfig};
use crate::state::{AppState, Dispatch, Keys, now_ms};
use crate::vcs::Mirrors;

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database.
    #[error(transparent)]
    Store(#[from] circa_store::StoreError),
    /// The object storage.
    #[error(transparent)]
    Blobs(#[from] circa_store::BlobError),
    /// The secret key file.
    #[error(transparent)]
    Secrets(#[from] crate::secrets::SecretError),
    /// The listening socket cannot be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// Why, in a few words (`address already in use`).
        reason: String,
    },
    /// The data folder cannot be made, or another server holds it.
    #[error(transparent)]
    DataDir(#[from] crate::data_dir::DataDirError),
    /// The metrics recorder cannot be made.
    #[error("metrics: {0}")]
    Metrics(#[from] metrics_exporter_prometheus::BuildError),
    /// A file.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> StartError {
    let what = what.into();
    move |source| StartError::Io { what, source }
}

/// A running server.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its state (tests and the embedded runner use it).
    pub state: AppState,
    stop: CancellationToken,
    serving: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The data folder's lock, held while the server runs.
    _data_lock: crate::data_dir::DataDirLock,
}

impl Server {
    /// The URL it is reached at.
    pub fn url(&self) -> String {
        self.state.base_url.clone()
    }

    /// Shuts the server down (see `crate::drain`) and waits until it has.
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.serving.await;
    }

    /// Waits until the server stops (it stops when its stop token is cancelled, or on an
    /// error).
    pub async fn wait(self) -> std::io::Result<()> {
        self.serving
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }

    /// The token that shuts it down when cancelled.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }
}

/// The vault over the configured key file, or over `DATA/secret.keys` (made on first start).
fn open_vault(config: &ServerConfig) -> Result<crate::secrets::Vault, StartError> {
    use crate::secrets::{Vault, keys::KeyFile};
    Ok(match &config.secret_key_file {
        Some(path) => Vault::open(KeyFile { path: path.clone() }, false)?,
        None => Vault::open(
            KeyFile {
                path: config.data_dir.join(DEFAULT_KEY_FILE),
            },
            true,
        )?,
    })
}

/// What the server secret (CSRF tokens, continuation keys) is derived for.
const SERVER_SECRET_LABEL: &str = "server secret";

/// The key file in the data folder when none is configured.
pub const DEFAULT_KEY_FILE: &str = "secret.keys";

/// Writes a file only its owner can read.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StartError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(format!("writing {}", tmp.display())))?;
    file.write_all(bytes)
        .map_err(io(format!("writing {}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(io(format!("writing {}", path.display())))
}

/// Why a socket cannot be bound, in a few words.
fn listen_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => "address already in use".to_string(),
        std::io::ErrorKind::AddrNotAvailable => "address not available on this machine".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// Binds the socket first, then takes the data folder (made mode 0700 if missing, and locked
/// so no second server uses it), connects the store and blobs and starts serving. A data
/// folder this start made is removed again when the start fails; one that was there is left.
pub async fn start(config: ServerConfig) -> Result<Server, StartError> {
    let listener = bind(config.listen).await?;
    let metrics_listener = match config.metrics_listen {
        Some(addr) => Some(bind(addr).await?),
        None => None,
    };
    let made = outermost_missing(&config.data_dir);
    let started = start_on(listener, metrics_listener, config).await;
    if let (Err(_), Some(made)) = (&started, made) {
        let _ = std::fs::remove_dir_all(made);
    }
    started
}

/// A listening socket on `addr`, or why not in a few words.
async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, StartError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| StartError::Listen {
            addr,
            reason: listen_reason(&e),
        })
}

/// The outermost folder of `dir`'s path that does not exist yet: what creating `dir` makes.
fn outermost_missing(dir: &Path) -> Option<std::path::PathBuf> {
    dir.ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
        .last()
        .map(Path::to_path_buf)
}

async fn start_on(
    listener: tokio::net::TcpListener,
    metrics_listener: Option<tokio::net::TcpListener>,
    config: ServerConfig,
) -> Result<Server, StartError> {
    crate::data_dir::create_private(&config.data_dir)?;
    let data_lock = crate::data_dir::lock(&config.data_dir)?;
    let store = circa_store::connect(&config.database_url).await?;
    let blobs = match &config.blobs {
        BlobConfig::Local(dir) => Blobs::local(dir)?,
        BlobConfig::S3(s3) => Blobs::s3(s3.clone())?,
    };
    let vault = open_vault(&config)?;
    // Derived from the key file, which every replica of one database shares, so a session's
    // CSRF token or a continuation key made by one replica holds on all of them.
    let secret = vault.derive(SERVER_SECRET_LABEL).to_vec();
    let addr = listener
        .local_addr()
        .map_err(io("reading the listening address"))?;
    let base_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_string();
    let stop = CancellationToken::new();
    // Running `git`s are killed once the requests that started them are done (or dropped).
    let gits = CancellationToken::new();
    let state = AppState {
        store,
        blobs,
        vcs: Arc::new(Mirrors::new(
            config.data_dir.join("git"),
            config.git_timeout,
            gits.clone(),
        )),
        config: Arc::new(config),
        base_url,
        dispatch: Arc::new(Dispatch::new()),
        live: Arc::default(),
        keys: Arc::new(Keys { secret, vault }),
        schedules: Arc::default(),
        drain: Arc::default(),
        metrics: Arc::new(crate::metrics::Metrics::new()?),
    };
    tokio::spawn(crate::metrics::keep_up(
        state.metrics.handle(),
        stop.clone(),
    ));
    if let Some(listener) = metrics_listener {
        serve_metrics(listener, state.clone(), stop.clone());
    }
    // Notices from the other replicas are applied until the very end (a cancel, a log line).
    tokio::spawn(crate::replicas::listen(state.clone(), stop.clone()));
    let draining = state.drain.token();
    let mut workers = vec![
        tokio::spawn(crate::orchestrator::lease::watch_leases(
            state.clone(),
            draining.clone(),
        )),
        tokio::spawn(crate::schedules::run_scheduler(
            state.clone(),
            draining.clone(),
        )),
        tokio::spawn(crate::forge::outbox::run(state.clone(), draining)),
    ];
    if state.store.replicas().is_some() {
        // Notices between replicas can be lost; within one server a wake never is.
        workers.push(tokio::spawn(crate::claim_wakes::watch_queue(
            state.clone(),
            state.drain.token(),
        )));
    }
    let accepting = CancellationToken::new();
    let idle_closing = CancellationToken::new();
    let listener = crate::closing_listener::ClosingListener::new(listener, accepting.clone())
        .map_err(io("reading the listening address"))?;
    let serving = {
        let (app, idle_closing) = (router(state.clone()), idle_closing.clone());
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(idle_closing.cancelled_owned())
                .await
        })
    };
    let stopping = Stopping {
        state: state.clone(),
        stop: stop.clone(),
        accepting,
        idle_closing,
        workers,
        gits,
    };
    Ok(Server {
        addr,
        state,
        stop,
        serving: tokio::spawn(stopping.run(serving)),
        _data_lock: data_lock,
    })
}

/// How long connections are served on after accepting stops before the idle ones are closed:
/// long enough for a request already sent on a connection just taken to be read.
const IDLE_CLOSE_AFTER: std::time::Duration = std::time::Duration::from_millis(500);

/// How long before the grace period's end the `git`s still running are killed (at most).
const GIT_MARGIN: std::time::Duration = std::time::Duration::from_secs(2);

/// What a shutdown stops, in order (see `crate::drain`).
struct Stopping {
    state: AppState,
    /// Cancelled to shut down.
    stop: CancellationToken,
    /// Cancelled to stop accepting connections.
    accepting: CancellationToken,
    /// Cancelled to close the connections with no request in flight, a moment after
    /// accepting stops ([`IDLE_CLOSE_AFTER`]).
    idle_closing: CancellationToken,
    /// The background loops (lease reaper, scheduler, commit status outbox), stopped when
    /// the drain begins.
    workers: Vec<tokio::task::JoinHandle<()>>,
    /// Kills the `git`s still running.
    gits: CancellationToken,
}

impl Stopping {
    /// Waits for `stop` (or for `serving` to fail), then drains: the drain begins, the
    /// server goes on answering for the shutdown delay, stops accepting, lets the requests
    /// in flight and their settles finish and joins the background loops, all within the
    /// grace period, after which whatever is left is dropped.
    async fn run(
        self,
        mut serving: tokio::task::JoinHandle<std::io::Result<()>>,
    ) -> std::io::Result<()> {
        let served = tokio::select! {
            served = &mut serving => Some(served),
            () = self.stop.cancelled() => None,
        };
        if let Some(served) = served {
            self.gits.cancel();
            return served.unwrap_or_else(|e| Err(std::io::Error::other(e)));
        }
        let config = &self.state.config;
        let deadline = tokio::time::Instant::now() + config.shutdown_grace;
        tracing::info!(
            "shutting down: no more claims, /readyz at 503; exiting within {:?}",
            config.shutdown_grace
        );
        self.state.drain.begin();
        let delay = config.shutdown_delay.min(config.shutdown_grace);
        // A handle is awaited once: `ended` says whether it already was.
        let mut ended = tokio::time::timeout(delay, &mut serving).await.is_ok();
        self.accepting.cancel();
        // Connections taken just before (a request may be on its way in them) are served a
        // moment longer before the idle ones are closed.
        let idle_close_at = (tokio::time::Instant::now() + IDLE_CLOSE_AFTER).min(deadline);
        if !ended {
            ended = tokio::time::timeout_at(idle_close_at, &mut serving)
                .await
                .is_ok();
        }
        self.idle_closing.cancel();
        // Near the end, the `git`s still running are killed, so the requests waiting on
        // them get an answer rather than a cut connection.
        let kill_gits = deadline - (config.shutdown_grace / 10).min(GIT_MARGIN);
        if !ended {
            ended = tokio::time::timeout_at(kill_gits, &mut serving)
                .await
                .is_ok();
        }
        if !ended {
            tracing::warn!("the grace period runs out: killing the git commands still running");
            self.gits.cancel();
            ended = tokio::time::timeout_at(deadline, &mut serving)
                .await
                .is_ok();
        }
        if !ended {
            tracing::warn!("the grace period ran out: requests still in flight are dropped");
            serving.abort();
        }
        if tokio::time::timeout_at(deadline, self.state.drain.settled())
            .await
            .is_err()
        {
            tracing::warn!("the grace period ran out: settles still running are dropped");
        }
        for worker in self.workers {
            let abort = worker.abort_handle();
            if tokio::time::timeout_at(deadline, worker).await.is_err() {
                abort.abort();
            }
        }
        self.gits.cancel();
        tracing::info!("shut down");
        Ok(())
    }
}

/// Serves `/metrics`, open, on a listener of its own until `stop`.
fn serve_metrics(listener: tokio::net::TcpListener, state: AppState, stop: CancellationToken) {
    let app = crate::metrics::access::open_routes(state);
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!("the metrics listener stopped: {e}");
        }
    });
}

/// Every route, behind `api::normalize` (slugs in one segment, error bodies in the path's
/// kind, page headers), which runs before routing, behind the request id of
/// `request_id`, which every log line and internal error answer of the request carries, and
/// `Connection: close` on every answer once the server drains.
pub fn router(state: AppState) -> Router {
    let drain = Arc::clone(&state.drain);
    Router::new()
        .fallback_service(routes(state))
        .layer(axum::middleware::from_fn(crate::api::normalize::normalize))
        .layer(axum::middleware::from_fn(crate::request_id::layer))
        .layer(axum::middleware::from_fn_with_state(
            drain,
            crate::drain::close_connections,
        ))
}

/// A handler that panicked: a 500 like any internal fault (the panic's text goes to the log).
fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let text = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    axum::response::IntoResponse::into_response(crate::error::ApiError::internal(format!(
        "a handler panicked: {text}"
    )))
}

fn routes(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    let metrics = Arc::clone(&state.metrics);
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::metrics::access::guarded))
        .merge(crate::api::routes())
        .merge(crate::hooks::routes())
        .merge(crate::web::routes())
        .nest(RUNNER_API_PREFIX, crate::runner_api::routes())
        // JSON bodies are read whole: a small limit. Uploads stream to disk under `limit`.
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::error::MAX_JSON_BYTES,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(limit))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        // Outermost of the routes' layers, where the matched route is known.
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            crate::metrics::http::record,
        ))
        .with_state(state)
}

/// `/readyz`: 200 when the tables requests read can be read, else 503 (the cause logged);
/// 503 from the moment the server begins to shut down.
async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.drain.is_draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!("not ready: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the database does not answer",
            )
        }
    }
}

/// Makes sure `DATA/admin.token` holds a valid admin token; returns the token when it was
/// created now (first start), `None` when the file already held a valid one.
pub async fn ensure_admin_token(state: &AppState) -> Result<Option<String>, StartError> {
    let path = state.config.data_dir.join("admin.token");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        if let Some(token) = state
            .store
            .token_by_hash(&auth::hash_token(existing))
            .await?
            && token.kind == TokenKind::Admin
            && token.user_id.is_some()
            && !token.revoked
        {
            return Ok(None);
        }
    }
    let admin = admin_user(state).await?;
    let token = auth::new_token("circa_admin_");
    state
        .store
        .create_token(
            NewToken {
                kind: TokenKind::Admin,
                name: "admin".to_string(),
                resource_class: None,
                hash: auth::hash_token(&token),
                user_id: Some(admin.id),
            },
            now_ms(),
        )
        .await?;
    write_private(&path, format!("{token}\n").as_bytes())?;
    Ok(Some(token))
}

/// The `admin` user, created on first start (by one of several replicas starting at once on
/// one database: the others find it).
async fn admin_user(state: &AppState) -> Result<User, StartError> {
    if let Some(user) = state.store.user_by_login(ADMIN_LOGIN).await? {
        return Ok(user);
    }
    let created = state
        .store
        .create_user(
            NewUser {
                login: ADMIN_LOGIN.to_string(),
                name: "Administrator".to_string(),
                admin: true,
                password_hash: None,
            },
            now_ms(),
        )
        .await;
    match created {
        Err(circa_store::StoreError::Conflict(_)) => state
            .store
            .user_by_login(ADMIN_LOGIN)
            .await?
            .ok_or_else(|| StartError::from(circa_store::StoreError::NotFound(ADMIN_LOGIN.into()))),
        other => Ok(other?),
    }
}

/// The login of the administrator made on first start.
pub const ADMIN_LOGIN: &str = "admin";

/// Creates a runner token for a resource class (the embedded runner's, or a test's).
pub async fn create_runner_token(
    state: &AppState,
    name: &str,
    resource_class: &str,
) -> Result<String, StartError> {
    let token = auth::new_token("circa_runner_");
    state
        .store
        .create_token(
            NewToken {
                kind: TokenKind::Runner,
                name: name.to_string(),
                resource_class: Some(resource_class.to_string()),
                hash: auth::hash_token(&token),
                user_id: None,
            },
            now_ms(),
        )
        .await?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folder_a_start_makes_is_the_outermost_missing_one() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("a/b/data");
        assert_eq!(outermost_missing(&data), Some(root.path().join("a")));
        std::fs::create_dir_all(&data).unwrap();
        assert_eq!(outermost_missing(&data), None);
    }

    #[test]
    fn a_taken_address_is_said_in_a_few_words() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let e = std::net::TcpListener::bind(taken.local_addr().unwrap()).unwrap_err();
        assert_eq!(listen_reason(&e), "address already in use");
    }
}
