//! The runner's claimer: free slots are claimed for together, with one long-poll that takes
//! up to as many tasks as it holds slots, so a fan-out's tasks reach the runner in one answer
//! (and one transaction on the server). One claim waits at a time. Slots freed while it waits
//! join it: the runner sets them aside for it and tells the server (`POST /claims/grow`), so a
//! task that frees its slot before it reports its end has that slot in the claim that takes
//! the jobs its end lets go. Slots the answer leaves unused (a growth the server did not see
//! in time, a claim answered before it) go out in the next claim at once.
//!
//! An empty answer sooner than [`TOO_SOON`] (the server did not hold the claim) and a failed
//! claim make the next one wait ([`Backoff`]); only a refused runner token ends the claimer.
//! On stop it claims no more and waits for the running tasks.
//!
//! [`Claimer`] holds the state and has one method per event; [`Claimer::run`] waits for the
//! events and calls them. What it drives (the server, folders, tasks) is a [`Backend`].

mod backend;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use circa_model::protocol::CLAIM_MAX_TASKS;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::api::ApiError;
use crate::backoff::Backoff;
use crate::error::RunnerError;
use crate::task::Shared;
use backend::Backend;

/// An empty answer sooner than this means the server did not hold the claim: wait a little
/// before the next, rather than spin.
const TOO_SOON: Duration = Duration::from_millis(50);

/// Claims and runs tasks until `stop`, then waits for the running ones to finish. Fails only
/// when the server refuses the runner token.
pub async fn claim_loop(shared: Arc<Shared>, stop: CancellationToken) -> Result<(), RunnerError> {
    let (url, slots) = (shared.config.url.clone(), shared.config.slots);
    Claimer::new(shared, slots, stop)
        .run()
        .await
        .map_err(|TokenRefused { status }| RunnerError::Unauthorized { url, status })
}

/// The server refused the runner token (HTTP 401 or 403).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenRefused {
    /// The status it answered.
    pub status: u16,
}

/// What the server said to a claim.
struct Answer<T> {
    sent: Instant,
    tasks: Result<Vec<T>, ApiError>,
}

/// The claim on its way: its id and the slots set aside for it.
struct Waiting {
    id: String,
    slots: Vec<OwnedSemaphorePermit>,
    /// Slots set aside since the server was last told.
    untold: u32,
}

/// The claimer's state: the idle slots, the claim on its way, the growth telling the server
/// about it, the folders being made, the back-off and the running tasks.
pub(crate) struct Claimer<B: Backend> {
    backend: B,
    /// Slots no claim or task holds.
    idle: Arc<Semaphore>,
    /// The claim on its way (at most one) and what it holds.
    claims: JoinSet<Answer<B::Task>>,
    waiting: Option<Waiting>,
    /// The growth on its way (at most one).
    growths: JoinSet<()>,
    /// Folders being made for claims.
    making: JoinSet<()>,
    running: JoinSet<()>,
    backoff: Backoff,
    /// After a failed or unheld claim, the next waits until then.
    not_before: Instant,
    stop: CancellationToken,
}

impl<B: Backend> Claimer<B> {
    /// A claimer for `slots` slots, claiming until `stop`.
    pub fn new(backend: B, slots: u32, stop: CancellationToken) -> Self {
        Claimer {
            backend,
            idle: Arc::new(Semaphore::new(slots as usize)),
            claims: JoinSet::new(),
            waiting: None,
            growths: JoinSet::new(),
            making: JoinSet::new(),
            running: JoinSet::new(),
            backoff: Backoff::default(),
            not_before: Instant::now(),
            stop,
        }
    }

    /// Claims and runs tasks until `stop` (then waits for the running ones) or a refused
    /// token. A folder made and the back-off's end change nothing but what the next turn
    /// waits for ([`Claimer::room`]).
    pub async fn run(mut self) -> Result<(), TokenRefused> {
        let result = loop {
            let room = self.room();
            tokio::select! {
                biased;
                () = self.stop.cancelled() => break Ok(()),
                Some(answer) = self.claims.join_next() => {
                    if let Err(refused) = self.claim_answered(answer) {
                        break Err(refused);
                    }
                }
                Some(_) = self.making.join_next() => {}
                Some(_) = self.growths.join_next() => self.growth_done(),
                free = free_slots(&self.idle, room), if room > 0 => self.slots_freed(free),
                () = tokio::time::sleep_until(self.not_before), if Instant::now() < self.not_before => {}
            }
        };
        self.stopped().await;
        result
    }

    /// How many more slots a claim may take now: none while the back-off lasts.
    fn room(&self) -> usize {
        match &self.waiting {
            Some(w) => (CLAIM_MAX_TASKS as usize).saturating_sub(w.slots.len()),
            None if Instant::now() >= self.not_before => CLAIM_MAX_TASKS as usize,
            None => 0,
        }
    }

    /// Free slots (a task let its slot go, the back-off ended): they join the waiting claim,
    /// or go out in a new one.
    fn slots_freed(&mut self, free: Vec<OwnedSemaphorePermit>) {
        if free.is_empty() {
            return;
        }
        match &mut self.waiting {
            Some(w) => {
                w.untold += free.len() as u32;
                w.slots.extend(free);
                if self.growths.is_empty() {
                    self.tell();
                }
            }
            None => self.send(free),
        }
    }

    /// The growth on its way is answered: slots set aside since it was sent are told now.
    fn growth_done(&mut self) {
        self.tell();
    }

    /// The waiting claim is answered: its tasks start, or the next claim waits (an answer too
    /// soon, a failure). Its slots the tasks do not use go back.
    fn claim_answered(
        &mut self,
        answer: Result<Answer<B::Task>, JoinError>,
    ) -> Result<(), TokenRefused> {
        let slots = self.waiting.take().map(|w| w.slots).unwrap_or_default();
        let Ok(Answer { sent, tasks }) = answer else {
            return Ok(());
        };
        match tasks {
            Ok(tasks) if !tasks.is_empty() => self.tasks_arrived(tasks, slots),
            Ok(_) if sent.elapsed() >= TOO_SOON => self.backoff.reset(),
            Ok(_) => self.not_before = Instant::now() + self.backoff.next_delay(),
            Err(e) => {
                if let Some(status) = refused(&e) {
                    return Err(TokenRefused { status });
                }
                let delay = self.backoff.next_delay();
                tracing::warn!("claiming tasks: {e}; retrying in {delay:?}");
                self.not_before = Instant::now() + delay;
            }
        }
        while self.running.try_join_next().is_some() {}
        Ok(())
    }

    /// Starts the claimed `tasks` in `slots`. The slots they leave, and any free now, are
    /// claimed for first: a fan-out wider than one answer then comes in one more round trip,
    /// not after its tasks' start-up.
    fn tasks_arrived(&mut self, tasks: Vec<B::Task>, mut slots: Vec<OwnedSemaphorePermit>) {
        self.backoff.reset();
        let mut spare = slots.split_off(tasks.len().min(slots.len()));
        spare.extend(free_slots_now(&self.idle, CLAIM_MAX_TASKS as usize));
        // Extra slots go back (one claim takes at most CLAIM_MAX_TASKS).
        spare.truncate(CLAIM_MAX_TASKS as usize);
        // Ready folders go to the tasks; the next claim makes more.
        let folders = self.backend.take_folders(tasks.len());
        if !spare.is_empty() {
            self.send(spare);
        }
        self.start(tasks, slots, folders);
    }

    /// Stop: the claim still waiting returns at once (tasks it brought before it are run),
    /// then every task runs to its end and the ready folders are removed.
    async fn stopped(mut self) {
        while let Some(answer) = self.claims.join_next().await {
            let slots = self.waiting.take().map(|w| w.slots).unwrap_or_default();
            if let Ok(Answer {
                tasks: Ok(tasks), ..
            }) = answer
            {
                let folders = self.backend.take_folders(tasks.len());
                self.start(tasks, slots, folders);
            }
        }
        self.growths.abort_all();
        while self.making.join_next().await.is_some() {}
        while self.running.join_next().await.is_some() {}
        // Every task has given its folder back by now.
        let backend = self.backend.clone();
        let _ = tokio::task::spawn_blocking(move || backend.discard_folders()).await;
    }

    /// Sends a claim for `slots`, and makes the folders its tasks would lack while it is on
    /// its way (each ready for a task as soon as made); the claim now waiting.
    fn send(&mut self, slots: Vec<OwnedSemaphorePermit>) {
        let missing = self.backend.folders_to_make(slots.len());
        if missing > 0 {
            let backend = self.backend.clone();
            self.making
                .spawn_blocking(move || backend.make_folders(missing));
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let (backend, stop) = (self.backend.clone(), self.stop.clone());
        let (claim_id, count) = (id.clone(), slots.len() as u32);
        // A claim still waiting when `stop` comes ends with no task (the server keeps
        // nothing for it).
        self.claims.spawn(async move {
            let sent = Instant::now();
            let tasks = tokio::select! {
                biased;
                () = stop.cancelled() => Ok(Vec::new()),
                r = backend.claim(claim_id, count) => r,
            };
            Answer { sent, tasks }
        });
        self.waiting = Some(Waiting {
            id,
            slots,
            untold: 0,
        });
    }

    /// Tells the server about the slots set aside for the waiting claim since it was last
    /// told. An answer other than yes leaves them with the claim all the same: they come back
    /// unused with its answer and go out in the next claim.
    fn tell(&mut self) {
        let Some(w) = &mut self.waiting else { return };
        if w.untold == 0 {
            return;
        }
        let (id, slots) = (w.id.clone(), std::mem::take(&mut w.untold));
        let backend = self.backend.clone();
        self.growths.spawn(async move {
            if let Err(e) = backend.grow(id, slots).await {
                tracing::debug!("adding {slots} slots to the waiting claim: {e}");
            }
        });
    }

    /// Runs each claimed task in a slot of `slots` and a folder of `ready` (a task without
    /// one makes its own).
    fn start(
        &mut self,
        tasks: Vec<B::Task>,
        mut slots: Vec<OwnedSemaphorePermit>,
        mut ready: Vec<B::Folder>,
    ) {
        for task in tasks {
            // The server takes no more than asked; a task it gave runs anyway.
            let (slot, folder) = (slots.pop(), ready.pop());
            let backend = self.backend.clone();
            self.running
                .spawn(async move { backend.run(task, folder, slot).await });
        }
    }
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
