//! Workflows: get, jobs, cancel, rerun, approve.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::load;
use super::render;
use crate::auth::Person;
use crate::error::{ApiError, ApiResult, optional_json};
use crate::orchestrator::actions;
use crate::state::AppState;

pub async fn get(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (w, p, project) = load::workflow(&state, &person, &id).await?;
    Ok(Json(render::workflow(&w, &p, &project)))
}

pub async fn jobs(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (w, _, project) = load::workflow(&state, &person, &id).await?;
    let jobs = state.store.jobs_of_workflow(&w.id).await?;
    let items: Vec<Value> = jobs
        .iter()
        .map(|j| render::workflow_job(j, &jobs, &project))
        .collect();
    Ok(Json(json!({ "items": items, "next_page_token": null })))
}

pub async fn cancel(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (w, _, _) = load::workflow(&state, &person, &id).await?;
    actions::cancel_workflow(&state, &w.id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "message": "Accepted." })),
    ))
}

/// `POST /api/v2/workflow/{id}/rerun`.
#[derive(Debug, Default, Deserialize)]
pub struct RerunBody {
    #[serde(default)]
    from_failed: Option<bool>,
    #[serde(default)]
    enable_ssh: Option<bool>,
    #[serde(default)]
    jobs: Option<Vec<String>>,
    #[serde(default)]
    sparse_tree: Option<bool>,
}

pub async fn rerun(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let body: RerunBody = optional_json(&body)?;
    if body.enable_ssh == Some(true) {
        return Err(ApiError::bad_request(
            "enable_ssh: rerun with SSH is not supported",
        ));
    }
    if body.jobs.as_ref().is_some_and(|j| !j.is_empty()) || body.sparse_tree == Some(true) {
        return Err(ApiError::bad_request(
            "jobs: rerunning chosen jobs is not supported; use from_failed",
        ));
    }
    let (w, _, _) = load::workflow(&state, &person, &id).await?;
    let new = actions::rerun(&state, &w, body.from_failed.unwrap_or(false)).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "workflow_id": new.id }))))
}

pub async fn approve(
    State(state): State<AppState>,
    person: Person,
    Path((id, request_id)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (w, _, _) = load::workflow(&state, &person, &id).await?;
    actions::approve(&state, &w.id, &request_id, person.login()).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "message": "Accepted." })),
    ))
}
