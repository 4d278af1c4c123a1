//! Pipelines: trigger, list, get, config, workflows, continue.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use circa_store::Page;
use serde::Deserialize;
use serde_json::{Value, json};

use super::load;
use super::render;
use crate::auth::Person;
use crate::error::{ApiError, ApiJson, ApiResult, optional_json};
use crate::orchestrator::continuation_api::continue_pipeline;
use crate::orchestrator::trigger::{TriggerRequest, trigger_pipeline};
use crate::state::AppState;

/// `POST /api/v2/project/{slug}/pipeline`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerBody {
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    parameters: Option<serde_json::Map<String, Value>>,
}

pub async fn trigger(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    let body: TriggerBody = optional_json(&body)?;
    if body.branch.is_some() && body.tag.is_some() {
        return Err(ApiError::bad_request("give a branch or a tag, not both"));
    }
    let pipeline = trigger_pipeline(
        &state,
        &project,
        TriggerRequest {
            kind: "api".into(),
            actor: person.login().to_string(),
            branch: body.branch,
            tag: body.tag,
            parameters: body.parameters.unwrap_or_default(),
            ..TriggerRequest::default()
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": pipeline.id,
            "state": pipeline.state.as_str(),
            "number": pipeline.number,
            "created_at": render::time(pipeline.created_at),
        })),
    ))
}

/// `?branch=&page-token=`.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    branch: Option<String>,
    #[serde(rename = "page-token")]
    page_token: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    let before = match query.page_token.as_deref() {
        None | Some("") => None,
        Some(t) => Some(
            t.parse::<i64>()
                .map_err(|_| ApiError::bad_request("page-token: not a token this server gave"))?,
        ),
    };
    let limit = 20;
    let pipelines = state
        .store
        .pipelines(&project.id, query.branch.as_deref(), Page { before, limit })
        .await?;
    let next = (pipelines.len() == limit as usize)
        .then(|| pipelines.last().map(|p| p.number.to_string()))
        .flatten();
    let items: Vec<Value> = pipelines
        .iter()
        .map(|p| render::pipeline(p, &project))
        .collect();
    Ok(Json(json!({ "items": items, "next_page_token": next })))
}

pub async fn get(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (pipeline, project) = load::pipeline(&state, &person, &id).await?;
    Ok(Json(render::pipeline(&pipeline, &project)))
}

pub async fn config(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (pipeline, _) = load::pipeline(&state, &person, &id).await?;
    Ok(Json(json!({
        "source": pipeline.config_source.unwrap_or_default(),
        "compiled": pipeline.config_compiled.unwrap_or_default(),
        "setup-config": "",
        "compiled-setup-config": "",
    })))
}

pub async fn workflows(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (pipeline, project) = load::pipeline(&state, &person, &id).await?;
    let items: Vec<Value> = state
        .store
        .workflows_of_pipeline(&pipeline.id)
        .await?
        .iter()
        .map(|w| render::workflow(w, &pipeline, &project))
        .collect();
    Ok(Json(json!({ "items": items, "next_page_token": null })))
}

/// `POST /api/v2/pipeline/continue`.
#[derive(Debug, Deserialize)]
pub struct ContinueBody {
    #[serde(rename = "continuation-key")]
    continuation_key: String,
    configuration: String,
    #[serde(default)]
    parameters: Option<serde_json::Map<String, Value>>,
}

pub async fn continue_(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ContinueBody>,
) -> ApiResult<Json<Value>> {
    continue_pipeline(
        &state,
        &body.continuation_key,
        body.configuration,
        body.parameters.unwrap_or_default(),
    )
    .await?;
    Ok(Json(
        json!({ "message": "Pipeline continued successfully." }),
    ))
}
