//! Runners that asked for work.

use super::Backend;
use crate::records::Millis;
use crate::sql::codec::to_u64;
use crate::store::StoreResult;

pub(super) async fn seen(
    store: &Backend,
    name: &str,
    resource_class: &str,
    now: Millis,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO runners (name, resource_class, last_seen) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET resource_class = excluded.resource_class, \
         last_seen = excluded.last_seen",
    )
    .bind(name)
    .bind(resource_class)
    .bind(now)
    .execute(&mut *store.writer().await?)
    .await?;
    Ok(())
}

pub(super) async fn count_since(
    store: &Backend,
    resource_class: &str,
    since: Millis,
) -> StoreResult<u64> {
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM runners WHERE resource_class = $1 AND last_seen >= $2",
    )
    .bind(resource_class)
    .bind(since)
    .fetch_one(&mut *store.reader().await?)
    .await?;
    to_u64(count, "runner count")
}
