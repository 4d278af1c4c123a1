//! Project checkout keys, CircleCI's API v2 routes: members see the public halves and
//! fingerprints, admins make and delete keys. No answer ever holds a private key.
//!
//! Only deploy keys are made: a user key acts as a person's forge account, which this server
//! has none of, so `{"type": "user-key"}` is refused with a 400 naming `type`, as CircleCI
//! refuses it for projects whose forge offers no user keys.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use circa_store::{CheckoutKey, CheckoutKeyKind};
use serde::Deserialize;
use serde_json::{Value, json};

use super::load;
use super::render;
use crate::auth::Person;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::secrets::checkout_keys;
use crate::state::AppState;

/// `POST /api/v2/project/{slug}/checkout-key` body.
#[derive(Debug, Deserialize)]
pub struct NewKey {
    #[serde(rename = "type")]
    kind: String,
}

/// A checkout key as CircleCI shows it: the public half, and the MD5 fingerprint CircleCI
/// shows (either fingerprint finds the key).
pub fn render(key: &CheckoutKey) -> Value {
    let kind = match key.kind {
        CheckoutKeyKind::DeployKey => "deploy-key",
        CheckoutKeyKind::UserKey => "github-user-key",
    };
    json!({
        "public-key": key.public_key,
        "type": kind,
        "fingerprint": key.md5,
        "preferred": key.preferred,
        "created-at": render::time(key.created_at),
    })
}

/// A fingerprint as a client gives it, in the form the store keeps: `SHA256:…` or lower-case
/// colon hex, an `MD5:` prefix dropped, and a bare base64 SHA256 fingerprint given its prefix.
pub(crate) fn fingerprint(given: &str) -> String {
    let given = given.trim();
    let md5_like = given.len() == 47 && given.split(':').all(|h| h.len() == 2);
    match given.strip_prefix("MD5:") {
        Some(md5) => md5.to_ascii_lowercase(),
        None if md5_like => given.to_ascii_lowercase(),
        None if given.starts_with("SHA256:") => given.to_string(),
        None => format!("SHA256:{given}"),
    }
}

/// `GET /api/v2/project/{slug}/checkout-key`: the project's keys, newest first.
pub async fn list(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    let keys = state.store.checkout_keys(&project.id).await?;
    let items: Vec<Value> = keys.iter().map(render).collect();
    Ok(Json(json!({ "items": items, "next_page_token": null })))
}

/// `POST /api/v2/project/{slug}/checkout-key`: 201 with a new deploy key (admins only).
pub async fn create(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<NewKey>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    person.require_admin()?;
    match CheckoutKeyKind::parse(&body.kind) {
        Some(CheckoutKeyKind::DeployKey) => {}
        Some(CheckoutKeyKind::UserKey) => {
            return Err(ApiError::bad_request(
                "type: user-key is not available: this server makes deploy keys only",
            ));
        }
        None => {
            return Err(ApiError::bad_request(format!(
                "type: {:?} is neither deploy-key nor user-key",
                body.kind
            )));
        }
    }
    let key = checkout_keys::add(
        state.store.as_ref(),
        &state.keys.vault,
        &project.id,
        CheckoutKeyKind::DeployKey,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(render(&key))))
}

/// `GET /api/v2/project/{slug}/checkout-key/{fingerprint}` (SHA256 or MD5).
pub async fn get(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo, given)): Path<(String, String, String, String)>,
) -> ApiResult<Json<Value>> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    let key = state
        .store
        .checkout_key(&project.id, &fingerprint(&given))
        .await?
        .ok_or_else(|| ApiError::not_found("checkout key"))?;
    Ok(Json(render(&key)))
}

/// `DELETE /api/v2/project/{slug}/checkout-key/{fingerprint}` (SHA256 or MD5; admins only).
pub async fn delete(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo, given)): Path<(String, String, String, String)>,
) -> ApiResult<Json<Value>> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    person.require_admin()?;
    if !state
        .store
        .delete_checkout_key(&project.id, &fingerprint(&given))
        .await?
    {
        return Err(ApiError::not_found("checkout key"));
    }
    Ok(Json(json!({ "message": "Checkout key deleted." })))
}

#[cfg(test)]
mod tests {
    use super::fingerprint;

    #[test]
    fn a_fingerprint_is_taken_in_either_form() {
        let md5 = "f0:87:f7:2d:0a:32:26:d0:95:e6:c5:8c:56:67:28:ba";
        assert_eq!(fingerprint(md5), md5);
        assert_eq!(fingerprint(&format!("MD5:{md5}")), md5);
        assert_eq!(fingerprint(&md5.to_uppercase()), md5);
        let sha = "SHA256:nM1J5E26PTkYeOcMyjwahkOKBwVWfGQG7XzJNdEerZs";
        assert_eq!(fingerprint(sha), sha);
        assert_eq!(fingerprint(&sha[7..]), sha);
    }
}
