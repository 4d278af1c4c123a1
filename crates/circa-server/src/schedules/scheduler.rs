//! The scheduler task: sleeps until the next tick of any schedule, or until a schedule
//! changes, then claims and fires every schedule whose latest tick is due.

use std::time::Duration;

use circa_store::{Millis, Schedule, StoreResult};
use tokio_util::sync::CancellationToken;

use super::fire::fire;
use super::legacy;
use super::timetable::Ticks;
use crate::state::{AppState, now_ms};

/// The longest sleep: schedules another server made are seen at least this often, and a
/// wall clock that jumps is caught up with.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// The wait before trying again when the store does not answer.
const RETRY: Duration = Duration::from_secs(2);

/// Runs until `stop`: reads the legacy schedules of every project's config, then fires ticks.
pub async fn run_scheduler(state: AppState, stop: CancellationToken) {
    let reading = stop.clone();
    let reader = state.clone();
    // Stopped with the server: a `git` still running is killed with its process group.
    tokio::spawn(async move {
        tokio::select! {
            _ = reading.cancelled() => {}
            _ = legacy::read_all_projects(reader) => {}
        }
    });
    loop {
        let sleep = match pass(&state).await {
            Ok(sleep) => sleep,
            Err(e) => {
                tracing::warn!("scheduler: {e}");
                RETRY
            }
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = state.schedules.wake.notified() => {}
            _ = tokio::time::sleep(sleep) => {}
        }
    }
}

/// Fires every due schedule; returns how long to sleep until the next tick.
async fn pass(state: &AppState) -> StoreResult<Duration> {
    let now = now_ms();
    let mut next: Option<Millis> = None;
    for schedule in state.store.all_schedules().await? {
        let ticks = match Ticks::stored(&schedule.cron, &schedule.timezone) {
            Ok(ticks) => ticks,
            Err(e) => {
                tracing::warn!("schedule {}: {e}", schedule.id);
                continue;
            }
        };
        if let Some(due) = ticks.latest_at_or_before(now)
            && due > schedule.last_tick
            && state.store.claim_schedule_tick(&schedule.id, due).await?
        {
            spawn_fire(state, schedule.clone(), due);
        }
        if let Some(tick) = ticks.next_after(now) {
            next = Some(next.map_or(tick, |n| n.min(tick)));
        }
    }
    let wait = next.map_or(MAX_SLEEP, |tick| {
        Duration::from_millis(u64::try_from(tick - now_ms()).unwrap_or(0))
    });
    Ok(wait.min(MAX_SLEEP))
}

/// Fires a claimed tick on its own task, so a slow fetch delays no other schedule; a
/// shutdown waits for it (the tick is claimed: not firing it now would lose it).
fn spawn_fire(state: &AppState, schedule: Schedule, tick: Millis) {
    let state = state.clone();
    let drain = std::sync::Arc::clone(&state.drain);
    drain.spawn(async move {
        match fire(&state, &schedule, tick).await {
            Ok(pipeline) => tracing::info!(
                "schedule {:?} ({}) started pipeline {} for its tick at {tick}",
                schedule.name,
                schedule.id,
                pipeline.number
            ),
            Err(e) => tracing::warn!(
                "schedule {:?} ({}) could not start a pipeline: {e}",
                schedule.name,
                schedule.id,
            ),
        }
    });
}
