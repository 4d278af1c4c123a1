//! Workflows: get, jobs, cancel, rerun, approve.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::render;
use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::orchestrator::actions;
use crate::state::AppState;

async fn load(
    state: &AppState,
    id: &str,
) -> ApiResult<(
    circa_store::Workflow,
    circa_store::Pipeline,
    circa_store::Project,
)> {
    let workflow = state
        .store
        .workflow(id)
        .await?
        .ok_or_else(|| ApiError::not_found("workflow"))?;
    let pipeline = state
        .store
        .pipeline(&workflow.pipeline_id)
        .await?
        .ok_or_else(|| ApiError::not_found("workflow"))?;
    let project = state
        .store
        .project(&workflow.project_id)
        .await?
        .ok_or_else(|| ApiError::not_found("workflow"))?;
    Ok((workflow, pipeline, project))
}

pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth::user(&state, &headers, None).await?;
    let (w, p, project) = load(&state, &id).await?;
    Ok(Json(render::workflow(&w, &p, &project)))
}

pub async fn jobs(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth::user(&state, &headers, None).await?;
    let (w, _, project) = load(&state, &id).await?;
    let jobs = state.store.jobs_of_workflow(&w.id).await?;
    let items: Vec<Value> = jobs
        .iter()
        .map(|j| render::workflow_job(j, &jobs, &project))
        .collect();
    Ok(Json(json!({ "items": items, "next_page_token": null })))
}

pub async fn cancel(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    auth::user(&state, &headers, None).await?;
    let (w, _, _) = load(&state, &id).await?;
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
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Option<Json<RerunBody>>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    auth::user(&state, &headers, None).await?;
    let body = body.map(|Json(b)| b).unwrap_or_default();
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
    let (w, _, _) = load(&state, &id).await?;
    let new = actions::rerun(&state, &w, body.from_failed.unwrap_or(false)).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "workflow_id": new.id }))))
}

pub async fn approve(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, request_id)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let caller = auth::user(&state, &headers, None).await?;
    let (w, _, _) = load(&state, &id).await?;
    actions::approve(&state, &w.id, &request_id, &caller.name).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "message": "Accepted." })),
    ))
}
