//! Browser sessions: a random id in an HttpOnly, SameSite=Lax cookie (Secure when the server's
//! public URL is https), stored as its SHA-256 with an expiry; and the CSRF token every form
//! carries, derived from the session with the server secret, so it needs no storage.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;

use super::error::{WebError, WebResult};
use crate::auth;
use crate::state::{AppState, now_ms};
use circa_store::{Project, Session, User};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "circa_session";
/// The sign-in form's CSRF cookie (before there is a session).
pub const LOGIN_COOKIE: &str = "circa_login";
/// How long a session lasts: seven days.
pub const SESSION_MS: i64 = 7 * 24 * 3600 * 1000;
/// The largest form body read.
const MAX_FORM_BYTES: usize = 1024 * 1024;

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.trim_matches('"').to_string())
        })
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/, Secure when served over https;
/// `max_age` in seconds (0 deletes it).
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age: i64) -> String {
    let secure = if state.base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

/// The CSRF token of a session (or of a sign-in form's cookie): HMAC-SHA256 of it with the
/// server secret, hex.
pub fn csrf_token(state: &AppState, of: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(&state.keys.secret) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(b"circa-csrf\0");
    mac.update(of.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Starts a session for a user; the cookie to set.
pub async fn start(state: &AppState, user: &User) -> WebResult<String> {
    let id = auth::new_token("");
    let now = now_ms();
    state
        .store
        .create_session(Session {
            id_hash: auth::hash_token(&id),
            user_id: user.id.clone(),
            created_at: now,
            expires_at: now + SESSION_MS,
        })
        .await?;
    let _ = state.store.delete_expired_sessions(now).await;
    Ok(set_cookie(state, SESSION_COOKIE, &id, SESSION_MS / 1000))
}

/// The signed-in user of a request.
#[derive(Clone, Debug)]
pub struct Viewer {
    /// The user.
    pub user: User,
    /// The session's id hash.
    pub session: String,
    /// The CSRF token forms must carry.
    pub csrf: String,
}

impl Viewer {
    /// Whether the user administers the server.
    pub fn is_admin(&self) -> bool {
        self.user.admin
    }

    /// 403 unless the user is an admin.
    pub fn require_admin(&self) -> WebResult<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(WebError::forbidden("only an admin may do this"))
        }
    }

    /// Whether the user may see a project: admins see every project, others their projects.
    pub async fn can_see(&self, state: &AppState, project: &Project) -> WebResult<bool> {
        Ok(crate::load::can_see(state, &self.user, project).await?)
    }

    /// The project, or 404 when the user may not see it.
    pub async fn visible(&self, state: &AppState, project: Project) -> WebResult<Project> {
        Ok(crate::load::visible(state, &self.user, project).await?)
    }

    /// Whether a form's CSRF token is this session's.
    pub fn check_csrf(&self, token: &str) -> WebResult<()> {
        if !token.is_empty() && auth::same_hash(token, &self.csrf) {
            Ok(())
        } else {
            Err(WebError::forbidden(
                "the form's CSRF token is missing or wrong; reload the page and try again",
            ))
        }
    }
}

/// The session a request's cookie names, if it is valid.
pub async fn viewer(state: &AppState, headers: &HeaderMap) -> WebResult<Option<Viewer>> {
    let Some(id) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = auth::hash_token(&id);
    let Some(session) = state.store.session(&hash, now_ms()).await? else {
        return Ok(None);
    };
    let Some(user) = state.store.user(&session.user_id).await? else {
        return Ok(None);
    };
    Ok(Some(Viewer {
        csrf: csrf_token(state, &hash),
        user,
        session: hash,
    }))
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> WebResult<Self> {
        match viewer(state, &parts.headers).await? {
            Some(v) => Ok(v),
            None => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_else(|| "/".to_string());
                Err(WebError::SignIn(next))
            }
        }
    }
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// A POSTed form of a signed-in user whose CSRF token was checked (403 when it is missing or
/// wrong), parsed into `T` (400 naming the problem otherwise).
pub struct CsrfForm<T>(pub Viewer, pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &AppState) -> WebResult<Self> {
        let (mut parts, body) = req.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|e| WebError::bad_request(format!("form: {e}")))?;
        let token = serde_urlencoded::from_bytes::<CsrfField>(&bytes)
            .map(|f| f.csrf)
            .unwrap_or_default();
        viewer.check_csrf(&token)?;
        let form = serde_urlencoded::from_bytes::<T>(&bytes)
            .map_err(|e| WebError::bad_request(format!("form: {e}")))?;
        Ok(CsrfForm(viewer, form))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cookies_are_read_from_every_cookie_header() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, "a=1; circa_session=abc".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "a").as_deref(), Some("1"));
        assert_eq!(cookie(&h, "b"), None);
    }
}
