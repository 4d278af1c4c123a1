//! What runs beside a task's job: its heartbeats, its event sender, and the watcher that
//! turns a cancel, a lost task or a forced shutdown into the job's cancellation.

use std::sync::Arc;

use circa_model::protocol::TaskAssignment;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{Shared, grace};
use crate::heartbeat::Heartbeat;
use crate::sender::{SendError, Sender};
use crate::sink::TaskSink;

/// The tokens of one task.
#[derive(Debug, Clone, Default)]
pub(super) struct Signals {
    /// Cancels the job.
    pub job: CancellationToken,
    /// The server canceled the task.
    pub server_cancel: CancellationToken,
    /// The task is no longer this runner's.
    pub lost: CancellationToken,
    /// The task is over: heartbeats stop.
    pub done: CancellationToken,
}

/// How the event sender ended.
#[derive(Debug)]
pub(super) enum Drained {
    /// Every event is acknowledged; the number of the last.
    Sent(u64),
    /// The spool failed; the server has the events up to `acked`.
    SpoolFailed {
        /// The last event the server has.
        acked: u64,
        /// What failed.
        error: String,
    },
    /// The task is lost, or the runner is stopping: it is not completed.
    Abandoned,
}

/// The running heartbeat and sender of one task.
#[derive(Debug)]
pub(super) struct Background {
    /// The task's tokens.
    pub signals: Signals,
    sink: Arc<TaskSink>,
    heartbeat: JoinHandle<()>,
    sender: JoinHandle<Result<(), SendError>>,
    finish: CancellationToken,
    send_abort: CancellationToken,
}

impl Background {
    /// Starts the heartbeats, the sender and the cancel watcher of task `a`.
    pub fn start(shared: &Shared, a: &TaskAssignment, sink: &Arc<TaskSink>) -> Background {
        let signals = Signals::default();
        let heartbeat = tokio::spawn(
            Heartbeat {
                api: shared.api.clone(),
                task_id: a.task_id.clone(),
                token: a.task_token.clone(),
                lease_ms: a.lease_ms,
                cancel_job: signals.server_cancel.clone(),
                lost: signals.lost.clone(),
                stop: signals.done.clone(),
            }
            .run(),
        );
        tokio::spawn(cancel_job_on(
            [
                signals.server_cancel.clone(),
                signals.lost.clone(),
                shared.abort.clone(),
            ],
            signals.job.clone(),
            signals.done.clone(),
        ));
        let finish = CancellationToken::new();
        let send_abort = signals.lost.child_token();
        let sender = Sender {
            api: shared.api.clone(),
            task_id: a.task_id.clone(),
            token: a.task_token.clone(),
            sink: Arc::clone(sink),
            finish: finish.clone(),
            abort: send_abort.clone(),
        };
        let lost = signals.lost.clone();
        let task_id = a.task_id.clone();
        let sender = tokio::spawn(async move {
            let sent = sender.run().await;
            if let Err(SendError::Refused(e)) = &sent {
                // Nobody takes the job's reports any more: stop it now.
                tracing::warn!(task = %task_id, "{e}; stopping the task");
                lost.cancel();
            }
            sent
        });
        Background {
            signals,
            sink: Arc::clone(sink),
            heartbeat,
            sender,
            finish,
            send_abort,
        }
    }

    /// Once no more events will come: waits until the sender has every event acknowledged
    /// (after a forced shutdown, for the grace time at most).
    pub async fn drain(&mut self, abort: &CancellationToken) -> Drained {
        self.finish.cancel();
        let sent = tokio::select! {
            r = &mut self.sender => r,
            () = grace(abort) => {
                self.send_abort.cancel();
                (&mut self.sender).await
            }
        };
        match sent {
            Ok(Ok(())) => Drained::Sent(self.sink.spool().last_seq()),
            Ok(Err(SendError::Aborted | SendError::Refused(_))) => Drained::Abandoned,
            Ok(Err(SendError::Spool(e))) => Drained::SpoolFailed {
                acked: self.sink.spool().acked(),
                error: e.to_string(),
            },
            Err(e) => {
                tracing::error!("the event sender stopped: {e}");
                Drained::Abandoned
            }
        }
    }

    /// Stops the heartbeats (after the completion) and the sender if it still runs.
    pub async fn stop(self) {
        self.signals.done.cancel();
        self.send_abort.cancel();
        // Both are gone once this returns: the spool may go to another task. (A finished
        // sender may have been awaited already, by `drain`.)
        if !self.sender.is_finished() {
            self.sender.abort();
            let _ = self.sender.await;
        }
        let _ = self.heartbeat.await;
    }
}

/// Cancels `job` when any of `causes` is cancelled, until `done`.
async fn cancel_job_on(
    causes: [CancellationToken; 3],
    job: CancellationToken,
    done: CancellationToken,
) {
    let [a, b, c] = causes;
    tokio::select! {
        () = a.cancelled() => {}
        () = b.cancelled() => {}
        () = c.cancelled() => {}
        () = done.cancelled() => return,
    }
    job.cancel();
}
