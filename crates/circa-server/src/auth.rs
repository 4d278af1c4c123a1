//! Tokens: made at random, stored as SHA-256 hashes, read from `Authorization: Bearer`,
//! `Circle-Token`, HTTP Basic (token as user name) or `?circle-token=`.

use axum::http::HeaderMap;
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use circa_store::{Task, Token, TokenKind};

/// A new random token: `PREFIX` followed by 43 URL-safe characters (256 bits).
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// SHA-256 of a token, hex: what the store keeps.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether two hashes are equal, in constant time.
pub fn same_hash(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// The token a request carries, if any.
pub fn token_of(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(value) = headers.get("circle-token").and_then(|v| v.to_str().ok()) {
        return Some(value.trim().to_string());
    }
    if let Some(value) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let value = value.trim();
        if let Some(token) = value.strip_prefix("Bearer ") {
            return Some(token.trim().to_string());
        }
        if let Some(basic) = value.strip_prefix("Basic ") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(basic.trim())
                .ok()?;
            let text = String::from_utf8(decoded).ok()?;
            let user = text.split(':').next().unwrap_or_default();
            return (!user.is_empty()).then(|| user.to_string());
        }
    }
    let query = query?;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "circle-token").then(|| v.to_string())
    })
}

/// The stored token a request carries, if it is known and not revoked.
pub async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> ApiResult<Token> {
    let token = token_of(headers, query).ok_or_else(ApiError::unauthorized)?;
    let stored = state
        .store
        .token_by_hash(&hash_token(&token))
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    if stored.revoked {
        return Err(ApiError::unauthorized());
    }
    Ok(stored)
}

/// A person's token (admin or user): what the client API requires.
pub async fn user(state: &AppState, headers: &HeaderMap, query: Option<&str>) -> ApiResult<Token> {
    let token = caller(state, headers, query).await?;
    match token.kind {
        TokenKind::Admin | TokenKind::User => Ok(token),
        TokenKind::Runner => Err(ApiError::forbidden("a runner token cannot use this route")),
    }
}

/// An admin token.
pub async fn admin(state: &AppState, headers: &HeaderMap) -> ApiResult<Token> {
    let token = caller(state, headers, None).await?;
    match token.kind {
        TokenKind::Admin => Ok(token),
        _ => Err(ApiError::forbidden("only an admin token may do this")),
    }
}

/// A runner token: its resource class.
pub async fn runner(state: &AppState, headers: &HeaderMap) -> ApiResult<(Token, String)> {
    let token = caller(state, headers, None).await?;
    match (&token.kind, &token.resource_class) {
        (TokenKind::Runner, Some(class)) => {
            let class = class.clone();
            Ok((token, class))
        }
        _ => Err(ApiError::forbidden("only a runner token may claim tasks")),
    }
}

/// The task a task token belongs to; 401 for any other token, 404 for an unknown task.
pub async fn task(state: &AppState, headers: &HeaderMap, task_id: &str) -> ApiResult<Task> {
    let token = token_of(headers, None).ok_or_else(ApiError::unauthorized)?;
    let task = state
        .store
        .task(task_id)
        .await?
        .ok_or_else(|| ApiError::not_found("task"))?;
    let hash = hash_token(&token);
    match &task.token_hash {
        Some(expected) if same_hash(expected, &hash) => Ok(task),
        _ => Err(ApiError::unauthorized()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tokens_are_long_random_and_prefixed() {
        let a = new_token("circa_");
        let b = new_token("circa_");
        assert!(a.starts_with("circa_") && a.len() == 6 + 43);
        assert_ne!(a, b);
        assert_eq!(hash_token(&a).len(), 64);
    }

    #[test]
    fn a_token_is_read_from_every_place_circleci_accepts() {
        let mut h = HeaderMap::new();
        h.insert("circle-token", "t1".parse().unwrap());
        assert_eq!(token_of(&h, None).as_deref(), Some("t1"));
        let mut h = HeaderMap::new();
        h.insert("authorization", "Bearer t2".parse().unwrap());
        assert_eq!(token_of(&h, None).as_deref(), Some("t2"));
        let mut h = HeaderMap::new();
        let basic = base64::engine::general_purpose::STANDARD.encode("t3:");
        h.insert("authorization", format!("Basic {basic}").parse().unwrap());
        assert_eq!(token_of(&h, None).as_deref(), Some("t3"));
        assert_eq!(
            token_of(&HeaderMap::new(), Some("a=1&circle-token=t4")).as_deref(),
            Some("t4")
        );
        assert_eq!(token_of(&HeaderMap::new(), None), None);
    }
}
