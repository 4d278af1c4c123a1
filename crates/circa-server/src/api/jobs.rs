//! Jobs: details, cancel, artifacts, step logs.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use circa_store::{JobId, TaskId};
use serde_json::{Value, json};

use super::pipelines::PageQuery;
use super::{load, page, render};
use crate::auth::Person;
use crate::error::{ApiError, ApiResult};
use crate::orchestrator::actions;
use crate::state::AppState;

/// `GET /api/v2/project/{slug}/job/{number}`.
pub async fn get(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo, number)): Path<(String, String, String, String)>,
) -> ApiResult<Json<Value>> {
    let (job, workflow_name, project) =
        load::job_with_workflow_at(&state, &person, (&vcs, &org, &repo), &number).await?;
    let tasks = state.store.tasks_of_job(&job.id).await?;
    let duration = match (job.started_at, job.stopped_at) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let executor = job
        .spec
        .as_ref()
        .and_then(|s| s.get("executor"))
        .and_then(|e| e.get("kind"))
        .and_then(Value::as_str)
        .unwrap_or(if job.approval { "approval" } else { "machine" })
        .to_string();
    Ok(Json(json!({
        "web_url": render::job_web_url(&state.base_url, &project.slug, &number),
        "project": { "id": project.id, "slug": project.slug, "name": crate::orchestrator::assign::slug_parts(&project.slug).1, "external_url": project.repo_url },
        "parallel_runs": tasks.iter().map(|t| json!({
            "index": t.node,
            "status": t.result.map(|r| r.as_str()).unwrap_or(match t.state {
                circa_store::TaskState::Queued => "queued",
                _ => "running",
            }),
        })).collect::<Vec<_>>(),
        "started_at": render::time_opt(job.started_at),
        "latest_workflow": workflow_name.map(|name| json!({ "id": job.workflow_id, "name": name })),
        "name": job.name,
        "executor": { "resource_class": job.resource_class, "type": executor },
        "parallelism": job.parallelism,
        "status": job.status.as_str(),
        "number": job.number,
        "pipeline": { "id": job.pipeline_id },
        "duration": duration,
        "created_at": render::time(job.created_at),
        "messages": render::job_messages(&job),
        "contexts": job.contexts.iter().map(|c| json!({ "name": c })).collect::<Vec<_>>(),
        "organization": { "name": crate::orchestrator::assign::slug_parts(&project.slug).0 },
        "queued_at": render::time_opt(job.queued_at),
        "stopped_at": render::time_opt(job.stopped_at),
    })))
}

/// `POST /api/v2/project/{slug}/job/{number}/cancel`: 200, as the OpenAPI document says.
pub async fn cancel(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo, number)): Path<(String, String, String, String)>,
) -> ApiResult<Json<Value>> {
    let (job, _) = load::job_at(&state, &person, (&vcs, &org, &repo), &number).await?;
    actions::cancel_job(&state, &job, person.login()).await?;
    Ok(Json(json!({ "message": "Accepted." })))
}

/// `POST /api/v2/jobs/{id}/cancel`: cancel by the job's id.
pub async fn cancel_by_id(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<JobId>,
) -> ApiResult<Json<Value>> {
    let (job, _) = load::job(&state, &person, &id).await?;
    actions::cancel_job(&state, &job, person.login()).await?;
    Ok(Json(json!({ "message": "Accepted." })))
}

/// A job's artifacts in CircleCI's item shape (`path`, `node_index`, `url`).
pub async fn artifact_items(state: &AppState, job_id: &JobId) -> ApiResult<Vec<Value>> {
    Ok(state
        .store
        .artifacts(job_id)
        .await?
        .iter()
        .map(|a| {
            json!({
                "path": a.path,
                "node_index": a.node,
                "url": format!("{}/api/circa/artifacts/{}/{}/{}", state.base_url, a.job_id, a.node, a.path),
            })
        })
        .collect())
}

/// `GET /api/v2/project/{slug}/{number}/artifacts`.
pub async fn artifacts(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo, number)): Path<(String, String, String, String)>,
    Query(query): Query<PageQuery>,
) -> ApiResult<Json<Value>> {
    let (job, _) = load::job_at(&state, &person, (&vcs, &org, &repo), &number).await?;
    let after = page::key("artifacts", query.page_token())?;
    let all = artifact_items(&state, &job.id).await?;
    let (items, next) = page::slice("artifacts", all, after.as_deref(), |a| {
        format!(
            "{}/{}",
            a["node_index"],
            a["path"].as_str().unwrap_or_default()
        )
    });
    Ok(Json(json!({ "items": items, "next_page_token": next })))
}

/// `GET /api/circa/artifacts/{job}/{node}/{path}`: an artifact's bytes.
pub async fn artifact(
    State(state): State<AppState>,
    person: Person,
    Path((job_id, node, path)): Path<(JobId, u32, String)>,
) -> ApiResult<Response> {
    load::job(&state, &person, &job_id).await?;
    artifact_download(&state, &job_id, node, &path).await
}

/// An artifact's bytes as a download (the API's and the web UI's route, once the caller may
/// see the job): 404 when the job has no such artifact or its blob is gone.
pub(crate) async fn artifact_download(
    state: &AppState,
    job_id: &JobId,
    node: u32,
    path: &str,
) -> ApiResult<Response> {
    let artifact = state
        .store
        .artifacts(job_id)
        .await?
        .into_iter()
        .find(|a| a.node == node && a.path == path)
        .ok_or_else(|| ApiError::not_found("artifact"))?;
    let Some((size, stream)) = state.blobs.get_stream(&artifact.blob_key).await? else {
        return Err(ApiError::not_found("artifact"));
    };
    let file = path
        .rsplit('/')
        .next()
        .unwrap_or("artifact")
        .replace('"', "_");
    Ok((
        [
            (header::CONTENT_LENGTH, size.to_string()),
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// `GET /api/circa/jobs/{id}`: a job with its tasks and steps.
pub async fn details(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<JobId>,
) -> ApiResult<Json<Value>> {
    let (job, _) = load::job(&state, &person, &id).await?;
    let mut tasks = Vec::new();
    for task in state.store.tasks_of_job(&job.id).await? {
        let steps = state.store.steps(&task.id).await?;
        tasks.push(json!({
            "id": task.id,
            "node": task.node,
            "state": task.state,
            "result": task.result.map(|r| r.as_str()),
            "message": task.message,
            "runner": task.runner,
            "attempts": task.attempts,
            "claimed_at": task.started_at,
            "finished_at": task.finished_at,
            "steps": steps,
        }));
    }
    let waiting = crate::queue_reason::why_waiting(&state, &job).await?;
    Ok(Json(json!({
        "id": job.id,
        "name": job.name,
        "number": job.number,
        "status": job.status.as_str(),
        "message": job.message,
        "waiting_reason": waiting,
        "tasks": tasks,
    })))
}

/// `GET /api/circa/tasks/{id}/steps/{step}/log`: a step's output as text.
pub async fn step_log(
    State(state): State<AppState>,
    person: Person,
    Path((task_id, step)): Path<(TaskId, u32)>,
) -> ApiResult<Response> {
    load::task(&state, &person, &task_id).await?;
    let text = crate::logs::step_log(&state, &task_id, step).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}
