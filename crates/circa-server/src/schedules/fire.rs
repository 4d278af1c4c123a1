//! A claimed tick becomes a pipeline.

use circa_store::{Millis, Pipeline, Schedule, ScheduleOrigin, ScheduledBy, TriggerKind};

use super::ScheduleError;
use crate::orchestrator::trigger::{TriggerRequest, trigger_pipeline};
use crate::state::AppState;

/// The actor of pipelines a schedule attributes to the system (`attribution-actor: system`).
pub const SYSTEM_ACTOR: &str = "system";

/// Starts the pipeline of `schedule`'s tick `tick` (already claimed).
pub async fn fire(
    state: &AppState,
    schedule: &Schedule,
    tick: Millis,
) -> Result<Pipeline, ScheduleError> {
    let project = state
        .store
        .project(&schedule.project_id)
        .await?
        .ok_or(ScheduleError::NotFound("project"))?;
    let actor = match &schedule.actor_id {
        Some(id) => state.store.user(id).await?.map(|u| u.login),
        None => None,
    }
    .unwrap_or_else(|| SYSTEM_ACTOR.to_string());
    let mut parameters = schedule.parameters.clone();
    let (branch, tag) = match schedule.origin {
        ScheduleOrigin::Config => (schedule.branch.clone(), None),
        ScheduleOrigin::Api => (
            take_text(&mut parameters, "branch"),
            take_text(&mut parameters, "tag"),
        ),
    };
    trigger_pipeline(
        state,
        &project,
        TriggerRequest {
            kind: TriggerKind::Schedule,
            actor,
            branch,
            tag,
            parameters,
            schedule: Some(ScheduledBy {
                id: schedule.id.clone(),
                name: schedule.name.clone(),
                tick,
            }),
            ..TriggerRequest::default()
        },
    )
    .await
    .map_err(ScheduleError::from)
}

/// Removes `key` from the parameters, returning it when it is text.
fn take_text(
    parameters: &mut serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Option<String> {
    match parameters.remove(key) {
        Some(serde_json::Value::String(s)) => Some(s),
        _ => None,
    }
}
