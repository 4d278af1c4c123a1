//! A project's additional SSH keys on its settings page (admins): listed by hostname and
//! fingerprint, added through a write-only form (the private key is read, sealed at once and
//! never written back into a page), removed one hostname entry at a time. Keys are read and
//! stored by the same functions as the API's.

use axum::extract::{Path, State};
use axum::response::Redirect;
use circa_store::ProjectId;
use serde::Deserialize;

use super::error::{WebError, WebResult};
use super::load;
use super::session::CsrfForm;
use super::url::encode_path;
use super::view::time;
use crate::error::ApiError;
use crate::secrets::ssh_keys;
use crate::state::AppState;

/// A key's row on the page.
pub struct SshKeyRow {
    /// The host, empty for every host.
    pub hostname: String,
    /// The MD5 fingerprint, as CircleCI shows it.
    pub md5: String,
    /// The SHA256 fingerprint (the delete form names the key by it).
    pub sha256: String,
    /// When it was added.
    pub added: String,
}

/// A project's keys, oldest first.
pub async fn rows(state: &AppState, project_id: &ProjectId) -> WebResult<Vec<SshKeyRow>> {
    let keys = state.store.ssh_keys(project_id).await?;
    Ok(keys
        .into_iter()
        .map(|k| SshKeyRow {
            hostname: k.hostname,
            md5: k.md5,
            sha256: k.fingerprint,
            added: time(k.created_at),
        })
        .collect())
}

/// The form that adds a key: a hostname (empty: every host) and the private key (write-only).
#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    hostname: String,
    #[serde(default)]
    private_key: String,
}

impl std::fmt::Debug for AddForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddForm")
            .field("hostname", &self.hostname)
            .field("private_key", &"<redacted>")
            .finish()
    }
}

/// The form that removes one hostname's entry of a key.
#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    fingerprint: String,
    #[serde(default)]
    hostname: String,
}

/// Where a project's settings page is, at its SSH keys.
fn keys_page(slug: &str) -> Redirect {
    Redirect::to(&format!(
        "/projects/{}/settings#ssh-keys",
        encode_path(slug)
    ))
}

/// `POST /projects/{vcs}/{org}/{repo}/settings/ssh-keys`: adds a key (admins).
pub async fn add(
    State(state): State<AppState>,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    CsrfForm(viewer, form): CsrfForm<AddForm>,
) -> WebResult<Redirect> {
    let project = load::project_at(&state, &viewer, (&vcs, &org, &repo)).await?;
    viewer.require_admin()?;
    let hostname = form.hostname.trim();
    ssh_keys::check_hostname(hostname)
        .map_err(|why| WebError::bad_request(format!("hostname: {why}")))?;
    if form.private_key.trim().is_empty() {
        return Err(WebError::bad_request("private_key: required"));
    }
    let given = ssh_keys::read_private_key(&form.private_key)
        .map_err(|why| WebError::bad_request(format!("private_key: {why}")))?;
    ssh_keys::add(
        state.store.as_ref(),
        &state.keys.vault,
        &project.id,
        hostname,
        given,
    )
    .await
    .map_err(ApiError::from)?;
    Ok(keys_page(&project.slug))
}

/// `POST /projects/{vcs}/{org}/{repo}/settings/ssh-keys/delete` (admins).
pub async fn delete(
    State(state): State<AppState>,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    CsrfForm(viewer, form): CsrfForm<DeleteForm>,
) -> WebResult<Redirect> {
    let project = load::project_at(&state, &viewer, (&vcs, &org, &repo)).await?;
    viewer.require_admin()?;
    let gone = state
        .store
        .delete_ssh_key(&project.id, form.fingerprint.trim(), Some(&form.hostname))
        .await?;
    if gone == 0 {
        return Err(WebError::not_found("SSH key"));
    }
    Ok(keys_page(&project.slug))
}
