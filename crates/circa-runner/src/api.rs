//! The runner API over HTTP: one method per route of [`circa_model::protocol`].

use std::path::Path;
use std::time::Duration;

use circa_model::protocol::{
    ClaimGrown, ClaimGrowth, ClaimRequest, ClaimedTasks, CompleteRequest, EventAck, HeartbeatReply,
    HeartbeatRequest, RUNNER_API_PREFIX, TaskAssignment,
};
use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use tokio::io::AsyncWriteExt;

use crate::encode;

/// How long to wait for a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Extra time over a long-poll's own wait before a request counts as lost.
const POLL_MARGIN: Duration = Duration::from_secs(15);

/// The longest a short request (events, complete) may take.
const SHORT_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest an upload or download may go without progress.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// How much of an error answer's body is kept for messages.
const ERROR_BODY_CHARS: usize = 300;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No answer: connection refused or reset, timeout.
    #[error("cannot reach {url}: {reason}")]
    Network {
        /// The route.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// An answer with an unexpected status.
    #[error("{url} answered HTTP {status}: {body}")]
    Status {
        /// The route.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the answer's body.
        body: String,
    },
    /// An answer whose body is not what the protocol says.
    #[error("{url}: unexpected answer: {reason}")]
    Decode {
        /// The route.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// A local file to upload or download into.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl ApiError {
    /// The HTTP status, when the server answered with one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether trying again may help: no answer, a garbled answer, 5xx, 408 or 429.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Network { .. } | ApiError::Decode { .. } => true,
            ApiError::Status { status, .. } => *status >= 500 || matches!(status, 408 | 429),
            ApiError::File { .. } => false,
        }
    }
}

/// A client of one server's runner API.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    /// A client for the server at `url` (its base URL, without the API prefix).
    pub fn new(url: &str) -> Result<Api, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("circa-runner/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Api {
            http,
            base: format!("{}{RUNNER_API_PREFIX}", url.trim_end_matches('/')),
        })
    }

    fn task_url(&self, task: &str, rest: &str) -> String {
        format!("{}/tasks/{}/{rest}", self.base, encode::segment(task))
    }

    /// `POST /claims`: up to `request.max_tasks` tasks, or none when the wait ran out.
    pub async fn claims(
        &self,
        token: &str,
        request: &ClaimRequest,
    ) -> Result<Vec<TaskAssignment>, ApiError> {
        let url = format!("{}/claims", self.base);
        let wait = Duration::from_millis(request.wait_ms);
        let send = self
            .http
            .post(&url)
            .bearer_auth(token)
            .json(request)
            .timeout(wait + POLL_MARGIN)
            .send();
        let resp = ok(&url, send.await).await?;
        if resp.status() == StatusCode::NO_CONTENT {
            return Ok(Vec::new());
        }
        json::<ClaimedTasks>(&url, resp).await.map(|c| c.tasks)
    }

    /// `POST /claims/grow`: adds `slots` to the waiting claim `claim_id`; the claim's most
    /// tasks now.
    pub async fn grow_claim(
        &self,
        token: &str,
        claim_id: &str,
        slots: u32,
    ) -> Result<u32, ApiError> {
        let url = format!("{}/claims/grow", self.base);
        let request = ClaimGrowth {
            claim_id: claim_id.to_string(),
            slots,
        };
        let send = self
            .http
            .post(&url)
            .bearer_auth(token)
            .json(&request)
            .timeout(SHORT_TIMEOUT)
            .send();
        let grown: ClaimGrown = json(&url, ok(&url, send.await).await?).await?;
        Ok(grown.max_tasks)
    }

    /// `POST /tasks/{id}/heartbeat`.
    pub async fn heartbeat(
        &self,
        task: &str,
        token: &str,
        request: &HeartbeatRequest,
    ) -> Result<HeartbeatReply, ApiError> {
        let url = self.task_url(task, "heartbeat");
        let send = self
            .http
            .post(&url)
            .bearer_auth(token)
            .json(request)
            .timeout(Duration::from_millis(request.hold_ms) + POLL_MARGIN)
            .send();
        json(&url, ok(&url, send.await).await?).await
    }

    /// `POST /tasks/{id}/events` with an [`circa_model::protocol::EventBatch`] already in JSON.
    pub async fn events(&self, task: &str, token: &str, batch: Vec<u8>) -> Result<u64, ApiError> {
        let url = self.task_url(task, "events");
        let send = self
            .http
            .post(&url)
            .bearer_auth(token)
            .header(CONTENT_TYPE, "application/json")
            .body(batch)
            .timeout(SHORT_TIMEOUT)
            .send();
        let ack: EventAck = json(&url, ok(&url, send.await).await?).await?;
        Ok(ack.acked)
    }

    /// `PUT /tasks/{id}/{kind}/{path}` with the file's bytes, streamed.
    pub async fn put_file(
        &self,
        task: &str,
        token: &str,
        kind: &str,
        encoded_path: &str,
        file: &Path,
    ) -> Result<(), ApiError> {
        let url = self.task_url(task, &format!("{kind}/{encoded_path}"));
        let file_err = |source| ApiError::File {
            path: file.display().to_string(),
            source,
        };
        let f = tokio::fs::File::open(file).await.map_err(file_err)?;
        let len = f.metadata().await.map_err(file_err)?.len();
        let send = self
            .http
            .put(&url)
            .bearer_auth(token)
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, len)
            .body(reqwest::Body::from(f))
            .send();
        let send = tokio::time::timeout(IDLE_TIMEOUT.max(transfer_time(len)), send);
        match send.await {
            Ok(r) => ok(&url, r).await.map(drop),
            Err(_) => Err(ApiError::Network {
                url,
                reason: "timed out".to_string(),
            }),
        }
    }

    /// `GET /tasks/{id}/workspace/{layer}` into the file `dest` (created or truncated).
    pub async fn get_layer(
        &self,
        task: &str,
        token: &str,
        layer: &str,
        dest: &Path,
    ) -> Result<u64, ApiError> {
        let url = self.task_url(task, &format!("workspace/{}", encode::segment(layer)));
        let file_err = |source| ApiError::File {
            path: dest.display().to_string(),
            source,
        };
        let resp = ok(&url, self.http.get(&url).bearer_auth(token).send().await).await?;
        let mut out = tokio::fs::File::create(dest).await.map_err(file_err)?;
        let mut body = resp.bytes_stream();
        let mut total = 0u64;
        loop {
            let chunk = match tokio::time::timeout(IDLE_TIMEOUT, body.next()).await {
                Err(_) => {
                    return Err(ApiError::Network {
                        url,
                        reason: "the download stalled".to_string(),
                    });
                }
                Ok(None) => break,
                Ok(Some(Err(e))) => return Err(network(&url, &e)),
                Ok(Some(Ok(chunk))) => chunk,
            };
            total += chunk.len() as u64;
            out.write_all(&chunk).await.map_err(file_err)?;
        }
        out.sync_all().await.map_err(file_err)?;
        Ok(total)
    }

    /// `POST /tasks/{id}/complete`.
    pub async fn complete(
        &self,
        task: &str,
        token: &str,
        request: &CompleteRequest,
    ) -> Result<(), ApiError> {
        let url = self.task_url(task, "complete");
        let send = self
            .http
            .post(&url)
            .bearer_auth(token)
            .json(request)
            .timeout(SHORT_TIMEOUT)
            .send();
        ok(&url, send.await).await.map(drop)
    }
}

/// A generous time for sending `len` bytes (at 1 MiB/s at worst).
fn transfer_time(len: u64) -> Duration {
    Duration::from_secs(len / (1024 * 1024))
}

fn network(url: &str, e: &reqwest::Error) -> ApiError {
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        reason = format!("{reason}: {s}");
        source = s.source();
    }
    ApiError::Network {
        url: url.to_string(),
        reason,
    }
}

/// The answer when its status is a success, else the error.
async fn ok(
    url: &str,
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<reqwest::Response, ApiError> {
    let resp = sent.map_err(|e| network(url, &e))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let body = resp.text().await.unwrap_or_default();
    Err(ApiError::Status {
        url: url.to_string(),
        status: status.as_u16(),
        body: body.chars().take(ERROR_BODY_CHARS).collect(),
    })
}

async fn json<T: serde::de::DeserializeOwned>(
    url: &str,
    resp: reqwest::Response,
) -> Result<T, ApiError> {
    let bytes = resp.bytes().await.map_err(|e| network(url, &e))?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode {
        url: url.to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_routes_sit_under_the_prefix_with_the_id_encoded() {
        let api = Api::new("http://h:8080/").unwrap();
        assert_eq!(
            api.task_url("a b", "events"),
            "http://h:8080/api/runner/v1/tasks/a%20b/events"
        );
    }

    #[test]
    fn transient_errors_are_the_retryable_ones() {
        let status = |s| ApiError::Status {
            url: String::new(),
            status: s,
            body: String::new(),
        };
        assert!(status(503).is_transient());
        assert!(status(429).is_transient());
        assert!(!status(404).is_transient());
        assert!(!status(401).is_transient());
        assert_eq!(status(410).status(), Some(410));
    }
}
