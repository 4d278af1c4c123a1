//! Contexts, CircleCI's API v2 routes: Circa has one organisation, so any owner id or slug
//! names it. Everyone may list contexts and their variables' names; only admins create,
//! change or delete them and their restrictions. Values are never shown.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use base64::Engine as _;
use circa_store::{
    Context, ContextId, ContextRestriction, EnvOwner, EnvVar, NewRestriction, ProjectId,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::envvars::{check_name, check_value};
use super::render;
use crate::auth::Person;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::secrets::access::{RESTRICTION_KINDS, check_expression};
use crate::state::{AppState, now_ms};

/// Contexts per page of `GET /api/v2/context`.
pub const PAGE_SIZE: usize = 100;

fn render_context(c: &Context) -> Value {
    json!({ "id": c.id, "name": c.name, "created_at": render::time(c.created_at) })
}

fn render_var(v: &EnvVar) -> Value {
    json!({
        "variable": v.name,
        "created_at": render::time(v.created_at),
        "updated_at": render::time(v.updated_at),
        "context_id": v.owner.id(),
    })
}

fn render_restriction(r: &ContextRestriction, name: &str) -> Value {
    let mut out = json!({
        "id": r.id,
        "context_id": r.context_id,
        "name": name,
        "restriction_type": r.kind,
        "restriction_value": r.value,
    });
    // Only project restrictions carry a project id; the field is absent otherwise.
    if r.kind == "project" {
        out["project_id"] = json!(r.value);
    }
    out
}

async fn load(state: &AppState, id: &ContextId) -> ApiResult<Context> {
    state
        .store
        .context(id)
        .await?
        .ok_or_else(|| ApiError::not_found("context"))
}

/// A context's name, trimmed; 400 unless it is 1-200 characters without control characters.
pub fn check_context_name(name: &str) -> ApiResult<&str> {
    let name = name.trim();
    if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "name: a context name is 1-200 characters without control characters",
        ));
    }
    Ok(name)
}

/// The owner of a new context.
#[derive(Debug, Default, Deserialize)]
pub struct Owner {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    slug: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

/// `POST /api/v2/context` body.
#[derive(Debug, Deserialize)]
pub struct NewContext {
    name: String,
    #[serde(default)]
    owner: Option<Owner>,
}

/// `POST /api/v2/context`.
pub async fn create(
    State(state): State<AppState>,
    person: Person,
    ApiJson(body): ApiJson<NewContext>,
) -> ApiResult<Json<Value>> {
    person.require_admin()?;
    let name = check_context_name(&body.name)?;
    if let Some(owner) = &body.owner {
        if owner.id.is_none() && owner.slug.is_none() {
            return Err(ApiError::bad_request("owner: give an id or a slug"));
        }
        if let Some(kind) = &owner.kind
            && !matches!(kind.as_str(), "organization" | "account")
        {
            return Err(ApiError::bad_request(format!(
                "owner.type: {kind:?} is neither organization nor account"
            )));
        }
    }
    let context = state.store.create_context(name, now_ms()).await?;
    Ok(Json(render_context(&context)))
}

/// `GET /api/v2/context` query.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(rename = "page-token")]
    page_token: Option<String>,
}

/// `GET /api/v2/context?owner-slug=…|owner-id=…`: by name, [`PAGE_SIZE`] per page.
pub async fn list(
    State(state): State<AppState>,
    _person: Person,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let after = match &query.page_token {
        Some(token) => Some(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| ApiError::bad_request("page-token: not a token this API gave"))?,
        ),
        None => None,
    };
    let all = state.store.contexts().await?;
    let rest: Vec<&Context> = all
        .iter()
        .filter(|c| after.as_ref().is_none_or(|a| c.name > *a))
        .collect();
    let page: Vec<&Context> = rest.iter().take(PAGE_SIZE).copied().collect();
    let next = (rest.len() > PAGE_SIZE)
        .then(|| page.last())
        .flatten()
        .map(|c| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&c.name));
    Ok(Json(json!({
        "items": page.iter().map(|c| render_context(c)).collect::<Vec<_>>(),
        "next_page_token": next,
    })))
}

/// `GET /api/v2/context/{id}`.
pub async fn get(
    State(state): State<AppState>,
    _person: Person,
    Path(id): Path<ContextId>,
) -> ApiResult<Json<Value>> {
    Ok(Json(render_context(&load(&state, &id).await?)))
}

/// `DELETE /api/v2/context/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<ContextId>,
) -> ApiResult<Json<Value>> {
    person.require_admin()?;
    if !state.store.delete_context(&id).await? {
        return Err(ApiError::not_found("context"));
    }
    Ok(Json(json!({ "message": "Context deleted." })))
}

/// `GET /api/v2/context/{id}/environment-variable`: names and times, never values.
pub async fn list_vars(
    State(state): State<AppState>,
    _person: Person,
    Path(id): Path<ContextId>,
) -> ApiResult<Json<Value>> {
    let context = load(&state, &id).await?;
    let vars = state.store.env_vars(&EnvOwner::Context(context.id)).await?;
    Ok(Json(json!({
        "items": vars.iter().map(render_var).collect::<Vec<_>>(),
        "next_page_token": null,
    })))
}

/// `PUT /api/v2/context/{id}/environment-variable/{name}` body.
#[derive(Debug, Deserialize)]
pub struct PutVar {
    value: String,
}

/// `PUT /api/v2/context/{id}/environment-variable/{name}`.
pub async fn put_var(
    State(state): State<AppState>,
    person: Person,
    Path((id, name)): Path<(ContextId, String)>,
    ApiJson(body): ApiJson<PutVar>,
) -> ApiResult<Json<Value>> {
    person.require_admin()?;
    check_name("env_var_name", &name)?;
    check_value(&body.value)?;
    let context = load(&state, &id).await?;
    let owner = EnvOwner::Context(context.id);
    let sealed = state.keys.vault.seal(&owner, &name, &body.value)?;
    let var = state
        .store
        .put_env_var(&owner, &name, &sealed, now_ms())
        .await?;
    Ok(Json(render_var(&var)))
}

/// `DELETE /api/v2/context/{id}/environment-variable/{name}`.
pub async fn delete_var(
    State(state): State<AppState>,
    person: Person,
    Path((id, name)): Path<(ContextId, String)>,
) -> ApiResult<Json<Value>> {
    person.require_admin()?;
    let context = load(&state, &id).await?;
    if !state
        .store
        .delete_env_var(&EnvOwner::Context(context.id), &name)
        .await?
    {
        return Err(ApiError::not_found("environment variable"));
    }
    Ok(Json(json!({ "message": "Environment variable deleted." })))
}

/// A restriction's human-readable name: the project's slug, the group's name, or nothing.
pub async fn restriction_name(state: &AppState, r: &ContextRestriction) -> ApiResult<String> {
    Ok(match r.kind.as_str() {
        "project" => state
            .store
            .project(&ProjectId::from(r.value.as_str()))
            .await?
            .map(|p| p.slug)
            .unwrap_or_default(),
        "group" => state
            .store
            .groups()
            .await?
            .into_iter()
            .find(|g| g.id == r.value)
            .map(|g| g.name)
            .unwrap_or_default(),
        _ => String::new(),
    })
}

/// `GET /api/v2/context/{id}/restrictions`.
pub async fn list_restrictions(
    State(state): State<AppState>,
    _person: Person,
    Path(id): Path<ContextId>,
) -> ApiResult<Json<Value>> {
    let context = load(&state, &id).await?;
    let mut items = Vec::new();
    for r in state.store.context_restrictions(&context.id).await? {
        let name = restriction_name(&state, &r).await?;
        items.push(render_restriction(&r, &name));
    }
    Ok(Json(json!({ "items": items, "next_page_token": null })))
}

/// `POST /api/v2/context/{id}/restrictions` body.
#[derive(Debug, Deserialize)]
pub struct NewRestrictionBody {
    restriction_type: String,
    restriction_value: String,
}

/// A restriction to add to a context, checked: `kind` is one of [`RESTRICTION_KINDS`]; a group
/// is named by id or name (stored by id), a project by id; an expression must parse; the
/// context must not have it already (409).
pub async fn new_restriction(
    state: &AppState,
    context: &Context,
    kind: &str,
    value: &str,
) -> ApiResult<NewRestriction> {
    if !RESTRICTION_KINDS.contains(&kind) {
        return Err(ApiError::bad_request(format!(
            "restriction_type: {kind:?} is not one of project, expression, group"
        )));
    }
    let value = match kind {
        "group" => state
            .store
            .groups()
            .await?
            .into_iter()
            .find(|g| g.id == value || g.name == value)
            .map(|g| g.id.into_string())
            .ok_or_else(|| {
                ApiError::bad_request(format!("restriction_value: no group {:?}", value))
            })?,
        "project" => state
            .store
            .project(&ProjectId::from(value))
            .await?
            .map(|p| p.id.into_string())
            .ok_or_else(|| {
                ApiError::bad_request(
                    "restriction_value: Project does not exist, or user does not have access \
                     to this project.",
                )
            })?,
        _ => {
            check_expression(value)
                .map_err(|e| ApiError::bad_request(format!("restriction_value: {e}")))?;
            value.to_string()
        }
    };
    let existing = state.store.context_restrictions(&context.id).await?;
    if existing.iter().any(|r| r.kind == kind && r.value == value) {
        return Err(ApiError::conflict(
            "The restriction you're trying to add already exists.",
        ));
    }
    Ok(NewRestriction {
        context_id: context.id.clone(),
        kind: kind.to_string(),
        value,
    })
}

/// `POST /api/v2/context/{id}/restrictions`: 201.
pub async fn create_restriction(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<ContextId>,
    ApiJson(body): ApiJson<NewRestrictionBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    person.require_admin()?;
    let context = load(&state, &id).await?;
    let new = new_restriction(
        &state,
        &context,
        &body.restriction_type,
        &body.restriction_value,
    )
    .await?;
    let restriction = state.store.add_context_restriction(new, now_ms()).await?;
    let name = restriction_name(&state, &restriction).await?;
    Ok((
        StatusCode::CREATED,
        Json(render_restriction(&restriction, &name)),
    ))
}

/// `DELETE /api/v2/context/{id}/restrictions/{restriction_id}`.
pub async fn delete_restriction(
    State(state): State<AppState>,
    person: Person,
    Path((id, restriction)): Path<(ContextId, String)>,
) -> ApiResult<Json<Value>> {
    person.require_admin()?;
    if !state
        .store
        .delete_context_restriction(&id, &restriction)
        .await?
    {
        return Err(ApiError::not_found("restriction"));
    }
    Ok(Json(json!({ "message": "Restriction deleted." })))
}

/// `POST /api/circa/admin/rotate-key`: a new secret key, every value sealed again with it.
pub async fn rotate_key(State(state): State<AppState>, person: Person) -> ApiResult<Json<Value>> {
    person.require_admin()?;
    let rotation = crate::secrets::rotate::rotate(state.store.as_ref(), &state.keys.vault).await?;
    Ok(Json(json!(rotation)))
}
