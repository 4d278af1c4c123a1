//! Scheduled pipelines.
//!
//! - `timetable`: CircleCI's timetables and Circa's cron lines (with a time zone, and an
//!   optional seconds field as a Circa extension), and their ticks.
//! - `scheduler`: the task that sleeps until the next tick of any schedule (or until a
//!   schedule changes), claims each due tick in the store and fires it.
//! - `fire`: a claimed tick becomes a pipeline (`pipeline.trigger_source` is
//!   `scheduled_pipeline`, `pipeline.schedule.name`/`.id` are set, the actor is the schedule's).
//! - `interval`: the floor under how often a schedule may fire (configurable, one minute by
//!   default).
//! - `legacy`: the legacy `triggers: - schedule:` of workflows, read from a branch's config.
//!
//! Invariant: a tick fires only for the caller whose `claim_schedule_tick` moved the
//! schedule's last tick forward, so several servers, or a restart, fire each tick at most
//! once; after downtime only the latest missed tick is due, so recovery fires once, never a
//! burst.

mod error;
pub mod fire;
pub mod interval;
pub mod legacy;
pub mod scheduler;
pub mod timetable;

pub use error::ScheduleError;
pub use scheduler::run_scheduler;
