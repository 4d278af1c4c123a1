//! What every request and answer goes through before and after routing:
//! - a project slug sent as one segment (`gh%2Facme%2Fapp`) becomes three (`gh/acme/app`), so
//!   the routes need only one shape;
//! - API v1.1's project env var routes are served by v2's (the same bodies; v1.1 lists are
//!   plain arrays);
//! - an error answer that is not JSON (axum's path, query and method rejections, an unknown
//!   route) becomes `{"message": …}` with the same status;
//! - a 413 closes its connection (the unread rest of the body cannot be skipped safely).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

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
    let mut response = json_errors(response).await;
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
    let Ok(bytes) = axum::body::to_bytes(body, 16 * 1024 * 1024).await else {
        return (StatusCode::BAD_GATEWAY, "the list could not be read").into_response();
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(mut map)) if map.contains_key("items") => {
            let items = map.remove("items").unwrap_or(Value::Array(Vec::new()));
            (parts.status, axum::Json(items)).into_response()
        }
        _ => Response::from_parts(parts, Body::from(bytes)),
    }
}

/// An error answer that is not JSON, as `{"message": …}`.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_ERROR_BODY).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
        Err(_) => String::new(),
    };
    let message = match (status, text.is_empty()) {
        (StatusCode::NOT_FOUND, true) => "route not found".to_string(),
        (_, true) => status
            .canonical_reason()
            .unwrap_or("request refused")
            .to_string(),
        (_, false) => text,
    };
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
