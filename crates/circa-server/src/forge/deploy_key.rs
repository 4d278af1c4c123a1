//! The request that adds a project's checkout key to its repository as a read-only deploy key,
//! in each forge's words (pure, like [`super::status_request`]; the caller adds the token).
//!
//! Sources (see `shared/corpus/forge-apis/SOURCES.md`):
//! - GitHub: `POST /repos/{owner}/{repo}/keys` `{title, key, read_only}`.
//! - GitLab: `POST /projects/{id}/deploy_keys` `{title, key, can_push}`.
//! - Gitea and Forgejo: `POST /repos/{owner}/{repo}/keys` `{title, key, read_only}`.
//! - Bitbucket Cloud: `POST /repositories/{workspace}/{repo_slug}/deploy-keys` `{key, label}`
//!   (upstream gives no body schema; the extract's observed body). Bitbucket's deploy keys are
//!   read-only.

use axum::http::Method;
use serde_json::json;

use super::status::{headers, owner_and_repo, repo_error};
use super::{ForgeKind, StatusRequest, StatusRequestError};
use crate::web::url::encode_component;

/// The request that adds `public_key` (one OpenSSH line) to `repo` on `forge` as a read-only
/// deploy key named `title`.
pub fn deploy_key_request(
    forge: ForgeKind,
    api_base: &str,
    repo: &str,
    title: &str,
    public_key: &str,
) -> Result<StatusRequest, StatusRequestError> {
    if !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
        return Err(StatusRequestError::ApiBase);
    }
    let base = api_base.trim_end_matches('/');
    let (url, body) = match forge {
        ForgeKind::GitHub | ForgeKind::Gitea => {
            let (owner, name) = owner_and_repo(forge, repo)?;
            (
                format!("{base}/repos/{owner}/{name}/keys"),
                json!({ "title": title, "key": public_key, "read_only": true }),
            )
        }
        ForgeKind::GitLab => {
            if repo.is_empty() {
                return Err(repo_error(forge, repo));
            }
            (
                format!("{base}/projects/{}/deploy_keys", encode_component(repo)),
                json!({ "title": title, "key": public_key, "can_push": false }),
            )
        }
        ForgeKind::Bitbucket => {
            let (workspace, name) = owner_and_repo(forge, repo)?;
            (
                format!("{base}/repositories/{workspace}/{name}/deploy-keys"),
                json!({ "key": public_key, "label": title }),
            )
        }
    };
    Ok(StatusRequest {
        method: Method::POST,
        url,
        headers: headers(forge),
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_forge_adds_a_read_only_key() {
        let key = "ssh-ed25519 AAAA circa-checkout-key";
        let gh = deploy_key_request(
            ForgeKind::GitHub,
            "https://ghe/api/v3/",
            "o/r",
            "Circa",
            key,
        )
        .unwrap();
        assert_eq!(gh.url, "https://ghe/api/v3/repos/o/r/keys");
        assert_eq!(gh.body["read_only"], true);
        let gl = deploy_key_request(
            ForgeKind::GitLab,
            "https://gl/api/v4",
            "g/s/p",
            "Circa",
            key,
        )
        .unwrap();
        assert_eq!(gl.url, "https://gl/api/v4/projects/g%2Fs%2Fp/deploy_keys");
        assert_eq!(gl.body["can_push"], false);
        let bb = deploy_key_request(
            ForgeKind::Bitbucket,
            "https://api.bitbucket.org/2.0",
            "w/r",
            "Circa",
            key,
        )
        .unwrap();
        assert_eq!(
            bb.url,
            "https://api.bitbucket.org/2.0/repositories/w/r/deploy-keys"
        );
        assert_eq!(bb.body["label"], "Circa");
        assert!(deploy_key_request(ForgeKind::Gitea, "ftp://x", "o/r", "t", key).is_err());
        assert!(deploy_key_request(ForgeKind::Gitea, "https://x", "o", "t", key).is_err());
    }
}
