//! Every request's id: the caller's `X-Request-Id` when it is a sane token, else a new one.
//! The id is echoed in the answer's `X-Request-Id` header, named by the log span the request
//! runs in, and readable while the request is handled ([`current`]), so an internal error's
//! answer can quote the id its log line carries.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The header carrying the id, both ways.
pub const HEADER: &str = "x-request-id";

/// The longest id taken from a caller.
const MAX_LEN: usize = 64;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled on this task; `None` outside a request.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Runs `future` as request `id`.
pub async fn scoped<F: std::future::Future>(id: &str, future: F) -> F::Output {
    REQUEST_ID.scope(id.to_string(), future).await
}

/// Whether a caller's id may be used: 1 to 64 letters, digits, `-`, `_`, `.` or `:`.
pub fn is_sane(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// The middleware: picks the id, runs the request in its span and scope, echoes the id.
pub async fn layer(request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane(v));
    let id = match given {
        Some(id) => id.to_string(),
        None => uuid::Uuid::new_v4().simple().to_string(),
    };
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path()
    );
    let mut response = REQUEST_ID
        .scope(id.clone(), next.run(request))
        .instrument(span)
        .await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_id_is_readable_while_the_request_is_handled() {
        assert_eq!(current(), None);
        assert_eq!(
            scoped("r-1", async { current() }).await.as_deref(),
            Some("r-1")
        );
    }

    #[test]
    fn only_short_plain_ids_are_taken() {
        assert!(is_sane("abc-123_x.y:z"));
        assert!(is_sane(&"a".repeat(64)));
        assert!(!is_sane(""));
        assert!(!is_sane(&"a".repeat(65)));
        assert!(!is_sane("a b"));
        assert!(!is_sane("a\nb"));
        assert!(!is_sane("<script>"));
    }
}
