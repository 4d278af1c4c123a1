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

/// A shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;
