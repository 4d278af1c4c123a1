//! One slot's loop: claim a task (long-poll), run it, claim again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use circa_model::protocol::ClaimRequest;
use tokio_util::sync::CancellationToken;

use crate::api::ApiError;
use crate::backoff::Backoff;
use crate::error::RunnerError;
use crate::task::{self, Shared};

/// An empty answer sooner than this means the server did not hold the claim: wait a little
/// before the next, rather than spin.
const TOO_SOON: Duration = Duration::from_millis(50);

/// Claims and runs tasks one after another until `stop`; a running task always finishes.
/// Fails only when the server refuses the runner token.
pub async fn claim_loop(shared: Arc<Shared>, stop: CancellationToken) -> Result<(), RunnerError> {
    let request = ClaimRequest {
        runner: shared.config.name.clone(),
        wait_ms: shared.config.claim_wait_ms(),
        resource_class: shared.config.resource_class.clone(),
    };
    let mut backoff = Backoff::default();
    loop {
        let started = Instant::now();
        let claimed = tokio::select! {
            biased;
            () = stop.cancelled() => return Ok(()),
            r = shared.api.claim(&shared.config.token, &request) => r,
        };
        let delay = match claimed {
            Ok(Some(assignment)) => {
                backoff.reset();
                task::run(Arc::clone(&shared), assignment).await;
                continue;
            }
            Ok(None) if started.elapsed() >= TOO_SOON => {
                backoff.reset();
                continue;
            }
            Ok(None) => backoff.next_delay(),
            Err(e) => match refused(&e) {
                Some(status) => {
                    return Err(RunnerError::Unauthorized {
                        url: shared.config.url.clone(),
                        status,
                    });
                }
                None => {
                    let delay = backoff.next_delay();
                    tracing::warn!("claiming a task: {e}; retrying in {delay:?}");
                    delay
                }
            },
        };
        tokio::select! {
            () = stop.cancelled() => return Ok(()),
            () = tokio::time::sleep(delay) => {}
        }
    }
}

/// The status when the server refused the runner token.
fn refused(e: &ApiError) -> Option<u16> {
    e.status().filter(|s| matches!(s, 401 | 403))
}
