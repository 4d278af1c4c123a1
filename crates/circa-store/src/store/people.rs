//! People: users, groups, project members, API and runner tokens, web sessions.

use async_trait::async_trait;

use super::StoreResult;
use crate::ids::{GroupId, ProjectId, TokenId, UserId};
use crate::records::{Group, Millis, NewToken, NewUser, Project, Token, TokenOwner, User};
use crate::web_records::Session;

/// Who may do what: users, their groups and projects, their tokens and sessions.
#[async_trait]
pub trait PeopleStore: Send + Sync {
    /// Stores a token's hash.
    async fn create_token(&self, token: NewToken, now: Millis) -> StoreResult<Token>;
    /// The token with this hash, revoked or not.
    async fn token_by_hash(&self, hash: &str) -> StoreResult<Option<Token>>;
    /// The token with this hash, revoked or not, and the user it acts as (none for runner
    /// tokens), in one query. Read through a cache: an answer may be a few seconds old
    /// when another process changed the token or user, never when this store did.
    async fn token_with_user(&self, hash: &str) -> StoreResult<Option<TokenOwner>>;
    /// Revokes a token; false if there is no such token.
    async fn revoke_token(&self, id: &TokenId) -> StoreResult<bool>;
    /// Every token, oldest first.
    async fn tokens(&self) -> StoreResult<Vec<Token>>;
    /// A user's tokens, oldest first.
    async fn tokens_of_user(&self, user_id: &UserId) -> StoreResult<Vec<Token>>;

    /// Creates a user; [`crate::StoreError::Conflict`] when the login is taken.
    async fn create_user(&self, user: NewUser, now: Millis) -> StoreResult<User>;
    /// A user by id.
    async fn user(&self, id: &UserId) -> StoreResult<Option<User>>;
    /// A user by login.
    async fn user_by_login(&self, login: &str) -> StoreResult<Option<User>>;
    /// Every user, oldest first.
    async fn users(&self) -> StoreResult<Vec<User>>;
    /// Sets or clears a user's password hash; false if there is no such user.
    async fn set_user_password(
        &self,
        id: &UserId,
        password_hash: Option<&str>,
    ) -> StoreResult<bool>;
    /// Sets a user's first password hash: false if the user has one already (set meanwhile by
    /// another server replica starting at the same time) or does not exist.
    async fn set_first_password(&self, id: &UserId, password_hash: &str) -> StoreResult<bool>;

    /// Lets a user see a project (idempotent).
    async fn add_project_member(&self, project_id: &ProjectId, user_id: &UserId)
    -> StoreResult<()>;
    /// Takes a project away from a user; false if they were not a member.
    async fn remove_project_member(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
    ) -> StoreResult<bool>;
    /// Whether a user is a member of a project.
    async fn is_project_member(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
    ) -> StoreResult<bool>;
    /// The projects a user is a member of, by slug.
    async fn projects_of_user(&self, user_id: &UserId) -> StoreResult<Vec<Project>>;

    /// Creates a group; [`crate::StoreError::Conflict`] when the name is taken.
    async fn create_group(&self, name: &str, now: Millis) -> StoreResult<Group>;
    /// Every group, oldest first.
    async fn groups(&self) -> StoreResult<Vec<Group>>;
    /// Adds a user to a group (idempotent).
    async fn add_group_member(&self, group_id: &GroupId, user_id: &UserId) -> StoreResult<()>;
    /// The groups a user belongs to.
    async fn groups_of_user(&self, user_id: &UserId) -> StoreResult<Vec<Group>>;

    /// Stores a new web session; [`crate::StoreError::NotFound`] if there is no such user.
    async fn create_session(&self, session: Session) -> StoreResult<()>;
    /// The session with this id hash, unless it expired before `now`.
    async fn session(&self, id_hash: &str, now: Millis) -> StoreResult<Option<Session>>;
    /// Ends a session; false if there was none.
    async fn delete_session(&self, id_hash: &str) -> StoreResult<bool>;
    /// Ends every session of a user (a changed password); how many there were.
    async fn delete_user_sessions(&self, user_id: &UserId) -> StoreResult<u64>;
    /// Forgets sessions that expired before `now`; how many.
    async fn delete_expired_sessions(&self, now: Millis) -> StoreResult<u64>;
}
