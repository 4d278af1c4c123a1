//! A stand-in for the four forges' APIs: an HTTP server on a free port that records every
//! request and checks it against that forge's published description in
//! `shared/corpus/forge-apis/` (`circa_server::forge::spec_check`). Each forge sits under its
//! own first path segment (`/github/api/v3`, `/gitlab/api/v4`, `/gitea/api/v1`,
//! `/bitbucket/2.0`), so one stand-in serves projects of every kind.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use circa_server::forge::ForgeKind;
use circa_server::forge::spec_check::{ForgeSpec, Received, api_root};
use serde_json::{Value, json};

/// How the stand-in answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// 201 to everything.
    Up,
    /// 503 with `Retry-After` to everything.
    Down,
}

/// One request received.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The forge it was for.
    pub kind: ForgeKind,
    /// The request (path without the forge's segment).
    pub request: Received,
    /// The operation's path template, or why the request does not fit the description.
    pub checked: Result<String, String>,
    /// The answer's status.
    pub answered: u16,
    /// When it came.
    pub at: Instant,
}

struct Inner {
    hits: Mutex<Vec<Hit>>,
    mode: Mutex<Mode>,
    /// Forges to answer with a rate limit once.
    limit_once: Mutex<Vec<ForgeKind>>,
    specs: Vec<ForgeSpec>,
}

/// The running stand-in.
#[derive(Clone)]
pub struct StandIn {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    inner: Arc<Inner>,
}

impl StandIn {
    /// Starts it on a free port.
    pub async fn start() -> StandIn {
        let dir = crate::corpus().join("forge-apis");
        let specs = ForgeKind::ALL
            .into_iter()
            .map(|k| ForgeSpec::load(k, &dir).unwrap())
            .collect();
        let inner = Arc::new(Inner {
            hits: Mutex::new(Vec::new()),
            mode: Mutex::new(Mode::Up),
            limit_once: Mutex::new(Vec::new()),
            specs,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = inner.clone();
        let app = axum::Router::new().fallback(move |method, uri, headers, body| {
            let state = state.clone();
            async move { answer(&state, method, uri, headers, body) }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        StandIn { url, inner }
    }

    /// The API root a project of `kind` is given (GitHub as GitHub Enterprise Server).
    pub fn api_url(&self, kind: ForgeKind) -> String {
        let root = match kind {
            ForgeKind::GitHub => "/api/v3",
            other => api_root(other),
        };
        format!("{}/{}{root}", self.url, kind.as_str())
    }

    /// Sets how it answers.
    pub fn set_mode(&self, mode: Mode) {
        *self.inner.mode.lock().unwrap() = mode;
    }

    /// Answers the next status request for `kind` with the forge's rate-limit answer.
    pub fn limit_once(&self, kind: ForgeKind) {
        self.inner.limit_once.lock().unwrap().push(kind);
    }

    /// Every request so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.inner.hits.lock().unwrap().clone()
    }

    /// Panics unless every request so far fits its forge's description.
    pub fn assert_all_fit(&self) {
        let bad: Vec<String> = self
            .hits()
            .into_iter()
            .filter_map(|h| h.checked.err())
            .collect();
        assert!(bad.is_empty(), "requests that do not fit: {bad:#?}");
    }

    /// The commit statuses `kind` accepted, in order: (sha, context, state, target URL).
    pub fn statuses(&self, kind: ForgeKind) -> Vec<Status> {
        self.hits()
            .into_iter()
            .filter(|h| h.kind == kind && h.answered < 300)
            .filter(|h| h.checked.as_ref().is_ok_and(|t| t.contains("/statuses/")))
            .map(|h| Status::read(kind, &h.request))
            .collect()
    }
}

/// A commit status as a forge received it, in its own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The repository path segment(s) and commit from the URL.
    pub path: String,
    /// The context (GitLab's `name`, Bitbucket's `key`).
    pub context: String,
    /// The state word.
    pub state: String,
    /// The link (Bitbucket's `url`).
    pub target_url: String,
    /// The description.
    pub description: String,
}

impl Status {
    /// Reads a status request's body.
    pub fn read(kind: ForgeKind, request: &Received) -> Status {
        let body = &request.body;
        let text = |k: &str| body[k].as_str().unwrap_or_default().to_string();
        let (context, target_url) = match kind {
            ForgeKind::GitHub | ForgeKind::Gitea => (text("context"), text("target_url")),
            ForgeKind::GitLab => (text("name"), text("target_url")),
            ForgeKind::Bitbucket => (text("key"), text("url")),
        };
        Status {
            path: request.path.clone(),
            context,
            state: text("state"),
            target_url,
            description: text("description"),
        }
    }
}

fn answer(inner: &Inner, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let full = uri.path();
    let mut parts = full.splitn(3, '/');
    let _ = parts.next();
    let Some(kind) = parts.next().and_then(ForgeKind::parse) else {
        return (StatusCode::NOT_FOUND, "no such forge").into_response();
    };
    let path = format!("/{}", parts.next().unwrap_or_default());
    let request = Received {
        method: method.as_str().to_string(),
        path,
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let spec = inner.specs.iter().find(|s| s.kind == kind).unwrap();
    let checked = spec.check(&request);
    let is_status = checked.as_ref().is_ok_and(|t| t.contains("/statuses/"));
    let limited = is_status && {
        let mut once = inner.limit_once.lock().unwrap();
        let hit = once.iter().position(|k| *k == kind);
        hit.map(|i| once.remove(i)).is_some()
    };
    let mode = *inner.mode.lock().unwrap();
    let response = if limited {
        rate_limited(kind)
    } else if mode == Mode::Down {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", "2")],
            "down for maintenance",
        )
            .into_response()
    } else if checked.is_err() {
        (StatusCode::UNPROCESSABLE_ENTITY, "does not fit").into_response()
    } else {
        (StatusCode::CREATED, axum::Json(json!({ "id": 1 }))).into_response()
    };
    inner.hits.lock().unwrap().push(Hit {
        kind,
        request,
        checked,
        answered: response.status().as_u16(),
        at: Instant::now(),
    });
    response
}

/// Each forge's rate-limit answer: GitHub's 403 with `x-ratelimit-remaining: 0` and the reset
/// time, GitLab's 429 with `RateLimit-Reset`, the others 429 with `Retry-After`; two seconds.
fn rate_limited(kind: ForgeKind) -> Response {
    let reset = (jiff::Timestamp::now().as_second() + 2).to_string();
    match kind {
        ForgeKind::GitHub => (
            StatusCode::FORBIDDEN,
            [
                ("x-ratelimit-limit", "5000".to_string()),
                ("x-ratelimit-remaining", "0".to_string()),
                ("x-ratelimit-reset", reset),
            ],
            "API rate limit exceeded",
        )
            .into_response(),
        ForgeKind::GitLab => (
            StatusCode::TOO_MANY_REQUESTS,
            [
                ("ratelimit-remaining", "0".to_string()),
                ("ratelimit-reset", reset),
            ],
            "Retry later",
        )
            .into_response(),
        ForgeKind::Gitea | ForgeKind::Bitbucket => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "2".to_string())],
            "Too many requests",
        )
            .into_response(),
    }
}
