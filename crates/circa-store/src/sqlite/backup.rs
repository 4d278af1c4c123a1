//! Online copies of a SQLite database, for `circa admin backup` and `restore`.
//!
//! `VACUUM INTO` runs in one read transaction, so under WAL it copies the database as of one
//! moment while the server keeps writing beside it (readers never block the writer). The
//! copy is compact and has no `-wal` file: one file is the whole database.

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Row, SqliteConnection};

use crate::store::StoreResult;

/// How long the copy waits for a lock (a checkpoint in progress) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// The tables whose row counts a backup records, in this order.
pub const COUNTED_TABLES: [&str; 8] = [
    "projects",
    "pipelines",
    "workflows",
    "jobs",
    "tasks",
    "artifacts",
    "project_env_vars",
    "context_env_vars",
];

/// Counts the rows of [`COUNTED_TABLES`] in one statement (the names are constants).
const COUNT_SQL: &str = "SELECT (SELECT count(*) FROM projects), (SELECT count(*) FROM \
     pipelines), (SELECT count(*) FROM workflows), (SELECT count(*) FROM jobs), (SELECT \
     count(*) FROM tasks), (SELECT count(*) FROM artifacts), (SELECT count(*) FROM \
     project_env_vars), (SELECT count(*) FROM context_env_vars)";

/// Opens an existing database file without changing its schema.
async fn open_existing(path: &Path) -> StoreResult<SqliteConnection> {
    Ok(SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .busy_timeout(BUSY_TIMEOUT)
        .connect()
        .await?)
}

/// Copies the database at `db` (in use or not) into the new file `dest` (mode 0600), as of one
/// moment.
pub async fn snapshot(db: &Path, dest: &Path) -> StoreResult<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut conn = open_existing(db).await?;
    let target = dest.to_string_lossy().into_owned();
    sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    std::fs::set_permissions(dest, std::fs::Permissions::from_mode(0o600))
        .map_err(sqlx::Error::Io)?;
    Ok(())
}

/// The highest migration applied to the database at `db`.
pub async fn schema_version(db: &Path) -> StoreResult<i64> {
    let mut conn = open_existing(db).await?;
    let version: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut conn)
            .await?;
    conn.close().await?;
    Ok(version.unwrap_or(0))
}

/// The highest migration this build knows: a database past it was made by a newer Circa.
pub fn latest_schema_version() -> i64 {
    sqlx::migrate!("./migrations/sqlite")
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

/// The row counts of [`COUNTED_TABLES`] in the database at `db`.
pub async fn row_counts(db: &Path) -> StoreResult<Vec<(&'static str, i64)>> {
    let mut conn = open_existing(db).await?;
    let row = sqlx::query(COUNT_SQL).fetch_one(&mut conn).await?;
    let mut counts = Vec::with_capacity(COUNTED_TABLES.len());
    for (i, table) in COUNTED_TABLES.iter().enumerate() {
        counts.push((*table, row.try_get::<i64, _>(i)?));
    }
    conn.close().await?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqliteStore;

    #[tokio::test]
    async fn a_snapshot_is_a_whole_database_with_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("circa.db");
        let store = SqliteStore::open(&db).await.unwrap();
        let copy = dir.path().join("copy.db");
        snapshot(&db, &copy).await.unwrap();
        drop(store);
        assert_eq!(
            schema_version(&copy).await.unwrap(),
            latest_schema_version()
        );
        let counts = row_counts(&copy).await.unwrap();
        assert_eq!(counts.len(), COUNTED_TABLES.len());
        assert!(counts.iter().all(|(_, n)| *n == 0), "{counts:?}");
        let e = snapshot(&db, &copy).await.unwrap_err();
        assert!(e.to_string().contains("database"), "{e}");
    }
}
