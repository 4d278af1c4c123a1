//! Users, groups, and which projects a user may see.

use super::{Backend, missing_parent};
use crate::error::StoreError;
use crate::records::Project;
use crate::records::{Group, Millis, NewUser, User};
use crate::sql::codec::new_id;
use crate::sql::columns::{group_columns, project_columns, user_columns};
use crate::sql::rows::{GroupRow, ProjectRow, UserRow, decode_all};
use crate::store::StoreResult;

/// A unique-key violation as [`StoreError::Conflict`] naming `what`.
fn conflict(error: sqlx::Error, what: &str) -> StoreError {
    match &error {
        sqlx::Error::Database(e) if e.is_unique_violation() => {
            StoreError::Conflict(what.to_string())
        }
        _ => missing_parent(error, || what.to_string()),
    }
}

pub(super) async fn create(store: &Backend, new: NewUser, now: Millis) -> StoreResult<User> {
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
    .execute(&mut *store.writer().await?)
    .await
    .map_err(|e| conflict(e, &format!("a user with login {:?}", user.login)))?;
    Ok(user)
}

pub(super) async fn by_id(store: &Backend, id: &str) -> StoreResult<Option<User>> {
    let row = sqlx::query_as::<_, UserRow>(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *store.reader().await?)
    .await?;
    Ok(row.map(UserRow::decode))
}

pub(super) async fn by_login(store: &Backend, login: &str) -> StoreResult<Option<User>> {
    let row = sqlx::query_as::<_, UserRow>(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE login = $1"
    ))
    .bind(login)
    .fetch_optional(&mut *store.reader().await?)
    .await?;
    Ok(row.map(UserRow::decode))
}

pub(super) async fn all(store: &Backend) -> StoreResult<Vec<User>> {
    let rows = sqlx::query_as::<_, UserRow>(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users ORDER BY ord"
    ))
    .fetch_all(&mut *store.reader().await?)
    .await?;
    Ok(rows.into_iter().map(UserRow::decode).collect())
}

pub(super) async fn set_password(
    store: &Backend,
    id: &str,
    password_hash: Option<&str>,
) -> StoreResult<bool> {
    let changed = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
        .bind(id)
        .bind(password_hash)
        .execute(&mut *store.writer().await?)
        .await?
        .rows_affected();
    // Cached tokens carry their user.
    store.caches().tokens.clear();
    Ok(changed > 0)
}

pub(super) async fn add_member(
    store: &Backend,
    project_id: &str,
    user_id: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO project_members (project_id, user_id) VALUES ($1, $2) \
         ON CONFLICT DO NOTHING",
    )
    .bind(project_id)
    .bind(user_id)
    .execute(&mut *store.writer().await?)
    .await
    .map_err(|e| missing_parent(e, || "project or user".into()))?;
    Ok(())
}

pub(super) async fn remove_member(
    store: &Backend,
    project_id: &str,
    user_id: &str,
) -> StoreResult<bool> {
    let changed = sqlx::query("DELETE FROM project_members WHERE project_id = $1 AND user_id = $2")
        .bind(project_id)
        .bind(user_id)
        .execute(&mut *store.writer().await?)
        .await?
        .rows_affected();
    Ok(changed > 0)
}

pub(super) async fn is_member(
    store: &Backend,
    project_id: &str,
    user_id: &str,
) -> StoreResult<bool> {
    let found: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM project_members WHERE project_id = $1 AND user_id = $2")
            .bind(project_id)
            .bind(user_id)
            .fetch_optional(&mut *store.reader().await?)
            .await?;
    Ok(found.is_some())
}

pub(super) async fn projects_of(store: &Backend, user_id: &str) -> StoreResult<Vec<Project>> {
    let rows = sqlx::query_as::<_, ProjectRow>(concat!(
        "SELECT ",
        project_columns!(),
        " FROM projects WHERE id IN (SELECT project_id FROM project_members WHERE user_id = $1) \
         ORDER BY slug"
    ))
    .bind(user_id)
    .fetch_all(&mut *store.reader().await?)
    .await?;
    decode_all(rows, ProjectRow::decode)
}

pub(super) async fn create_group(store: &Backend, name: &str, now: Millis) -> StoreResult<Group> {
    let group = Group {
        id: new_id(),
        name: name.to_string(),
        created_at: now,
    };
    sqlx::query("INSERT INTO groups (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(&group.id)
        .bind(&group.name)
        .bind(group.created_at)
        .execute(&mut *store.writer().await?)
        .await
        .map_err(|e| conflict(e, &format!("a group named {name:?}")))?;
    Ok(group)
}

pub(super) async fn groups(store: &Backend) -> StoreResult<Vec<Group>> {
    let rows = sqlx::query_as::<_, GroupRow>(concat!(
        "SELECT ",
        group_columns!(),
        " FROM groups ORDER BY ord"
    ))
    .fetch_all(&mut *store.reader().await?)
    .await?;
    Ok(rows.into_iter().map(GroupRow::decode).collect())
}

pub(super) async fn add_group_member(
    store: &Backend,
    group_id: &str,
    user_id: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(group_id)
    .bind(user_id)
    .execute(&mut *store.writer().await?)
    .await
    .map_err(|e| missing_parent(e, || "group or user".into()))?;
    Ok(())
}

pub(super) async fn groups_of(store: &Backend, user_id: &str) -> StoreResult<Vec<Group>> {
    let rows = sqlx::query_as::<_, GroupRow>(concat!(
        "SELECT ",
        group_columns!(),
        " FROM groups WHERE id IN (SELECT group_id FROM group_members WHERE user_id = $1) \
         ORDER BY ord"
    ))
    .bind(user_id)
    .fetch_all(&mut *store.reader().await?)
    .await?;
    Ok(rows.into_iter().map(GroupRow::decode).collect())
}

pub(super) async fn tokens_of(
    store: &Backend,
    user_id: &str,
) -> StoreResult<Vec<crate::records::Token>> {
    use crate::sql::columns::token_columns;
    use crate::sql::rows::TokenRow;
    let rows = sqlx::query_as::<_, TokenRow>(concat!(
        "SELECT ",
        token_columns!(),
        " FROM tokens WHERE user_id = $1 ORDER BY ord"
    ))
    .bind(user_id)
    .fetch_all(&mut *store.reader().await?)
    .await?;
    decode_all(rows, TokenRow::decode)
}
