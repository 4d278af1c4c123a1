//! The SQLite backend, the embedded default.
//!
//! SQLite has one writer at a time, so the store has one writer connection (a pool of one):
//! writes queue in the pool instead of failing with `SQLITE_BUSY`, and each write transaction
//! starts with `BEGIN IMMEDIATE`. Reads use a separate pool of several connections, which WAL
//! lets run beside the writer. An in-memory database uses the writer connection for reads too
//! (each connection would otherwise see its own database).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use crate::sql::columns::task_columns;
use crate::sql::events::EventInsert;
use crate::store::StoreResult;

#[allow(clippy::duplicate_mod)]
#[path = "../queries/mod.rs"]
mod queries;

/// The database the shared queries are compiled for.
type Db = Sqlite;
/// The store the shared queries implement [`crate::Store`] for.
type Backend = SqliteStore;

/// How long a connection waits for a lock before giving up with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// WAL size (in 4 KiB pages) that triggers a checkpoint: 16 MiB rather than SQLite's 4 MiB,
/// as streamed logs write a lot and each checkpoint syncs the file.
const WAL_CHECKPOINT_PAGES: u32 = 4000;
/// Read connections.
const READERS: u32 = 4;

/// The oldest queued task of a resource class becomes running, in one statement; the single
/// writer connection serializes claims.
const CLAIM_SQL: &str = concat!(
    "UPDATE tasks SET state = 'running', runner = $2, token_hash = $3, started_at = $4, \
     lease_expires_at = $5, attempts = attempts + 1 \
     WHERE id = (SELECT id FROM tasks WHERE state = 'queued' AND resource_class = $1 \
     ORDER BY queued_at, ord LIMIT 1) RETURNING ",
    task_columns!()
);

/// The store in a SQLite database.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path` and brings its schema up to
    /// date.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        let writer = writer_pool(options.clone()).await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(tuned(options))
            .await?;
        Ok(SqliteStore { writer, reader })
    }

    /// A private in-memory database with the schema, gone when the store is dropped.
    pub async fn in_memory() -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?;
        let writer = writer_pool(options).await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        Ok(SqliteStore {
            reader: writer.clone(),
            writer,
        })
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// A write transaction. `IMMEDIATE` takes the write lock at once rather than on the first
    /// write, so a transaction never has to upgrade its lock halfway.
    async fn begin(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.writer.begin_with("BEGIN IMMEDIATE").await
    }
}

/// Options every connection gets: WAL, a busy timeout, foreign keys, fewer checkpoints.
fn tuned(options: SqliteConnectOptions) -> SqliteConnectOptions {
    options
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true)
        .pragma("wal_autocheckpoint", WAL_CHECKPOINT_PAGES.to_string())
}

/// The pool of the one writer connection, kept open for the store's lifetime (an in-memory
/// database lives as long as its connection).
async fn writer_pool(options: SqliteConnectOptions) -> Result<SqlitePool, sqlx::Error> {
    SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(tuned(options))
        .await
}

/// Inserts events, one prepared statement per event (SQLite statements are cheap; the
/// transaction around them is what costs).
async fn insert_events(
    conn: &mut SqliteConnection,
    task_id: &str,
    events: &[EventInsert<'_>],
) -> Result<(), sqlx::Error> {
    for event in events {
        sqlx::query(
            "INSERT INTO events (task_id, seq, step, kind, body) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(task_id)
        .bind(event.seq)
        .bind(event.step)
        .bind(&event.kind)
        .bind(event.body)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
