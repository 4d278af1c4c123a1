//! Schedules: `POST`/`GET /api/v2/project/{slug}/schedule`, `GET`/`PATCH`/`DELETE
//! /api/v2/schedule/{id}`, in CircleCI's shapes. A timetable is CircleCI's (`per-hour`,
//! `hours-of-day`, `days-of-week` or `days-of-month`, `months`; UTC) or Circa's
//! (`{"cron": "…", "timezone": "…"}`, the cron line with an optional leading seconds field).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use circa_store::{NewSchedule, Project, Schedule, ScheduleId, ScheduleOrigin, UserId};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::load;
use super::render;
use crate::auth::Person;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::schedules::fire::SYSTEM_ACTOR;
use crate::schedules::interval::check_timetable;
use crate::schedules::timetable::{CronForm, read_timetable};
use crate::state::{AppState, now_ms};

/// The fields a schedule body may have.
const FIELDS: [&str; 5] = [
    "name",
    "description",
    "timetable",
    "attribution-actor",
    "parameters",
];
/// The longest name and description.
const MAX_NAME: usize = 255;
const MAX_DESCRIPTION: usize = 4096;
/// Schedules per page.
const PAGE: u32 = 20;
/// The id shown for the system actor.
const SYSTEM_ACTOR_ID: &str = "00000000-0000-0000-0000-000000000000";

pub async fn create(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    check_fields(&body)?;
    let require = |key: &str| {
        body.get(key)
            .ok_or_else(|| ApiError::bad_request(format!("{key}: is required")))
    };
    let timetable = require("timetable")?.clone();
    let form = read_checked_timetable(&state, &timetable)?;
    let new = NewSchedule {
        project_id: project.id.clone(),
        origin: ScheduleOrigin::Api,
        name: read_name(require("name")?)?,
        description: read_description(body.get("description"))?,
        timetable,
        cron: form.cron,
        timezone: form.timezone,
        parameters: read_parameters(require("parameters")?)?,
        actor_id: read_actor(require("attribution-actor")?, &person)?,
        branch: None,
    };
    let schedule = state.store.create_schedule(new, now_ms()).await?;
    crate::replicas::publish(&state, crate::replicas::Notice::Schedules);
    Ok((
        StatusCode::CREATED,
        Json(render_schedule(&state, &schedule, &project).await?),
    ))
}

/// A timetable read and checked against the server's shortest interval (400 naming the field).
fn read_checked_timetable(state: &AppState, timetable: &Value) -> ApiResult<CronForm> {
    let form = read_timetable(timetable).map_err(|e| ApiError::bad_request(e.0))?;
    check_timetable(
        timetable,
        &form,
        state.config.min_schedule_interval,
        now_ms(),
    )
    .map_err(|e| ApiError::bad_request(e.0))?;
    Ok(form)
}

/// `?page-token=`.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
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
    let after = query
        .page_token
        .as_deref()
        .filter(|t| !t.is_empty())
        .map(ScheduleId::from);
    if let Some(token) = &after {
        match state.store.schedule(token).await? {
            Some(s) if s.project_id == project.id => {}
            _ => {
                return Err(ApiError::bad_request(
                    "page-token: not a token this server gave",
                ));
            }
        }
    }
    let schedules = state
        .store
        .schedules_of_project(&project.id, ScheduleOrigin::Api, after.as_ref(), PAGE)
        .await?;
    let next = (schedules.len() == PAGE as usize)
        .then(|| schedules.last().map(|s| s.id.clone()))
        .flatten();
    let mut items = Vec::with_capacity(schedules.len());
    for schedule in &schedules {
        items.push(render_schedule(&state, schedule, &project).await?);
    }
    Ok(Json(json!({ "items": items, "next_page_token": next })))
}

pub async fn get(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<ScheduleId>,
) -> ApiResult<Json<Value>> {
    let (schedule, project) = schedule_at(&state, &person, &id).await?;
    Ok(Json(render_schedule(&state, &schedule, &project).await?))
}

pub async fn update(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<ScheduleId>,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<Json<Value>> {
    let (schedule, project) = schedule_at(&state, &person, &id).await?;
    editable(&schedule)?;
    check_fields(&body)?;
    let mut fields = NewSchedule {
        project_id: schedule.project_id.clone(),
        origin: schedule.origin,
        name: schedule.name.clone(),
        description: schedule.description.clone(),
        timetable: schedule.timetable.clone(),
        cron: schedule.cron.clone(),
        timezone: schedule.timezone.clone(),
        parameters: schedule.parameters.clone(),
        actor_id: schedule.actor_id.clone(),
        branch: schedule.branch.clone(),
    };
    if let Some(name) = body.get("name") {
        fields.name = read_name(name)?;
    }
    if body.contains_key("description") {
        fields.description = read_description(body.get("description"))?;
    }
    if let Some(timetable) = body.get("timetable") {
        let form = read_checked_timetable(&state, timetable)?;
        fields.timetable = timetable.clone();
        fields.cron = form.cron;
        fields.timezone = form.timezone;
    }
    if let Some(parameters) = body.get("parameters") {
        fields.parameters = read_parameters(parameters)?;
    }
    if let Some(actor) = body.get("attribution-actor") {
        fields.actor_id = read_actor(actor, &person)?;
    }
    let updated = state
        .store
        .update_schedule(&schedule.id, fields, now_ms())
        .await?
        .ok_or_else(|| ApiError::not_found("schedule"))?;
    crate::replicas::publish(&state, crate::replicas::Notice::Schedules);
    Ok(Json(render_schedule(&state, &updated, &project).await?))
}

pub async fn delete(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<ScheduleId>,
) -> ApiResult<Json<Value>> {
    let (schedule, _) = schedule_at(&state, &person, &id).await?;
    editable(&schedule)?;
    if !state.store.delete_schedule(&schedule.id).await? {
        return Err(ApiError::not_found("schedule"));
    }
    crate::replicas::publish(&state, crate::replicas::Notice::Schedules);
    Ok(Json(json!({ "message": "Schedule deleted." })))
}

/// A schedule and its project, or 404 when either is missing or the caller may not see the
/// project.
async fn schedule_at(
    state: &AppState,
    person: &Person,
    id: &ScheduleId,
) -> ApiResult<(Schedule, Project)> {
    let schedule = state
        .store
        .schedule(id)
        .await?
        .ok_or_else(|| ApiError::not_found("schedule"))?;
    let project = load::project(state, person, &schedule.project_id)
        .await
        .map_err(|_| ApiError::not_found("schedule"))?;
    Ok((schedule, project))
}

/// Config schedules change with the config, not through the API.
fn editable(schedule: &Schedule) -> ApiResult<()> {
    match schedule.origin {
        ScheduleOrigin::Api => Ok(()),
        ScheduleOrigin::Config => Err(ApiError::conflict(format!(
            "schedule: defined by the `triggers` of workflow `{}` in the config of branch `{}`; \
             change the config instead",
            schedule.name,
            schedule.branch.as_deref().unwrap_or_default()
        ))),
    }
}

fn check_fields(body: &Map<String, Value>) -> ApiResult<()> {
    match body.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        Some(key) => Err(ApiError::bad_request(format!(
            "{key}: unknown field (expected one of {})",
            FIELDS.join(", ")
        ))),
        None => Ok(()),
    }
}

fn read_name(value: &Value) -> ApiResult<String> {
    match value.as_str().map(str::trim) {
        Some(name) if !name.is_empty() && name.chars().count() <= MAX_NAME => Ok(name.to_string()),
        _ => Err(ApiError::bad_request(format!(
            "name: must be text of 1 to {MAX_NAME} characters"
        ))),
    }
}

fn read_description(value: Option<&Value>) -> ApiResult<Option<String>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= MAX_DESCRIPTION => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::bad_request(format!(
            "description: must be text of at most {MAX_DESCRIPTION} characters, or null"
        ))),
    }
}

/// `current` attributes pipelines to the caller, `system` to no one.
fn read_actor(value: &Value, person: &Person) -> ApiResult<Option<UserId>> {
    match value.as_str() {
        Some("current") => Ok(Some(person.user.id.clone())),
        Some("system") => Ok(None),
        _ => Err(ApiError::bad_request(
            "attribution-actor: must be \"current\" or \"system\"",
        )),
    }
}

/// Pipeline parameters with `branch` or `tag` (text), and other values that are text,
/// whole numbers or booleans.
fn read_parameters(value: &Value) -> ApiResult<Map<String, Value>> {
    let Some(map) = value.as_object() else {
        return Err(ApiError::bad_request(
            "parameters: must be an object with `branch` or `tag`",
        ));
    };
    crate::orchestrator::parameters::check(map)?;
    for key in ["branch", "tag"] {
        if let Some(v) = map.get(key)
            && v.as_str().is_none_or(|s| s.trim().is_empty())
        {
            return Err(ApiError::bad_request(format!(
                "parameters.{key}: must be non-empty text"
            )));
        }
    }
    match (map.contains_key("branch"), map.contains_key("tag")) {
        (true, true) => {
            return Err(ApiError::bad_request(
                "parameters.tag: give a branch or a tag, not both",
            ));
        }
        (false, false) => {
            return Err(ApiError::bad_request(
                "parameters.branch: a branch or a tag is required",
            ));
        }
        _ => {}
    }
    for (key, v) in map {
        let fits = match v {
            Value::String(_) | Value::Bool(_) => true,
            Value::Number(n) => n.is_i64() || n.is_u64(),
            _ => false,
        };
        if !fits {
            return Err(ApiError::bad_request(format!(
                "parameters.{key}: must be text, a whole number or a boolean"
            )));
        }
    }
    Ok(map.clone())
}

/// A schedule in CircleCI's shape.
async fn render_schedule(
    state: &AppState,
    schedule: &Schedule,
    project: &Project,
) -> ApiResult<Value> {
    let user = match &schedule.actor_id {
        Some(id) => state.store.user(id).await?,
        None => None,
    };
    let actor = match user {
        Some(u) => json!({ "id": u.id, "login": u.login, "name": u.name, "avatar_url": null }),
        None => json!({
            "id": SYSTEM_ACTOR_ID,
            "login": SYSTEM_ACTOR,
            "name": "Scheduled",
            "avatar_url": null,
        }),
    };
    Ok(json!({
        "id": schedule.id,
        "name": schedule.name,
        "description": schedule.description,
        "timetable": schedule.timetable,
        "project-slug": project.slug,
        "actor": actor,
        "parameters": schedule.parameters,
        "created-at": render::time(schedule.created_at),
        "updated-at": render::time(schedule.updated_at),
    }))
}
