//! WAL checkpoints off the write path. A commit that finds the WAL past SQLite's mark copies
//! it into the database and syncs the file before it returns, and every other write waits
//! behind it (here, 10 ms and more every few seconds of steady writes). Instead, a connection
//! of its own copies the WAL every [`EVERY`] while writes come, in `PASSIVE` mode, which
//! blocks neither writers nor readers; the writer's own mark
//! ([`super::WAL_CHECKPOINT_PAGES`]) stays as a backstop should this fall behind.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::SqliteConnection;

/// How often the WAL is copied into the database while writes come.
const EVERY: Duration = Duration::from_millis(500);

/// Whether anything was written since the last checkpoint; the checkpointer stops once the
/// store (every clone) is gone.
#[derive(Debug, Default)]
pub struct Written(AtomicBool);

impl Written {
    /// Notes a write.
    pub fn mark(&self) {
        self.0.store(true, Ordering::Release);
    }

    fn take(&self) -> bool {
        self.0.swap(false, Ordering::AcqRel)
    }
}

/// Starts checkpointing on `conn`; the store marks its writes on what this returns, and the
/// checkpointer stops once that is dropped.
pub fn start(mut conn: SqliteConnection) -> Arc<Written> {
    let marks = Arc::new(Written::default());
    let written = Arc::downgrade(&marks);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(written) = written.upgrade() else {
                break;
            };
            if written.take() {
                drop(written);
                // A failed checkpoint is tried again at the next tick; the writer's own mark
                // bounds the WAL meanwhile.
                let _ = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&mut conn)
                    .await;
            }
        }
        let _ = sqlx::Connection::close(conn).await;
    });
    marks
}
