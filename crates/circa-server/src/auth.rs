//! Tokens: made at random, stored as SHA-256 hashes, read from `Authorization: Bearer`,
//! `Circle-Token`, HTTP Basic (token as user name) or `?circle-token=`.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use base64::Engine as _;
use circa_store::{Project, Task, TaskId, TaskState, Token, TokenKind, TokenOwner, User};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{ApiError, ApiResult};
use crate::runner_error::{RunnerApiError, RunnerResult};
use crate::state::AppState;

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

/// The stored token a request carries, if it is known and not revoked, with its user (one
/// query, or none while the store's token cache holds it).
async fn token_and_user(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> ApiResult<TokenOwner> {
    let token = token_of(headers, query).ok_or_else(ApiError::unauthorized)?;
    let owner = state
        .store
        .token_with_user(&hash_token(&token))
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    if owner.token.revoked {
        return Err(ApiError::unauthorized());
    }
    Ok(owner)
}

/// The stored token a request carries, if it is known and not revoked.
pub async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> ApiResult<Token> {
    Ok(token_and_user(state, headers, query).await?.token)
}

/// A person calling the client API with a personal token, and the user it acts as.
#[derive(Clone, Debug)]
pub struct Person {
    /// The token used.
    pub token: Token,
    /// Its user.
    pub user: User,
}

impl Person {
    /// Whether the user administers the server.
    pub fn is_admin(&self) -> bool {
        self.user.admin
    }

    /// The user's login: what pipelines and approvals record as the actor.
    pub fn login(&self) -> &str {
        &self.user.login
    }

    /// 403 unless the user is an admin.
    pub fn require_admin(&self) -> ApiResult<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::forbidden("only an admin may do this"))
        }
    }

    /// Whether the user may see a project: admins see all, others the projects they are
    /// members of.
    pub async fn can_see(&self, state: &AppState, project: &Project) -> ApiResult<bool> {
        crate::load::can_see(state, &self.user, project).await
    }

    /// The project, or 404 (as CircleCI answers) when the user may not see it.
    pub async fn visible(&self, state: &AppState, project: Project) -> ApiResult<Project> {
        crate::load::visible(state, &self.user, project).await
    }
}

/// The person a request's token acts as: 401 for no, unknown or revoked tokens, 403 for
/// runner and task tokens.
pub async fn user(state: &AppState, headers: &HeaderMap, query: Option<&str>) -> ApiResult<Person> {
    let TokenOwner { token, user } = token_and_user(state, headers, query).await?;
    if token.kind == TokenKind::Runner {
        return Err(ApiError::forbidden("a runner token cannot use this route"));
    }
    let user = user.ok_or_else(ApiError::unauthorized)?;
    Ok(Person { token, user })
}

impl FromRequestParts<AppState> for Person {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        user(state, &parts.headers, parts.uri.query()).await
    }
}

/// A runner calling the runner API: its token, which is a runner token, and the resource
/// class that token serves. 401 for no, unknown or revoked tokens, 403 for other tokens.
#[derive(Clone, Debug)]
pub struct RunnerAuth {
    /// The runner token used.
    pub token: Token,
    /// The resource class it claims for.
    pub resource_class: String,
}

impl FromRequestParts<AppState> for RunnerAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let token = caller(state, &parts.headers, None).await?;
        match (&token.kind, token.resource_class.clone()) {
            (TokenKind::Runner, Some(resource_class)) => Ok(RunnerAuth {
                token,
                resource_class,
            }),
            _ => Err(ApiError::forbidden("only a runner token may claim tasks")),
        }
    }
}

/// The running task named by the route's `{id}`, called with its own task token: 401 for any
/// other token, 404 for an unknown task, 410 for a task that is no longer running.
#[derive(Clone, Debug)]
pub struct TaskAuth(pub Task);

impl TaskAuth {
    /// Checks that `headers` carry the task token of running task `task_id`. (The extractor
    /// does this with the route's `{id}`; a handler that must act before the task is read
    /// calls it itself.)
    pub async fn check(
        state: &AppState,
        headers: &HeaderMap,
        task_id: &TaskId,
    ) -> RunnerResult<Task> {
        let token = token_of(headers, None).ok_or_else(ApiError::unauthorized)?;
        let task = state
            .store
            .task(task_id)
            .await?
            .ok_or(RunnerApiError::NotFound("task"))?;
        match &task.token_hash {
            Some(expected) if same_hash(expected, &hash_token(&token)) => {}
            _ => return Err(ApiError::unauthorized().into()),
        }
        if task.state != TaskState::Running {
            return Err(RunnerApiError::Gone);
        }
        Ok(task)
    }
}

impl FromRequestParts<AppState> for TaskAuth {
    type Rejection = RunnerApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> RunnerResult<Self> {
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| RunnerApiError::NotFound("task"))?;
        let task_id = params
            .iter()
            .find_map(|(name, value)| (name == "id").then_some(value))
            .ok_or(RunnerApiError::NotFound("task"))?;
        let task_id = TaskId::from(task_id);
        Ok(TaskAuth(
            Self::check(state, &parts.headers, &task_id).await?,
        ))
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
