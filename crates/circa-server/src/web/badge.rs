//! Status badges: `/badge/{vcs}/{org}/{repo}.svg?branch=…`, the latest pipeline's status on a
//! branch (the default branch unless named). A badge needs the same access as the project: a
//! signed-in browser, or an API token (`?circle-token=`, as CircleCI's badges of private
//! projects).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use circa_store::Page;
use serde::Deserialize;

use super::error::{WebError, WebResult};
use super::projects::pipeline_status;
use super::session;
use crate::state::AppState;

/// `?branch=` of a badge.
#[derive(Debug, Default, Deserialize)]
pub struct BadgeQuery {
    branch: Option<String>,
}

/// The colour of a status.
fn colour(status: &str) -> &'static str {
    match status {
        "success" => "#2e7d32",
        "failed" | "error" | "errored" | "failing" => "#c62828",
        "running" | "on_hold" => "#1565c0",
        _ => "#757575",
    }
}

/// Escapes text for SVG.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The badge's SVG.
pub fn svg(status: &str) -> String {
    let label_w = 44;
    let value_w = 8 + 7 * status.chars().count() as i64;
    let w = label_w + value_w;
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="20" role="img" aria-label="circa: {s}"><title>circa: {s}</title><rect width="{label_w}" height="20" fill="#555"/><rect x="{label_w}" width="{value_w}" height="20" fill="{c}"/><g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11"><text x="6" y="14">circa</text><text x="{tx}" y="14">{s}</text></g></svg>"##,
        s = esc(status),
        c = colour(status),
        tx = label_w + 4,
    )
}

/// `GET /badge/{vcs}/{org}/{file}` where `file` is `REPO.svg`.
pub async fn badge(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Path((vcs, org, file)): Path<(String, String, String)>,
    Query(q): Query<BadgeQuery>,
) -> WebResult<Response> {
    let repo = file
        .strip_suffix(".svg")
        .ok_or_else(|| WebError::not_found("badge"))?;
    let slug = super::load::slug(&vcs, &org, repo);
    let project = crate::slugs::project_by_slug(state.store.as_ref(), &slug)
        .await?
        .ok_or_else(|| WebError::not_found("project"))?;
    let allowed = match session::viewer(&state, &headers).await? {
        Some(v) => v.can_see(&state, &project).await?,
        None => match crate::auth::user(&state, &headers, uri.query()).await {
            Ok(person) => person.can_see(&state, &project).await?,
            Err(_) => false,
        },
    };
    if !allowed {
        return Err(WebError::not_found("project"));
    }
    let branch = q.branch.unwrap_or_else(|| project.default_branch.clone());
    let latest = state
        .store
        .pipelines(
            &project.id,
            Some(&branch),
            Page {
                before: None,
                limit: 1,
            },
        )
        .await?;
    let status = match latest.first() {
        Some(p) => pipeline_status(&state, p).await?,
        None => "none".to_string(),
    };
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        svg(&status),
    )
        .into_response())
}
