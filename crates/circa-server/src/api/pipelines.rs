//! Pipelines: trigger, list, get, config, workflows, continue.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use circa_store::{Page, Pipeline, PipelineId, ProjectId, TriggerKind};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::render;
use super::{load, page};
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

/// `POST /api/v2/project/{slug}/pipeline`: 201 with the new pipeline's id, state, number.
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
            kind: TriggerKind::Api,
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

/// The list kind in project pipeline page tokens.
const PROJECT_LIST: &str = "pipelines";

/// Up to `want` pipelines of a project, newest first, from before number `before`, that
/// `keep` accepts; read a page at a time.
async fn scan(
    state: &AppState,
    project_id: &ProjectId,
    branch: Option<&str>,
    mut before: Option<i64>,
    want: usize,
    keep: impl Fn(&Pipeline) -> bool,
) -> ApiResult<Vec<Pipeline>> {
    let mut out = Vec::new();
    loop {
        let limit = if out.is_empty() && want <= 100 {
            want as u32
        } else {
            100
        };
        let batch = state
            .store
            .pipeline_page(project_id, branch, Page { before, limit })
            .await?;
        let done = batch.len() < limit as usize;
        before = batch.last().map(|p| p.number);
        out.extend(batch.into_iter().filter(|p| keep(p)));
        if done || out.len() >= want || before.is_none() {
            out.truncate(want);
            return Ok(out);
        }
    }
}

/// A page of pipelines, serialized straight into the answer.
#[derive(Serialize)]
struct PipelinePage<'a> {
    items: Vec<render::PipelineView<'a>>,
    next_page_token: Option<String>,
}

/// A page of a project's pipelines (`mine`: only those the caller started).
async fn project_page(
    state: &AppState,
    person: &Person,
    (vcs, org, repo): (String, String, String),
    query: ListQuery,
    mine: bool,
) -> ApiResult<Response> {
    let project = load::project_at(state, person, &vcs, &org, &repo).await?;
    let before = page::number_key(PROJECT_LIST, query.page_token.as_deref())?;
    let login = person.login().to_string();
    let branch = if mine { None } else { query.branch.as_deref() };
    let mut pipelines = scan(
        state,
        &project.id,
        branch,
        before,
        page::PAGE_SIZE + 1,
        |p| !mine || p.trigger.actor == login,
    )
    .await?;
    let next = (pipelines.len() > page::PAGE_SIZE)
        .then(|| {
            pipelines.truncate(page::PAGE_SIZE);
            pipelines
                .last()
                .map(|p| page::token(PROJECT_LIST, &p.number.to_string()))
        })
        .flatten();
    let items = pipelines
        .iter()
        .map(|p| render::listed_pipeline(p, &project))
        .collect();
    Ok(Json(PipelinePage {
        items,
        next_page_token: next,
    })
    .into_response())
}

/// `GET /api/v2/project/{slug}/pipeline`.
pub async fn list(
    State(state): State<AppState>,
    person: Person,
    Path(slug): Path<(String, String, String)>,
    Query(query): Query<ListQuery>,
) -> ApiResult<Response> {
    project_page(&state, &person, slug, query, false).await
}

/// `GET /api/v2/project/{slug}/pipeline/mine`.
pub async fn mine(
    State(state): State<AppState>,
    person: Person,
    Path(slug): Path<(String, String, String)>,
    Query(query): Query<ListQuery>,
) -> ApiResult<Response> {
    project_page(&state, &person, slug, query, true).await
}

/// `GET /api/v2/project/{slug}/pipeline/{number}`.
pub async fn by_number(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo, number)): Path<(String, String, String, String)>,
) -> ApiResult<Response> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    let number: i64 = number.parse().map_err(|_| {
        ApiError::bad_request(format!("pipeline-number: {number:?} is not a number"))
    })?;
    let pipeline = state
        .store
        .pipeline_by_number(&project.id, number)
        .await?
        .ok_or_else(|| ApiError::not_found("pipeline"))?;
    Ok(Json(render::pipeline(&pipeline, &project)).into_response())
}

/// `GET /api/v2/pipeline?org-slug=&mine=&page-token=`.
#[derive(Debug, Default, Deserialize)]
pub struct OrgQuery {
    #[serde(rename = "org-slug")]
    org_slug: Option<String>,
    /// `true`/`false` in any case (Python clients send `True`).
    #[serde(default)]
    mine: Option<String>,
    #[serde(rename = "page-token")]
    page_token: Option<String>,
}

/// The list kind in organization pipeline page tokens.
const ORG_LIST: &str = "org-pipelines";

/// `GET /api/v2/pipeline`: the newest pipelines of the organization's projects the caller
/// may see.
pub async fn org_list(
    State(state): State<AppState>,
    person: Person,
    Query(query): Query<OrgQuery>,
) -> ApiResult<Response> {
    let after = match page::key(ORG_LIST, query.page_token.as_deref())? {
        None => None,
        Some(k) => {
            let bad = || ApiError::bad_request("page-token: not a page token this server gave");
            let (ms, id) = k.split_once('/').ok_or_else(bad)?;
            Some((ms.parse::<i64>().map_err(|_| bad())?, id.to_string()))
        }
    };
    let org = match query.org_slug.as_deref() {
        Some(o) => {
            let (vcs, name) = o.split_once('/').ok_or_else(|| {
                ApiError::bad_request(format!("org-slug: {o:?} is not VCS/ORG (e.g. gh/acme)"))
            })?;
            Some(
                super::projects::normal_slug(vcs, name, "")
                    .trim_end_matches('/')
                    .to_string(),
            )
        }
        None => None,
    };
    let projects = if person.is_admin() {
        state.store.projects().await?
    } else {
        state.store.projects_of_user(&person.user.id).await?
    };
    let login = person.login().to_string();
    let mine = match query
        .mine
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("false") | Some("0") | Some("") => false,
        Some("true") | Some("1") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "mine: {other:?} is not true or false"
            )));
        }
    };
    let mut all: Vec<(Pipeline, usize)> = Vec::new();
    for (i, project) in projects.iter().enumerate() {
        if org
            .as_deref()
            .is_some_and(|o| render::org_slug(&project.slug) != o)
        {
            continue;
        }
        let found = scan(&state, &project.id, None, None, page::PAGE_SIZE + 1, |p| {
            (!mine || p.trigger.actor == login)
                && after
                    .as_ref()
                    .is_none_or(|(ms, id)| (p.created_at, p.id.as_str()) < (*ms, id.as_str()))
        })
        .await?;
        all.extend(found.into_iter().map(|p| (p, i)));
    }
    all.sort_by(|(a, _), (b, _)| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
    let next = (all.len() > page::PAGE_SIZE)
        .then(|| {
            all.truncate(page::PAGE_SIZE);
            all.last()
                .map(|(p, _)| page::token(ORG_LIST, &format!("{}/{}", p.created_at, p.id)))
        })
        .flatten();
    let items = all
        .iter()
        .map(|(p, i)| render::listed_pipeline(p, &projects[*i]))
        .collect();
    Ok(Json(PipelinePage {
        items,
        next_page_token: next,
    })
    .into_response())
}

/// `GET /api/v2/pipeline/{id}`.
pub async fn get(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<PipelineId>,
) -> ApiResult<Response> {
    let (pipeline, project) = load::pipeline(&state, &person, &id).await?;
    Ok(Json(render::pipeline(&pipeline, &project)).into_response())
}

/// `GET /api/v2/pipeline/{id}/config`.
pub async fn config(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<PipelineId>,
) -> ApiResult<Json<Value>> {
    let (pipeline, _) = load::pipeline(&state, &person, &id).await?;
    Ok(Json(json!({
        "source": pipeline.config_source.unwrap_or_default(),
        "compiled": pipeline.config_compiled.unwrap_or_default(),
        "setup-config": "",
        "compiled-setup-config": "",
    })))
}

/// `?page-token=`.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    #[serde(rename = "page-token")]
    page_token: Option<String>,
}

impl PageQuery {
    /// The token, if one was given.
    pub fn page_token(&self) -> Option<&str> {
        self.page_token.as_deref()
    }
}

/// `GET /api/v2/pipeline/{id}/workflow`.
pub async fn workflows(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<PipelineId>,
    Query(query): Query<PageQuery>,
) -> ApiResult<Json<Value>> {
    let (pipeline, project) = load::pipeline(&state, &person, &id).await?;
    let after = page::key("workflows", query.page_token())?;
    let all = state.store.workflows_of_pipeline(&pipeline.id).await?;
    let (workflows, next) = page::slice("workflows", all, after.as_deref(), |w| w.id.to_string());
    let started_by = render::user_id(&state, &pipeline.trigger.actor).await;
    let items: Vec<Value> = workflows
        .iter()
        .map(|w| render::workflow(w, &pipeline, &project, &started_by))
        .collect();
    Ok(Json(json!({ "items": items, "next_page_token": next })))
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

/// `POST /api/v2/pipeline/continue`: authorized by the continuation key alone.
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
