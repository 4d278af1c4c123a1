//! SQLite connections held open and taken in turn, and the write transaction on the writer.
//!
//! A sqlx pool pings every connection given back to it, which for SQLite is one more round
//! trip to the connection's worker thread after every statement (and, on the one writer, one
//! more wait for every other writer). Connections here are only locked and unlocked.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::Executor;
use sqlx::sqlite::SqliteConnection;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// A connection taken from [`Conns`]; given back when dropped.
pub type Conn = OwnedMutexGuard<SqliteConnection>;

/// A fixed set of open connections.
#[derive(Debug, Clone)]
pub struct Conns {
    slots: Arc<[Arc<Mutex<SqliteConnection>>]>,
    next: Arc<AtomicUsize>,
}

impl Conns {
    /// Holds `connections` (at least one).
    pub fn new(connections: Vec<SqliteConnection>) -> Conns {
        Conns {
            slots: connections
                .into_iter()
                .map(|c| Arc::new(Mutex::new(c)))
                .collect(),
            next: Arc::default(),
        }
    }

    /// How many connections are held, and how many of them are taken now (each taken
    /// connection's guard holds one more reference to its slot): read without locking.
    pub fn use_now(&self) -> (usize, usize) {
        let taken = self
            .slots
            .iter()
            .filter(|slot| Arc::strong_count(slot) > 1)
            .count();
        (self.slots.len(), taken)
    }

    /// Whether `other` holds the very same connections (an in-memory store reads on its
    /// writer).
    pub fn same_as(&self, other: &Conns) -> bool {
        Arc::ptr_eq(&self.slots, &other.slots)
    }

    /// A free connection, or the next one to come free in turn.
    pub async fn take(&self) -> Conn {
        let n = self.slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        for i in 0..n {
            if let Ok(conn) = Arc::clone(&self.slots[(start + i) % n]).try_lock_owned() {
                return conn;
            }
        }
        Arc::clone(&self.slots[start]).lock_owned().await
    }
}

/// A write transaction (`BEGIN IMMEDIATE`) on the writer connection, which it holds until it
/// ends. Dropped without [`WriteTx::commit`], it is rolled back before the connection is
/// given back.
#[derive(Debug)]
pub struct WriteTx {
    conn: Option<Conn>,
}

impl WriteTx {
    /// Begins a transaction on `conn`.
    pub async fn begin(mut conn: Conn) -> Result<WriteTx, sqlx::Error> {
        conn.execute("BEGIN IMMEDIATE").await?;
        Ok(WriteTx { conn: Some(conn) })
    }

    /// Commits.
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        self.end("COMMIT").await
    }

    /// Rolls back.
    pub async fn rollback(mut self) -> Result<(), sqlx::Error> {
        self.end("ROLLBACK").await
    }

    async fn end(&mut self, sql: &'static str) -> Result<(), sqlx::Error> {
        let Some(mut conn) = self.conn.take() else {
            return Ok(());
        };
        match conn.execute(sql).await {
            Ok(_) => Ok(()),
            Err(e) => {
                // A failed COMMIT (the database busy) leaves the transaction open: it ends
                // before the connection goes back.
                if sql == "COMMIT" {
                    let _ = conn.execute("ROLLBACK").await;
                }
                Err(e)
            }
        }
    }
}

impl Deref for WriteTx {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        self.conn.as_deref().unwrap_or_else(|| {
            unreachable!("a write transaction holds its connection until it ends")
        })
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.conn.as_deref_mut().unwrap_or_else(|| {
            unreachable!("a write transaction holds its connection until it ends")
        })
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        // Ended by an error or a cancelled caller: roll back, holding the connection until
        // done, so the next writer starts clean. (Outside a runtime, at process exit, the
        // connection is not used again.)
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = conn.execute("ROLLBACK").await;
            });
        }
    }
}
