//! Sending one request to a forge's API: the token in the header the forge's API description
//! names, and the answer read as delivered, to retry (when, if the forge says) or refused.

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use circa_store::{ForgeKind, OutboxStatus, ProjectForge};
use serde_json::Value;

use super::{CommitStatus, StatusState, job_description, status_request};

/// What became of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// The forge took it.
    Delivered,
    /// Not now: the forge is unreachable, failing, rate limited or refused the token.
    Retry {
        /// What happened (no secret in it).
        error: String,
        /// The wait the forge asked for (`Retry-After`, its rate limit's reset), if any.
        after: Option<Duration>,
    },
    /// The forge refused this request for good (a repository or commit it does not know).
    Refused(String),
}

/// The authentication header of `kind` for `token`, as each API description's security
/// scheme names it: GitHub and Bitbucket `Authorization: Bearer`, GitLab `PRIVATE-TOKEN`,
/// Gitea `Authorization: token`.
pub fn auth_header(kind: ForgeKind, token: &str) -> (&'static str, String) {
    match kind {
        ForgeKind::GitHub | ForgeKind::Bitbucket => ("authorization", format!("Bearer {token}")),
        ForgeKind::GitLab => ("private-token", token.to_string()),
        ForgeKind::Gitea => ("authorization", format!("token {token}")),
    }
}

/// Sends the commit status of `row` to `forge`, linking to `target_url`.
pub async fn send_status(
    http: &reqwest::Client,
    forge: &ProjectForge,
    token: Option<&str>,
    row: &OutboxStatus,
    target_url: &str,
) -> Sent {
    let status = CommitStatus {
        repo: &forge.repo,
        sha: &row.sha,
        context: &row.context,
        state: StatusState::of_job(row.job_status),
        target_url,
        description: job_description(row.job_status),
    };
    match status_request(forge.kind, &forge.api_url, &status) {
        Ok(request) => {
            send_json(
                http,
                forge.kind,
                token,
                request.method,
                &request.url,
                &request.headers,
                &request.body,
            )
            .await
        }
        Err(e) => Sent::Refused(e.to_string()),
    }
}

/// Sends a JSON request with the forge's headers and the token.
pub async fn send_json(
    http: &reqwest::Client,
    kind: ForgeKind,
    token: Option<&str>,
    method: axum::http::Method,
    url: &str,
    headers: &[(&'static str, &'static str)],
    body: &Value,
) -> Sent {
    let mut request = http.request(method.clone(), url).json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(token) = token {
        let (name, value) = auth_header(kind, token);
        request = request.header(name, value);
    }
    let what = format!("{method} {url}");
    match request.send().await {
        Ok(response) => classify(&what, response.status(), response.headers()),
        Err(e) => Sent::Retry {
            error: format!("{what}: {}", reqwest_reason(&e)),
            after: None,
        },
    }
}

/// Why a request got no answer, in a few words.
fn reqwest_reason(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "no answer in time"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "the connection failed"
    }
}

/// An answer read: success delivered; rate limits, 5xx, 408 and refused tokens retried;
/// other 4xx refused.
fn classify(what: &str, status: StatusCode, headers: &HeaderMap) -> Sent {
    if status.is_success() {
        return Sent::Delivered;
    }
    let error = format!("{what}: {status}");
    let wait = asked_wait(headers);
    let rate_limited = status == StatusCode::TOO_MANY_REQUESTS
        || (status == StatusCode::FORBIDDEN
            && (wait.is_some() || header(headers, "x-ratelimit-remaining") == Some("0")));
    if rate_limited {
        return Sent::Retry {
            error: format!("{error} (rate limited)"),
            after: wait,
        };
    }
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Sent::Retry {
            error: format!("{error} (check the forge token)"),
            after: None,
        },
        StatusCode::REQUEST_TIMEOUT => Sent::Retry { error, after: wait },
        s if s.is_server_error() => Sent::Retry { error, after: wait },
        _ => Sent::Refused(error),
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// The wait a forge asks for: `Retry-After` in seconds, else the rate limit's reset
/// (GitHub's `x-ratelimit-reset`, GitLab's `RateLimit-Reset`: a Unix time in seconds).
fn asked_wait(headers: &HeaderMap) -> Option<Duration> {
    if let Some(secs) = header(headers, "retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return Some(Duration::from_secs(secs));
    }
    let reset = header(headers, "x-ratelimit-reset")
        .or_else(|| header(headers, "ratelimit-reset"))
        .and_then(|v| v.parse::<i64>().ok())?;
    let now = jiff::Timestamp::now().as_second();
    Some(Duration::from_secs(u64::try_from(reset - now).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn answers_are_delivered_retried_or_refused() {
        let none = HeaderMap::new();
        assert_eq!(classify("x", StatusCode::CREATED, &none), Sent::Delivered);
        assert!(matches!(
            classify("x", StatusCode::SERVICE_UNAVAILABLE, &headers(&[("retry-after", "7")])),
            Sent::Retry { after: Some(d), .. } if d == Duration::from_secs(7)
        ));
        assert!(matches!(
            classify("x", StatusCode::UNAUTHORIZED, &none),
            Sent::Retry { after: None, .. }
        ));
        assert!(matches!(
            classify("x", StatusCode::UNPROCESSABLE_ENTITY, &none),
            Sent::Refused(_)
        ));
        assert!(matches!(
            classify("x", StatusCode::NOT_FOUND, &none),
            Sent::Refused(_)
        ));
    }

    #[test]
    fn rate_limits_wait_for_their_reset() {
        let reset = (jiff::Timestamp::now().as_second() + 20).to_string();
        let github = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &reset),
        ]);
        match classify("x", StatusCode::FORBIDDEN, &github) {
            Sent::Retry { error, after } => {
                assert!(error.contains("rate limited"), "{error}");
                let after = after.unwrap().as_secs();
                assert!((18..=20).contains(&after), "{after}");
            }
            other => panic!("{other:?}"),
        }
        let gitlab = headers(&[("ratelimit-reset", &reset)]);
        assert!(matches!(
            classify("x", StatusCode::TOO_MANY_REQUESTS, &gitlab),
            Sent::Retry { after: Some(_), .. }
        ));
    }

    #[test]
    fn each_forge_has_its_authentication_header() {
        assert_eq!(
            auth_header(ForgeKind::GitHub, "t"),
            ("authorization", "Bearer t".to_string())
        );
        assert_eq!(
            auth_header(ForgeKind::GitLab, "t"),
            ("private-token", "t".to_string())
        );
        assert_eq!(
            auth_header(ForgeKind::Gitea, "t"),
            ("authorization", "token t".to_string())
        );
        assert_eq!(
            auth_header(ForgeKind::Bitbucket, "t"),
            ("authorization", "Bearer t".to_string())
        );
    }
}
