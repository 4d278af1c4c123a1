//! A project's SSH host keys and HTTPS token, Circa's own routes: members read them (the
//! token only as whether one is set, and its user name), admins replace them. No answer ever
//! holds a token.

use axum::Json;
use axum::extract::{Path, State};
use circa_exec::git_access::DEFAULT_HTTPS_USER;
use serde::Deserialize;
use serde_json::{Value, json};

use super::load;
use crate::auth::Person;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::known_hosts;
use crate::secrets::git_access::set_token;
use crate::state::{AppState, now_ms};

/// The longest token taken, in bytes.
const MAX_TOKEN_BYTES: usize = 4096;

/// `PUT …/known-hosts` body.
#[derive(Debug, Deserialize)]
pub struct KnownHostsBody {
    known_hosts: String,
}

/// `PUT …/repo-token` body.
#[derive(Deserialize)]
pub struct TokenBody {
    token: String,
    #[serde(default)]
    user: Option<String>,
}

/// `GET /api/circa/projects/{vcs}/{org}/{repo}/known-hosts`: the lines SSH remotes are
/// checked against, one text.
pub async fn get_known_hosts(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    let access = state.store.git_access(&project.id).await?;
    Ok(Json(hosts_answer(&access.known_hosts)))
}

/// `PUT /api/circa/projects/{vcs}/{org}/{repo}/known-hosts` (admins): replaces them; a line
/// that is not a `known_hosts` entry is a 400 naming it.
pub async fn put_known_hosts(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<KnownHostsBody>,
) -> ApiResult<Json<Value>> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    person.require_admin()?;
    let lines = known_hosts::parse(&body.known_hosts)?;
    state
        .store
        .set_known_hosts(&project.id, &lines, now_ms())
        .await?;
    Ok(Json(hosts_answer(&lines)))
}

fn hosts_answer(lines: &[String]) -> Value {
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    json!({ "known_hosts": text })
}

/// `GET /api/circa/projects/{vcs}/{org}/{repo}/repo-token`: whether a token is set, and its
/// user name.
pub async fn get_token(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    let token = state.store.git_access(&project.id).await?.repo_token;
    Ok(Json(token_answer(token.map(|t| t.user))))
}

/// `PUT /api/circa/projects/{vcs}/{org}/{repo}/repo-token` (admins): seals and keeps the
/// token (user `x-access-token` unless named).
pub async fn put_token(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<TokenBody>,
) -> ApiResult<Json<Value>> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    person.require_admin()?;
    let (user, token) = checked_token(body.user.as_deref(), &body.token)?;
    set_token(&state, &project.id, Some((user, token))).await?;
    Ok(Json(token_answer(Some(user.to_string()))))
}

/// `DELETE /api/circa/projects/{vcs}/{org}/{repo}/repo-token` (admins).
pub async fn delete_token(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    person.require_admin()?;
    set_token(&state, &project.id, None).await?;
    Ok(Json(token_answer(None)))
}

/// A token and its user name as given, checked: the user name (trimmed, `x-access-token` when
/// blank) and the token (trimmed), or a 400 naming the field.
pub fn checked_token<'a>(
    user: Option<&'a str>,
    token: &'a str,
) -> Result<(&'a str, &'a str), ApiError> {
    let token = token.trim();
    if token.is_empty() || token.len() > MAX_TOKEN_BYTES || token.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "token: required, one line of at most {MAX_TOKEN_BYTES} bytes"
        )));
    }
    let user = user.map(str::trim).unwrap_or_default();
    let user = if user.is_empty() {
        DEFAULT_HTTPS_USER
    } else {
        user
    };
    if user.len() > 256 || user.chars().any(|c| c.is_control() || c == ':') {
        return Err(ApiError::bad_request(
            "user: one line of at most 256 bytes without `:`",
        ));
    }
    Ok((user, token))
}

fn token_answer(user: Option<String>) -> Value {
    json!({ "token_set": user.is_some(), "user": user })
}
