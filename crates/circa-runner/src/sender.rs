//! Sends a task's spooled events to the server in batches until every one is acknowledged.
//!
//! After a quiet spell the first event is held for [`GATHER`] so that those right behind it
//! go along; at the task's start, for [`GATHER_AT_START`]. A batch is resent unchanged until
//! the server answers (it stores only the event it expects next, so a resend never
//! duplicates); only what it acknowledges is forgotten. Network errors and 5xx answers are
//! retried with backoff for as long as it takes; an answer that says the task is no longer
//! this runner's stops the sender.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::api::{Api, ApiError};
use crate::backoff::Backoff;
use crate::sink::TaskSink;
use crate::spool::SpoolError;

/// The most event JSON one request carries (one larger event still goes alone).
pub const MAX_BATCH: usize = 256 * 1024;

/// How long the sender, woken by a first event after a quiet spell, waits for more before it
/// sends: the events of a short step (or a whole short job) then go in one request. The end
/// of the task sends at once.
pub const GATHER: Duration = Duration::from_millis(20);

/// How long a task's first events wait for more: a short job (one that ends within it, even
/// on a busy machine) then sends all its events in one request, with its end.
pub const GATHER_AT_START: Duration = Duration::from_millis(50);

/// Why the sender stopped before every event was acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The server refused the events: the task is gone, or its token is no longer valid.
    #[error("the server refused the task's events: {0}")]
    Refused(ApiError),
    /// The spool failed.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// Told to give up.
    #[error("stopped before every event was acknowledged")]
    Aborted,
}

/// The sender of one task.
#[derive(Debug)]
pub struct Sender {
    /// The server.
    pub api: Api,
    /// The task.
    pub task_id: String,
    /// The task's token.
    pub token: String,
    /// The task's events.
    pub sink: Arc<TaskSink>,
    /// Cancelled when no more events will come: send the rest, then return.
    pub finish: CancellationToken,
    /// Cancelled to give up at once.
    pub abort: CancellationToken,
}

impl Sender {
    /// Sends until `finish` and every event is acknowledged, or until told to give up.
    pub async fn run(self) -> Result<(), SendError> {
        let spool = Arc::clone(self.sink.spool());
        let mut backoff = Backoff::default();
        // A task's first events wait for more, as those after a quiet spell do: the events a
        // job writes as it starts would otherwise go alone, ahead of the rest of a short job's.
        tokio::select! {
            () = tokio::time::sleep(GATHER_AT_START) => {}
            () = self.finish.cancelled() => {}
            () = self.abort.cancelled() => return Err(SendError::Aborted),
        }
        loop {
            let finishing = self.finish.is_cancelled();
            if finishing {
                self.sink.close();
            } else {
                self.sink.flush();
            }
            let batch = spool.read(MAX_BATCH)?;
            if batch.is_empty() {
                if finishing {
                    return Ok(());
                }
                tokio::select! {
                    () = self.sink.changed() => {}
                    () = self.finish.cancelled() => continue,
                    () = self.abort.cancelled() => return Err(SendError::Aborted),
                }
                tokio::select! {
                    () = tokio::time::sleep(GATHER) => {}
                    () = self.finish.cancelled() => {}
                    () = self.abort.cancelled() => return Err(SendError::Aborted),
                }
                continue;
            }
            let sent = tokio::select! {
                r = self.api.events(&self.task_id, &self.token, batch.body().to_vec()) => r,
                () = self.abort.cancelled() => return Err(SendError::Aborted),
            };
            let delay = match sent {
                Ok(acked) => {
                    if spool.ack(&batch, acked)? > 0 {
                        backoff.reset();
                        continue;
                    }
                    let delay = backoff.next_delay();
                    tracing::warn!(
                        task = %self.task_id,
                        "the server stored none of events {}..={} (acknowledged {acked}); resending in {delay:?}",
                        batch.first_seq(),
                        batch.last_seq()
                    );
                    delay
                }
                Err(e) if e.is_transient() => {
                    let delay = backoff.next_delay();
                    tracing::warn!(task = %self.task_id, "sending events: {e}; retrying in {delay:?}");
                    delay
                }
                Err(e) => return Err(SendError::Refused(e)),
            };
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.abort.cancelled() => return Err(SendError::Aborted),
            }
        }
    }
}
