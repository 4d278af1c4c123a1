//! What a fetch of a project's repository needs, opened from the store: the checkout key to
//! offer an SSH remote, the host keys to check it against, and the token (with its user
//! name) to give an HTTPS remote. The server's mirror fetch and a claimed job's `checkout`
//! both read it here; the token is sealed like a variable's value, under [`TOKEN_NAME`].

use std::collections::HashMap;

use circa_exec::git_access::{is_http, is_ssh};
use circa_model::StepAction;
use circa_model::protocol::{GitAccess, TaskAssignment};
use circa_store::{CheckoutKey, CheckoutKeyKind, EnvOwner, Job, Project, ProjectId, RepoToken};

use super::{SecretError, Vault, checkout_keys};
use crate::state::{AppState, now_ms};

/// The name a project's HTTPS token is sealed under (no variable name has a `-`, so it can
/// never be opened as a variable's value).
pub const TOKEN_NAME: &str = "repo-token";

/// A project's access, opened, and the fingerprint of the key in it.
pub struct Opened {
    /// What git is given.
    pub access: GitAccess,
    /// The SHA256 fingerprint of the checkout key offered, if any.
    pub fingerprint: Option<String>,
}

/// The key a fetch offers: a user key before a deploy key (a user key reaches every
/// repository its user can, as CircleCI prefers it), the preferred one first within a kind.
/// A fork's pull request (`user_keys` false) gets only a deploy key: a user key may write.
pub fn pick_key(keys: &[CheckoutKey], user_keys: bool) -> Option<&CheckoutKey> {
    keys.iter()
        .filter(|k| user_keys || k.kind == CheckoutKeyKind::DeployKey)
        .min_by_key(|k| (k.kind != CheckoutKeyKind::UserKey, !k.preferred))
}

/// Opens what a fetch of `project`'s repository needs: a key and host keys for an SSH
/// remote, the token for an HTTPS one, nothing for any other. For a fork's pull request
/// (`user_keys` false) no user key, and the token only when the project passes secrets to
/// forks: a token, like a user key, usually may write.
pub async fn open(
    state: &AppState,
    project: &Project,
    user_keys: bool,
) -> Result<Opened, SecretError> {
    let store = state.store.as_ref();
    let vault = &state.keys.vault;
    let owner = EnvOwner::Project(project.id.clone());
    let mut opened = Opened {
        access: GitAccess::default(),
        fingerprint: None,
    };
    let url = project.repo_url.as_str();
    if is_ssh(url) {
        let keys = store.checkout_keys(&project.id).await?;
        if let Some(key) = pick_key(&keys, user_keys) {
            let name = checkout_keys::sealed_name(&key.fingerprint);
            let pem = vault.open_value(&owner, &name, &key.private_key)?;
            opened.access.ssh_private_key = Some(pem.to_string());
            opened.fingerprint = Some(key.fingerprint.clone());
        }
        opened.access.known_hosts = store.git_access(&project.id).await?.known_hosts;
    } else if is_http(url)
        && (user_keys || project.settings.forks_receive_secret_env_vars)
        && let Some(token) = store.git_access(&project.id).await?.repo_token
    {
        let value = vault.open_value(&owner, TOKEN_NAME, &token.token)?;
        opened.access.https_user = Some(token.user);
        opened.access.https_token = Some(value.to_string());
    }
    Ok(opened)
}

/// Seals and stores a project's HTTPS token (or removes it with `None`).
pub async fn set_token(
    state: &AppState,
    project_id: &ProjectId,
    token: Option<(&str, &str)>,
) -> Result<(), SecretError> {
    let sealed = match token {
        Some((user, value)) => Some(RepoToken {
            user: user.to_string(),
            token: seal_token(&state.keys.vault, project_id, value)?,
        }),
        None => None,
    };
    state
        .store
        .set_repo_token(project_id, sealed.as_ref(), now_ms())
        .await?;
    Ok(())
}

fn seal_token(
    vault: &Vault,
    project_id: &ProjectId,
    value: &str,
) -> Result<circa_store::SealedValue, SecretError> {
    vault.seal(&EnvOwner::Project(project_id.clone()), TOKEN_NAME, value)
}

/// Access opened while handing out one claim's tasks, by project and whether a fork's pull
/// request is built: a batch of one project's tasks opens it once.
#[derive(Default)]
pub struct ClaimAccess(HashMap<(ProjectId, bool), Option<GitAccess>>);

/// Gives `assignment` what its `checkout` needs, when it has one and the project has
/// something to give; every private value also goes into the values output masks.
pub async fn fill(
    state: &AppState,
    job: &Job,
    assignment: &mut TaskAssignment,
    read: &mut ClaimAccess,
) -> Result<(), SecretError> {
    let checks_out = assignment
        .spec
        .steps
        .iter()
        .any(|s| matches!(s.action, StepAction::Checkout { .. }));
    let url = assignment.vcs.repository_url.as_str();
    if !checks_out || !(is_ssh(url) || is_http(url)) {
        return Ok(());
    }
    let store = state.store.as_ref();
    let from_fork = store
        .pipeline(&job.pipeline_id)
        .await?
        .ok_or(SecretError::NotFound("pipeline"))?
        .trigger
        .from_fork;
    let cache_key = (job.project_id.clone(), from_fork);
    let access = match read.0.get(&cache_key) {
        Some(access) => access.clone(),
        None => {
            let project = store
                .project(&job.project_id)
                .await?
                .ok_or(SecretError::NotFound("project"))?;
            let opened = open(state, &project, !from_fork).await?;
            let given = opened.access != GitAccess::default();
            let access = given.then_some(opened.access);
            read.0.insert(cache_key, access.clone());
            access
        }
    };
    if let Some(access) = access {
        let private = [&access.ssh_private_key, &access.https_token];
        assignment
            .secrets
            .extend(private.into_iter().flatten().cloned());
        assignment.git_access = Some(access);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use circa_store::SealedValue;

    fn key(n: u8, kind: CheckoutKeyKind, preferred: bool) -> CheckoutKey {
        CheckoutKey {
            project_id: "p".into(),
            fingerprint: format!("SHA256:{n}"),
            md5: String::new(),
            public_key: String::new(),
            private_key: SealedValue {
                key_id: "k".into(),
                sealed: String::new(),
            },
            kind,
            preferred,
            created_at: i64::from(n),
        }
    }

    #[test]
    fn a_user_key_is_offered_first_but_never_to_a_fork() {
        let keys = [
            key(1, CheckoutKeyKind::DeployKey, false),
            key(2, CheckoutKeyKind::DeployKey, true),
            key(3, CheckoutKeyKind::UserKey, false),
        ];
        let fp = |k: Option<&CheckoutKey>| k.map(|k| k.fingerprint.clone());
        assert_eq!(fp(pick_key(&keys, true)), Some("SHA256:3".into()));
        assert_eq!(fp(pick_key(&keys, false)), Some("SHA256:2".into()));
        assert_eq!(fp(pick_key(&keys[2..], false)), None);
        assert_eq!(fp(pick_key(&[], true)), None);
    }
}
