//! A project's host keys and HTTPS token on its settings page: the recorded `known_hosts`
//! lines in a form that replaces them, and whether a token is set (with its user name) with a
//! write-only form that sets it and one that removes it. A token never reaches a page.
//!
//! Lines and tokens are checked, and tokens sealed, by the same functions as the API's.

use axum::extract::{Path, State};
use axum::response::Redirect;
use serde::Deserialize;

use super::account::Empty;
use super::error::WebResult;
use super::load;
use super::session::CsrfForm;
use super::url::encode_path;
use crate::api::git_access::checked_token;
use crate::error::ApiError;
use crate::known_hosts;
use crate::secrets::git_access::set_token;
use crate::state::{AppState, now_ms};
use circa_store::ProjectId;

/// What the page shows of a project's access.
pub struct AccessView {
    /// The recorded `known_hosts` lines, one text.
    pub known_hosts: String,
    /// The token's user name, when a token is set.
    pub token_user: Option<String>,
}

/// A project's host keys and whether it holds a token.
pub async fn access_view(state: &AppState, project_id: &ProjectId) -> WebResult<AccessView> {
    let access = state.store.git_access(project_id).await?;
    Ok(AccessView {
        known_hosts: access.known_hosts.join("\n"),
        token_user: access.repo_token.map(|t| t.user),
    })
}

/// Where a project's settings page is, at its repository access.
fn access_section(slug: &str) -> Redirect {
    Redirect::to(&format!(
        "/projects/{}/settings#repository-access",
        encode_path(slug)
    ))
}

/// The host keys form.
#[derive(Debug, Deserialize)]
pub struct KnownHostsForm {
    #[serde(default)]
    known_hosts: String,
}

/// `POST /projects/{vcs}/{org}/{repo}/settings/known-hosts` (admins): replaces the host keys;
/// a line that is not a `known_hosts` entry is refused naming it.
pub async fn set_known_hosts(
    State(state): State<AppState>,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    CsrfForm(viewer, form): CsrfForm<KnownHostsForm>,
) -> WebResult<Redirect> {
    let project = load::project_at(&state, &viewer, (&vcs, &org, &repo)).await?;
    viewer.require_admin()?;
    let lines = known_hosts::parse(&form.known_hosts).map_err(ApiError::from)?;
    state
        .store
        .set_known_hosts(&project.id, &lines, now_ms())
        .await?;
    Ok(access_section(&project.slug))
}

/// The token form (write-only).
#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    token: String,
}

impl std::fmt::Debug for TokenForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenForm")
            .field("user", &self.user)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// `POST /projects/{vcs}/{org}/{repo}/settings/repo-token` (admins): seals and keeps it.
pub async fn set_repo_token(
    State(state): State<AppState>,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    CsrfForm(viewer, form): CsrfForm<TokenForm>,
) -> WebResult<Redirect> {
    let project = load::project_at(&state, &viewer, (&vcs, &org, &repo)).await?;
    viewer.require_admin()?;
    let (user, token) = checked_token(Some(&form.user), &form.token)?;
    set_token(&state, &project.id, Some((user, token)))
        .await
        .map_err(ApiError::from)?;
    Ok(access_section(&project.slug))
}

/// `POST /projects/{vcs}/{org}/{repo}/settings/repo-token/delete` (admins).
pub async fn delete_repo_token(
    State(state): State<AppState>,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    CsrfForm(viewer, Empty {}): CsrfForm<Empty>,
) -> WebResult<Redirect> {
    let project = load::project_at(&state, &viewer, (&vcs, &org, &repo)).await?;
    viewer.require_admin()?;
    set_token(&state, &project.id, None)
        .await
        .map_err(ApiError::from)?;
    Ok(access_section(&project.slug))
}
