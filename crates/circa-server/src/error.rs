//! API errors: a status code and `{"message": …}`, as CircleCI answers.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error answered to an API caller.
#[derive(Debug, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, for the caller.
    pub message: String,
}

impl ApiError {
    /// An error with a status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    /// 401.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "You must log in first.")
    }
    /// 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }
    /// 404.
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }
    /// 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "message": self.message });
        (self.status, Json(body)).into_response()
    }
}

impl From<circa_store::StoreError> for ApiError {
    fn from(e: circa_store::StoreError) -> Self {
        match e {
            circa_store::StoreError::Conflict(what) => {
                ApiError::conflict(format!("{what} already exists"))
            }
            other => {
                tracing::error!("store: {other}");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("storage is unavailable: {other}"),
                )
            }
        }
    }
}

impl From<circa_store::BlobError> for ApiError {
    fn from(e: circa_store::BlobError) -> Self {
        tracing::error!("blobs: {e}");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("object storage is unavailable: {e}"),
        )
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        ApiError::new(e.status(), format!("request body: {}", e.body_text()))
    }
}

/// A JSON request body; a body that is not JSON, or not the expected fields, gets a 4xx with
/// `{"message": …}` naming the problem (the field, line and column).
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// A JSON body that may be left out (CircleCI's clients send none for some calls): an empty
/// body is `T::default()`.
pub fn optional_json<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("request body: {e}")))
}

/// The largest JSON request body (an event batch is well under 1 MiB); uploads stream and
/// have their own limit.
pub const MAX_JSON_BYTES: usize = 8 * 1024 * 1024;

/// A shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;
