//! Users, groups, which projects a user may see, tokens (their hashes) and web sessions. A
//! token is read with its user through the store's token cache (`crate::cache`), which writes
//! to tokens and users clear.

use async_trait::async_trait;

use super::{Backend, missing_parent};
use crate::error::StoreError;
use crate::ids::{GroupId, ProjectId, TokenId, UserId};
use crate::records::{Group, Millis, NewToken, NewUser, Project, Token, TokenOwner, User};
use crate::sql::codec::new_id;
use crate::sql::columns::{group_columns, project_columns, token_columns, user_columns};
use crate::sql::rows::{GroupRow, ProjectRow, TokenRow, TokenUserRow, UserRow, decode_all};
use crate::store::{PeopleStore, StoreResult};
use crate::web_records::Session;

/// A unique-key violation as [`StoreError::Conflict`] naming `what`.
fn conflict(error: sqlx::Error, what: &str) -> StoreError {
    match &error {
        sqlx::Error::Database(e) if e.is_unique_violation() => {
            StoreError::Conflict(what.to_string())
        }
        _ => missing_parent(error, || what.to_string()),
    }
}

impl Backend {
    /// Runs `sql` (`$1` the user's id, `$2` the hash) and clears the token cache when it
    /// changed a row (cached tokens carry their user); whether it did.
    async fn update_password(
        &self,
        sql: &'static str,
        id: &UserId,
        password_hash: Option<&str>,
    ) -> StoreResult<bool> {
        let changed = sqlx::query(sql)
            .bind(id)
            .bind(password_hash)
            .execute(&mut *self.writer().await?)
            .await?
            .rows_affected();
        if changed > 0 {
            self.caches().tokens_changed();
        }
        Ok(changed > 0)
    }
}

#[async_trait]
impl PeopleStore for Backend {
    async fn create_token(&self, new: NewToken, now: Millis) -> StoreResult<Token> {
        let token = Token {
            id: new_id(),
            kind: new.kind,
            name: new.name,
            resource_class: new.resource_class,
            user_id: new.user_id,
            created_at: now,
            revoked: false,
        };
        let inserted = sqlx::query(
            "INSERT INTO tokens (id, kind, name, resource_class, hash, user_id, created_at, \
             revoked) VALUES ($1, $2, $3, $4, $5, $6, $7, FALSE)",
        )
        .bind(&token.id)
        .bind(token.kind.as_str())
        .bind(&token.name)
        .bind(&token.resource_class)
        .bind(&new.hash)
        .bind(&token.user_id)
        .bind(token.created_at)
        .execute(&mut *self.writer().await?)
        .await;
        match inserted {
            Ok(_) => Ok(token),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::Conflict("a token with this hash".into()))
            }
            Err(e) => Err(missing_parent(e, || "user".into())),
        }
    }

    async fn token_by_hash(&self, hash: &str) -> StoreResult<Option<Token>> {
        sqlx::query_as::<_, TokenRow>(concat!(
            "SELECT ",
            token_columns!(),
            " FROM tokens WHERE hash = $1"
        ))
        .bind(hash)
        .fetch_optional(&mut *self.reader().await?)
        .await?
        .map(TokenRow::decode)
        .transpose()
    }

    async fn token_with_user(&self, hash: &str) -> StoreResult<Option<TokenOwner>> {
        let generation = match self.caches().tokens.get(hash) {
            Ok(hit) => return Ok(Some(hit)),
            Err(generation) => generation,
        };
        let found = sqlx::query_as::<_, TokenUserRow>(
            "SELECT t.id, t.kind, t.name, t.resource_class, t.user_id, t.created_at, t.revoked, \
             u.id AS u_id, u.login AS u_login, u.name AS u_name, u.admin AS u_admin, \
             u.password_hash AS u_password_hash, u.created_at AS u_created_at \
             FROM tokens t LEFT JOIN users u ON u.id = t.user_id WHERE t.hash = $1",
        )
        .bind(hash)
        .fetch_optional(&mut *self.reader().await?)
        .await?
        .map(TokenUserRow::decode)
        .transpose()?;
        if let Some(found) = &found {
            self.caches().tokens.put(hash, generation, found.clone());
        }
        Ok(found)
    }

    async fn revoke_token(&self, id: &TokenId) -> StoreResult<bool> {
        let changed = sqlx::query("UPDATE tokens SET revoked = TRUE WHERE id = $1")
            .bind(id)
            .execute(&mut *self.writer().await?)
            .await?
            .rows_affected();
        self.caches().tokens_changed();
        Ok(changed > 0)
    }

    async fn tokens(&self) -> StoreResult<Vec<Token>> {
        let rows = sqlx::query_as::<_, TokenRow>(concat!(
            "SELECT ",
            token_columns!(),
            " FROM tokens ORDER BY ord"
        ))
        .fetch_all(&mut *self.reader().await?)
        .await?;
        decode_all(rows, TokenRow::decode)
    }

    async fn tokens_of_user(&self, user_id: &UserId) -> StoreResult<Vec<Token>> {
        let rows = sqlx::query_as::<_, TokenRow>(concat!(
            "SELECT ",
            token_columns!(),
            " FROM tokens WHERE user_id = $1 ORDER BY ord"
        ))
        .bind(user_id)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        decode_all(rows, TokenRow::decode)
    }

    async fn create_user(&self, new: NewUser, now: Millis) -> StoreResult<User> {
        let user = User {
            id: new_id(),
            login: new.login,
            name: new.name,
            admin: new.admin,
            password_hash: new.password_hash,
            created_at: now,
        };
        sqlx::query(
            "INSERT INTO users (id, login, name, admin, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&user.id)
        .bind(&user.login)
        .bind(&user.name)
        .bind(user.admin)
        .bind(&user.password_hash)
        .bind(user.created_at)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| conflict(e, &format!("a user with login {:?}", user.login)))?;
        Ok(user)
    }

    async fn user(&self, id: &UserId) -> StoreResult<Option<User>> {
        let row = sqlx::query_as::<_, UserRow>(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *self.reader().await?)
        .await?;
        Ok(row.map(UserRow::decode))
    }

    async fn user_by_login(&self, login: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query_as::<_, UserRow>(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE login = $1"
        ))
        .bind(login)
        .fetch_optional(&mut *self.reader().await?)
        .await?;
        Ok(row.map(UserRow::decode))
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        let rows = sqlx::query_as::<_, UserRow>(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users ORDER BY ord"
        ))
        .fetch_all(&mut *self.reader().await?)
        .await?;
        Ok(rows.into_iter().map(UserRow::decode).collect())
    }

    async fn set_user_password(
        &self,
        id: &UserId,
        password_hash: Option<&str>,
    ) -> StoreResult<bool> {
        self.update_password(
            "UPDATE users SET password_hash = $2 WHERE id = $1",
            id,
            password_hash,
        )
        .await
    }

    async fn set_first_password(&self, id: &UserId, password_hash: &str) -> StoreResult<bool> {
        self.update_password(
            "UPDATE users SET password_hash = $2 WHERE id = $1 AND password_hash IS NULL",
            id,
            Some(password_hash),
        )
        .await
    }

    async fn add_project_member(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO project_members (project_id, user_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(project_id)
        .bind(user_id)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| missing_parent(e, || "project or user".into()))?;
        Ok(())
    }

    async fn remove_project_member(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
    ) -> StoreResult<bool> {
        let changed =
            sqlx::query("DELETE FROM project_members WHERE project_id = $1 AND user_id = $2")
                .bind(project_id)
                .bind(user_id)
                .execute(&mut *self.writer().await?)
                .await?
                .rows_affected();
        Ok(changed > 0)
    }

    async fn is_project_member(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
    ) -> StoreResult<bool> {
        let found: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM project_members WHERE project_id = $1 AND user_id = $2",
        )
        .bind(project_id)
        .bind(user_id)
        .fetch_optional(&mut *self.reader().await?)
        .await?;
        Ok(found.is_some())
    }

    async fn projects_of_user(&self, user_id: &UserId) -> StoreResult<Vec<Project>> {
        let rows = sqlx::query_as::<_, ProjectRow>(concat!(
            "SELECT ",
            project_columns!(),
            " FROM projects WHERE id IN \
             (SELECT project_id FROM project_members WHERE user_id = $1) ORDER BY slug"
        ))
        .bind(user_id)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        decode_all(rows, ProjectRow::decode)
    }

    async fn create_group(&self, name: &str, now: Millis) -> StoreResult<Group> {
        let group = Group {
            id: new_id(),
            name: name.to_string(),
            created_at: now,
        };
        sqlx::query("INSERT INTO groups (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&group.id)
            .bind(&group.name)
            .bind(group.created_at)
            .execute(&mut *self.writer().await?)
            .await
            .map_err(|e| conflict(e, &format!("a group named {name:?}")))?;
        Ok(group)
    }

    async fn groups(&self) -> StoreResult<Vec<Group>> {
        let rows = sqlx::query_as::<_, GroupRow>(concat!(
            "SELECT ",
            group_columns!(),
            " FROM groups ORDER BY ord"
        ))
        .fetch_all(&mut *self.reader().await?)
        .await?;
        Ok(rows.into_iter().map(GroupRow::decode).collect())
    }

    async fn add_group_member(&self, group_id: &GroupId, user_id: &UserId) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(group_id)
        .bind(user_id)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| missing_parent(e, || "group or user".into()))?;
        Ok(())
    }

    async fn groups_of_user(&self, user_id: &UserId) -> StoreResult<Vec<Group>> {
        let rows = sqlx::query_as::<_, GroupRow>(concat!(
            "SELECT ",
            group_columns!(),
            " FROM groups WHERE id IN \
             (SELECT group_id FROM group_members WHERE user_id = $1) ORDER BY ord"
        ))
        .bind(user_id)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        Ok(rows.into_iter().map(GroupRow::decode).collect())
    }

    async fn create_session(&self, session: Session) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&session.id_hash)
        .bind(&session.user_id)
        .bind(session.created_at)
        .bind(session.expires_at)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| missing_parent(e, || format!("user {}", session.user_id)))?;
        Ok(())
    }

    async fn session(&self, id_hash: &str, now: Millis) -> StoreResult<Option<Session>> {
        let row: Option<(String, UserId, i64, i64)> = sqlx::query_as(
            "SELECT id_hash, user_id, created_at, expires_at FROM sessions \
             WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(&mut *self.reader().await?)
        .await?;
        Ok(
            row.map(|(id_hash, user_id, created_at, expires_at)| Session {
                id_hash,
                user_id,
                created_at,
                expires_at,
            }),
        )
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_user_sessions(&self, user_id: &UserId) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(done.rows_affected())
    }

    async fn delete_expired_sessions(&self, now: Millis) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(done.rows_affected())
    }
}
