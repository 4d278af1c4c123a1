//! The server's side of several replicas on one PostgreSQL database. What a replica keeps in
//! memory about work others may change — the claims waiting for a resource class, the
//! heartbeats waiting for a cancel, the live log and status followers, the scheduler's and
//! the commit status sender's sleep — is moved by a [`Notice`]: [`publish`] applies it here
//! and sends it to the other replicas (`circa_store::replicas`), and [`listen`] applies what
//! they send. With an embedded database (one server) publishing is applying.
//!
//! A notice only says where to look again; what it is about is read from the database, so a
//! notice that is lost costs time, never correctness: a claim still finds its task at its next
//! look, a follower at its next read. When notices may have been lost (the listening
//! connection dropped), every sleeper here is woken once.

use std::sync::Arc;

use circa_store::{Heard, StoredEvent, TaskId, Urgency};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::live::StatusUpdate;
use crate::state::AppState;

/// A change other replicas may hold something in memory about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum Notice {
    /// Tasks of a resource class were queued that no claim waiting on the sender was woken
    /// for: as many waiting claims are woken.
    Queued {
        /// The resource class.
        class: String,
        /// How many tasks.
        tasks: usize,
    },
    /// A task is asked to stop: its heartbeat, held wherever it is, answers at once.
    Cancel {
        /// The task.
        task: TaskId,
    },
    /// A task's events were stored: its log followers read them.
    Events {
        /// The task.
        task: TaskId,
    },
    /// A task ended or went back to the queue: its log followers finish reading.
    Closed {
        /// The task.
        task: TaskId,
    },
    /// A status changed: the pipeline's watchers are told.
    Status {
        /// The change.
        update: StatusUpdate,
    },
    /// Job changes were stored: the commit status sender looks at the outbox.
    Statuses,
    /// Schedules changed: the scheduler looks at them again.
    Schedules,
}

/// Applies `notice` here and sends it to the other replicas.
pub fn publish(state: &AppState, notice: Notice) {
    apply(state, &notice, Origin::Here);
    send(state, &notice);
}

/// Where a notice comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// This replica.
    Here,
    /// Another replica.
    Elsewhere,
}

/// `tasks` tasks of `class` were queued: as many claims waiting here are woken, and the other
/// replicas hear of the tasks left over (`crate::claim_wakes`).
pub fn queued(state: &AppState, class: &str, tasks: usize) {
    let woken = state.dispatch.claim_wakes.wake(class, tasks);
    if woken < tasks {
        let class = class.to_string();
        let tasks = tasks - woken;
        send(state, &Notice::Queued { class, tasks });
    }
}

/// A status change: this replica's watchers of its pipeline are told, and the others'.
pub fn status_changed(state: &AppState, update: StatusUpdate) {
    publish(state, Notice::Status { update });
}

/// A task's new `events`: handed to its followers here (with the events themselves) and to
/// the other replicas' followers (who read them from the database).
pub fn events_stored(state: &AppState, task: &TaskId, events: Vec<StoredEvent>) {
    state.live.events.publish(task, events);
    send(state, &Notice::Events { task: task.clone() });
}

/// Sends `notice` to the other replicas, if there are any: at once when a claim or a
/// heartbeat waits for it, within `circa_store::replicas::SOON` otherwise.
fn send(state: &AppState, notice: &Notice) {
    let Some(replicas) = state.store.replicas() else {
        return;
    };
    let urgency = match notice {
        Notice::Queued { .. } | Notice::Cancel { .. } => Urgency::Now,
        Notice::Events { .. }
        | Notice::Closed { .. }
        | Notice::Status { .. }
        | Notice::Statuses
        | Notice::Schedules => Urgency::Soon,
    };
    match serde_json::to_string(notice) {
        Ok(line) => replicas.send(line, urgency),
        Err(e) => tracing::error!("a replica notice could not be written: {e}"),
    }
}

/// What `notice` changes in this replica's memory.
fn apply(state: &AppState, notice: &Notice, origin: Origin) {
    match notice {
        Notice::Queued { class, tasks } => {
            state.dispatch.claim_wakes.wake(class, *tasks);
        }
        Notice::Cancel { task } => state.dispatch.cancels.wake(task),
        Notice::Events { task } => state.live.events.stored_elsewhere(task),
        Notice::Closed { task } => state.live.events.close(task),
        Notice::Status { update } => state.live.updates.send(update.clone()),
        Notice::Statuses => state.dispatch.statuses.notify_one(),
        Notice::Schedules => {
            if origin == Origin::Elsewhere {
                state.schedules.unscheduled.clear();
            }
            state.schedules.wake.notify_one();
        }
    }
}

/// Every sleeper woken once: notices may have been missed.
fn missed(state: &AppState) {
    state.dispatch.claim_wakes.wake_all();
    state.dispatch.cancels.wake_all();
    state.live.events.all_stored_elsewhere();
    state.dispatch.statuses.notify_one();
    state.schedules.unscheduled.clear();
    state.schedules.wake.notify_one();
}

/// Applies the other replicas' notices until `stop`; returns at once with an embedded
/// database. Starts the store's sending and listening.
pub async fn listen(state: AppState, stop: CancellationToken) {
    let Some(replicas) = state.store.replicas() else {
        return;
    };
    let mut heard = replicas.subscribe();
    replicas.start();
    loop {
        let next = tokio::select! {
            () = stop.cancelled() => return,
            next = heard.recv() => next,
        };
        match next {
            Ok(Heard::Notice(line)) => heard_line(&state, &line),
            Ok(Heard::Missed) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                missed(&state);
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// One line another replica sent.
fn heard_line(state: &AppState, line: &Arc<str>) {
    match serde_json::from_str::<Notice>(line) {
        Ok(notice) => apply(state, &notice, Origin::Elsewhere),
        // A replica of another version may say more than this one understands.
        Err(e) => tracing::debug!("a replica notice not understood: {e}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::live::UpdateKind;

    #[test]
    fn notices_are_one_line_of_json_and_read_back() {
        let notices = vec![
            Notice::Queued {
                class: "docker".to_string(),
                tasks: 3,
            },
            Notice::Cancel { task: "t".into() },
            Notice::Events { task: "t".into() },
            Notice::Closed { task: "t".into() },
            Notice::Status {
                update: StatusUpdate {
                    kind: UpdateKind::Job,
                    pipeline_id: "p".into(),
                    workflow_id: Some("w".into()),
                    job_id: Some("j".into()),
                    name: "build\nline".to_string(),
                    status: "success".to_string(),
                },
            },
            Notice::Statuses,
            Notice::Schedules,
        ];
        for notice in notices {
            let line = serde_json::to_string(&notice).unwrap();
            assert!(!line.contains('\n'), "{line}");
            assert_eq!(serde_json::from_str::<Notice>(&line).unwrap(), notice);
        }
    }
}
