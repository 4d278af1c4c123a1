//! The runner's claimer: free slots are claimed for together, with one long-poll that takes
//! up to as many tasks as it holds slots, so a fan-out's tasks reach the runner in one answer
//! (and one transaction on the server). Slots freed while a claim waits go out in a second
//! claim at once (a task frees its slot before it reports its end, so the slot is claimed for
//! before the jobs its end lets go are queued); slots freed while two claims wait are claimed
//! for together when one returns, so claims stay few and wide.

use std::sync::Arc;
use std::time::Duration;

use circa_model::protocol::{CLAIM_MAX_TASKS, ClaimRequest, TaskAssignment};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::api::ApiError;
use crate::backoff::Backoff;
use crate::error::RunnerError;
use crate::task::{self, Prepared, Shared};

/// Claims waiting at once.
const CLAIMS_IN_FLIGHT: usize = 2;

/// An empty answer sooner than this means the server did not hold the claim: wait a little
/// before the next, rather than spin.
const TOO_SOON: Duration = Duration::from_millis(50);

/// A claim on its way: the slots it holds, the folders made for them, what the server said.
struct Answer {
    slots: Vec<OwnedSemaphorePermit>,
    folders: Vec<Prepared>,
    sent: Instant,
    tasks: Result<Vec<TaskAssignment>, ApiError>,
}

/// Claims and runs tasks until `stop`, then waits for the running ones to finish. Fails only
/// when the server refuses the runner token.
pub async fn claim_loop(shared: Arc<Shared>, stop: CancellationToken) -> Result<(), RunnerError> {
    let idle = Arc::new(Semaphore::new(shared.config.slots as usize));
    let mut running = JoinSet::new();
    let mut claims: JoinSet<Answer> = JoinSet::new();
    let mut backoff = Backoff::default();
    // After a failed or unheld claim, the next waits until then.
    let mut not_before = Instant::now();
    let result = loop {
        let may_claim = Instant::now() >= not_before && claims.len() < CLAIMS_IN_FLIGHT;
        tokio::select! {
            biased;
            () = stop.cancelled() => break Ok(()),
            Some(answer) = claims.join_next() => {
                let Ok(answer) = answer else { continue };
                let Answer { mut slots, folders, sent, tasks } = answer;
                shared.folders.put(folders);
                match tasks {
                    Ok(tasks) if !tasks.is_empty() => {
                        backoff.reset();
                        // The slots this answer did not fill, and any freed meanwhile, are
                        // claimed for before the tasks start: a fan-out wider than one answer
                        // then comes in one more round trip, not after its tasks' start-up.
                        let mut spare = slots.split_off(tasks.len().min(slots.len()));
                        spare.extend(free_slots_now(&idle));
                        // Extra slots go back (one claim takes at most CLAIM_MAX_TASKS).
                        spare.truncate(CLAIM_MAX_TASKS as usize);
                        // Ready folders go to the tasks first, then to the next claim.
                        let folders = shared.folders.take(tasks.len());
                        if !spare.is_empty() && claims.len() < CLAIMS_IN_FLIGHT {
                            let more = shared.folders.take(spare.len());
                            claims.spawn(claim(Arc::clone(&shared), spare, more, stop.clone()));
                        }
                        start(&shared, &mut running, tasks, slots, folders);
                    }
                    Ok(_) if sent.elapsed() >= TOO_SOON => backoff.reset(),
                    Ok(_) => not_before = Instant::now() + backoff.next_delay(),
                    Err(e) => match refused(&e) {
                        Some(status) => {
                            break Err(RunnerError::Unauthorized {
                                url: shared.config.url.clone(),
                                status,
                            });
                        }
                        None => {
                            let delay = backoff.next_delay();
                            tracing::warn!("claiming tasks: {e}; retrying in {delay:?}");
                            not_before = Instant::now() + delay;
                        }
                    },
                }
                while running.try_join_next().is_some() {}
            }
            free = free_slots(&idle), if may_claim => {
                if free.is_empty() {
                    continue;
                }
                let folders = shared.folders.take(free.len());
                claims.spawn(claim(Arc::clone(&shared), free, folders, stop.clone()));
            }
            () = tokio::time::sleep_until(not_before), if Instant::now() < not_before => {}
        }
    };
    // Claims still waiting return at once on `stop`; tasks one brought before it are run.
    while let Some(answer) = claims.join_next().await {
        if let Ok(answer) = answer {
            shared.folders.put(answer.folders);
            if let Ok(tasks) = answer.tasks {
                let folders = shared.folders.take(tasks.len());
                start(&shared, &mut running, tasks, answer.slots, folders);
            }
        }
    }
    while running.join_next().await.is_some() {}
    // Every task has given its folder back by now.
    let ready = shared.folders.take_all();
    if !ready.is_empty() {
        let _ = tokio::task::spawn_blocking(move || ready.into_iter().for_each(Prepared::discard))
            .await;
    }
    result
}

/// Runs each claimed task in a slot of `slots` and a folder of `ready` (a task without one
/// makes its own).
fn start(
    shared: &Arc<Shared>,
    running: &mut JoinSet<()>,
    tasks: Vec<TaskAssignment>,
    mut slots: Vec<OwnedSemaphorePermit>,
    mut ready: Vec<Prepared>,
) {
    for assignment in tasks {
        // The server takes no more than asked; a task it gave runs anyway.
        let slot = slots.pop();
        let prepared = ready.pop();
        let shared = Arc::clone(shared);
        running.spawn(async move {
            if let Some(cleanup) = task::run(shared, assignment, prepared, slot).await {
                let _ = cleanup.await;
            }
        });
    }
}

/// One claim for `slots`, with folders for them made (besides `folders`, made already) while
/// it is on its way; a claim still waiting when `stop` comes ends with no task (the server
/// keeps nothing for it), and its folders come back all the same.
async fn claim(
    shared: Arc<Shared>,
    slots: Vec<OwnedSemaphorePermit>,
    mut folders: Vec<Prepared>,
    stop: CancellationToken,
) -> Answer {
    let request = ClaimRequest {
        runner: shared.config.name.clone(),
        wait_ms: shared.config.claim_wait_ms(),
        resource_class: shared.config.resource_class.clone(),
        max_tasks: slots.len() as u32,
    };
    let missing = slots.len().saturating_sub(folders.len());
    let preparing = (missing > 0).then(|| {
        let data = shared.config.data_dir.clone();
        tokio::task::spawn_blocking(move || {
            (0..missing)
                .map(|_| task::prepare(&data))
                .collect::<Vec<_>>()
        })
    });
    let sent = Instant::now();
    let tasks = tokio::select! {
        biased;
        () = stop.cancelled() => Ok(Vec::new()),
        r = shared.api.claims(&shared.config.token, &request) => r,
    };
    if let Some(preparing) = preparing {
        match preparing.await {
            Ok(made) => {
                for prepared in made {
                    match prepared {
                        Ok(p) => folders.push(p),
                        // The task then makes its folder itself, and reports why it cannot.
                        Err(e) => tracing::warn!("preparing a task folder: {e}"),
                    }
                }
            }
            Err(e) => tracing::warn!("preparing task folders: {e}"),
        }
    }
    Answer {
        slots,
        folders,
        sent,
        tasks,
    }
}

/// Waits for one free slot, then takes every other free one too (at most
/// [`CLAIM_MAX_TASKS`]).
async fn free_slots(slots: &Arc<Semaphore>) -> Vec<OwnedSemaphorePermit> {
    match Arc::clone(slots).acquire_owned().await {
        Ok(first) => {
            let mut permits = vec![first];
            permits.extend(
                free_slots_now(slots)
                    .into_iter()
                    .take(CLAIM_MAX_TASKS as usize - 1),
            );
            permits
        }
        Err(_) => Vec::new(),
    }
}

/// The slots free right now (at most [`CLAIM_MAX_TASKS`]).
fn free_slots_now(slots: &Arc<Semaphore>) -> Vec<OwnedSemaphorePermit> {
    let mut permits = Vec::new();
    while permits.len() < CLAIM_MAX_TASKS as usize {
        match Arc::clone(slots).try_acquire_owned() {
            Ok(p) => permits.push(p),
            Err(_) => break,
        }
    }
    permits
}

/// The status when the server refused the runner token.
fn refused(e: &ApiError) -> Option<u16> {
    e.status().filter(|s| matches!(s, 401 | 403))
}
