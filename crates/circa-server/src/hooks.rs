//! Webhook routes: one URL per project, `POST /hooks/{project_id}`. The forge is told apart by
//! its headers, the request verified its way, then parsed into a trigger. A delivery that
//! would build is recorded by its forge's delivery id first: the same delivery again within a
//! day (a replay, a redelivery) answers 200 and starts nothing.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use circa_store::ProjectId;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::orchestrator::trigger::{TriggerRequest, trigger_pipeline};
use crate::state::{AppState, now_ms};
use crate::webhooks::{Forge, Headers, WebhookOutcome, delivery_id, detect, parse, verify};

/// The largest webhook body accepted (GitHub caps its payloads at 25 MiB).
pub const MAX_HOOK_BYTES: usize = 25 * 1024 * 1024;

/// The webhook routes.
pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/hooks/{project_id}",
        post(receive).layer(axum::extract::DefaultBodyLimit::max(MAX_HOOK_BYTES)),
    )
}

async fn receive(
    State(state): State<AppState>,
    Path(project_id): Path<ProjectId>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let project = state
        .store
        .project(&project_id)
        .await?
        .ok_or_else(|| ApiError::not_found("project"))?;
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)))
        .collect();
    let headers = Headers::from_pairs(&pairs);
    let forge = detect(&headers).ok_or_else(|| {
        ApiError::bad_request(
            "not a webhook Circa knows: no X-GitHub-Event, X-Gitlab-Event, X-Gitea-Event or X-Event-Key header",
        )
    })?;
    verify(forge, &headers, &body, &project.webhook_secret).map_err(|e| {
        if e.is_unauthorized() {
            ApiError::new(StatusCode::UNAUTHORIZED, e.to_string())
        } else {
            ApiError::bad_request(e.to_string())
        }
    })?;
    let outcome =
        parse(forge, &headers, &body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    match outcome {
        WebhookOutcome::Ignored { reason } => Ok((
            StatusCode::OK,
            Json(json!({ "message": reason, "pipeline": null })),
        )),
        WebhookOutcome::Build(trigger) => {
            if let Some(message) = repeated(&state, &project.id, forge, &headers).await? {
                return Ok((
                    StatusCode::OK,
                    Json(json!({ "message": message, "pipeline": null })),
                ));
            }
            let started = trigger_pipeline(
                &state,
                &project,
                TriggerRequest {
                    kind: circa_store::TriggerKind::Webhook,
                    actor: trigger.actor,
                    branch: trigger.branch,
                    tag: trigger.tag,
                    revision: Some(trigger.revision),
                    subject: trigger.subject,
                    from_fork: trigger.pull_request.as_ref().is_some_and(|p| p.from_fork),
                    fork_pull_request: trigger.pull_request.as_ref().and_then(|p| p.fork()),
                    pull_request: trigger.pull_request.map(|p| p.url),
                    parameters: serde_json::Map::new(),
                    schedule: None,
                },
            )
            .await;
            let pipeline = match started {
                Ok(pipeline) => pipeline,
                Err(e) => {
                    // Nothing was built: the forge's redelivery must start it.
                    forget(&state, &project.id, forge, &headers).await;
                    return Err(e.into());
                }
            };
            Ok((
                StatusCode::CREATED,
                Json(json!({
                    "message": format!("{} event from {forge}", trigger.event),
                    "pipeline": { "id": pipeline.id, "number": pipeline.number, "state": pipeline.state.as_str() },
                })),
            ))
        }
    }
}

/// Forgets the delivery's id after its build could not be started, so that the forge's
/// redelivery builds. A failure to forget is logged (the redelivery is then a repeat).
async fn forget(state: &AppState, project_id: &ProjectId, forge: Forge, headers: &Headers<'_>) {
    let Some(id) = delivery_id(forge, headers) else {
        return;
    };
    if let Err(e) = state.store.forget_delivery(project_id, id).await {
        tracing::warn!("forgetting {forge} delivery {id}: {e}");
    }
}

/// Records the delivery's id; when it was received already, what to answer instead of building.
async fn repeated(
    state: &AppState,
    project_id: &ProjectId,
    forge: Forge,
    headers: &Headers<'_>,
) -> ApiResult<Option<String>> {
    let Some(id) = delivery_id(forge, headers) else {
        return Ok(None);
    };
    if state
        .store
        .record_delivery(project_id, id, now_ms())
        .await?
    {
        return Ok(None);
    }
    Ok(Some(format!(
        "{forge} delivery {id} was received already; nothing is started again"
    )))
}
