//! Schedules: pipelines triggered on a timetable, and the claim of a tick.

use async_trait::async_trait;

use super::StoreResult;
use crate::ids::{ProjectId, ScheduleId};
use crate::records::Millis;
use crate::schedule::{NewSchedule, Schedule, ScheduleOrigin};

/// Schedules made through the API and read from configs, and their ticks.
#[async_trait]
pub trait ScheduleStore: Send + Sync {
    /// Creates a schedule; its last tick is `now`, so it fires from its next tick on.
    /// [`crate::StoreError::Conflict`] when the project has an API schedule of that name (or
    /// the same config schedule); [`crate::StoreError::NotFound`] if there is no such project
    /// or actor.
    async fn create_schedule(&self, schedule: NewSchedule, now: Millis) -> StoreResult<Schedule>;
    /// A schedule by id.
    async fn schedule(&self, id: &ScheduleId) -> StoreResult<Option<Schedule>>;
    /// A project's schedules of one origin, oldest first, after the schedule `after` (a page
    /// token), at most `limit` (0 means 20, at most 100).
    async fn schedules_of_project(
        &self,
        project_id: &ProjectId,
        origin: ScheduleOrigin,
        after: Option<&ScheduleId>,
        limit: u32,
    ) -> StoreResult<Vec<Schedule>>;
    /// Every schedule of every project (the scheduler's view).
    async fn all_schedules(&self) -> StoreResult<Vec<Schedule>>;
    /// Replaces a schedule's fields (its origin and project stay); a new cron line or time zone
    /// moves its last tick up to `now`. `None` if there is no such schedule;
    /// [`crate::StoreError::Conflict`] when the new name is taken.
    async fn update_schedule(
        &self,
        id: &ScheduleId,
        fields: NewSchedule,
        now: Millis,
    ) -> StoreResult<Option<Schedule>>;
    /// Deletes a schedule; false if there was none.
    async fn delete_schedule(&self, id: &ScheduleId) -> StoreResult<bool>;
    /// Claims a tick of a schedule: moves its last tick to `tick` if it is earlier, in one
    /// conditional statement. True for the one caller that moved it (and so fires the tick).
    async fn claim_schedule_tick(&self, id: &ScheduleId, tick: Millis) -> StoreResult<bool>;
    /// Makes a branch's config schedules of a project the ones given (matched by name and cron
    /// line; matches keep their last tick, the rest are deleted or made with last tick `now`),
    /// all at once. Returns the branch's config schedules after.
    async fn replace_config_schedules(
        &self,
        project_id: &ProjectId,
        branch: &str,
        schedules: Vec<NewSchedule>,
        now: Millis,
    ) -> StoreResult<Vec<Schedule>>;
}
