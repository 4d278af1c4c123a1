//! Environment variables in the settings pages, for projects and contexts: listed by name with
//! the value masked (CircleCI's `xxxx` and last four characters), set through a write-only form
//! (a value is sealed at once and never written back into a page or a response), deleted.
//!
//! Names and values are checked, and values sealed, by the same functions as the API's. Pages
//! show the list and forms with `env_vars_partial.html`, given `vars` and `vars_action` (the
//! forms post to `{vars_action}` to set and `{vars_action}/{name}/delete` to delete).

use axum::extract::{Path, State};
use axum::response::Redirect;
use circa_store::{EnvOwner, EnvVar};
use serde::Deserialize;

use super::account::Empty;
use super::error::{WebError, WebResult};
use super::load;
use super::session::CsrfForm;
use super::url::encode_path;
use super::view::time;
use crate::api::envvars::{check_name, check_value};
use crate::error::ApiError;
use crate::secrets;
use crate::state::{AppState, now_ms};

/// A variable's row: its name, its masked value and when it last changed.
pub struct VarRow {
    /// The name.
    pub name: String,
    /// `xxxx` and the value's last four characters.
    pub masked: String,
    /// When it was last set.
    pub updated: String,
}

/// An owner's variables, masked, by name.
pub async fn masked_vars(state: &AppState, owner: &EnvOwner) -> WebResult<Vec<VarRow>> {
    let vars: Vec<EnvVar> = state.store.env_vars(owner).await?;
    let mut rows = Vec::with_capacity(vars.len());
    for var in vars {
        let value = state
            .vault
            .open_value(&var.owner, &var.name, &var.value)
            .map_err(ApiError::from)?;
        rows.push(VarRow {
            masked: secrets::masked(&value),
            updated: time(var.updated_at),
            name: var.name,
        });
    }
    Ok(rows)
}

/// The form that sets a variable: its name and its value (write-only).
#[derive(Deserialize)]
pub struct VarForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    value: String,
}

impl std::fmt::Debug for VarForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VarForm")
            .field("name", &self.name)
            .field("value", &"<redacted>")
            .finish()
    }
}

/// Checks, seals and stores a variable of `owner`.
pub async fn put_var(state: &AppState, owner: &EnvOwner, form: &VarForm) -> WebResult<()> {
    let name = form.name.trim();
    check_name("name", name)?;
    check_value(&form.value)?;
    let sealed = state
        .vault
        .seal(owner, name, &form.value)
        .map_err(ApiError::from)?;
    state
        .store
        .put_env_var(owner, name, &sealed, now_ms())
        .await?;
    Ok(())
}

/// Deletes a variable of `owner`; 404 when there is none by that name.
pub async fn delete_var(state: &AppState, owner: &EnvOwner, name: &str) -> WebResult<()> {
    if state.store.delete_env_var(owner, name).await? {
        Ok(())
    } else {
        Err(WebError::not_found("environment variable"))
    }
}

/// Where a project's settings page is, at its variables.
fn project_vars_page(slug: &str) -> Redirect {
    Redirect::to(&format!(
        "/projects/{}/settings#env-vars",
        encode_path(slug)
    ))
}

/// `POST /projects/{vcs}/{org}/{repo}/settings/env-vars`: adds or replaces a variable (admins).
pub async fn set_project_var(
    State(state): State<AppState>,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    CsrfForm(viewer, form): CsrfForm<VarForm>,
) -> WebResult<Redirect> {
    let project = load::project_at(&state, &viewer, (&vcs, &org, &repo)).await?;
    viewer.require_admin()?;
    put_var(&state, &EnvOwner::Project(project.id), &form).await?;
    Ok(project_vars_page(&project.slug))
}

/// `POST /projects/{vcs}/{org}/{repo}/settings/env-vars/{name}/delete` (admins).
pub async fn delete_project_var(
    State(state): State<AppState>,
    Path((vcs, org, repo, name)): Path<(String, String, String, String)>,
    CsrfForm(viewer, Empty {}): CsrfForm<Empty>,
) -> WebResult<Redirect> {
    let project = load::project_at(&state, &viewer, (&vcs, &org, &repo)).await?;
    viewer.require_admin()?;
    delete_var(&state, &EnvOwner::Project(project.id), &name).await?;
    Ok(project_vars_page(&project.slug))
}
