//! Projects.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use circa_store::{CheckoutKey, CheckoutKeyKind, NewProject, Project, ProjectSettings};
use serde::Deserialize;
use serde_json::{Value, json};

use super::load;
use super::render;
use crate::auth::{self, Person};
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::secrets::checkout_keys;
use crate::state::{AppState, now_ms};
use crate::{repository, slugs};

/// `POST /api/circa/projects`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    slug: String,
    repo: String,
    #[serde(default)]
    default_branch: Option<String>,
    #[serde(default)]
    settings: Option<ProjectSettings>,
}

/// Whether a slug is `VCS/ORG/REPO` with plain segments.
pub fn valid_slug(slug: &str) -> bool {
    let parts: Vec<&str> = slug.split('/').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 100
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                && *p != "."
                && *p != ".."
        })
}

pub use crate::slugs::normal_slug;

/// A project just added, its deploy key, and why its repository cannot be fetched now (a
/// remote one).
#[derive(Debug)]
pub struct Added {
    /// The project.
    pub project: Project,
    /// Its checkout key, a deploy key made with it.
    pub checkout_key: CheckoutKey,
    /// Warnings for the person adding it.
    pub warnings: Vec<String>,
}

/// Checks a new project's slug, repository ([`crate::repository::check`]) and default branch
/// (each refusal a 400 naming the field) and stores it with a new deploy key: the one way a
/// project is added, from the API and from the web UI. Callers check that the caller is an
/// admin first.
pub async fn add_project(
    state: &AppState,
    slug: &str,
    repo: &str,
    default_branch: Option<&str>,
    settings: ProjectSettings,
) -> ApiResult<Added> {
    let slug = slug.trim();
    if !valid_slug(slug) {
        return Err(ApiError::bad_request(format!(
            "slug: {slug:?} is not VCS/ORG/REPO (e.g. gh/acme/app)"
        )));
    }
    let parts: Vec<&str> = slug.split('/').collect();
    let slug = normal_slug(parts[0], parts[1], parts[2]);
    let branch = default_branch.map(str::trim).unwrap_or("main");
    if branch.is_empty() || branch.starts_with('-') || branch.contains(char::is_whitespace) {
        return Err(ApiError::bad_request(format!(
            "default_branch: {branch:?} is not a branch name"
        )));
    }
    if let Some(existing) = slugs::project_by_slug(state.store.as_ref(), &slug).await?
        && existing.slug != slug
    {
        return Err(ApiError::conflict(format!(
            "slug: {slug} is the project {} already (names differing only in case are one \
             repository)",
            existing.slug
        )));
    }
    let repo = repository::check(repo, state.config.git_timeout).await?;
    let project = state
        .store
        .create_project(
            NewProject {
                slug,
                repo_url: repo.stored,
                default_branch: branch.to_string(),
                webhook_secret: auth::new_token(""),
                settings,
            },
            now_ms(),
        )
        .await?;
    let checkout_key = checkout_keys::add(
        state.store.as_ref(),
        &state.keys.vault,
        &project.id,
        CheckoutKeyKind::DeployKey,
    )
    .await?;
    Ok(Added {
        project,
        checkout_key,
        warnings: repo.warning.into_iter().collect(),
    })
}

pub async fn create(
    State(state): State<AppState>,
    person: Person,
    ApiJson(body): ApiJson<CreateProject>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    person.require_admin()?;
    let Added {
        project,
        checkout_key,
        warnings,
    } = add_project(
        &state,
        &body.slug,
        &body.repo,
        body.default_branch.as_deref(),
        body.settings.unwrap_or_default(),
    )
    .await?;
    let mut out = render::project(&project);
    out["webhook"] = json!({
        "url": format!("{}/hooks/{}", state.base_url, project.id),
        "secret": project.webhook_secret,
    });
    out["checkout_key"] = super::checkout_keys::render(&checkout_key);
    out["warnings"] = json!(warnings);
    Ok((StatusCode::CREATED, Json(out)))
}

pub async fn list(State(state): State<AppState>, person: Person) -> ApiResult<Json<Value>> {
    let projects = if person.is_admin() {
        state.store.projects().await?
    } else {
        state.store.projects_of_user(&person.user.id).await?
    };
    let items: Vec<Value> = projects.iter().map(render::project).collect();
    Ok(Json(json!({ "items": items, "next_page_token": null })))
}

pub async fn get(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    Ok(Json(render::project(&project)))
}
