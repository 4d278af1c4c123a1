//! The HTTP request that sets one commit status on a forge, in that forge's words.
//!
//! Sources (see `shared/corpus/forge-apis/SOURCES.md`):
//! - GitHub: `POST /repos/{owner}/{repo}/statuses/{sha}`, states error/failure/pending/success
//!   (github/rest-api-description, `api.github.com.json`; the same path under `/api/v3` on GHES).
//! - GitLab: `POST /projects/{id}/statuses/{sha}` under `/api/v4`, states
//!   pending/running/success/failed/canceled/skipped, context in `name`
//!   (gitlabhq `doc/api/openapi/openapi_v2.yaml`).
//! - Gitea and Forgejo: `POST /repos/{owner}/{repo}/statuses/{sha}` under `/api/v1`, states
//!   pending/success/error/failure (go-gitea `templates/swagger/v1_json.tmpl` and
//!   `modules/structs/commit_status.go`).
//! - Bitbucket Cloud: `POST /repositories/{workspace}/{repo_slug}/commit/{commit}/statuses/build`
//!   under `/2.0`, states INPROGRESS/SUCCESSFUL/FAILED/STOPPED, with `key`, `name`, `url`,
//!   `description` (Atlassian's swagger as mirrored by APIs-guru/openapi-directory).

use axum::http::Method;
use serde_json::{Value, json};

use super::{ForgeKind, StatusState};
use crate::web::url::encode_component;

/// The longest description GitHub accepts on a commit status, in characters; GitHub refuses a
/// longer one. The other forges' descriptions state no limit.
const GITHUB_DESCRIPTION_LIMIT: usize = 140;

/// One commit status to report, in Circa's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitStatus<'a> {
    /// The repository: `OWNER/REPO` (Bitbucket: `WORKSPACE/REPO`); on GitLab the project's
    /// numeric id or its full path (`group/subgroup/project`).
    pub repo: &'a str,
    /// The commit's full hexadecimal id.
    pub sha: &'a str,
    /// The status context, from [`super::status_context`].
    pub context: &'a str,
    /// The job's state.
    pub state: StatusState,
    /// The link the forge shows beside the status (the job's page).
    pub target_url: &'a str,
    /// A short description; cut to the forge's limit if it has one.
    pub description: &'a str,
}

/// A request ready to send, less its authentication: the caller adds the token header.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusRequest {
    /// The HTTP method (always POST).
    pub method: Method,
    /// The full URL.
    pub url: String,
    /// Header pairs (accept, content type, API version), lower-case names.
    pub headers: Vec<(&'static str, &'static str)>,
    /// The JSON body.
    pub body: Value,
}

/// Why no request could be built for a status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatusRequestError {
    /// The API root is not an `http://` or `https://` URL.
    #[error("api_base must be an http or https URL")]
    ApiBase,
    /// The repository is not `OWNER/REPO` (GitLab: empty).
    #[error("repo `{repo}` is not a repository path for {forge:?}")]
    Repo {
        /// The forge asked for.
        forge: ForgeKind,
        /// The path given.
        repo: String,
    },
    /// The commit id is empty or not hexadecimal.
    #[error("sha must be a hexadecimal commit id")]
    Sha,
}

/// The request that sets `status` on `forge`, whose API root is `api_base` (for example
/// `https://api.github.com`, `https://HOST/api/v3`, `https://HOST/api/v4` for GitLab,
/// `https://HOST/api/v1` for Gitea, `https://api.bitbucket.org/2.0`).
pub fn status_request(
    forge: ForgeKind,
    api_base: &str,
    status: &CommitStatus<'_>,
) -> Result<StatusRequest, StatusRequestError> {
    if !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
        return Err(StatusRequestError::ApiBase);
    }
    if status.sha.is_empty() || !status.sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StatusRequestError::Sha);
    }
    let base = api_base.trim_end_matches('/');
    let sha = status.sha;
    let state = forge_state(forge, status.state);
    let request = match forge {
        ForgeKind::GitHub | ForgeKind::Gitea => {
            let (owner, repo) = owner_and_repo(forge, status.repo)?;
            let description = if forge == ForgeKind::GitHub {
                truncate_chars(status.description, GITHUB_DESCRIPTION_LIMIT)
            } else {
                status.description
            };
            StatusRequest {
                method: Method::POST,
                url: format!("{base}/repos/{owner}/{repo}/statuses/{sha}"),
                headers: headers(forge),
                body: json!({
                    "state": state,
                    "target_url": status.target_url,
                    "description": description,
                    "context": status.context,
                }),
            }
        }
        ForgeKind::GitLab => {
            if status.repo.is_empty() {
                return Err(repo_error(forge, status.repo));
            }
            let project = encode_component(status.repo);
            StatusRequest {
                method: Method::POST,
                url: format!("{base}/projects/{project}/statuses/{sha}"),
                headers: headers(forge),
                body: json!({
                    "state": state,
                    "name": status.context,
                    "target_url": status.target_url,
                    "description": status.description,
                }),
            }
        }
        ForgeKind::Bitbucket => {
            let (workspace, repo) = owner_and_repo(forge, status.repo)?;
            StatusRequest {
                method: Method::POST,
                url: format!("{base}/repositories/{workspace}/{repo}/commit/{sha}/statuses/build"),
                headers: headers(forge),
                body: json!({
                    "type": "build",
                    "key": status.context,
                    "name": status.context,
                    "state": state,
                    "url": status.target_url,
                    "description": status.description,
                }),
            }
        }
    };
    Ok(request)
}

/// The word `forge` uses for `state`. Forges without a running state show pending; forges
/// without a canceled state show error (GitHub, Gitea) or STOPPED (Bitbucket); GitLab has no
/// error state and shows failed.
pub fn forge_state(forge: ForgeKind, state: StatusState) -> &'static str {
    use StatusState::*;
    match (forge, state) {
        (ForgeKind::GitHub | ForgeKind::Gitea, Pending | Running) => "pending",
        (ForgeKind::GitHub | ForgeKind::Gitea, Success) => "success",
        (ForgeKind::GitHub | ForgeKind::Gitea, Failed) => "failure",
        (ForgeKind::GitHub | ForgeKind::Gitea, Error | Canceled) => "error",
        (ForgeKind::GitLab, Pending) => "pending",
        (ForgeKind::GitLab, Running) => "running",
        (ForgeKind::GitLab, Success) => "success",
        (ForgeKind::GitLab, Failed | Error) => "failed",
        (ForgeKind::GitLab, Canceled) => "canceled",
        (ForgeKind::Bitbucket, Pending | Running) => "INPROGRESS",
        (ForgeKind::Bitbucket, Success) => "SUCCESSFUL",
        (ForgeKind::Bitbucket, Failed | Error) => "FAILED",
        (ForgeKind::Bitbucket, Canceled) => "STOPPED",
    }
}

/// The request headers for `forge`, authentication aside.
pub(super) fn headers(forge: ForgeKind) -> Vec<(&'static str, &'static str)> {
    match forge {
        ForgeKind::GitHub => vec![
            ("accept", "application/vnd.github+json"),
            ("content-type", "application/json"),
            ("x-github-api-version", "2022-11-28"),
        ],
        ForgeKind::GitLab | ForgeKind::Gitea | ForgeKind::Bitbucket => vec![
            ("accept", "application/json"),
            ("content-type", "application/json"),
        ],
    }
}

/// `OWNER/REPO` split into its two path segments, each percent-encoded.
pub(super) fn owner_and_repo(
    forge: ForgeKind,
    repo: &str,
) -> Result<(String, String), StatusRequestError> {
    match repo.split_once('/') {
        Some((owner, name)) if !owner.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok((encode_component(owner), encode_component(name)))
        }
        _ => Err(repo_error(forge, repo)),
    }
}

pub(super) fn repo_error(forge: ForgeKind, repo: &str) -> StatusRequestError {
    StatusRequestError::Repo {
        forge,
        repo: repo.to_string(),
    }
}

/// `text` cut to at most `limit` characters, on a character boundary.
fn truncate_chars(text: &str, limit: usize) -> &str {
    match text.char_indices().nth(limit) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
mod tests;
