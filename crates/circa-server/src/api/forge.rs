//! A project's forge, Circa's own routes: members see the settings (never the token: only
//! whether one is set), the last delivery error and how many statuses wait; admins set and
//! remove the forge.

use axum::Json;
use axum::extract::{Path, State};
use circa_store::ProjectForge;
use serde_json::{Value, json};

use super::load;
use super::render;
use crate::auth::Person;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::forge::configure::{Configured, ForgeError, configure};
use crate::forge::settings::ForgeInput;
use crate::state::AppState;

/// A project's forge as the API shows it: everything but the token.
pub fn render(forge: &ProjectForge, backlog: u64) -> Value {
    json!({
        "kind": forge.kind,
        "api_url": forge.api_url,
        "repo": forge.repo,
        "statuses": forge.statuses,
        "token_set": forge.token.is_some(),
        "last_error": forge.last_error,
        "last_error_at": render::time_opt(forge.last_error_at),
        "backlog": backlog,
    })
}

/// `GET /api/circa/projects/{vcs}/{org}/{repo}/forge`: the project's forge, or 404.
pub async fn get(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    let forge = state
        .store
        .project_forge(&project.id)
        .await?
        .ok_or_else(|| ApiError::not_found("forge"))?;
    let backlog = state.store.status_backlog(&project.id).await?;
    Ok(Json(render(&forge, backlog)))
}

/// `PUT /api/circa/projects/{vcs}/{org}/{repo}/forge` (admins only): sets the forge; fields
/// left out keep their value. With a token, the project's checkout key is added to the
/// repository as a read-only deploy key (a failure is answered in `deploy_key`, not fatal).
pub async fn put(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    person.require_admin()?;
    if !body.is_object() {
        return Err(ApiError::bad_request("request body: must be a JSON object"));
    }
    let input = ForgeInput::from_json(&body).map_err(ForgeError::from)?;
    let Configured { forge, deploy_key } = configure(&state, &project, input).await?;
    let backlog = state.store.status_backlog(&project.id).await?;
    let mut answer = render(&forge, backlog);
    if let Some(outcome) = deploy_key {
        answer["deploy_key"] = outcome;
    }
    Ok(Json(answer))
}

/// `DELETE /api/circa/projects/{vcs}/{org}/{repo}/forge` (admins only): removes the forge and
/// the statuses still waiting for it.
pub async fn delete(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    person.require_admin()?;
    if !state.store.delete_project_forge(&project.id).await? {
        return Err(ApiError::not_found("forge"));
    }
    Ok(Json(json!({ "message": "Forge removed." })))
}
