//! What every request and answer goes through before and after routing:
//! - a project slug sent as one segment (`gh%2Facme%2Fapp`) becomes three (`gh/acme/app`), so
//!   the routes need only one shape;
//! - API v1.1's project env var routes are served by v2's (the same bodies; v1.1 lists are
//!   plain arrays);
//! - an error answer is JSON (`{"message": …}`) on API paths and an HTML page on page paths,
//!   whatever made it (axum's path, query and method rejections, an unknown route, a body
//!   limit, a panic), with the same status;
//! - a URI longer than [`MAX_URI_BYTES`] is refused with 414 and such a body (the HTTP library
//!   itself answers URIs over 64 KiB, before any middleware, with an empty 414);
//! - pages carry the browser security headers ([`page_headers`]);
//! - a 413 closes its connection (the unread rest of the body cannot be skipped safely).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The longest URI (path and query) served, in bytes; browsers and proxies commonly stop at
/// 8 KiB too.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// The Content-Security-Policy of pages: scripts, styles and everything else from this
/// server only (the templates have no inline script or style), no framing, no plugins.
pub const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Whether a path is answered as an API (JSON errors) rather than as a page (HTML errors):
/// the client and runner APIs, webhooks, the health checks and the metrics.
pub fn is_api_path(path: &str) -> bool {
    path.starts_with("/api/")
        || path.starts_with("/hooks/")
        || matches!(path, "/api" | "/healthz" | "/readyz" | "/metrics")
}

/// The prefixes after which a project slug follows.
const SLUG_PREFIXES: [&str; 2] = ["/api/v2/project/", "/api/v1.1/project/"];

/// Error bodies larger than this are passed on as they are.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// A path with a one-segment slug made three segments; `None` when nothing changes.
pub fn split_slug(path: &str) -> Option<String> {
    let prefix = SLUG_PREFIXES.iter().find(|p| path.starts_with(*p))?;
    let rest = &path[prefix.len()..];
    let (first, tail) = rest.split_once('/').unwrap_or((rest, ""));
    if !first.contains("%2F") && !first.contains("%2f") {
        return None;
    }
    let first = first.replace("%2F", "/").replace("%2f", "/");
    Some(if tail.is_empty() {
        format!("{prefix}{first}")
    } else {
        format!("{prefix}{first}/{tail}")
    })
}

/// A v1.1 project env var path as its v2 path: `/api/v1.1/project/V/O/R/envvar[/NAME]`.
pub fn v1_envvar(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/api/v1.1/project/")?;
    let parts: Vec<&str> = rest.splitn(5, '/').collect();
    (parts.len() >= 4 && parts[3] == "envvar").then(|| format!("/api/v2/project/{rest}"))
}

fn with_path(uri: &Uri, path: &str) -> Option<Uri> {
    let pq = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = pq.parse().ok();
    Uri::from_parts(parts).ok()
}

/// The middleware (applied around the whole router, so it runs before routing).
pub async fn normalize(mut request: Request, next: Next) -> Response {
    let api = is_api_path(request.uri().path());
    if request.uri().to_string().len() > MAX_URI_BYTES {
        let too_long = (
            StatusCode::URI_TOO_LONG,
            format!("the URI is longer than {MAX_URI_BYTES} bytes"),
        );
        return finish(api, too_long.into_response()).await;
    }
    let mut path = request.uri().path().to_string();
    if let Some(split) = split_slug(&path) {
        path = split;
    }
    let v1_list = match v1_envvar(&path) {
        Some(v2) => {
            let is_list = v2.ends_with("/envvar");
            path = v2;
            is_list
        }
        None => false,
    };
    if path != request.uri().path()
        && let Some(uri) = with_path(request.uri(), &path)
    {
        *request.uri_mut() = uri;
    }
    let response = next.run(request).await;
    let response = if v1_list && response.status().is_success() {
        unwrap_items(response).await
    } else {
        response
    };
    finish(api, response).await
}

/// An answer's error body in the path's kind, the page headers, and `Connection: close`
/// after a 413.
async fn finish(api: bool, response: Response) -> Response {
    let mut response = if api {
        json_errors(response).await
    } else {
        html_errors(response).await
    };
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !api {
        page_headers(headers);
    }
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        // The rest of the body was not read: the connection cannot carry another request,
        // so the client is told not to reuse it.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// `{"items": [...]}` → `[...]`.
async fn unwrap_items(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, 16 * 1024 * 1024).await {
        Ok(bytes) => bytes,
        Err(e) => {
            let fault = crate::error::ApiError::internal(format!("reading a v1.1 list: {e}"));
            return fault.into_response();
        }
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(mut map)) if map.contains_key("items") => {
            let items = map.remove("items").unwrap_or(Value::Array(Vec::new()));
            (parts.status, axum::Json(items)).into_response()
        }
        _ => Response::from_parts(parts, Body::from(bytes)),
    }
}

/// The headers every page carries: no framing, no type sniffing, a strict
/// Content-Security-Policy, the referrer only to this server.
pub fn page_headers(headers: &mut HeaderMap) {
    let set = [
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CONTENT_SECURITY_POLICY, PAGE_CSP),
        (header::REFERRER_POLICY, "same-origin"),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// Whether an answer is an error whose body is not already of `content_type`.
fn needs_body(response: &Response, content_type: &str) -> bool {
    let status = response.status();
    let has_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(content_type));
    (status.is_client_error() || status.is_server_error()) && !has_type
}

/// An error answer's message: its `{"message": …}`, its text, or the status's reason.
async fn error_message(status: StatusCode, body: Body) -> String {
    let text = match axum::body::to_bytes(body, MAX_ERROR_BODY).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
        Err(_) => String::new(),
    };
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&text)
        && let Some(Value::String(message)) = map.get("message")
    {
        return message.clone();
    }
    match (status, text.is_empty()) {
        (StatusCode::NOT_FOUND, true) => "route not found".to_string(),
        (_, true) => status
            .canonical_reason()
            .unwrap_or("request refused")
            .to_string(),
        (_, false) => text,
    }
}

/// An error answer on a page path that is not HTML, as an error page.
async fn html_errors(response: Response) -> Response {
    if !needs_body(&response, "text/html") {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let message = error_message(parts.status, body).await;
    let (page, body) = crate::web::error_page(parts.status, &message).into_parts();
    for (name, value) in &page.headers {
        parts.headers.insert(name, value.clone());
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, body)
}

/// An error answer on an API path that is not JSON, as `{"message": …}`.
async fn json_errors(response: Response) -> Response {
    if !needs_body(&response, "application/json") {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let message = error_message(parts.status, body).await;
    let body = serde_json::to_vec(&json!({ "message": message })).unwrap_or_default();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_segment_slugs_become_three() {
        assert_eq!(
            split_slug("/api/v2/project/gh%2Facme%2Fapp/pipeline").as_deref(),
            Some("/api/v2/project/gh/acme/app/pipeline")
        );
        assert_eq!(
            split_slug("/api/v2/project/gh%2facme%2fapp").as_deref(),
            Some("/api/v2/project/gh/acme/app")
        );
        assert_eq!(split_slug("/api/v2/project/gh/acme/app"), None);
        assert_eq!(split_slug("/api/v2/pipeline/x%2Fy"), None);
    }

    #[test]
    fn v1_env_vars_are_v2_paths() {
        assert_eq!(
            v1_envvar("/api/v1.1/project/github/acme/app/envvar").as_deref(),
            Some("/api/v2/project/github/acme/app/envvar")
        );
        assert_eq!(
            v1_envvar("/api/v1.1/project/github/acme/app/envvar/KEY").as_deref(),
            Some("/api/v2/project/github/acme/app/envvar/KEY")
        );
        assert_eq!(v1_envvar("/api/v1.1/project/github/acme/app/1"), None);
    }
}
