//! Page errors: an HTML page with a status, or a redirect to the sign-in page.

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
        if e.status == StatusCode::UNAUTHORIZED {
            return WebError::SignIn("/".to_string());
        }
        WebError::Page {
            status: e.status,
            message: e.message,
        }
    }
}

impl From<circa_store::StoreError> for WebError {
    fn from(e: circa_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<circa_store::BlobError> for WebError {
    fn from(e: circa_store::BlobError) -> Self {
        ApiError::from(e).into()
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    reason: &'a str,
    message: &'a str,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::SignIn(next) => {
                let to = format!("/login?next={}", super::url::encode_component(&next));
                (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
            }
            WebError::Page { status, message } => {
                let page = ErrorPage {
                    status: status.as_u16(),
                    reason: status.canonical_reason().unwrap_or("Error"),
                    message: &message,
                };
                match page.render() {
                    Ok(html) => (status, Html(html)).into_response(),
                    Err(_) => (status, message).into_response(),
                }
            }
        }
    }
}
