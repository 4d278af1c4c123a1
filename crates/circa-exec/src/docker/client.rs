//! The connection to the Docker Engine, shared by every job of a process.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bollard::{API_DEFAULT_VERSION, Docker};

use crate::executor::ExecError;

/// Where the engine is looked for when `DOCKER_HOST` is not set.
pub const DEFAULT_ENDPOINT: &str = "unix:///var/run/docker.sock";

/// Seconds a request may wait for the engine's answer (its headers; streamed bodies are not
/// cut). Uploads get [`UPLOAD_TIMEOUT`] instead, since their headers come after the body.
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// How long an upload into a container may take, body included.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(6 * 60 * 60);

/// How long [`DockerClient::connect`] waits for the engine to answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// A connection to the Docker Engine. Cheap to clone; clones share the connection settings.
#[derive(Clone)]
pub struct DockerClient {
    inner: Arc<Inner>,
}

struct Inner {
    docker: Docker,
    uploads: Docker,
    endpoint: String,
    socket: Option<PathBuf>,
}

impl std::fmt::Debug for DockerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerClient")
            .field("endpoint", &self.inner.endpoint)
            .finish_non_exhaustive()
    }
}

impl DockerClient {
    /// Connects to the engine named by `DOCKER_HOST` (default [`DEFAULT_ENDPOINT`]), settles
    /// on the highest API version both sides speak and checks that the engine answers.
    pub async fn connect() -> Result<DockerClient, ExecError> {
        let endpoint = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned());
        Self::connect_to(&endpoint).await
    }

    /// [`DockerClient::connect`] to an explicit endpoint: `unix:///path`, `tcp://host:port`,
    /// `http://…`, `https://…` or `ssh://…`.
    pub async fn connect_to(endpoint: &str) -> Result<DockerClient, ExecError> {
        let unavailable = |reason: String| ExecError::DockerUnavailable {
            endpoint: endpoint.to_owned(),
            reason,
        };
        let (docker, socket) = if let Some(path) = endpoint.strip_prefix("unix://") {
            let docker =
                Docker::connect_with_unix(endpoint, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
                    .map_err(|e| unavailable(e.to_string()))?;
            (docker, Some(PathBuf::from(path)))
        } else {
            let docker =
                Docker::connect_with_host(endpoint).map_err(|e| unavailable(e.to_string()))?;
            (docker, None)
        };
        let answered = tokio::time::timeout(CONNECT_TIMEOUT, async {
            let docker = docker.negotiate_version().await?;
            docker.ping().await?;
            Ok::<_, bollard::errors::Error>(docker)
        })
        .await;
        let docker = match answered {
            Ok(Ok(docker)) => docker,
            Ok(Err(e)) => return Err(unavailable(e.to_string())),
            Err(_) => {
                return Err(unavailable(format!(
                    "no answer within {} seconds",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
        };
        let uploads = docker.clone().with_timeout(UPLOAD_TIMEOUT);
        Ok(DockerClient {
            inner: Arc::new(Inner {
                docker,
                uploads,
                endpoint: endpoint.to_owned(),
                socket,
            }),
        })
    }

    /// The endpoint this client talks to, as given.
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    /// The engine's unix socket on this host, when the endpoint is one (what a job with
    /// `setup_remote_docker` gets mounted).
    pub fn socket_path(&self) -> Option<&std::path::Path> {
        self.inner.socket.as_deref()
    }

    /// The underlying bollard client.
    pub fn api(&self) -> &Docker {
        &self.inner.docker
    }

    /// The bollard client for uploads (a longer timeout).
    pub(crate) fn uploads(&self) -> &Docker {
        &self.inner.uploads
    }
}

/// An engine error as an [`ExecError::Docker`], with what was being done.
pub(crate) fn docker_err(doing: &str) -> impl FnOnce(bollard::errors::Error) -> ExecError + '_ {
    move |e| ExecError::Docker(format!("{doing}: {}", describe(&e)))
}

/// An engine error in a few words: the engine's own message when it sent one.
pub(crate) fn describe(e: &bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerResponseServerError {
            status_code,
            message,
        } => format!("{message} (HTTP {status_code})"),
        bollard::errors::Error::DockerStreamError { error } => error.clone(),
        other => other.to_string(),
    }
}

/// Whether `e` is the engine saying "no such thing" (HTTP 404).
pub(crate) fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Whether `e` is the engine saying "that name is taken" (HTTP 409).
pub(crate) fn is_conflict(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 409,
            ..
        }
    )
}
