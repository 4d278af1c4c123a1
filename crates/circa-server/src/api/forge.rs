//! A project's forge, Circa's own routes: members see the settings (never the token: only
//! whether one is set), the last delivery error and how many statuses wait; admins set and
//! remove the forge.

use axum::Json;
use axum::extract::{Path, State};
use circa_store::{Project, ProjectForge};
use serde_json::{Value, json};

use super::load;
use super::render;
use crate::auth::Person;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::forge::deploy_key_request;
use crate::forge::send::{Sent, send_json};
use crate::forge::settings::{ForgeInput, check_repo_for, default_api_url};
use crate::secrets::forge_tokens;
use crate::state::{AppState, now_ms};

/// A project's forge as the API shows it: everything but the token.
pub fn render(forge: &ProjectForge, backlog: u64) -> Value {
    json!({
        "kind": forge.kind,
        "api_url": forge.api_url,
        "repo": forge.repo,
        "statuses": forge.statuses,
        "token_set": forge.token.is_some(),
        "last_error": forge.last_error,
        "last_error_at": render::time_opt(forge.last_error_at),
        "backlog": backlog,
    })
}

/// `GET /api/circa/projects/{vcs}/{org}/{repo}/forge`: the project's forge, or 404.
pub async fn get(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    let forge = state
        .store
        .project_forge(&project.id)
        .await?
        .ok_or_else(|| ApiError::not_found("forge"))?;
    let backlog = state.store.status_backlog(&project.id).await?;
    Ok(Json(render(&forge, backlog)))
}

/// `PUT /api/circa/projects/{vcs}/{org}/{repo}/forge` (admins only): sets the forge; fields
/// left out keep their value. With a token, the project's checkout key is added to the
/// repository as a read-only deploy key (a failure is answered in `deploy_key`, not fatal).
pub async fn put(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    person.require_admin()?;
    if !body.is_object() {
        return Err(ApiError::bad_request("request body: must be a JSON object"));
    }
    let input = ForgeInput::from_json(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let new_token = input.token.clone();
    let current = state.store.project_forge(&project.id).await?;
    let forge = merge(&state, &project, current, input)?;
    let saved = state.store.set_project_forge(forge).await?;
    let deploy_key = match new_token {
        Some(token) => Some(add_deploy_key(&state, &saved, &token).await?),
        None => None,
    };
    let saved = state
        .store
        .project_forge(&project.id)
        .await?
        .unwrap_or(saved);
    let backlog = state.store.status_backlog(&project.id).await?;
    let mut answer = render(&saved, backlog);
    if let Some(outcome) = deploy_key {
        answer["deploy_key"] = outcome;
    }
    Ok(Json(answer))
}

/// `DELETE /api/circa/projects/{vcs}/{org}/{repo}/forge` (admins only): removes the forge and
/// the statuses still waiting for it.
pub async fn delete(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    person.require_admin()?;
    if !state.store.delete_project_forge(&project.id).await? {
        return Err(ApiError::not_found("forge"));
    }
    Ok(Json(json!({ "message": "Forge removed." })))
}

/// Adds the project's preferred checkout key to its repository on `forge` as a read-only
/// deploy key, with `token`: `{added: true}`, or `{added: false, error}` with the error also
/// recorded as the forge's last error (not fatal: the settings are kept).
async fn add_deploy_key(state: &AppState, forge: &ProjectForge, token: &str) -> ApiResult<Value> {
    let keys = state.store.checkout_keys(&forge.project_id).await?;
    let Some(key) = keys.iter().find(|k| k.preferred) else {
        return Ok(json!({ "added": false, "error": "the project has no checkout key" }));
    };
    let sent = match deploy_key_request(
        forge.kind,
        &forge.api_url,
        &forge.repo,
        DEPLOY_KEY_TITLE,
        &key.public_key,
    ) {
        Ok(request) => match reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
        {
            Ok(http) => {
                send_json(
                    &http,
                    forge.kind,
                    Some(token),
                    request.method,
                    &request.url,
                    &request.headers,
                    &request.body,
                )
                .await
            }
            Err(e) => Sent::Refused(format!("no HTTP client: {e}")),
        },
        Err(e) => Sent::Refused(e.to_string()),
    };
    let error = match sent {
        Sent::Delivered => return Ok(json!({ "added": true })),
        Sent::Retry { error, .. } | Sent::Refused(error) => format!("deploy key: {error}"),
    };
    state
        .store
        .record_forge_error(&forge.project_id, Some(&error), now_ms())
        .await?;
    Ok(json!({ "added": false, "error": error }))
}

/// The title of the deploy key Circa adds.
const DEPLOY_KEY_TITLE: &str = "Circa checkout key";

/// The settings `input` makes of `current` (or of a new forge's defaults).
fn merge(
    state: &AppState,
    project: &Project,
    current: Option<ProjectForge>,
    input: ForgeInput,
) -> ApiResult<ProjectForge> {
    let bad = |e: crate::forge::settings::FieldError| ApiError::bad_request(e.to_string());
    let kind = input
        .kind
        .or(current.as_ref().map(|f| f.kind))
        .ok_or_else(|| ApiError::bad_request("kind: is required to set a forge"))?;
    let same_kind = current.as_ref().is_some_and(|f| f.kind == kind);
    let api_url = match (input.api_url, &current) {
        (Some(url), _) => url,
        (None, Some(f)) if same_kind => f.api_url.clone(),
        (None, _) => default_api_url(kind).map_err(bad)?,
    };
    let repo = input
        .repo
        .or(current.as_ref().map(|f| f.repo.clone()))
        .unwrap_or_else(|| default_repo(&project.slug));
    check_repo_for(kind, &repo).map_err(bad)?;
    let token = match input.token {
        Some(token) => Some(forge_tokens::seal_token(
            &state.keys.vault,
            &project.id,
            &token,
        )?),
        None => current.as_ref().and_then(|f| f.token.clone()),
    };
    let statuses = input
        .statuses
        .or(current.as_ref().map(|f| f.statuses))
        .unwrap_or(true);
    Ok(ProjectForge {
        project_id: project.id.clone(),
        kind,
        api_url,
        repo,
        token,
        statuses,
        last_error: None,
        last_error_at: None,
        updated_at: now_ms(),
    })
}

/// The repository a slug names on its forge: `ORG/REPO`.
fn default_repo(slug: &str) -> String {
    let (org, repo) = crate::orchestrator::assign::slug_parts(slug);
    format!("{org}/{repo}")
}
