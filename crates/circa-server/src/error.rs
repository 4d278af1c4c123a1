//! Errors as HTTP answers, and the one place where every layer's error becomes one:
//! - a client fault (bad input, missing rights, not found, conflict) is a 4xx with
//!   `{"message": …}` naming the field, as CircleCI answers;
//! - a database that cannot be reached is 503 with a generic message and `Retry-After`;
//! - anything else that fails inside (a corrupt stored row, a file that cannot be written, a
//!   stopped task) is 500 with a generic message and the request's id; the cause goes to the
//!   log under the same id.
//!
//! Database and IO error text never reaches an answer.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use circa_store::{BlobError, StoreError};

use crate::compiles::CompileStopped;
use crate::forge::configure::ForgeError;
use crate::logs::LogError;
use crate::metrics::MetricsError;
use crate::orchestrator::OrchestratorError;
use crate::runner_error::RunnerApiError;
use crate::schedules::ScheduleError;
use crate::secrets::SecretError;

/// An error answered to a caller.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The caller's fault, or a state it can act on: a 4xx with a message for it.
    #[error("{status}: {message}")]
    Refused {
        /// The HTTP status (4xx).
        status: StatusCode,
        /// What went wrong, for the caller.
        message: String,
    },
    /// The database cannot be reached: 503, try again later.
    #[error("unavailable: {cause}")]
    Unavailable {
        /// Why, for the log only.
        cause: String,
    },
    /// Something failed inside: 500.
    #[error("internal: {cause}")]
    Internal {
        /// Why, for the log only.
        cause: String,
    },
}

/// What an answer says: its status and message, the request id quoted by a 5xx, and whether
/// the caller is told to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The message shown to the caller.
    pub message: String,
    /// The request id, for a fault the caller cannot fix.
    pub request_id: Option<String>,
}

/// Seconds a 503 asks the caller to wait before trying again.
pub const RETRY_AFTER_SECS: u32 = 5;

/// What a 503 says.
pub const UNAVAILABLE_MESSAGE: &str =
    "the service is temporarily unavailable (its database cannot be reached); try again shortly";

/// What a 500 says, before the request id.
pub const INTERNAL_MESSAGE: &str = "internal error; the server's log has the details";

impl ApiError {
    /// A 4xx with a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError::Refused {
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
    /// 500 with a cause for the log.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal {
            cause: cause.to_string(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Refused { status, .. } => *status,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the caller is told (without the request id a 5xx adds).
    pub fn message(&self) -> &str {
        match self {
            ApiError::Refused { message, .. } => message,
            ApiError::Unavailable { .. } => UNAVAILABLE_MESSAGE,
            ApiError::Internal { .. } => INTERNAL_MESSAGE,
        }
    }

    /// Whether it is the caller's fault (a 4xx).
    pub fn is_refusal(&self) -> bool {
        matches!(self, ApiError::Refused { .. })
    }

    /// What the caller is told; a fault's cause is logged here, with the request's id.
    pub fn answer(&self) -> Answer {
        let request_id = crate::request_id::current();
        let (status, message) = match self {
            ApiError::Refused { status, message } => {
                return Answer {
                    status: *status,
                    message: message.clone(),
                    request_id: None,
                };
            }
            ApiError::Unavailable { cause } => {
                tracing::warn!(request_id = request_id.as_deref(), "unavailable: {cause}");
                (self.status(), UNAVAILABLE_MESSAGE.to_string())
            }
            ApiError::Internal { cause } => {
                tracing::error!(
                    request_id = request_id.as_deref(),
                    "internal error: {cause}"
                );
                (self.status(), INTERNAL_MESSAGE.to_string())
            }
        };
        let message = match &request_id {
            Some(id) => format!("{message} (request id {id})"),
            None => message,
        };
        Answer {
            status,
            message,
            request_id,
        }
    }
}

/// A 503 answer's `Retry-After` header.
pub fn retry_after() -> (header::HeaderName, HeaderValue) {
    (header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let answer = self.answer();
        let body = match &answer.request_id {
            Some(id) => serde_json::json!({ "message": answer.message, "request_id": id }),
            None => serde_json::json!({ "message": answer.message }),
        };
        let mut response = (answer.status, Json(body)).into_response();
        if answer.status == StatusCode::SERVICE_UNAVAILABLE {
            let (name, value) = retry_after();
            response.headers_mut().insert(name, value);
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => ApiError::conflict(format!("{what} already exists")),
            StoreError::NotFound(what) => ApiError::not_found(&what),
            e if e.is_unavailable() => ApiError::Unavailable {
                cause: e.to_string(),
            },
            e => ApiError::internal(e),
        }
    }
}

impl From<BlobError> for ApiError {
    fn from(e: BlobError) -> Self {
        ApiError::internal(format!("blobs: {e}"))
    }
}

impl From<CompileStopped> for ApiError {
    fn from(e: CompileStopped) -> Self {
        ApiError::internal(e)
    }
}

impl From<LogError> for ApiError {
    fn from(e: LogError) -> Self {
        match e {
            LogError::Store(e) => e.into(),
            LogError::Blobs(e) => e.into(),
            LogError::Missing(what) => ApiError::not_found(what),
            e @ (LogError::Io { .. } | LogError::Unreadable { .. }) => ApiError::internal(e),
        }
    }
}

impl From<SecretError> for ApiError {
    fn from(e: SecretError) -> Self {
        match e {
            SecretError::Store(e) => e.into(),
            SecretError::NotFound(what) => ApiError::not_found(what),
            e => ApiError::internal(format!("secrets: {e}")),
        }
    }
}

impl From<ForgeError> for ApiError {
    fn from(e: ForgeError) -> Self {
        match e {
            ForgeError::Field(e) => ApiError::bad_request(e.to_string()),
            ForgeError::Secret(e) => e.into(),
            ForgeError::Store(e) => e.into(),
        }
    }
}

impl From<crate::known_hosts::KnownHostsError> for ApiError {
    fn from(e: crate::known_hosts::KnownHostsError) -> Self {
        ApiError::bad_request(e.to_string())
    }
}

impl From<OrchestratorError> for ApiError {
    fn from(e: OrchestratorError) -> Self {
        use OrchestratorError as E;
        match e {
            E::Invalid { field, message } => ApiError::bad_request(format!("{field}: {message}")),
            E::BadRequest(message) => ApiError::bad_request(message),
            E::Forbidden(message) => ApiError::forbidden(message),
            E::NotFound(what) => ApiError::not_found(what),
            E::Conflict(message) => ApiError::conflict(message),
            E::Store(e) => e.into(),
            E::Blobs(e) => e.into(),
            E::Logs(e) => e.into(),
            E::Secrets(e) => e.into(),
            E::Compile(e) => e.into(),
            E::Unavailable(cause) => ApiError::Unavailable { cause },
            e @ E::Internal { .. } => ApiError::internal(e),
        }
    }
}

impl From<ScheduleError> for ApiError {
    fn from(e: ScheduleError) -> Self {
        match e {
            ScheduleError::NotFound(what) => ApiError::not_found(what),
            ScheduleError::Store(e) => e.into(),
            ScheduleError::Orchestrator(e) => e.into(),
        }
    }
}

impl From<RunnerApiError> for ApiError {
    fn from(e: RunnerApiError) -> Self {
        use RunnerApiError as E;
        match e {
            E::Invalid { field, message } => ApiError::bad_request(format!("{field}: {message}")),
            E::Forbidden(message) => ApiError::forbidden(message),
            E::NotFound(what) => ApiError::not_found(what),
            E::Conflict(message) => ApiError::conflict(message),
            e @ E::Gone => ApiError::new(StatusCode::GONE, e.to_string()),
            E::Store(e) => e.into(),
            E::Blobs(e) => e.into(),
            E::Logs(e) => e.into(),
            E::Orchestrator(e) => e.into(),
            E::Secrets(e) => e.into(),
            E::Api(e) => e,
            e @ E::CorruptTask { .. } => ApiError::internal(e),
        }
    }
}

impl From<MetricsError> for ApiError {
    fn from(e: MetricsError) -> Self {
        match e {
            // As any path the server does not serve.
            MetricsError::NotServed => ApiError::not_found("route"),
            e @ MetricsError::Unauthorized => {
                ApiError::new(StatusCode::UNAUTHORIZED, format!("Authorization: {e}"))
            }
            MetricsError::Store(e) => e.into(),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(e: ApiError) -> (StatusCode, Option<String>, serde_json::Value) {
        let response = e.into_response();
        let status = response.status();
        let retry = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, retry, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn an_unreachable_database_is_503_with_retry_after_and_no_database_text() {
        let e = ApiError::from(StoreError::Database(sqlx::Error::PoolTimedOut));
        let (status, retry, body) = body_of(e).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry.as_deref(), Some("5"));
        let text = body.to_string();
        assert!(text.contains("temporarily unavailable"), "{text}");
        assert!(
            !text.contains("pool") && !text.contains("database:"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn an_internal_fault_is_500_with_the_request_id_and_no_cause() {
        let e = ApiError::from(StoreError::Corrupt("column x: os error 5".into()));
        let (status, retry, body) = crate::request_id::scoped("req-1", body_of(e)).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(retry, None);
        assert_eq!(body["request_id"], "req-1");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("req-1"), "{message}");
        assert!(
            !message.contains("os error") && !message.contains("column"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn client_faults_keep_their_status_and_message() {
        let e = ApiError::from(OrchestratorError::Invalid {
            field: "parameters.x".into(),
            message: "at most 512 characters".into(),
        });
        let (status, _, body) = body_of(e).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["message"], "parameters.x: at most 512 characters");
        assert!(body.get("request_id").is_none());
        let (status, _, _) = body_of(StoreError::NotFound("task".into()).into()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn io_and_corrupt_data_faults_are_500_never_409_or_400() {
        let io = LogError::Io {
            what: "writing the log",
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        };
        let (status, _, body) = body_of(io.into()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.to_string().contains("ermission"), "{body}");
        let corrupt = RunnerApiError::CorruptTask {
            task_id: "t".into(),
            cause: "expected value at line 1".into(),
        };
        let (status, _, body) = body_of(corrupt.into()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.to_string().contains("expected value"), "{body}");
        let (status, _, _) = body_of(CompileStopped.into()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
