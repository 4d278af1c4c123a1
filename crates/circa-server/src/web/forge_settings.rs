//! The "Forge" section of a project's settings page: the forge's kind, API root, repository,
//! the statuses switch, whether a token is set (never the token), the last delivery error and
//! how many statuses wait; a form to set it (a token field left empty keeps the token) and one
//! to remove it.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use circa_store::{ForgeKind, Project};
use serde::Deserialize;

use super::account::Empty;
use super::error::WebResult;
use super::load;
use super::session::CsrfForm;
use super::settings::project_settings_page;
use super::url::encode_path;
use super::view::time;
use crate::forge::configure::{ForgeError, configure};
use crate::forge::settings::{ForgeInput, check_api_url, check_repo, check_token, parse_kind};
use crate::state::AppState;

/// The forge as the page shows it.
pub(super) struct ForgeView {
    /// `github`, `gitlab`, `gitea`, `bitbucket`.
    pub kind: String,
    /// The API root.
    pub api_url: String,
    /// The repository on the forge.
    pub repo: String,
    /// Whether statuses are reported.
    pub statuses: bool,
    /// Whether a token is set.
    pub token_set: bool,
    /// The last delivery error and when.
    pub last_error: Option<(String, String)>,
    /// Statuses waiting.
    pub backlog: u64,
}

/// The section's data: the forge if one is set, and the forms' addresses.
pub(super) struct ForgeSection {
    /// The forge, if set.
    pub forge: Option<ForgeView>,
    /// Every kind's name, for the form's choice.
    pub kinds: Vec<&'static str>,
    /// Where the form posts.
    pub action: String,
}

/// The section of `project`'s settings page.
pub(super) async fn section(state: &AppState, project: &Project) -> WebResult<ForgeSection> {
    let forge = match state.store.project_forge(&project.id).await? {
        Some(f) => Some(ForgeView {
            kind: f.kind.as_str().to_string(),
            backlog: state.store.status_backlog(&project.id).await?,
            last_error: f
                .last_error
                .map(|e| (e, f.last_error_at.map(time).unwrap_or_default())),
            api_url: f.api_url,
            repo: f.repo,
            statuses: f.statuses,
            token_set: f.token.is_some(),
        }),
        None => None,
    };
    Ok(ForgeSection {
        forge,
        kinds: ForgeKind::ALL.iter().map(|k| k.as_str()).collect(),
        action: format!("/projects/{}/settings/forge", encode_path(&project.slug)),
    })
}

/// The forge form.
#[derive(Debug, Deserialize)]
pub struct ForgeForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    api_url: String,
    #[serde(default)]
    repo: String,
    #[serde(default)]
    token: String,
    statuses: Option<String>,
}

/// A form field, unless left empty.
fn given(field: &str) -> Option<&str> {
    Some(field.trim()).filter(|s| !s.is_empty())
}

impl ForgeForm {
    /// The form as the settings' checked input: empty fields are left as they are.
    fn input(&self) -> Result<ForgeInput, ForgeError> {
        Ok(ForgeInput {
            kind: given(&self.kind).map(parse_kind).transpose()?,
            api_url: given(&self.api_url).map(check_api_url).transpose()?,
            repo: given(&self.repo).map(check_repo).transpose()?,
            token: given(&self.token).map(check_token).transpose()?,
            statuses: Some(self.statuses.is_some()),
        })
    }
}

/// `POST /projects/{vcs}/{org}/{repo}/settings/forge` (admins).
pub async fn save(
    State(state): State<AppState>,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    CsrfForm(viewer, form): CsrfForm<ForgeForm>,
) -> WebResult<Response> {
    let project = load::project_at(&state, &viewer, (&vcs, &org, &repo)).await?;
    viewer.require_admin()?;
    let configured = configure(&state, &project, form.input()?).await?;
    let warning = configured
        .deploy_key
        .and_then(|k| k["error"].as_str().map(str::to_string));
    let page = project_settings_page(&state, &viewer, (&vcs, &org, &repo), true, warning).await?;
    Ok(page.into_response())
}

/// `POST /projects/{vcs}/{org}/{repo}/settings/forge/delete` (admins).
pub async fn delete(
    State(state): State<AppState>,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    CsrfForm(viewer, Empty {}): CsrfForm<Empty>,
) -> WebResult<Redirect> {
    let project = load::project_at(&state, &viewer, (&vcs, &org, &repo)).await?;
    viewer.require_admin()?;
    state.store.delete_project_forge(&project.id).await?;
    Ok(Redirect::to(&format!(
        "/projects/{}/settings",
        encode_path(&project.slug)
    )))
}
