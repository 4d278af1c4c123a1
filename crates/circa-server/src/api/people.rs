//! Users, groups, project members and tokens under `/api/circa`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use circa_store::{NewToken, NewUser, Token, TokenId, TokenKind, User};
use serde::Deserialize;
use serde_json::{Value, json};

use super::load;
use crate::auth::{self, Person};
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::{AppState, now_ms};

/// Whether a login or group name is plain: 1–64 of `[A-Za-z0-9._-]`, not starting with `-`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn render_user(user: &User) -> Value {
    json!({
        "id": user.id,
        "login": user.login,
        "name": user.name,
        "admin": user.admin,
        "created_at": user.created_at,
    })
}

fn render_token(token: &Token) -> Value {
    json!({
        "id": token.id,
        "kind": token.kind,
        "name": token.name,
        "resource_class": token.resource_class,
        "user_id": token.user_id,
        "created_at": token.created_at,
        "revoked": token.revoked,
    })
}

/// `POST /api/circa/users`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    login: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    admin: bool,
}

pub async fn create_user(
    State(state): State<AppState>,
    person: Person,
    ApiJson(body): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    person.require_admin()?;
    if !valid_name(&body.login) {
        return Err(ApiError::bad_request(format!(
            "login: {:?} must be 1-64 letters, digits, '.', '_' or '-'",
            body.login
        )));
    }
    let user = state
        .store
        .create_user(
            NewUser {
                name: body.name.unwrap_or_else(|| body.login.clone()),
                login: body.login,
                admin: body.admin,
                password_hash: None,
            },
            now_ms(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(render_user(&user))))
}

pub async fn list_users(State(state): State<AppState>, person: Person) -> ApiResult<Json<Value>> {
    person.require_admin()?;
    let items: Vec<Value> = state.store.users().await?.iter().map(render_user).collect();
    Ok(Json(json!({ "items": items, "next_page_token": null })))
}

async fn user_named(state: &AppState, login: &str) -> ApiResult<User> {
    state
        .store
        .user_by_login(login)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))
}

/// `POST /api/circa/projects/{slug}/members`: `{"login": ...}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    login: String,
}

pub async fn add_member(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<Member>,
) -> ApiResult<StatusCode> {
    person.require_admin()?;
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    let user = user_named(&state, &body.login).await?;
    state
        .store
        .add_project_member(&project.id, &user.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove_member(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo, login)): Path<(String, String, String, String)>,
) -> ApiResult<StatusCode> {
    person.require_admin()?;
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    let user = user_named(&state, &login).await?;
    if state
        .store
        .remove_project_member(&project.id, &user.id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("member"))
    }
}

/// `POST /api/circa/groups`: `{"name": ...}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    name: String,
}

pub async fn create_group(
    State(state): State<AppState>,
    person: Person,
    ApiJson(body): ApiJson<CreateGroup>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    person.require_admin()?;
    if !valid_name(&body.name) {
        return Err(ApiError::bad_request(format!(
            "name: {:?} must be 1-64 letters, digits, '.', '_' or '-'",
            body.name
        )));
    }
    let group = state.store.create_group(&body.name, now_ms()).await?;
    Ok((StatusCode::CREATED, Json(json!(group))))
}

pub async fn add_group_member(
    State(state): State<AppState>,
    person: Person,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<Member>,
) -> ApiResult<StatusCode> {
    person.require_admin()?;
    let group = state
        .store
        .groups()
        .await?
        .into_iter()
        .find(|g| g.name == name)
        .ok_or_else(|| ApiError::not_found("group"))?;
    let user = user_named(&state, &body.login).await?;
    state.store.add_group_member(&group.id, &user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/circa/tokens`: a personal token (for the caller, or for `user` when an admin
/// asks) or, for admins, a runner token of a resource class. The token is shown only here.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    kind: TokenKind,
    name: String,
    #[serde(default)]
    resource_class: Option<String>,
    /// The login of the user a personal token is for (admins only; default: the caller).
    #[serde(default)]
    user: Option<String>,
}

pub async fn create_token(
    State(state): State<AppState>,
    person: Person,
    ApiJson(body): ApiJson<CreateToken>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (class, user_id, prefix) = match body.kind {
        TokenKind::Runner => {
            person.require_admin()?;
            match body.resource_class {
                Some(c) if !c.trim().is_empty() => (Some(c), None, "circa_runner_"),
                _ => {
                    return Err(ApiError::bad_request(
                        "resource_class: a runner token needs a resource class",
                    ));
                }
            }
        }
        TokenKind::User => {
            let user = match &body.user {
                Some(login) if login != &person.user.login => {
                    person.require_admin()?;
                    user_named(&state, login).await?
                }
                _ => person.user.clone(),
            };
            (None, Some(user.id), "circa_pat_")
        }
        TokenKind::Admin => {
            return Err(ApiError::bad_request(
                "kind: use \"user\"; a token has its user's rights, and admins are users",
            ));
        }
    };
    let token = auth::new_token(prefix);
    let stored = state
        .store
        .create_token(
            NewToken {
                kind: body.kind,
                name: body.name,
                resource_class: class,
                hash: auth::hash_token(&token),
                user_id,
            },
            now_ms(),
        )
        .await?;
    let mut out = render_token(&stored);
    out["token"] = json!(token);
    Ok((StatusCode::CREATED, Json(out)))
}

pub async fn list_tokens(State(state): State<AppState>, person: Person) -> ApiResult<Json<Value>> {
    let tokens = if person.is_admin() {
        state.store.tokens().await?
    } else {
        state.store.tokens_of_user(&person.user.id).await?
    };
    let items: Vec<Value> = tokens.iter().map(render_token).collect();
    Ok(Json(json!({ "items": items, "next_page_token": null })))
}

/// `DELETE /api/circa/tokens/{id}`: revokes a token (one's own, or any for admins).
pub async fn revoke_token(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<TokenId>,
) -> ApiResult<StatusCode> {
    let visible = if person.is_admin() {
        state.store.tokens().await?
    } else {
        state.store.tokens_of_user(&person.user.id).await?
    };
    if !visible.iter().any(|t| t.id == id) {
        return Err(ApiError::not_found("token"));
    }
    state.store.revoke_token(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
