//! Why a queued job waits: said plainly, so nothing is "pending forever" without a reason.

use circa_model::JobStatus;
use circa_store::{Job, TaskState};

use crate::error::ApiResult;
use crate::state::{AppState, now_ms};

/// How recently a runner must have asked for work to count as connected: longer than the
/// longest claim long-poll (a runner is recorded as seen when a claim starts).
pub const CONNECTED_WITHIN_MS: i64 = 90_000;

/// Why `job` is not running yet, or `None` when it is not waiting for a runner.
pub async fn why_waiting(state: &AppState, job: &Job) -> ApiResult<Option<String>> {
    if job.status != JobStatus::Queued {
        return Ok(None);
    }
    let tasks = state.store.tasks_of_job(&job.id).await?;
    if !tasks.iter().any(|t| t.state == TaskState::Queued) {
        return Ok(None);
    }
    let class = &job.resource_class;
    let runners = state
        .store
        .runners_seen(class, now_ms() - CONNECTED_WITHIN_MS)
        .await?;
    if runners == 0 {
        return Ok(Some(format!(
            "no runner with resource class `{class}` is connected"
        )));
    }
    let ahead = state
        .store
        .queued_tasks()
        .await?
        .iter()
        .filter(|t| &t.resource_class == class && t.job_id != job.id)
        .count();
    Ok(Some(format!(
        "waiting for a free runner of resource class `{class}` ({runners} connected, {ahead} task(s) ahead in the queue)"
    )))
}
