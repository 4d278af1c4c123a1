//! Signing in and out, and changing one's password.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::error::{WebError, WebResult};
use super::password::{self, MIN_PASSWORD_LEN};
use super::session::{self, CsrfForm, LOGIN_COOKIE, SESSION_COOKIE, Viewer};
use super::url::local_path;
use super::view::Nav;
use crate::auth;
use crate::state::AppState;

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    next: String,
    error: Option<String>,
}

/// `?next=` of the sign-in page.
#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// The sign-in form, with a fresh CSRF cookie when the browser has none.
fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    next: String,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let (nonce, set) = match session::cookie(headers, LOGIN_COOKIE) {
        Some(n) if n.len() >= 32 => (n, None),
        _ => {
            let n = auth::new_token("");
            let set = session::set_cookie(state, LOGIN_COOKIE, &n, 3600);
            (n, Some(set))
        }
    };
    let page = LoginPage {
        csrf: session::csrf_token(state, &format!("login:{nonce}")),
        next,
        error,
    };
    let mut response = (status, page).into_response();
    if let Some(set) = set
        && let Ok(value) = set.parse()
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `GET /login`.
pub async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    login_page(
        &state,
        &headers,
        local_path(q.next.as_deref()),
        None,
        StatusCode::OK,
    )
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
}

/// `POST /login`: checks the form's CSRF token against the sign-in cookie, then the password;
/// starts a session and goes to `next`.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<LoginForm>,
) -> WebResult<Response> {
    let expected = session::cookie(&headers, LOGIN_COOKIE)
        .map(|n| session::csrf_token(&state, &format!("login:{n}")));
    let csrf_ok =
        expected.is_some_and(|e| !form.csrf.is_empty() && auth::same_hash(&e, &form.csrf));
    if !csrf_ok {
        return Err(WebError::forbidden(
            "the form's CSRF token is missing or wrong; reload the sign-in page and try again",
        ));
    }
    let next = local_path(Some(&form.next));
    let user = state.store.user_by_login(form.login.trim()).await?;
    let phc = user.as_ref().and_then(|u| u.password_hash.clone());
    if !password::verify(form.password, phc).await {
        return Ok(login_page(
            &state,
            &headers,
            next,
            Some("Wrong user name or password.".into()),
            StatusCode::UNAUTHORIZED,
        ));
    }
    let Some(user) = user else {
        return Err(WebError::forbidden("no such user"));
    };
    let cookie = session::start(&state, &user).await?;
    let clear = session::set_cookie(&state, LOGIN_COOKIE, "", 0);
    // Two cookies: headers appended, not replaced.
    Ok((
        StatusCode::SEE_OTHER,
        AppendHeaders([
            (header::LOCATION, next),
            (header::SET_COOKIE, cookie),
            (header::SET_COOKIE, clear),
        ]),
    )
        .into_response())
}

/// A form with nothing but its CSRF token.
#[derive(Debug, Deserialize)]
pub struct Empty {}

/// `POST /logout`: ends the session.
pub async fn logout(
    State(state): State<AppState>,
    CsrfForm(viewer, Empty {}): CsrfForm<Empty>,
) -> WebResult<Response> {
    state.store.delete_session(&viewer.session).await?;
    let clear = session::set_cookie(&state, SESSION_COOKIE, "", 0);
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/login".to_string()),
            (header::SET_COOKIE, clear),
        ],
    )
        .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
struct AccountPage {
    nav: Nav,
    name: String,
    admin: bool,
    notice: Option<String>,
    error: Option<String>,
}

/// `?changed=1` after a password change.
#[derive(Debug, Default, Deserialize)]
pub struct AccountQuery {
    changed: Option<String>,
}

/// `GET /account`: who one is, and the change-password form.
pub async fn account(viewer: Viewer, Query(q): Query<AccountQuery>) -> impl IntoResponse {
    AccountPage {
        nav: Nav::of(&viewer),
        name: viewer.user.name.clone(),
        admin: viewer.is_admin(),
        notice: q.changed.map(|_| "Your password was changed.".to_string()),
        error: None,
    }
}

/// The change-password form.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /account/password`: checks the current password, sets the new one, ends every other
/// session of the user.
pub async fn change_password(
    State(state): State<AppState>,
    CsrfForm(viewer, form): CsrfForm<PasswordForm>,
) -> WebResult<Response> {
    let refuse = |viewer: &Viewer, error: &str| {
        (
            StatusCode::BAD_REQUEST,
            AccountPage {
                nav: Nav::of(viewer),
                name: viewer.user.name.clone(),
                admin: viewer.is_admin(),
                notice: None,
                error: Some(error.to_string()),
            },
        )
            .into_response()
    };
    if !password::verify(form.current, viewer.user.password_hash.clone()).await {
        return Ok(refuse(&viewer, "current: the current password is wrong"));
    }
    if form.new.chars().count() < MIN_PASSWORD_LEN {
        return Ok(refuse(
            &viewer,
            &format!("new: a password needs at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    if form.new != form.confirm {
        return Ok(refuse(&viewer, "confirm: the two new passwords differ"));
    }
    let phc = password::hash(form.new)
        .await
        .map_err(|e| WebError::bad_request(e.to_string()))?;
    state
        .store
        .set_user_password(&viewer.user.id, Some(&phc))
        .await?;
    state.store.delete_user_sessions(&viewer.user.id).await?;
    let cookie = session::start(&state, &viewer.user).await?;
    Ok((
        [(header::SET_COOKIE, cookie)],
        Redirect::to("/account?changed=1"),
    )
        .into_response())
}
