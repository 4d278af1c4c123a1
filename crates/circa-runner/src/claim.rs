//! The runner's claimer: free slots are claimed for together, with one long-poll that takes
//! up to as many tasks as it holds slots, so a fan-out's tasks reach the runner in one answer
//! (and one transaction on the server). One claim waits at a time. Slots freed while it waits
//! join it: the runner sets them aside for it and tells the server (`POST /claims/grow`), so a
//! task that frees its slot before it reports its end has that slot in the claim that takes
//! the jobs its end lets go. Slots the answer leaves unused (a growth the server did not see
//! in time, a claim answered before it) go out in the next claim at once.

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

/// An empty answer sooner than this means the server did not hold the claim: wait a little
/// before the next, rather than spin.
const TOO_SOON: Duration = Duration::from_millis(50);

/// What the server said to a claim.
struct Answer {
    sent: Instant,
    tasks: Result<Vec<TaskAssignment>, ApiError>,
}

/// The claim on its way: its id and the slots set aside for it.
struct Waiting {
    id: String,
    slots: Vec<OwnedSemaphorePermit>,
    /// Slots set aside since the server was last told.
    untold: u32,
}

/// Claims and runs tasks until `stop`, then waits for the running ones to finish. Fails only
/// when the server refuses the runner token.
pub async fn claim_loop(shared: Arc<Shared>, stop: CancellationToken) -> Result<(), RunnerError> {
    let idle = Arc::new(Semaphore::new(shared.config.slots as usize));
    let mut running = JoinSet::new();
    // At most one claim and one growth at a time.
    let mut claims: JoinSet<Answer> = JoinSet::new();
    let mut waiting: Option<Waiting> = None;
    let mut growths: JoinSet<()> = JoinSet::new();
    // Folders being made for claims.
    let mut making: JoinSet<()> = JoinSet::new();
    let mut backoff = Backoff::default();
    // After a failed or unheld claim, the next waits until then.
    let mut not_before = Instant::now();
    let result = loop {
        // How many more slots a claim may take now.
        let room = match &waiting {
            Some(w) => (CLAIM_MAX_TASKS as usize).saturating_sub(w.slots.len()),
            None if Instant::now() >= not_before => CLAIM_MAX_TASKS as usize,
            None => 0,
        };
        tokio::select! {
            biased;
            () = stop.cancelled() => break Ok(()),
            Some(answer) = claims.join_next() => {
                let mut slots = waiting.take().map(|w| w.slots).unwrap_or_default();
                let Ok(answer) = answer else { continue };
                let Answer { sent, tasks } = answer;
                match tasks {
                    Ok(tasks) if !tasks.is_empty() => {
                        backoff.reset();
                        // The slots this answer did not fill, and any freed meanwhile, are
                        // claimed for before the tasks start: a fan-out wider than one answer
                        // then comes in one more round trip, not after its tasks' start-up.
                        let mut spare = slots.split_off(tasks.len().min(slots.len()));
                        spare.extend(free_slots_now(&idle, CLAIM_MAX_TASKS as usize));
                        // Extra slots go back (one claim takes at most CLAIM_MAX_TASKS).
                        spare.truncate(CLAIM_MAX_TASKS as usize);
                        // Ready folders go to the tasks; the next claim makes more.
                        let folders = shared.folders.take(tasks.len());
                        if !spare.is_empty() {
                            waiting = Some(send(&shared, &mut claims, &mut making, spare, &stop));
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
            Some(_) = making.join_next() => {}
            Some(_) = growths.join_next() => {
                if let Some(w) = &mut waiting {
                    tell(&shared, &mut growths, w);
                }
            }
            free = free_slots(&idle, room), if room > 0 => {
                if free.is_empty() {
                    continue;
                }
                match &mut waiting {
                    Some(w) => {
                        w.untold += free.len() as u32;
                        w.slots.extend(free);
                        if growths.is_empty() {
                            tell(&shared, &mut growths, w);
                        }
                    }
                    None => {
                        waiting = Some(send(&shared, &mut claims, &mut making, free, &stop));
                    }
                }
            }
            () = tokio::time::sleep_until(not_before), if Instant::now() < not_before => {}
        }
    };
    // A claim still waiting returns at once on `stop`; tasks it brought before it are run.
    while let Some(answer) = claims.join_next().await {
        let slots = waiting.take().map(|w| w.slots).unwrap_or_default();
        if let Ok(Answer {
            tasks: Ok(tasks), ..
        }) = answer
        {
            let folders = shared.folders.take(tasks.len());
            start(&shared, &mut running, tasks, slots, folders);
        }
    }
    growths.abort_all();
    while making.join_next().await.is_some() {}
    while running.join_next().await.is_some() {}
    // Every task has given its folder back by now.
    let ready = shared.folders.take_all();
    if !ready.is_empty() {
        let _ = tokio::task::spawn_blocking(move || ready.into_iter().for_each(Prepared::discard))
            .await;
    }
    result
}

/// Sends a claim for `slots`, and makes the folders its tasks would lack while it is on its
/// way (each ready for a task as soon as made); the claim now waiting.
fn send(
    shared: &Arc<Shared>,
    claims: &mut JoinSet<Answer>,
    making: &mut JoinSet<()>,
    slots: Vec<OwnedSemaphorePermit>,
    stop: &CancellationToken,
) -> Waiting {
    let missing = shared.folders.to_make(slots.len());
    if missing > 0 {
        let shared = Arc::clone(shared);
        making.spawn_blocking(move || {
            for _ in 0..missing {
                match task::prepare(&shared.config.data_dir) {
                    Ok(p) => shared.folders.made(Some(p)),
                    Err(e) => {
                        // The task then makes its folder itself, and reports why it cannot.
                        tracing::warn!("preparing a task folder: {e}");
                        shared.folders.made(None);
                    }
                }
            }
        });
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    claims.spawn(claim(
        Arc::clone(shared),
        id.clone(),
        slots.len() as u32,
        stop.clone(),
    ));
    Waiting {
        id,
        slots,
        untold: 0,
    }
}

/// Tells the server about the slots set aside for claim `w` since it was last told. An
/// answer other than yes leaves them with the claim all the same: they come back unused
/// with its answer and go out in the next claim.
fn tell(shared: &Arc<Shared>, growths: &mut JoinSet<()>, w: &mut Waiting) {
    if w.untold == 0 {
        return;
    }
    let (id, slots) = (w.id.clone(), std::mem::take(&mut w.untold));
    let shared = Arc::clone(shared);
    growths.spawn(async move {
        if let Err(e) = shared
            .api
            .grow_claim(&shared.config.token, &id, slots)
            .await
        {
            tracing::debug!("adding {slots} slots to the waiting claim: {e}");
        }
    });
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

/// Claim `id` for `slots` slots; a claim still waiting when `stop` comes ends with no task
/// (the server keeps nothing for it).
async fn claim(shared: Arc<Shared>, id: String, slots: u32, stop: CancellationToken) -> Answer {
    let request = ClaimRequest {
        runner: shared.config.name.clone(),
        wait_ms: shared.config.claim_wait_ms(),
        resource_class: shared.config.resource_class.clone(),
        max_tasks: slots,
        claim_id: Some(id),
    };
    let sent = Instant::now();
    let tasks = tokio::select! {
        biased;
        () = stop.cancelled() => Ok(Vec::new()),
        r = shared.api.claims(&shared.config.token, &request) => r,
    };
    Answer { sent, tasks }
}

/// Waits for one free slot, then takes every other free one too (at most `room` in all).
async fn free_slots(slots: &Arc<Semaphore>, room: usize) -> Vec<OwnedSemaphorePermit> {
    match Arc::clone(slots).acquire_owned().await {
        Ok(first) => {
            let mut permits = vec![first];
            permits.extend(free_slots_now(slots, room.saturating_sub(1)));
            permits
        }
        Err(_) => Vec::new(),
    }
}

/// The slots free right now (at most `room`).
fn free_slots_now(slots: &Arc<Semaphore>, room: usize) -> Vec<OwnedSemaphorePermit> {
    let mut permits = Vec::new();
    while permits.len() < room {
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
