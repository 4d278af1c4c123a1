//! The PostgreSQL backend, for production and for several server replicas.
//!
//! One pool serves reads and writes. The queue claim skips rows other claimers hold
//! (`FOR UPDATE SKIP LOCKED`), so claimers never wait on each other; events are inserted with
//! one statement per batch.

use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use crate::cache::Caches;
use crate::sql::events::EventInsert;
use crate::store::StoreResult;

#[allow(clippy::duplicate_mod)]
#[path = "../queries/mod.rs"]
mod queries;

/// The database the shared queries are compiled for.
type Db = Postgres;
/// The store the shared queries implement the area traits (so [`crate::Store`]) for.
type Backend = PostgresStore;

/// Connections in the pool.
const CONNECTIONS: u32 = 10;

/// How long a query waits for a connection (retrying a database that refuses) before it
/// fails as unavailable: short, so an outage is answered 503 promptly rather than held.
const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// A connection idle at least this long is pinged before it is handed out; one in use moments
/// ago is not (a ping is a round trip, and sqlx's default pings at every acquire: one more
/// round trip per statement or transaction). A connection that broke while in use fails its
/// next query and is replaced.
const PING_IDLE_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

/// What a batch claim's pick of queued tasks adds to keep concurrent claims apart: rows
/// another claim has locked are passed over.
const CLAIM_LOCK: &str = " FOR UPDATE SKIP LOCKED";

/// The store in a PostgreSQL database.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
    caches: Arc<Caches>,
    replicas: crate::replicas::Replicas,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://…`) and brings its schema up to date.
    pub async fn connect(url: &str) -> StoreResult<PostgresStore> {
        let pool = PgPoolOptions::new()
            .max_connections(CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_IDLE_AFTER {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect(url)
            .await?;
        // Replicas starting at once migrate one at a time (sqlx holds an advisory lock).
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let caches: Arc<Caches> = Arc::default();
        let replicas = crate::replicas::Replicas::new(pool.clone(), Arc::downgrade(&caches));
        let _ = caches.replicas.set(replicas.clone());
        Ok(PostgresStore {
            pool,
            caches,
            replicas,
        })
    }

    /// A connection for reads.
    async fn reader(&self) -> Result<PoolConnection<Postgres>, sqlx::Error> {
        self.pool.acquire().await
    }

    /// A connection for a write of one statement.
    async fn writer(&self) -> Result<PoolConnection<Postgres>, sqlx::Error> {
        self.pool.acquire().await
    }

    /// The pool's open and idle connections.
    fn pool_use_now(&self) -> crate::PoolUse {
        crate::PoolUse {
            open: u64::from(self.pool.size()),
            idle: self.pool.num_idle() as u64,
        }
    }

    fn caches(&self) -> &Caches {
        &self.caches
    }

    async fn begin(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.pool.begin().await
    }
}

impl crate::store::ReplicaStore for PostgresStore {
    fn replicas(&self) -> Option<crate::replicas::Replicas> {
        Some(self.replicas.clone())
    }
}

/// Inserts a batch of events in one statement: a plain `VALUES` row for a single event (a
/// 64 KiB output chunk, the common case for a busy log), `UNNEST` of arrays for several.
async fn insert_events(
    conn: &mut PgConnection,
    task_id: &crate::TaskId,
    events: &[EventInsert<'_>],
) -> Result<(), sqlx::Error> {
    if let [event] = events {
        sqlx::query(
            "INSERT INTO events (task_id, seq, step, kind, body) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(task_id)
        .bind(event.seq)
        .bind(event.step)
        .bind(&event.kind)
        .bind(event.body)
        .execute(conn)
        .await?;
        return Ok(());
    }
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    let steps: Vec<Option<i64>> = events.iter().map(|e| e.step).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    let bodies: Vec<&str> = events.iter().map(|e| e.body).collect();
    sqlx::query(
        "INSERT INTO events (task_id, seq, step, kind, body) \
         SELECT $1, * FROM UNNEST($2::BIGINT[], $3::BIGINT[], $4::TEXT[], $5::TEXT[])",
    )
    .bind(task_id)
    .bind(seqs)
    .bind(steps)
    .bind(kinds)
    .bind(bodies)
    .execute(conn)
    .await?;
    Ok(())
}

/// The commit of pipeline `p`, read from its trigger's JSON (the outbox's statuses).
const TRIGGER_REVISION: &str = "(p.trigger_json::json ->> 'revision')";

/// A page of pipelines as one JSON text (see `queries/pages.rs`).
const PIPELINE_PAGE_SQL: &str = "SELECT json_agg(json_build_array(id, project_id, number, \
     state, trigger_json, errors, created_at, updated_at) ORDER BY number DESC)::text \
     FROM (SELECT id, project_id, number, state, trigger_json, errors, created_at, updated_at \
     FROM pipelines WHERE project_id = $1 AND ($2::text IS NULL OR branch = $2) \
     AND ($3::bigint IS NULL OR number < $3) ORDER BY number DESC LIMIT $4) AS page";
