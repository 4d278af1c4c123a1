//! Schedule records: scheduled pipelines made through the API, and the legacy
//! `triggers: schedule` of workflows read from a branch's config.

use serde::{Deserialize, Serialize};

use crate::ids::{ProjectId, ScheduleId, UserId};
use crate::records::Millis;

/// Where a schedule comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleOrigin {
    /// Made through the API (`POST /api/v2/project/{slug}/schedule`).
    Api,
    /// A workflow's legacy `triggers: - schedule:` in a branch's config.
    Config,
}

impl ScheduleOrigin {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleOrigin::Api => "api",
            ScheduleOrigin::Config => "config",
        }
    }

    /// The origin a stored name stands for.
    pub fn parse(text: &str) -> Option<ScheduleOrigin> {
        match text {
            "api" => Some(ScheduleOrigin::Api),
            "config" => Some(ScheduleOrigin::Config),
            _ => None,
        }
    }
}

/// What a schedule is made of (to create one, or to replace an API schedule's fields).
#[derive(Clone, Debug, PartialEq)]
pub struct NewSchedule {
    /// The project.
    pub project_id: ProjectId,
    /// Where it comes from.
    pub origin: ScheduleOrigin,
    /// Its name (`pipeline.schedule.name`); for config schedules, the workflow's name.
    pub name: String,
    /// A description.
    pub description: Option<String>,
    /// The timetable as given (CircleCI's timetable, or Circa's `{cron, timezone}`).
    pub timetable: serde_json::Value,
    /// The cron line it fires on (5 fields, or 6 with seconds first).
    pub cron: String,
    /// The IANA time zone the cron line is read in.
    pub timezone: String,
    /// Pipeline parameters; API schedules carry `branch` or `tag` here.
    pub parameters: serde_json::Map<String, serde_json::Value>,
    /// The user its pipelines are attributed to; `None` for the system.
    pub actor_id: Option<UserId>,
    /// For config schedules: the branch whose config defines it, and that it builds.
    pub branch: Option<String>,
}

/// A stored schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Id.
    pub id: ScheduleId,
    /// The project.
    pub project_id: ProjectId,
    /// Where it comes from.
    pub origin: ScheduleOrigin,
    /// Its name.
    pub name: String,
    /// A description.
    pub description: Option<String>,
    /// The timetable as given.
    pub timetable: serde_json::Value,
    /// The cron line it fires on.
    pub cron: String,
    /// The IANA time zone of the cron line.
    pub timezone: String,
    /// Pipeline parameters.
    pub parameters: serde_json::Map<String, serde_json::Value>,
    /// The user its pipelines are attributed to; `None` for the system.
    pub actor_id: Option<UserId>,
    /// For config schedules: the branch.
    pub branch: Option<String>,
    /// The latest tick handled (fired, or passed over by an update); ticks up to it never
    /// fire.
    pub last_tick: Millis,
    /// When it was made.
    pub created_at: Millis,
    /// When it last changed.
    pub updated_at: Millis,
}

/// The schedule that started a pipeline, kept in the pipeline's trigger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledBy {
    /// The schedule's id (`pipeline.schedule.id`).
    pub id: ScheduleId,
    /// Its name (`pipeline.schedule.name`).
    pub name: String,
    /// The tick the pipeline was fired for.
    pub tick: Millis,
}
