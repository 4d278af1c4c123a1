//! Checkout keys on a project's settings page: each key's type, fingerprints and public half
//! (to paste into the forge as a deploy key), a form that makes a new deploy key and one that
//! deletes a key. The private halves never reach a page.
//!
//! Keys are made by the same function as the API's; the forms post by MD5 fingerprint (hex and
//! colons, safe in a path, unlike a SHA256 fingerprint's base64).

use axum::extract::{Path, State};
use axum::response::Redirect;
use circa_store::{CheckoutKey, CheckoutKeyKind, ProjectId};

use super::account::Empty;
use super::error::{WebError, WebResult};
use super::load;
use super::session::CsrfForm;
use super::url::encode_path;
use super::view::time;
use crate::error::ApiError;
use crate::secrets::checkout_keys;
use crate::state::AppState;

/// A checkout key's row.
pub struct KeyRow {
    /// `deploy key` or `user key`.
    pub kind: &'static str,
    /// `SHA256:…`.
    pub sha256: String,
    /// Colon-separated hex.
    pub md5: String,
    /// The OpenSSH public key line.
    pub public_key: String,
    /// Whether fetches use this key.
    pub preferred: bool,
    /// When it was made.
    pub created: String,
}

fn row(key: CheckoutKey) -> KeyRow {
    KeyRow {
        kind: match key.kind {
            CheckoutKeyKind::DeployKey => "deploy key",
            CheckoutKeyKind::UserKey => "user key",
        },
        created: time(key.created_at),
        preferred: key.preferred,
        sha256: key.fingerprint,
        md5: key.md5,
        public_key: key.public_key,
    }
}

/// A project's checkout keys, newest first.
pub async fn key_rows(state: &AppState, project_id: &ProjectId) -> WebResult<Vec<KeyRow>> {
    let keys = state.store.checkout_keys(project_id).await?;
    Ok(keys.into_iter().map(row).collect())
}

/// Where a project's settings page is, at its checkout keys.
fn keys_section(slug: &str) -> Redirect {
    Redirect::to(&format!(
        "/projects/{}/settings#checkout-keys",
        encode_path(slug)
    ))
}

/// `POST /projects/{vcs}/{org}/{repo}/settings/checkout-keys`: a new deploy key (admins).
pub async fn add(
    State(state): State<AppState>,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    CsrfForm(viewer, Empty {}): CsrfForm<Empty>,
) -> WebResult<Redirect> {
    let project = load::project_at(&state, &viewer, (&vcs, &org, &repo)).await?;
    viewer.require_admin()?;
    checkout_keys::add(
        state.store.as_ref(),
        &state.keys.vault,
        &project.id,
        CheckoutKeyKind::DeployKey,
    )
    .await
    .map_err(ApiError::from)?;
    Ok(keys_section(&project.slug))
}

/// `POST /projects/{vcs}/{org}/{repo}/settings/checkout-keys/{md5}/delete` (admins); 404 when
/// the project has no such key.
pub async fn delete(
    State(state): State<AppState>,
    Path((vcs, org, repo, md5)): Path<(String, String, String, String)>,
    CsrfForm(viewer, Empty {}): CsrfForm<Empty>,
) -> WebResult<Redirect> {
    let project = load::project_at(&state, &viewer, (&vcs, &org, &repo)).await?;
    viewer.require_admin()?;
    let md5 = md5.to_ascii_lowercase();
    if !state.store.delete_checkout_key(&project.id, &md5).await? {
        return Err(WebError::not_found("checkout key"));
    }
    Ok(keys_section(&project.slug))
}
