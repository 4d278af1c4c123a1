//! Project environment variables, CircleCI's API v2 routes: values are sealed on arrival and
//! only ever shown masked (`xxxx` and the last four characters).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use circa_store::{EnvOwner, EnvVar};
use serde::Deserialize;
use serde_json::{Value, json};

use super::load;
use super::render;
use crate::auth::Person;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::secrets;
use crate::state::{AppState, now_ms};

/// The longest value accepted, in bytes (CircleCI's limit is 32 KiB too).
pub const MAX_VALUE_BYTES: usize = 32 * 1024;

/// 400 unless `name` is a valid variable name.
pub fn check_name(field: &str, name: &str) -> ApiResult<()> {
    if secrets::valid_name(name) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{field}: {name:?} is not a valid environment variable name (letters, digits and \
             '_', not starting with a digit)"
        )))
    }
}

/// 400 when a value is too long, or holds a NUL byte (no process environment can carry one,
/// so every job would fail).
pub fn check_value(value: &str) -> ApiResult<()> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(ApiError::bad_request(format!(
            "value: longer than {MAX_VALUE_BYTES} bytes"
        )));
    }
    if value.contains('\0') {
        return Err(ApiError::bad_request(
            "value: contains a NUL byte, which an environment variable cannot hold",
        ));
    }
    Ok(())
}

/// A project variable as CircleCI shows it.
fn render(state: &AppState, var: &EnvVar) -> ApiResult<Value> {
    let value = state
        .keys
        .vault
        .open_value(&var.owner, &var.name, &var.value)?;
    Ok(json!({
        "name": var.name,
        "value": secrets::masked(&value),
        "created-at": render::time(var.created_at),
    }))
}

/// `POST /api/v2/project/{slug}/envvar` body.
#[derive(Debug, Deserialize)]
pub struct NewVar {
    name: String,
    value: String,
}

/// `GET /api/v2/project/{slug}/envvar`.
pub async fn list(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    let vars = state.store.env_vars(&EnvOwner::Project(project.id)).await?;
    let items = vars
        .iter()
        .map(|v| render(&state, v))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(json!({ "items": items, "next_page_token": null })))
}

/// `POST /api/v2/project/{slug}/envvar`: 201 with the variable, masked.
pub async fn create(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<NewVar>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    check_name("name", &body.name)?;
    check_value(&body.value)?;
    let owner = EnvOwner::Project(project.id);
    let sealed = state.keys.vault.seal(&owner, &body.name, &body.value)?;
    let var = state
        .store
        .put_env_var(&owner, &body.name, &sealed, now_ms())
        .await?;
    Ok((StatusCode::CREATED, Json(render(&state, &var)?)))
}

/// `GET /api/v2/project/{slug}/envvar/{name}`.
pub async fn get(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo, name)): Path<(String, String, String, String)>,
) -> ApiResult<Json<Value>> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    let var = state
        .store
        .env_var(&EnvOwner::Project(project.id), &name)
        .await?
        .ok_or_else(|| ApiError::not_found("environment variable"))?;
    Ok(Json(render(&state, &var)?))
}

/// `DELETE /api/v2/project/{slug}/envvar/{name}`.
pub async fn delete(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo, name)): Path<(String, String, String, String)>,
) -> ApiResult<Json<Value>> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    if !state
        .store
        .delete_env_var(&EnvOwner::Project(project.id), &name)
        .await?
    {
        return Err(ApiError::not_found("environment variable"));
    }
    Ok(Json(json!({ "message": "Environment variable deleted." })))
}
