//! The caller: `GET /api/v2/me`, `/me/collaborations`, and `GET /api/v2/user/{id}`.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, State};
use circa_store::{User, UserId};
use serde_json::{Value, json};

use super::render;
use crate::auth::Person;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A user in CircleCI's shape.
pub fn user(u: &User) -> Value {
    json!({ "id": u.id, "login": u.login, "name": u.name, "avatar_url": null })
}

/// `GET /api/v2/me`: the user the token acts as.
pub async fn me(person: Person) -> Json<Value> {
    Json(user(&person.user))
}

/// `GET /api/v2/me/collaborations`: the organizations of the projects the caller may see.
pub async fn collaborations(
    State(state): State<AppState>,
    person: Person,
) -> ApiResult<Json<Value>> {
    let projects = if person.is_admin() {
        state.store.projects().await?
    } else {
        state.store.projects_of_user(&person.user.id).await?
    };
    let orgs: BTreeSet<&str> = projects.iter().map(|p| render::org_slug(&p.slug)).collect();
    let items: Vec<Value> = orgs
        .into_iter()
        .map(|slug| {
            let (vcs, name) = slug.split_once('/').unwrap_or(("gh", slug));
            json!({
                "id": render::derived_id(slug),
                "vcs-type": match vcs { "bb" | "bitbucket" => "bitbucket", "circleci" => "circleci", _ => "github" },
                "name": name,
                "avatar_url": "",
                "slug": slug,
            })
        })
        .collect();
    Ok(Json(Value::Array(items)))
}

/// `GET /api/v2/user/{id}`: a user who shares a project with the caller (or any user, for an
/// admin); 404 otherwise.
pub async fn by_id(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<UserId>,
) -> ApiResult<Json<Value>> {
    if id == person.user.id {
        return Ok(Json(user(&person.user)));
    }
    let found = state
        .store
        .user(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    if !person.is_admin() {
        let mine = state.store.projects_of_user(&person.user.id).await?;
        let theirs = state.store.projects_of_user(&found.id).await?;
        if !mine.iter().any(|p| theirs.iter().any(|t| t.id == p.id)) {
            return Err(ApiError::not_found("user"));
        }
    }
    Ok(Json(user(&found)))
}
