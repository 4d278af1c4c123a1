//! Leases: a running task whose runner stops heartbeating is lost — it becomes
//! `infrastructure_fail`, or goes back to the queue once when the project asks for that. A
//! task that never reached its runner (no event of it was ever stored: the claim's answer
//! was lost with the server replica that made it) goes back to the queue, up to
//! [`UNDELIVERED_CLAIMS`] claims in all.
//!
//! The same watch settles the jobs a stopped server left behind: every task of the job
//! finished, but the server stopped before the settle that ends the job (see
//! `QueueStore::unsettled_tasks`).

use std::time::Duration;

use circa_model::JobStatus;
use circa_store::Task;
use tokio_util::sync::CancellationToken;

use super::actions::task_finished;
use crate::replicas::{Notice, publish};
use crate::state::{AppState, now_ms};

/// How many times a task that never reached a runner is claimed at most.
const UNDELIVERED_CLAIMS: u32 = 3;

/// Finished tasks whose jobs are settled again per look.
const UNSETTLED_PER_LOOK: u32 = 100;

/// Checks leases until `stop`, every quarter lease (at least every 250 ms). The first check
/// waits a whole lease: leases that ran out while no server answered (a restart) are not
/// their runners' fault, and each running task's runner renews its lease within one.
pub async fn watch_leases(state: AppState, stop: CancellationToken) {
    let period = (state.config.lease / 4).max(Duration::from_millis(250));
    let mut wait = state.config.lease.max(period);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        wait = period;
        match state.store.expired_tasks(now_ms()).await {
            Ok(tasks) => {
                for task in tasks {
                    if let Err(e) = lost(&state, &task).await {
                        tracing::error!("lost task {}: {e}", task.id);
                    }
                }
            }
            Err(e) => tracing::warn!("lease check: {e}"),
        }
        settle_left_behind(&state).await;
    }
}

/// Settles the jobs whose tasks all finished at least a lease ago (at least two seconds)
/// but which were never settled. A settle's moves are conditional, so one that races the
/// settle it replaces changes nothing.
async fn settle_left_behind(state: &AppState) {
    let margin = state.config.lease.max(Duration::from_secs(2)).as_millis() as i64;
    let tasks = match state
        .store
        .unsettled_tasks(now_ms() - margin, UNSETTLED_PER_LOOK)
        .await
    {
        Ok(tasks) => tasks,
        Err(e) => {
            tracing::warn!("looking for unsettled jobs: {e}");
            return;
        }
    };
    let mut seen = std::collections::HashSet::new();
    for task in tasks.iter().filter(|t| seen.insert(t.job_id.clone())) {
        tracing::warn!("job {}: settled after its server stopped", task.job_id);
        if let Err(e) = task_finished(state, task).await {
            tracing::error!("settling job {}: {e}", task.job_id);
        }
    }
}

async fn lost(state: &AppState, task: &Task) -> Result<(), super::OrchestratorError> {
    let runner = task.runner.as_deref().unwrap_or("the runner");
    let requeue = match state.store.job(&task.job_id).await? {
        Some(job) => state
            .store
            .project(&job.project_id)
            .await?
            .is_some_and(|p| p.settings.requeue_lost_tasks),
        None => false,
    };
    let undelivered = task.last_seq == 0 && task.attempts < UNDELIVERED_CLAIMS;
    if (undelivered || requeue && task.attempts < 2) && !task.cancel_requested {
        if state.store.requeue_task(&task.id, now_ms()).await? {
            let why = if undelivered {
                "it never reached"
            } else {
                "heartbeats stopped from"
            };
            tracing::warn!("task {} requeued: {why} {runner}", task.id);
            publish(
                state,
                Notice::Closed {
                    task: task.id.clone(),
                },
            );
            crate::replicas::queued(state, &task.resource_class, 1);
        }
        return Ok(());
    }
    let message = format!(
        "{runner} stopped sending heartbeats; its lease of {} s ran out",
        state.config.lease.as_secs_f64()
    );
    if let Some(done) = state
        .store
        .finish_task(
            &task.id,
            JobStatus::InfrastructureFail,
            Some(&message),
            now_ms(),
        )
        .await?
    {
        tracing::warn!("task {}: {message}", task.id);
        publish(
            state,
            Notice::Closed {
                task: task.id.clone(),
            },
        );
        task_finished(state, &done).await?;
    }
    Ok(())
}
