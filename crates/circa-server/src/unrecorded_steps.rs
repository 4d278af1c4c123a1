//! The steps of a task as readers see them: those recorded (their logs compacted into
//! Blobs), then those whose events are still in the store: a step that is running, or one
//! whose log was never compacted (the server stopped meanwhile, or the object storage refused
//! the log). Readers of a job's steps go through here, so a partial log stays visible.

use std::collections::BTreeMap;

use circa_model::protocol::TaskEventKind;
use circa_store::{StepRecord, Task, TaskState};

use crate::logs::{LogResult, PAGE, StepSummary, parse};
use crate::state::AppState;

/// The status shown for a step that started but whose end was never stored: `running` while
/// its task runs, else `failed`.
fn unfinished_status(task: &Task) -> &'static str {
    if task.state == TaskState::Running {
        "running"
    } else {
        "failed"
    }
}

/// Every step of `task`, recorded or not, by step index.
pub async fn task_steps(state: &AppState, task: &Task) -> LogResult<Vec<StepRecord>> {
    let mut steps = state.store.steps(&task.id).await?;
    let mut pending: BTreeMap<u32, (StepSummary, u64)> = BTreeMap::new();
    let mut after = 0u64;
    loop {
        let page = state.store.events(&task.id, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for event in &page {
            let Some(step) = event.step else { continue };
            if steps.iter().any(|s| s.step == step) {
                continue;
            }
            let (summary, bytes) = pending.entry(step).or_default();
            match parse(event) {
                Some(TaskEventKind::Output { text, .. }) => *bytes += text.len() as u64,
                Some(other) => summary.note(other),
                None => {}
            }
        }
        if page.len() < PAGE as usize {
            break;
        }
    }
    for (step, (summary, log_bytes)) in pending {
        let (status, exit_code, duration_ms) = summary
            .finished
            .unwrap_or_else(|| (unfinished_status(task).to_string(), None, 0));
        steps.push(StepRecord {
            task_id: task.id.clone(),
            step,
            name: summary.name,
            status,
            exit_code,
            duration_ms,
            started_at: summary.started_at.or(task.started_at).unwrap_or_default(),
            log_key: None,
            log_bytes,
        });
    }
    steps.sort_by_key(|s| s.step);
    Ok(steps)
}
