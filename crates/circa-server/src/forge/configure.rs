//! Setting a project's forge, for the API and the settings page alike: the checked input
//! merged over the current settings (the token sealed), stored, and — with a new token — the
//! project's checkout key added to the repository as a read-only deploy key.

use std::time::Duration;

use circa_store::{Project, ProjectForge};
use serde_json::{Value, json};

use super::deploy_key_request;
use super::send::{Sent, send_json};
use super::settings::{FieldError, ForgeInput, check_repo_for, default_api_url};
use crate::secrets::{SecretError, forge_tokens};
use crate::state::{AppState, now_ms};

/// The title of the deploy key Circa adds.
const DEPLOY_KEY_TITLE: &str = "Circa checkout key";

/// How long adding the deploy key may take.
const DEPLOY_KEY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a forge could not be set.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForgeError {
    /// A field is wrong (a 400 naming it).
    #[error(transparent)]
    Field(#[from] FieldError),
    /// The token could not be sealed.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The store.
    #[error(transparent)]
    Store(#[from] circa_store::StoreError),
}

/// What setting a forge did: the settings stored, and the deploy key's outcome when a new
/// token was given (`{added: true}` or `{added: false, error}`).
pub struct Configured {
    /// The settings now.
    pub forge: ProjectForge,
    /// The deploy key's outcome.
    pub deploy_key: Option<Value>,
}

/// Sets `project`'s forge from `input`.
pub async fn configure(
    state: &AppState,
    project: &Project,
    input: ForgeInput,
) -> Result<Configured, ForgeError> {
    let new_token = input.token.clone();
    let current = state.store.project_forge(&project.id).await?;
    let forge = merge(state, project, current, input)?;
    let saved = state.store.set_project_forge(forge).await?;
    let deploy_key = match new_token {
        Some(token) => Some(add_deploy_key(state, &saved, &token).await?),
        None => None,
    };
    let forge = state
        .store
        .project_forge(&project.id)
        .await?
        .unwrap_or(saved);
    Ok(Configured { forge, deploy_key })
}

/// The settings `input` makes of `current` (or of a new forge's defaults).
fn merge(
    state: &AppState,
    project: &Project,
    current: Option<ProjectForge>,
    input: ForgeInput,
) -> Result<ProjectForge, ForgeError> {
    let kind = input
        .kind
        .or(current.as_ref().map(|f| f.kind))
        .ok_or_else(|| FieldError {
            field: "kind",
            message: "is required to set a forge".into(),
        })?;
    let same_kind = current.as_ref().is_some_and(|f| f.kind == kind);
    let api_url = match (input.api_url, &current) {
        (Some(url), _) => url,
        (None, Some(f)) if same_kind => f.api_url.clone(),
        (None, _) => default_api_url(kind)?,
    };
    let repo = input
        .repo
        .or(current.as_ref().map(|f| f.repo.clone()))
        .unwrap_or_else(|| default_repo(&project.slug));
    check_repo_for(kind, &repo)?;
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

/// Adds the project's preferred checkout key to its repository on `forge` as a read-only
/// deploy key, with `token`; a failure is also recorded as the forge's last error (not fatal:
/// the settings are kept).
async fn add_deploy_key(
    state: &AppState,
    forge: &ProjectForge,
    token: &str,
) -> Result<Value, ForgeError> {
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
            .timeout(DEPLOY_KEY_TIMEOUT)
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
