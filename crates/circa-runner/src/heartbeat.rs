//! Keeps a task's lease: one held heartbeat after another, obeying cancel.
//!
//! The first heartbeat goes shortly after the claim (which set a full lease), so short tasks
//! send none. Each heartbeat asks the server to hold its answer for a third of the lease; the server
//! answers at once when the task is canceled, so cancel reaches the job within a round trip.
//! After a cancel the heartbeats go on (the job still has to stop and report) a third of a
//! lease apart. Network errors are retried with backoff short enough to keep the lease.

use std::time::{Duration, Instant};

use circa_model::protocol::HeartbeatRequest;
use tokio_util::sync::CancellationToken;

use crate::api::Api;
use crate::backoff::Backoff;

/// The least time between two heartbeats, so a server that does not hold is not flooded.
const MIN_INTERVAL: Duration = Duration::from_millis(250);

/// How long after the claim the first heartbeat goes: the claim has just set a full lease,
/// so a task shorter than this needs none, and a cancel meanwhile is seen by the first one.
const FIRST_AFTER: Duration = Duration::from_millis(250);

/// The heartbeats of one task.
#[derive(Debug)]
pub struct Heartbeat {
    /// The server.
    pub api: Api,
    /// The task.
    pub task_id: String,
    /// The task's token.
    pub token: String,
    /// The lease from the assignment, in milliseconds.
    pub lease_ms: u64,
    /// Cancelled when the server cancels the task (or the task is lost).
    pub cancel_job: CancellationToken,
    /// Cancelled when the task is no longer this runner's (404, 410, or a refused token).
    pub lost: CancellationToken,
    /// Cancelled when the task has been completed: heartbeats stop.
    pub stop: CancellationToken,
}

impl Heartbeat {
    /// Sends heartbeats until `stop` or until the task is lost.
    pub async fn run(self) {
        let mut lease_ms = self.lease_ms.max(3);
        let mut backoff = Backoff::new(retry_cap(lease_ms));
        tokio::select! {
            () = tokio::time::sleep(FIRST_AFTER.min(Duration::from_millis(lease_ms / 6))) => {}
            () = self.stop.cancelled() => return,
        }
        loop {
            let hold_ms = lease_ms / 3;
            let started = Instant::now();
            let request = HeartbeatRequest { hold_ms };
            let answer = tokio::select! {
                r = self.api.heartbeat(&self.task_id, &self.token, &request) => r,
                () = self.stop.cancelled() => return,
            };
            let wait = match answer {
                Ok(reply) => {
                    backoff.reset();
                    if reply.lease_ms > 0 && reply.lease_ms != lease_ms {
                        lease_ms = reply.lease_ms.max(3);
                        backoff = Backoff::new(retry_cap(lease_ms));
                    }
                    if reply.cancel {
                        if !self.cancel_job.is_cancelled() {
                            tracing::info!(task = %self.task_id, "the server canceled the task");
                            self.cancel_job.cancel();
                        }
                        Duration::from_millis(lease_ms / 3)
                    } else {
                        MIN_INTERVAL.saturating_sub(started.elapsed())
                    }
                }
                Err(e) if e.is_transient() => {
                    let delay = backoff.next_delay();
                    tracing::warn!(task = %self.task_id, "heartbeat: {e}; retrying in {delay:?}");
                    delay
                }
                Err(e) => {
                    tracing::warn!(task = %self.task_id, "heartbeat: {e}; the task is no longer this runner's, stopping it");
                    self.lost.cancel();
                    self.cancel_job.cancel();
                    return;
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.stop.cancelled() => return,
            }
        }
    }
}

/// Retries come at most a sixth of a lease apart (and never more than 5 s).
fn retry_cap(lease_ms: u64) -> Duration {
    Duration::from_millis(lease_ms / 6).clamp(Duration::from_millis(1), crate::backoff::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_stay_well_inside_the_lease() {
        assert_eq!(retry_cap(60_000), Duration::from_secs(5));
        assert_eq!(retry_cap(3_000), Duration::from_millis(500));
        assert_eq!(retry_cap(0), Duration::from_millis(1));
    }
}
