//! A project's additional SSH keys, CircleCI's API v1.1 routes on
//! `/api/v1.1/project/{vcs}/{org}/{repo}/ssh-key`: `POST` adds a private key for a hostname
//! (`{"hostname": …, "private_key": …}`; no hostname means every host), `GET` lists them
//! (hostname, MD5 fingerprint, public key), `DELETE` removes one by `fingerprint` (MD5 or
//! SHA256) and `hostname`, given in a JSON body as CircleCI's clients send them, or in the
//! query. Members list, admins add and remove; no answer ever holds a private key.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use circa_store::SshKey;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{load, render};
use crate::auth::Person;
use crate::error::{ApiError, ApiJson, ApiResult, optional_json};
use crate::secrets::ssh_keys;
use crate::state::AppState;

/// `POST …/ssh-key` body. CircleCI's clients may send a `fingerprint` too; it is derived
/// from the key here, so it is ignored.
#[derive(Debug, Deserialize)]
pub struct NewKey {
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    private_key: Option<String>,
}

/// `DELETE …/ssh-key` body or query.
#[derive(Debug, Default, Deserialize)]
pub struct WhichKey {
    #[serde(default)]
    fingerprint: Option<String>,
    #[serde(default)]
    hostname: Option<String>,
}

/// An SSH key as CircleCI lists it in a project's settings: never its private key.
pub fn render(key: &SshKey) -> Value {
    json!({
        "hostname": key.hostname,
        "fingerprint": key.md5,
        "sha256_fingerprint": key.fingerprint,
        "public_key": key.public_key,
        "created_at": render::time(key.created_at),
    })
}

/// `GET …/ssh-key`: the project's keys, oldest first.
pub async fn list(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    let keys = state.store.ssh_keys(&project.id).await?;
    Ok(Json(Value::Array(keys.iter().map(render).collect())))
}

/// `POST …/ssh-key`: 201 with the key added (admins only).
pub async fn create(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<NewKey>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    person.require_admin()?;
    let hostname = body.hostname.unwrap_or_default();
    let hostname = hostname.trim();
    ssh_keys::check_hostname(hostname)
        .map_err(|why| ApiError::bad_request(format!("hostname: {why}")))?;
    let text = body
        .private_key
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("private_key: required"))?;
    let given = ssh_keys::read_private_key(&text)
        .map_err(|why| ApiError::bad_request(format!("private_key: {why}")))?;
    let key = ssh_keys::add(
        state.store.as_ref(),
        &state.keys.vault,
        &project.id,
        hostname,
        given,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(render(&key))))
}

/// `DELETE …/ssh-key`: removes the key with `fingerprint` for `hostname` (for every hostname
/// when none is given; admins only).
pub async fn delete(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let project = load::project_at(&state, &person, &vcs, &org, &repo).await?;
    person.require_admin()?;
    let from_body: WhichKey = optional_json(&body)?;
    let from_query: WhichKey = serde_urlencoded::from_str(query.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::bad_request(format!("query: {e}")))?;
    let fingerprint = from_body
        .fingerprint
        .or(from_query.fingerprint)
        .filter(|f| !f.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("fingerprint: required"))?;
    let hostname = from_body.hostname.or(from_query.hostname);
    let gone = state
        .store
        .delete_ssh_key(
            &project.id,
            &super::checkout_keys::fingerprint(&fingerprint),
            hostname.as_deref().map(str::trim),
        )
        .await?;
    if gone == 0 {
        return Err(ApiError::not_found("SSH key"));
    }
    Ok(Json(json!({ "message": "ok" })))
}
