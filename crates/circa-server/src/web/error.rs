//! Page errors: an HTML page with a status, or a redirect to the sign-in page. Faults
//! inside are answered as `crate::error` maps them, as a page.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::error::ApiError;

/// Why a page is not shown.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Nobody is signed in: go to the sign-in page, then back to this path.
    #[error("sign in first")]
    SignIn(String),
    /// A page with a status and a message.
    #[error("{status}: {message}")]
    Page {
        /// The HTTP status.
        status: StatusCode,
        /// What to tell the person.
        message: String,
    },
    /// A fault inside or a database out of reach: a page with a generic message.
    #[error(transparent)]
    Fault(ApiError),
}

/// A shorthand for page handlers' results.
pub type WebResult<T> = Result<T, WebError>;

impl WebError {
    /// 404 for `what`.
    pub fn not_found(what: &str) -> Self {
        WebError::Page {
            status: StatusCode::NOT_FOUND,
            message: format!("{what} not found"),
        }
    }

    /// 403 with a message.
    pub fn forbidden(message: impl Into<String>) -> Self {
        WebError::Page {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
        }
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        WebError::Page {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Refused { status, .. } if status == StatusCode::UNAUTHORIZED => {
                WebError::SignIn("/".to_string())
            }
            ApiError::Refused { status, message } => WebError::Page { status, message },
            fault => WebError::Fault(fault),
        }
    }
}

/// Errors of the layers below, answered as `crate::error` maps them.
macro_rules! through_api_error {
    ($($error:ty),*) => {
        $(impl From<$error> for WebError {
            fn from(e: $error) -> Self {
                ApiError::from(e).into()
            }
        })*
    };
}

through_api_error!(
    circa_store::StoreError,
    circa_store::BlobError,
    crate::orchestrator::OrchestratorError,
    crate::secrets::SecretError,
    crate::forge::configure::ForgeError,
    crate::logs::LogError
);

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    reason: &'a str,
    message: &'a str,
}

/// An HTML error page with `status` and `message` (a 503 asks to retry later).
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let page = ErrorPage {
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or("Error"),
        message,
    };
    let mut response = match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, message.to_string()).into_response(),
    };
    if status == StatusCode::SERVICE_UNAVAILABLE {
        let (name, value) = crate::error::retry_after();
        response.headers_mut().insert(name, value);
    }
    response
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::SignIn(next) => {
                let to = format!("/login?next={}", super::url::encode_component(&next));
                (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
            }
            WebError::Page { status, message } => error_page(status, &message),
            WebError::Fault(fault) => {
                let answer = fault.answer();
                error_page(answer.status, &answer.message)
            }
        }
    }
}
