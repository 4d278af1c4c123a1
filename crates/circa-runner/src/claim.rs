//! One slot's loop: claim a task (long-poll), run it, claim again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use circa_model::protocol::ClaimRequest;
use tokio::task::JoinHandle;
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
    // The last task's clean-up, which runs beside the next claim.
    let mut leftovers: Option<JoinHandle<()>> = None;
    // The next task's folder and spool, made while its claim is on its way.
    let mut next: Option<task::Prepared> = None;
    let result = loop {
        let started = Instant::now();
        let preparing = next.is_none().then(|| {
            let data = shared.config.data_dir.clone();
            tokio::task::spawn_blocking(move || task::prepare(&data))
        });
        let claimed = tokio::select! {
            biased;
            () = stop.cancelled() => Err(None),
            r = shared.api.claim(&shared.config.token, &request) => r.map_err(Some),
        };
        if let Some(preparing) = preparing {
            match preparing.await {
                Ok(Ok(prepared)) => next = Some(prepared),
                // The task then makes its folder itself, and reports why it cannot.
                Ok(Err(e)) => tracing::warn!("preparing a task folder: {e}"),
                Err(e) => tracing::warn!("preparing a task folder: {e}"),
            }
        }
        let claimed = match claimed {
            Err(None) => break Ok(()),
            Err(Some(e)) => Err(e),
            Ok(c) => Ok(c),
        };
        let delay = match claimed {
            Ok(Some(assignment)) => {
                backoff.reset();
                let cleanup = task::run(Arc::clone(&shared), assignment, next.take()).await;
                if let Some(previous) = std::mem::replace(&mut leftovers, cleanup) {
                    let _ = previous.await;
                }
                continue;
            }
            Ok(None) if started.elapsed() >= TOO_SOON => {
                backoff.reset();
                continue;
            }
            Ok(None) => backoff.next_delay(),
            Err(e) => match refused(&e) {
                Some(status) => {
                    break Err(RunnerError::Unauthorized {
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
            () = stop.cancelled() => break Ok(()),
            () = tokio::time::sleep(delay) => {}
        }
    };
    if let Some(cleanup) = leftovers {
        let _ = cleanup.await;
    }
    if let Some(unused) = next {
        let _ = tokio::task::spawn_blocking(move || unused.discard()).await;
    }
    result
}

/// The status when the server refused the runner token.
fn refused(e: &ApiError) -> Option<u16> {
    e.status().filter(|s| matches!(s, 401 | 403))
}
