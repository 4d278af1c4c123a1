//! A project's mirror brought up to date with the project's own credentials: its checkout
//! key for an SSH remote, checked against its recorded host keys, or its token for an HTTPS
//! remote (see [`crate::secrets::git_access`] and [`circa_exec::git_access`]).
//!
//! The first fetch of an SSH remote with no recorded host keys accepts the server's key and
//! records it (`accept-new`, then read back and stored); every later fetch checks strictly.
//! A refusal is told apart from other git failures, and its message says what to do.

use std::path::PathBuf;

use circa_exec::git_access::{GitAuth, HostKeys, Refusal, classify, is_http, is_ssh};
use circa_store::Project;

use crate::secrets::SecretError;
use crate::secrets::git_access::open;
use crate::state::{AppState, now_ms};
use crate::vcs::VcsError;

/// Why a project's repository could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Git failed for another reason (or timed out, or was stopped).
    #[error(transparent)]
    Git(#[from] VcsError),
    /// The SSH server's host key is not the one recorded.
    #[error(
        "the SSH host key of {url} changed since it was recorded, so the fetch was refused; \
         if the change is expected, an admin gives the new key with PUT \
         /api/circa/projects/{slug}/known-hosts ({{\"known_hosts\": \"LINES\"}}, as \
         ssh-keyscan prints them)"
    )]
    HostKeyChanged {
        /// The repository.
        url: String,
        /// The project.
        slug: String,
    },
    /// None of the recorded host keys is the SSH server's.
    #[error(
        "the SSH host key of {url} is not among the project's known hosts; an admin gives it \
         with PUT /api/circa/projects/{slug}/known-hosts"
    )]
    HostKeyUnknown {
        /// The repository.
        url: String,
        /// The project.
        slug: String,
    },
    /// The forge refused the checkout key.
    #[error(
        "the forge refused checkout key {fingerprint} — add its public key as a deploy key \
         (GET /api/v2/project/{slug}/checkout-key shows it)"
    )]
    KeyRefused {
        /// The key's SHA256 fingerprint.
        fingerprint: String,
        /// The project.
        slug: String,
    },
    /// The forge refused, and the project has no checkout key to offer.
    #[error(
        "the forge refused the fetch and the project has no checkout key — make one with \
         POST /api/v2/project/{slug}/checkout-key and add its public key as a deploy key"
    )]
    NoCheckoutKey {
        /// The project.
        slug: String,
    },
    /// An HTTPS remote asked for credentials the project does not have.
    #[error(
        "the repository asked for credentials; give the project a token with \
         PUT /api/circa/projects/{slug}/repo-token (or circa project add … --repo-token-file FILE)"
    )]
    CredentialsNeeded {
        /// The project.
        slug: String,
    },
    /// An HTTPS remote refused the project's token.
    #[error(
        "the repository refused the project's token (user {user}); replace it with \
         PUT /api/circa/projects/{slug}/repo-token"
    )]
    TokenRefused {
        /// The user name given with the token.
        user: String,
        /// The project.
        slug: String,
    },
    /// The project's credentials could not be opened (a fault inside).
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The credentials could not be written for git (a fault inside).
    #[error("the fetch's credentials could not be written: {0}")]
    Scratch(std::io::Error),
}

impl FetchError {
    /// Whether the fault is inside the server (never shown to a client) rather than the
    /// repository's or the project's settings.
    pub fn is_internal(&self) -> bool {
        matches!(self, FetchError::Secret(_) | FetchError::Scratch(_))
    }
}

/// Brings `project`'s mirror up to date with its credentials; records the SSH server's host
/// key when the project had none.
pub async fn fetch_mirror(state: &AppState, project: &Project) -> Result<PathBuf, FetchError> {
    let url = project.repo_url.as_str();
    if !is_ssh(url) && !is_http(url) {
        return Ok(state.vcs.fetch(&project.id, url, None).await?);
    }
    let opened = open(state, project, true).await?;
    let host_keys = if is_ssh(url) && opened.access.known_hosts.is_empty() {
        HostKeys::AcceptNew
    } else {
        HostKeys::Strict
    };
    let auth = GitAuth::prepare(Some(&state.vcs.scratch()), &opened.access, host_keys)
        .map_err(FetchError::Scratch)?;
    match state.vcs.fetch(&project.id, url, Some(&auth)).await {
        Ok(path) => {
            if host_keys == HostKeys::AcceptNew {
                let seen = auth.known_hosts().map_err(FetchError::Scratch)?;
                if !seen.is_empty() {
                    state
                        .store
                        .record_known_hosts(&project.id, &seen, now_ms())
                        .await
                        .map_err(SecretError::from)?;
                }
            }
            Ok(path)
        }
        Err(VcsError::Git { action, stderr }) => Err(match classify(&stderr) {
            Some(refusal) => refused(
                refusal,
                project,
                opened.fingerprint,
                opened.access.https_user,
            ),
            None => FetchError::Git(VcsError::Git { action, stderr }),
        }),
        Err(e) => Err(e.into()),
    }
}

/// The error a refusal is, with what the project holds.
fn refused(
    refusal: Refusal,
    project: &Project,
    fingerprint: Option<String>,
    user: Option<String>,
) -> FetchError {
    let slug = project.slug.clone();
    let url = project.repo_url.clone();
    match (refusal, fingerprint, user) {
        (Refusal::HostKeyChanged, _, _) => FetchError::HostKeyChanged { url, slug },
        (Refusal::HostKeyUnknown, _, _) => FetchError::HostKeyUnknown { url, slug },
        (Refusal::KeyRefused, Some(fingerprint), _) => FetchError::KeyRefused { fingerprint, slug },
        (Refusal::KeyRefused, None, _) => FetchError::NoCheckoutKey { slug },
        (Refusal::CredentialsRefused, _, Some(user)) => FetchError::TokenRefused { user, slug },
        (Refusal::CredentialsNeeded | Refusal::CredentialsRefused, _, _) => {
            FetchError::CredentialsNeeded { slug }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> Project {
        Project {
            id: "p1".into(),
            slug: "gh/acme/app".into(),
            repo_url: "ssh://git@example.com/acme/app.git".into(),
            default_branch: "main".into(),
            webhook_secret: String::new(),
            settings: Default::default(),
            created_at: 0,
        }
    }

    #[test]
    fn a_refusal_names_the_key_or_says_there_is_none() {
        let p = project();
        let fp = Some("SHA256:abc".to_string());
        let text = refused(Refusal::KeyRefused, &p, fp, None).to_string();
        assert!(
            text.starts_with(
                "the forge refused checkout key SHA256:abc — add its public key as a deploy key"
            ),
            "{text}"
        );
        let text = refused(Refusal::KeyRefused, &p, None, None).to_string();
        assert!(text.contains("has no checkout key"), "{text}");
        let text = refused(Refusal::HostKeyChanged, &p, None, None).to_string();
        assert!(
            text.contains("host key of ssh://git@example.com/acme/app.git changed"),
            "{text}"
        );
        assert!(
            text.contains("PUT /api/circa/projects/gh/acme/app/known-hosts"),
            "{text}"
        );
        let text = refused(Refusal::CredentialsNeeded, &p, None, None).to_string();
        assert!(
            text.starts_with("the repository asked for credentials; give the project a token"),
            "{text}"
        );
        let text = refused(
            Refusal::CredentialsRefused,
            &p,
            None,
            Some("x-token-auth".into()),
        );
        assert!(matches!(text, FetchError::TokenRefused { .. }));
        assert!(!FetchError::NoCheckoutKey { slug: "s".into() }.is_internal());
    }
}
