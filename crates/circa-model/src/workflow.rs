//! Typed workflows, read from the processed config.
//!
//! The config engine hands over a processed tree: parameters substituted, matrices expanded,
//! aliases resolved, orb jobs named. This module reads its `workflows:` map into [`Workflow`]s
//! and checks what only makes sense across a workflow's jobs: unique names, `requires` that name
//! jobs of the same workflow, no cycles.

mod check;
mod read;

use crate::pattern::{BranchFilter, PatternFilter};
use crate::status::JobStatus;
use circa_config::Span;
use circa_config::yaml::Node;

pub use read::read_workflows;

/// One workflow of the processed config.
#[derive(Clone, Debug, PartialEq)]
pub struct Workflow {
    /// The key under `workflows:`.
    pub name: String,
    /// Where that key is written.
    pub span: Span,
    /// `when:` as written: a logic statement or an expression string.
    pub when: Option<Node>,
    /// `unless:` as written.
    pub unless: Option<Node>,
    /// Legacy `triggers:` (cron schedules); a workflow with any runs only from its schedule.
    pub triggers: Vec<ScheduleTrigger>,
    /// Automatic reruns from failed (1 to 5), when asked for.
    pub max_auto_reruns: Option<u8>,
    /// The job invocations, in the order written.
    pub jobs: Vec<WorkflowJob>,
}

/// A legacy `triggers: - schedule:` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleTrigger {
    /// The POSIX cron line, UTC.
    pub cron: String,
    /// The branches the schedule builds.
    pub branches: BranchFilter,
}

/// One job invocation in a workflow.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkflowJob {
    /// The invocation's name, unique in the workflow (`name:`, else the job key).
    pub name: String,
    /// The key of the job in the processed `jobs:` map (approval jobs may have none there).
    pub job_key: String,
    /// Where the invocation is written.
    pub span: Span,
    /// The jobs this one waits for, with the statuses it accepts from each.
    pub requires: Vec<Requirement>,
    /// When the job runs.
    pub filters: Filters,
    /// Contexts, in order (later ones override earlier ones).
    pub contexts: Vec<String>,
    /// Whether this is a `type: approval` job.
    pub approval: bool,
    /// `serial-group:`: jobs sharing it run one at a time across the organisation.
    pub serial_group: Option<String>,
    /// The matrix alias the engine expanded this job from, shown for information only.
    pub matrix_alias: Option<String>,
}

/// One entry of `requires:`.
#[derive(Clone, Debug, PartialEq)]
pub struct Requirement {
    /// The required job's name in the same workflow.
    pub name: String,
    /// The statuses of that job that let this one run (`success` unless said otherwise).
    pub statuses: Vec<JobStatus>,
    /// Where the entry is written.
    pub span: Span,
}

impl Requirement {
    /// What `terminal` stands for in `requires:`.
    pub const TERMINAL: [JobStatus; 5] = [
        JobStatus::Success,
        JobStatus::Failed,
        JobStatus::Canceled,
        JobStatus::Unauthorized,
        JobStatus::NotRun,
    ];

    /// The statuses `requires:` may name (besides `terminal`).
    pub const ALLOWED: [JobStatus; 5] = Self::TERMINAL;

    /// A requirement on `name` finishing with `success`.
    pub fn success(name: impl Into<String>) -> Self {
        Requirement {
            name: name.into(),
            statuses: vec![JobStatus::Success],
            span: Span::NONE,
        }
    }

    /// Whether `status` (a finished status of the required job) lets the requiring job run.
    /// `infrastructure_fail` and `timedout` count as `failed`.
    pub fn accepts(&self, status: JobStatus) -> bool {
        let as_required = if status.is_failure() {
            JobStatus::Failed
        } else {
            status
        };
        self.statuses.contains(&as_required)
    }
}

/// A job's `filters:`.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Filters {
    /// No filters: the job runs on every branch and on no tag.
    #[default]
    None,
    /// The map form: `branches:` and `tags:`.
    Map {
        /// `branches: {only, ignore}`, when given.
        branches: Option<PatternFilter>,
        /// `tags: {only, ignore}`, when given; without it the job never runs for a tag.
        tags: Option<PatternFilter>,
        /// `pull_requests: {only, ignore}` (GitHub App pipelines): which pull-request pipelines
        /// run the job, matched against the pull request's head branch. Push and tag pipelines
        /// do not consult it.
        pull_requests: Option<PatternFilter>,
    },
    /// The string form: an expression over pipeline values.
    Expression(String),
}

#[cfg(test)]
mod tests;
