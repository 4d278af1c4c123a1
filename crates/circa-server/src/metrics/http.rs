//! The latency of every HTTP answer, by route template (`/api/v2/pipeline/{pipeline-id}`,
//! never the path itself), method and status class.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use metrics::Label;

use super::{Metrics, names};

/// The route label of a request no route matched.
const UNMATCHED: &str = "unmatched";

/// Times the handler (to the answer's headers; a streamed body is not waited for) and records
/// it under the matched route's template.
pub async fn record(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_string();
    let method = method_label(request.method());
    let response = next.run(request).await;
    let labels = vec![
        Label::new("route", route),
        Label::new("method", method),
        Label::new("status_class", status_class(response.status())),
    ];
    metrics
        .histogram(names::HTTP_DURATION, labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The method's name, for the methods routes serve; `other` for the rest, so a client cannot
/// make new labels.
fn method_label(method: &Method) -> &'static str {
    static KNOWN: [Method; 7] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
    ];
    KNOWN
        .iter()
        .find(|m| *m == method)
        .map_or("other", Method::as_str)
}

/// `2xx`, `4xx`, …
fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_a_closed_set() {
        assert_eq!(status_class(StatusCode::NO_CONTENT), "2xx");
        assert_eq!(status_class(StatusCode::UNAUTHORIZED), "4xx");
        assert_eq!(status_class(StatusCode::BAD_GATEWAY), "5xx");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
