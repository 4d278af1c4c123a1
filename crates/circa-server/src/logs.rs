//! Step logs: while a step runs its output is in the store as events (and live to followers);
//! when it ends the output becomes one zstd object in Blobs and the events are dropped.

use bytes::Bytes;
use circa_model::protocol::{TaskAssignment, TaskEventKind};
use circa_store::{StepRecord, StoredEvent};

use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, now_ms};

/// The Blobs key of a step's log.
pub fn log_key(task_id: &str, step: u32) -> String {
    format!("logs/{task_id}/{step}.log.zst")
}

fn parse(event: &StoredEvent) -> Option<TaskEventKind> {
    serde_json::from_str(&event.body).ok()
}

/// Moves the logs of a task's finished steps that are not recorded yet into Blobs.
pub async fn compact_steps(state: &AppState, task_id: &str) -> ApiResult<()> {
    let Some(task) = state.store.task(task_id).await? else {
        return Ok(());
    };
    let steps = serde_json::from_value::<TaskAssignment>(task.payload.clone())
        .map(|a| a.spec.steps.len() as u32)
        .unwrap_or(0);
    let recorded: Vec<u32> = state
        .store
        .steps(task_id)
        .await?
        .iter()
        .map(|s| s.step)
        .collect();
    for step in (0..steps).filter(|s| !recorded.contains(s)) {
        let events = state.store.step_events(task_id, step).await?;
        let kinds: Vec<TaskEventKind> = events.iter().filter_map(parse).collect();
        let finished = kinds.iter().find_map(|k| match k {
            TaskEventKind::StepFinished {
                status,
                exit_code,
                duration_ms,
                ..
            } => Some((status.clone(), *exit_code, *duration_ms)),
            _ => None,
        });
        let Some((status, exit_code, duration_ms)) = finished else {
            continue;
        };
        let name = kinds
            .iter()
            .find_map(|k| match k {
                TaskEventKind::StepStarted { name, .. } => Some(name.clone()),
                _ => None,
            })
            .unwrap_or_default();
        let mut text = String::new();
        for kind in &kinds {
            if let TaskEventKind::Output { text: t, .. } = kind {
                text.push_str(t);
            }
        }
        let log_bytes = text.len() as u64;
        let log_key = if text.is_empty() {
            None
        } else {
            let compressed =
                tokio::task::spawn_blocking(move || zstd::encode_all(text.as_bytes(), 3))
                    .await
                    .map_err(|e| ApiError::conflict(e.to_string()))?
                    .map_err(|e| ApiError::conflict(format!("log compression: {e}")))?;
            let key = log_key(task_id, step);
            state.blobs.put(&key, Bytes::from(compressed)).await?;
            Some(key)
        };
        state
            .store
            .record_step(StepRecord {
                task_id: task_id.to_string(),
                step,
                name,
                status,
                exit_code,
                duration_ms,
                started_at: now_ms() - duration_ms as i64,
                log_key,
                log_bytes,
            })
            .await?;
    }
    Ok(())
}

/// A step's whole log so far: from Blobs once the step is recorded, else from its events.
pub async fn step_log(state: &AppState, task_id: &str, step: u32) -> ApiResult<String> {
    let recorded = state
        .store
        .steps(task_id)
        .await?
        .into_iter()
        .find(|s| s.step == step);
    if let Some(record) = recorded {
        let Some(key) = record.log_key else {
            return Ok(String::new());
        };
        let data = state
            .blobs
            .get(&key)
            .await?
            .ok_or_else(|| ApiError::not_found("step log"))?;
        let text = tokio::task::spawn_blocking(move || zstd::decode_all(&data[..]))
            .await
            .map_err(|e| ApiError::conflict(e.to_string()))?
            .map_err(|e| ApiError::conflict(format!("stored log is unreadable: {e}")))?;
        return Ok(String::from_utf8_lossy(&text).into_owned());
    }
    let mut text = String::new();
    for event in state.store.step_events(task_id, step).await? {
        if let Some(TaskEventKind::Output { text: t, .. }) = parse(&event) {
            text.push_str(&t);
        }
    }
    Ok(text)
}
