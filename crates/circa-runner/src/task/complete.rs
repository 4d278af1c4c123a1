//! `POST complete`, retried until it lands.

use circa_model::JobStatus;
use circa_model::protocol::{CompleteRequest, TaskAssignment};

use super::{Shared, grace};
use crate::backoff::Backoff;

/// Completes task `a`; retried on network errors and 5xx answers until it lands (or, after a
/// forced shutdown, until the grace time has passed). Other answers (404: the task is gone,
/// 409: already completed) are logged and the task is left as it is.
pub(super) async fn complete(
    shared: &Shared,
    a: &TaskAssignment,
    status: JobStatus,
    message: Option<String>,
    last_seq: u64,
) {
    let request = CompleteRequest {
        status,
        message,
        last_seq,
    };
    let mut backoff = Backoff::default();
    loop {
        let result = tokio::select! {
            r = shared.api.complete(&a.task_id, &a.task_token, &request) => r,
            () = grace(&shared.abort) => {
                tracing::warn!(task = %a.task_id, "stopping without completing the task");
                return;
            }
        };
        match result {
            Ok(()) => return,
            Err(e) if e.is_transient() => {
                let delay = backoff.next_delay();
                tracing::warn!(task = %a.task_id, "completing the task: {e}; retrying in {delay:?}");
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = grace(&shared.abort) => return,
                }
            }
            Err(e) => {
                tracing::warn!(task = %a.task_id, "completing the task: {e}; moving on");
                return;
            }
        }
    }
}
