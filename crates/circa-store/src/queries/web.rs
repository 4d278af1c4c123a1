//! What the web UI keeps and reads: sessions, runners seen lately, a project's recent
//! workflows.

use super::{Backend, missing_parent};
use crate::records::Millis;
use crate::store::StoreResult;
use crate::web_records::{RunnerSeen, Session};

pub(super) async fn create_session(store: &Backend, session: Session) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&session.id_hash)
    .bind(&session.user_id)
    .bind(session.created_at)
    .bind(session.expires_at)
    .execute(&mut *store.writer().await?)
    .await
    .map_err(|e| missing_parent(e, || format!("user {}", session.user_id)))?;
    Ok(())
}

pub(super) async fn session(
    store: &Backend,
    id_hash: &str,
    now: Millis,
) -> StoreResult<Option<Session>> {
    let row: Option<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT id_hash, user_id, created_at, expires_at FROM sessions \
         WHERE id_hash = $1 AND expires_at > $2",
    )
    .bind(id_hash)
    .bind(now)
    .fetch_optional(&mut *store.reader().await?)
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

pub(super) async fn delete_session(store: &Backend, id_hash: &str) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(&mut *store.writer().await?)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn delete_user_sessions(store: &Backend, user_id: &str) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *store.writer().await?)
        .await?;
    Ok(done.rows_affected())
}

pub(super) async fn delete_expired(store: &Backend, now: Millis) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *store.writer().await?)
        .await?;
    Ok(done.rows_affected())
}

pub(super) async fn runners_since(store: &Backend, since: Millis) -> StoreResult<Vec<RunnerSeen>> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT name, resource_class, last_seen FROM runners WHERE last_seen >= $1 \
         ORDER BY last_seen DESC, name LIMIT 500",
    )
    .bind(since)
    .fetch_all(&mut *store.reader().await?)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, resource_class, last_seen)| RunnerSeen {
            name,
            resource_class,
            last_seen,
        })
        .collect())
}

pub(super) async fn set_project_source(
    store: &Backend,
    id: &str,
    repo_url: &str,
    default_branch: &str,
) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE projects SET repo_url = $2, default_branch = $3 WHERE id = $1")
        .bind(id)
        .bind(repo_url)
        .bind(default_branch)
        .execute(&mut *store.writer().await?)
        .await?;
    store.caches().projects.clear();
    Ok(done.rows_affected() > 0)
}
