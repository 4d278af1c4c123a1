//! Workflows: get, jobs, cancel, rerun, approve.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use circa_store::WorkflowId;
use serde::Deserialize;
use serde_json::{Value, json};

use super::pipelines::PageQuery;
use super::{load, page, render};
use crate::auth::Person;
use crate::error::{ApiError, ApiResult, optional_json};
use crate::orchestrator::actions;
use crate::state::AppState;

/// `GET /api/v2/workflow/{id}`.
pub async fn get(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<WorkflowId>,
) -> ApiResult<Json<Value>> {
    let (w, p, project) = load::workflow(&state, &person, &id).await?;
    let started_by = render::user_id(&state, &p.trigger.actor).await;
    Ok(Json(render::workflow(&w, &p, &project, &started_by)))
}

/// `GET /api/v2/workflow/{id}/job`.
pub async fn jobs(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<WorkflowId>,
    Query(query): Query<PageQuery>,
) -> ApiResult<Json<Value>> {
    let (w, _, project) = load::workflow(&state, &person, &id).await?;
    let after = page::key("jobs", query.page_token())?;
    let jobs = state.store.jobs_of_workflow(&w.id).await?;
    let (shown, next) = page::slice("jobs", jobs.clone(), after.as_deref(), |j| j.id.to_string());
    let mut items = Vec::with_capacity(shown.len());
    for j in &shown {
        let approved_by = match (&j.actor, j.approval) {
            (Some(login), true) => Some(render::user_id(&state, login).await),
            _ => None,
        };
        items.push(render::workflow_job(
            j,
            &jobs,
            &project,
            approved_by.as_deref(),
        ));
    }
    Ok(Json(json!({ "items": items, "next_page_token": next })))
}

/// `POST /api/v2/workflow/{id}/cancel`: 202.
pub async fn cancel(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<WorkflowId>,
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
#[serde(deny_unknown_fields)]
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

/// `POST /api/v2/workflow/{id}/rerun`: 202 with the new workflow's id. `jobs` reruns those
/// jobs and the jobs that require them; `from_failed` the failed ones and what follows.
pub async fn rerun(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<WorkflowId>,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let body: RerunBody = optional_json(&body)?;
    if body.enable_ssh == Some(true) {
        return Err(ApiError::bad_request(
            "enable_ssh: rerunning with SSH is not supported by this server",
        ));
    }
    let jobs = body.jobs.unwrap_or_default();
    let from_failed = body.from_failed.unwrap_or(false);
    if from_failed && !jobs.is_empty() {
        return Err(ApiError::bad_request(
            "from_failed: give either from_failed or jobs, not both",
        ));
    }
    if body.sparse_tree == Some(true) && jobs.is_empty() {
        return Err(ApiError::bad_request("sparse_tree: requires jobs"));
    }
    let (w, _, _) = load::workflow(&state, &person, &id).await?;
    let new = actions::rerun(&state, &w, from_failed, &jobs).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "workflow_id": new.id }))))
}

/// `POST /api/v2/workflow/{id}/approve/{approval_request_id}`: 202.
pub async fn approve(
    State(state): State<AppState>,
    person: Person,
    Path((id, request_id)): Path<(WorkflowId, String)>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (w, _, _) = load::workflow(&state, &person, &id).await?;
    actions::approve(&state, &w.id, &request_id, person.login()).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "message": "Accepted." })),
    ))
}
