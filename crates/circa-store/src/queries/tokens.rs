//! API and runner tokens (their hashes).

use super::Backend;
use crate::error::StoreError;
use crate::records::{Millis, NewToken, Token, User};
use crate::sql::codec::new_id;
use crate::sql::columns::token_columns;
use crate::sql::rows::{TokenRow, TokenUserRow, decode_all};
use crate::store::StoreResult;

pub(super) async fn create(store: &Backend, new: NewToken, now: Millis) -> StoreResult<Token> {
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
        "INSERT INTO tokens (id, kind, name, resource_class, hash, user_id, created_at, revoked) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, FALSE)",
    )
    .bind(&token.id)
    .bind(token.kind.as_str())
    .bind(&token.name)
    .bind(&token.resource_class)
    .bind(&new.hash)
    .bind(&token.user_id)
    .bind(token.created_at)
    .execute(&mut *store.writer().await?)
    .await;
    match inserted {
        Ok(_) => Ok(token),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(StoreError::Conflict("a token with this hash".into()))
        }
        Err(e) => Err(super::missing_parent(e, || "user".into())),
    }
}

pub(super) async fn by_hash(store: &Backend, hash: &str) -> StoreResult<Option<Token>> {
    sqlx::query_as::<_, TokenRow>(concat!(
        "SELECT ",
        token_columns!(),
        " FROM tokens WHERE hash = $1"
    ))
    .bind(hash)
    .fetch_optional(&mut *store.reader().await?)
    .await?
    .map(TokenRow::decode)
    .transpose()
}

/// The token with `hash` and its user, in one query, through the store's token cache
/// (`crate::cache`).
pub(super) async fn with_user(
    store: &Backend,
    hash: &str,
) -> StoreResult<Option<(Token, Option<User>)>> {
    let generation = match store.caches().tokens.get(hash) {
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
    .fetch_optional(&mut *store.reader().await?)
    .await?
    .map(TokenUserRow::decode)
    .transpose()?;
    if let Some(found) = &found {
        store.caches().tokens.put(hash, generation, found.clone());
    }
    Ok(found)
}

pub(super) async fn revoke(store: &Backend, id: &str) -> StoreResult<bool> {
    let changed = sqlx::query("UPDATE tokens SET revoked = TRUE WHERE id = $1")
        .bind(id)
        .execute(&mut *store.writer().await?)
        .await?
        .rows_affected();
    store.caches().tokens.clear();
    Ok(changed > 0)
}

pub(super) async fn all(store: &Backend) -> StoreResult<Vec<Token>> {
    let rows = sqlx::query_as::<_, TokenRow>(concat!(
        "SELECT ",
        token_columns!(),
        " FROM tokens ORDER BY ord"
    ))
    .fetch_all(&mut *store.reader().await?)
    .await?;
    decode_all(rows, TokenRow::decode)
}
