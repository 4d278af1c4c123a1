//! Projects and tokens.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use circa_store::{NewProject, NewToken, ProjectSettings, TokenKind};
use serde::Deserialize;
use serde_json::{Value, json};

use super::load;
use super::render;
use crate::auth;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::{AppState, now_ms};

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

/// Normalises a slug's VCS part: `github` → `gh`, `bitbucket` → `bb`.
pub fn normal_slug(vcs: &str, org: &str, repo: &str) -> String {
    let vcs = match vcs {
        "github" => "gh",
        "bitbucket" => "bb",
        other => other,
    };
    format!("{vcs}/{org}/{repo}")
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateProject>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    auth::admin(&state, &headers).await?;
    let parts: Vec<&str> = body.slug.split('/').collect();
    if !valid_slug(&body.slug) {
        return Err(ApiError::bad_request(format!(
            "slug: {:?} is not VCS/ORG/REPO (e.g. gh/acme/app)",
            body.slug
        )));
    }
    let slug = normal_slug(parts[0], parts[1], parts[2]);
    if body.repo.trim().is_empty() || body.repo.starts_with('-') {
        return Err(ApiError::bad_request(
            "repo: a git URL or a path is required",
        ));
    }
    let project = state
        .store
        .create_project(
            NewProject {
                slug,
                repo_url: body.repo,
                default_branch: body.default_branch.unwrap_or_else(|| "main".to_string()),
                webhook_secret: auth::new_token(""),
                settings: body.settings.unwrap_or_default(),
            },
            now_ms(),
        )
        .await?;
    let mut out = render::project(&project);
    out["webhook"] = json!({
        "url": format!("{}/hooks/{}", state.base_url, project.id),
        "secret": project.webhook_secret,
    });
    Ok((StatusCode::CREATED, Json(out)))
}

pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    auth::user(&state, &headers, None).await?;
    let items: Vec<Value> = state
        .store
        .projects()
        .await?
        .iter()
        .map(render::project)
        .collect();
    Ok(Json(json!({ "items": items, "next_page_token": null })))
}

pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((vcs, org, repo)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    auth::user(&state, &headers, None).await?;
    let project = load::project_at(&state, &vcs, &org, &repo).await?;
    Ok(Json(render::project(&project)))
}

/// `POST /api/circa/tokens`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    kind: TokenKind,
    name: String,
    #[serde(default)]
    resource_class: Option<String>,
}

pub async fn create_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateToken>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    auth::admin(&state, &headers).await?;
    let class = match (body.kind, body.resource_class) {
        (TokenKind::Runner, Some(c)) if !c.trim().is_empty() => Some(c),
        (TokenKind::Runner, _) => {
            return Err(ApiError::bad_request(
                "resource_class: a runner token needs a resource class",
            ));
        }
        (_, _) => None,
    };
    let token = auth::new_token(match body.kind {
        TokenKind::Runner => "circa_runner_",
        _ => "circa_pat_",
    });
    let stored = state
        .store
        .create_token(
            NewToken {
                kind: body.kind,
                name: body.name,
                resource_class: class,
                hash: auth::hash_token(&token),
            },
            now_ms(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({ "id": stored.id, "token": token, "kind": stored.kind, "resource_class": stored.resource_class }),
        ),
    ))
}
