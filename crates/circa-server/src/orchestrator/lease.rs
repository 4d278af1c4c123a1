//! Leases: a running task whose runner stops heartbeating is lost — it becomes
//! `infrastructure_fail`, or goes back to the queue once when the project asks for that.

use std::time::Duration;

use circa_model::JobStatus;
use circa_store::Task;
use tokio_util::sync::CancellationToken;

use super::actions::task_finished;
use crate::state::{AppState, now_ms};

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
    if requeue && task.attempts < 2 && !task.cancel_requested {
        if state.store.requeue_task(&task.id, now_ms()).await? {
            tracing::warn!(
                "task {} requeued: {runner} stopped sending heartbeats",
                task.id
            );
            state.live.events.close(&task.id);
            state.dispatch.queue.wake(&task.resource_class);
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
        state.live.events.close(&task.id);
        task_finished(state, &done).await?;
    }
    Ok(())
}
