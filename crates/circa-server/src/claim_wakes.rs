//! The claims waiting on this server for work of a resource class, and how a queued task
//! wakes one. Waiting claims stand in line per class; tasks queued here wake as many claims
//! from the head of the line, and the other replicas hear only of the tasks no claim here
//! waits for ([`crate::replicas::queued`]); a replica that hears of tasks wakes as many of
//! its own claims as wait, never more. So one task wakes one claim, not one per replica, and
//! a runner whose claim waits on the replica that queued the task hears of it without a
//! round trip through the database.
//!
//! A claim looks at the queue before it waits, so a wake that reaches no claim costs time,
//! never a task: a claim woken and then gone before it looked again (its runner hung up)
//! passes its wake on; and with several replicas, whose notices can be lost with a
//! connection, [`watch_queue`] wakes every claim of a class waiting here when a task of it has
//! been queued longer than [`STALE_AFTER`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::registry::Registry;
use crate::state::{AppState, now_ms};

/// How long a task may stay queued while claims of its class wait here before all of them
/// are woken; also how often that is looked at.
pub const STALE_AFTER: Duration = Duration::from_secs(1);

/// The lines of waiting claims, by resource class.
#[derive(Debug, Default)]
pub struct ClaimWakes {
    lines: Registry<String, VecDeque<Arc<Waiter>>>,
}

/// One claim's place in line.
#[derive(Debug, Default)]
struct Waiter {
    notify: Notify,
    /// Woken since it last stood in line.
    woken: AtomicBool,
    /// In its class's line now (changed under the registry's lock).
    in_line: AtomicBool,
}

impl ClaimWakes {
    /// Wakes up to `tasks` claims waiting on `class`, first come first; how many it woke.
    pub fn wake(&self, class: &str, tasks: usize) -> usize {
        let mut lines = self.lines.lock();
        let Some(line) = lines.get_mut(class) else {
            return 0;
        };
        let woken = tasks.min(line.len());
        for waiter in line.drain(..woken) {
            waiter.in_line.store(false, Ordering::Release);
            waiter.woken.store(true, Ordering::Release);
            waiter.notify.notify_one();
        }
        woken
    }

    /// Wakes every claim waiting here: notices may have been missed.
    pub fn wake_all(&self) {
        for class in self.classes_waited_on() {
            self.wake(&class, usize::MAX);
        }
    }

    /// The classes some claim waits on here.
    pub fn classes_waited_on(&self) -> Vec<String> {
        let mut lines = self.lines.lock();
        lines.retain(|_, line| !line.is_empty());
        lines.keys().cloned().collect()
    }

    fn stand_in_line(&self, class: &str, waiter: &Arc<Waiter>) {
        let mut lines = self.lines.lock();
        if !waiter.in_line.swap(true, Ordering::AcqRel) {
            lines
                .entry(class.to_string())
                .or_default()
                .push_back(Arc::clone(waiter));
        }
    }

    fn leave_line(&self, class: &str, waiter: &Arc<Waiter>) {
        let mut lines = self.lines.lock();
        if waiter.in_line.swap(false, Ordering::AcqRel)
            && let Some(line) = lines.get_mut(class)
        {
            line.retain(|w| !Arc::ptr_eq(w, waiter));
        }
    }
}

/// A claim waiting for tasks of one class; it leaves the line when dropped, and passes on a
/// wake it got after its last look at the queue.
pub struct Waiting {
    state: AppState,
    class: String,
    waiter: Arc<Waiter>,
}

impl Waiting {
    /// A claim of `class`, not yet in line.
    pub fn new(state: &AppState, class: &str) -> Waiting {
        Waiting {
            state: state.clone(),
            class: class.to_string(),
            waiter: Arc::default(),
        }
    }

    /// Stands in line (again) before the claim looks at the queue: a task queued from now
    /// on wakes it; a wake before now is forgotten, the look that follows finds its task.
    pub fn before_look(&self) {
        self.waiter.woken.store(false, Ordering::Release);
        self.state
            .dispatch
            .claim_wakes
            .stand_in_line(&self.class, &self.waiter);
    }

    /// Returns once a queued task woke this claim.
    pub async fn woken(&self) {
        self.waiter.woken().await;
    }
}

impl Waiter {
    /// Returns once woken (at once if it was already).
    async fn woken(&self) {
        loop {
            let notified = self.notify.notified();
            if self.woken.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let wakes = &self.state.dispatch.claim_wakes;
        wakes.leave_line(&self.class, &self.waiter);
        if self.waiter.woken.load(Ordering::Acquire) {
            // Woken for a task this claim may not have taken: the next claim is.
            crate::replicas::queued(&self.state, &self.class, 1);
        }
    }
}

/// Every [`STALE_AFTER`] until `stop`: the claims of each class waiting here are all woken
/// when a task of the class has been queued longer than that.
pub async fn watch_queue(state: AppState, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(STALE_AFTER) => {}
        }
        let before = now_ms() - STALE_AFTER.as_millis() as i64;
        for class in state.dispatch.claim_wakes.classes_waited_on() {
            match state.store.queued_before(&class, before).await {
                Ok(true) => {
                    tracing::debug!(class, "claims woken for a task queued a while");
                    state.dispatch.claim_wakes.wake(&class, usize::MAX);
                }
                Ok(false) => {}
                Err(e) => tracing::warn!("looking at the queue of {class}: {e}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn waiter(wakes: &ClaimWakes, class: &str) -> Arc<Waiter> {
        let waiter = Arc::<Waiter>::default();
        wakes.stand_in_line(class, &waiter);
        waiter
    }

    #[test]
    fn tasks_wake_as_many_claims_first_come_first() {
        let wakes = ClaimWakes::default();
        let (a, b, c) = (
            waiter(&wakes, "docker"),
            waiter(&wakes, "docker"),
            waiter(&wakes, "docker"),
        );
        assert_eq!(wakes.wake("docker", 2), 2);
        assert!(a.woken.load(Ordering::Acquire) && b.woken.load(Ordering::Acquire));
        assert!(!c.woken.load(Ordering::Acquire));
        // One claim left for three tasks: the other two are for someone else.
        assert_eq!(wakes.wake("docker", 3), 1);
        assert_eq!(wakes.wake("docker", 1), 0);
        assert_eq!(wakes.wake("large", 1), 0);
    }

    #[test]
    fn a_claim_stands_in_line_once_and_leaves_it() {
        let wakes = ClaimWakes::default();
        let a = waiter(&wakes, "docker");
        wakes.stand_in_line("docker", &a);
        let b = waiter(&wakes, "docker");
        wakes.leave_line("docker", &a);
        wakes.leave_line("docker", &a);
        assert_eq!(wakes.classes_waited_on(), vec!["docker".to_string()]);
        assert_eq!(wakes.wake("docker", 5), 1);
        assert!(b.woken.load(Ordering::Acquire) && !a.woken.load(Ordering::Acquire));
        assert!(wakes.classes_waited_on().is_empty());
    }

    #[test]
    fn wake_all_wakes_every_class() {
        let wakes = ClaimWakes::default();
        let (a, b) = (waiter(&wakes, "docker"), waiter(&wakes, "large"));
        wakes.wake_all();
        assert!(a.woken.load(Ordering::Acquire) && b.woken.load(Ordering::Acquire));
        assert!(wakes.classes_waited_on().is_empty());
    }

    #[tokio::test]
    async fn a_wake_before_the_wait_is_not_lost() {
        let wakes = ClaimWakes::default();
        let a = waiter(&wakes, "docker");
        wakes.wake("docker", 1);
        tokio::time::timeout(Duration::from_secs(5), a.woken())
            .await
            .unwrap();
    }
}
