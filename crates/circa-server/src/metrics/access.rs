//! Who may scrape: on the main listener `/metrics` needs the metrics token as a bearer token
//! (compared in constant time; API tokens are not metrics tokens) and is not served at all
//! without one; on the metrics listener (`--metrics-listen`) it is open, for a scrape from
//! inside a cluster's network.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::MetricsError;
use crate::auth::{hash_token, same_hash};
use crate::state::AppState;

/// The Prometheus text format's content type.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The metrics token, kept only as its SHA-256 hash.
#[derive(Clone)]
pub struct MetricsToken {
    hash: String,
}

impl MetricsToken {
    /// The token read from a file: surrounding whitespace is not part of it; `None` when
    /// nothing is left.
    pub fn from_file_text(text: &str) -> Option<MetricsToken> {
        let token = text.trim();
        (!token.is_empty()).then(|| MetricsToken {
            hash: hash_token(token),
        })
    }

    /// Whether `presented` is the token, in time that does not depend on where they differ.
    pub fn accepts(&self, presented: &str) -> bool {
        same_hash(&hash_token(presented), &self.hash)
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(…)")
    }
}

/// `/metrics` on the main listener: the bearer token checked first.
pub async fn guarded(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match check(state.config.metrics_token.as_ref(), &headers) {
        Ok(()) => scrape(&state).await,
        Err(e) => crate::error::ApiError::from(e).into_response(),
    }
}

/// Whether `headers` carry the configured token as `Authorization: Bearer …`.
fn check(token: Option<&MetricsToken>, headers: &HeaderMap) -> Result<(), MetricsError> {
    let token = token.ok_or(MetricsError::NotServed)?;
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(MetricsError::Unauthorized)?;
    if token.accepts(presented.trim()) {
        Ok(())
    } else {
        Err(MetricsError::Unauthorized)
    }
}

/// The metrics listener's routes: `/metrics`, open.
pub fn open_routes(state: AppState) -> Router {
    Router::new().route("/metrics", get(open)).with_state(state)
}

async fn open(State(state): State<AppState>) -> Response {
    scrape(&state).await
}

/// The metrics in Prometheus' text format, or the error answer.
async fn scrape(state: &AppState) -> Response {
    match super::scrape::render(state).await {
        Ok(text) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT))],
            text,
        )
            .into_response(),
        Err(e) => crate::error::ApiError::from(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn only_the_metrics_token_as_a_bearer_token_gets_in() {
        let token = MetricsToken::from_file_text("  s3cret-metrics\n").unwrap();
        assert!(check(Some(&token), &bearer("Bearer s3cret-metrics")).is_ok());
        for refused in [
            "Bearer s3cret-metric",
            "Bearer ",
            "Basic s3cret-metrics",
            "s3cret-metrics",
        ] {
            assert!(matches!(
                check(Some(&token), &bearer(refused)),
                Err(MetricsError::Unauthorized)
            ));
        }
        assert!(matches!(
            check(Some(&token), &HeaderMap::new()),
            Err(MetricsError::Unauthorized)
        ));
    }

    #[test]
    fn without_a_token_metrics_are_not_served() {
        assert!(matches!(
            check(None, &bearer("Bearer anything")),
            Err(MetricsError::NotServed)
        ));
        assert!(MetricsToken::from_file_text(" \n").is_none());
        assert_eq!(
            format!("{:?}", MetricsToken::from_file_text("abc").unwrap()),
            "MetricsToken(…)"
        );
    }
}
