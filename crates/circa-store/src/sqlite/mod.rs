//! The SQLite backend, the embedded default.
//!
//! SQLite has one writer at a time, so the store has one writer connection: writes queue for
//! it instead of failing with `SQLITE_BUSY`, and each write transaction starts with `BEGIN
//! IMMEDIATE`. Reads use several other connections, which WAL lets run beside the writer. An
//! in-memory database uses the writer connection for reads too (each connection would
//! otherwise see its own database). Connections are held open and only locked in turn
//! ([`conns`]), never pinged: they are to a local file, and a ping is one more trip to the
//! connection's thread for every statement.

use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{AssertSqlSafe, ConnectOptions, Sqlite};

use crate::cache::Caches;
use crate::sql::events::EventInsert;
use crate::store::StoreResult;

pub mod backup;
mod checkpoint;
mod conns;
#[allow(clippy::duplicate_mod)]
#[path = "../queries/mod.rs"]
mod queries;

use conns::{Conn, Conns, WriteTx};

/// The database the shared queries are compiled for.
type Db = Sqlite;
/// The store the shared queries implement the area traits (so [`crate::Store`]) for.
type Backend = SqliteStore;

/// How long a connection waits for a lock before giving up with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// WAL size (in 4 KiB pages) at which a commit checkpoints: 64 MiB rather than SQLite's 4 MiB,
/// a backstop only, as a file store checkpoints off the write path ([`checkpoint`]).
const WAL_CHECKPOINT_PAGES: u32 = 16_384;
/// Read connections.
const READERS: usize = 4;

/// What a batch claim's pick of queued tasks adds to keep concurrent claims apart: nothing,
/// as SQLite's one writer runs one claim at a time.
const CLAIM_LOCK: &str = "";

/// The store in a SQLite database.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    writer: Conns,
    reader: Conns,
    caches: Arc<Caches>,
    /// Writes since the last checkpoint (none for an in-memory store).
    written: Option<Arc<checkpoint::Written>>,
}

impl SqliteStore {
    /// Opens the database file at `path`, creating it and its folder if missing (readable by
    /// their owner only: mode 0600, and 0700 for folders made), and brings its schema up to
    /// date.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        create_private(path).map_err(sqlx::Error::Io)?;
        let options = tuned(
            SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true),
        );
        let mut writer = options.connect().await?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&mut writer)
            .await?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            readers.push(options.connect().await?);
        }
        let written = checkpoint::start(options.connect().await?);
        Ok(SqliteStore {
            writer: Conns::new(vec![writer]),
            reader: Conns::new(readers),
            caches: Arc::default(),
            written: Some(written),
        })
    }

    /// A private in-memory database with the schema, gone when the store is dropped.
    pub async fn in_memory() -> StoreResult<SqliteStore> {
        let options = tuned(SqliteConnectOptions::from_str("sqlite::memory:")?);
        let mut writer = options.connect().await?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&mut writer)
            .await?;
        let writer = Conns::new(vec![writer]);
        Ok(SqliteStore {
            reader: writer.clone(),
            writer,
            caches: Arc::default(),
            written: None,
        })
    }

    /// A read connection.
    async fn reader(&self) -> Result<Conn, sqlx::Error> {
        Ok(self.reader.take().await)
    }

    /// The writer connection, for a write of one statement.
    async fn writer(&self) -> Result<Conn, sqlx::Error> {
        self.mark_written();
        Ok(self.writer.take().await)
    }

    fn mark_written(&self) {
        if let Some(written) = &self.written {
            written.mark();
        }
    }

    /// The writer and the readers (one set for an in-memory database), and how many are free.
    fn pool_use_now(&self) -> crate::PoolUse {
        let (mut open, mut taken) = self.writer.use_now();
        if !self.reader.same_as(&self.writer) {
            let (readers, reading) = self.reader.use_now();
            (open, taken) = (open + readers, taken + reading);
        }
        crate::PoolUse {
            open: open as u64,
            idle: open.saturating_sub(taken) as u64,
        }
    }

    fn caches(&self) -> &Caches {
        &self.caches
    }

    /// A write transaction. `IMMEDIATE` takes the write lock at once rather than on the first
    /// write, so a transaction never has to upgrade its lock halfway.
    async fn begin(&self) -> Result<WriteTx, sqlx::Error> {
        self.mark_written();
        WriteTx::begin(self.writer.take().await).await
    }
}

/// Creates the database file (mode 0600) and the folders above it (mode 0700) when missing;
/// SQLite gives its `-wal` and `-shm` files the database file's mode.
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
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

/// Rows per multi-row event insert.
const EVENTS_PER_INSERT: usize = 32;

/// Inserts up to [`EVENTS_PER_INSERT`] events in one statement: `$1` is the task, then four
/// parameters per row; rows left NULL (a shorter chunk) are not inserted, so one prepared
/// statement serves every chunk. Built once from constants.
static INSERT_EVENTS: LazyLock<String> = LazyLock::new(|| {
    let rows: Vec<String> = (0..EVENTS_PER_INSERT)
        .map(|row| {
            let p = 2 + 4 * row;
            format!("(${p}, ${}, ${}, ${})", p + 1, p + 2, p + 3)
        })
        .collect();
    format!(
        "INSERT INTO events (task_id, seq, step, kind, body) \
         SELECT $1, column1, column2, column3, column4 FROM (VALUES {}) \
         WHERE column1 IS NOT NULL",
        rows.join(", ")
    )
});

/// Inserts events, [`EVENTS_PER_INSERT`] to a statement (a batch of one-line events has
/// hundreds of them; a short batch takes one statement).
async fn insert_events(
    conn: &mut SqliteConnection,
    task_id: &crate::TaskId,
    events: &[EventInsert<'_>],
) -> Result<(), sqlx::Error> {
    for chunk in events.chunks(EVENTS_PER_INSERT) {
        let sql: &'static str = INSERT_EVENTS.as_str();
        let mut insert = sqlx::query(AssertSqlSafe(Cow::Borrowed(sql))).bind(task_id);
        for i in 0..EVENTS_PER_INSERT {
            let event = chunk.get(i);
            insert = insert
                .bind(event.map(|e| e.seq))
                .bind(event.and_then(|e| e.step))
                .bind(event.map(|e| e.kind.as_str()))
                .bind(event.map(|e| e.body));
        }
        insert.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The commit of pipeline `p`, read from its trigger's JSON (the outbox's statuses).
const TRIGGER_REVISION: &str = "json_extract(p.trigger_json, '$.revision')";

/// A page of pipelines as one JSON text (see `queries/pages.rs`; the `LIMIT` is cast so
/// the statement stays prepared, see `queries/mod.rs`).
const PIPELINE_PAGE_SQL: &str = "SELECT json_group_array(json_array(id, project_id, number, \
     state, trigger_json, errors, created_at, updated_at)) FROM (SELECT id, project_id, number, \
     state, trigger_json, errors, created_at, updated_at FROM pipelines WHERE project_id = $1 \
     AND ($2 IS NULL OR branch = $2) AND ($3 IS NULL OR number < $3) \
     ORDER BY number DESC LIMIT CAST($4 AS BIGINT))";

impl crate::store::ReplicaStore for SqliteStore {
    fn replicas(&self) -> Option<crate::replicas::Replicas> {
        None
    }
}
