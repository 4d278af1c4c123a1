//! The statuses CircleCI gives jobs and workflows, with CircleCI's own spellings, so the API and
//! the UI mean what CircleCI users expect.

use std::fmt;
use std::str::FromStr;

/// A text that names no known status.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a {kind} status; expected one of: {expected}")]
pub struct UnknownStatus {
    /// Which kind of status was expected: `job` or `workflow`.
    pub kind: &'static str,
    /// The text that was given.
    pub text: String,
    /// The accepted spellings, comma separated.
    pub expected: String,
}

/// The status of one job in a workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JobStatus {
    /// Waiting for the jobs it requires.
    Blocked,
    /// Ready to run, waiting for a runner.
    Queued,
    /// A runner is running it.
    Running,
    /// Finished, every step passed.
    Success,
    /// Finished, a step failed.
    Failed,
    /// Stopped by a person or by the workflow being cancelled.
    Canceled,
    /// Lost to the infrastructure (a runner vanished, an image could not be pulled).
    InfrastructureFail,
    /// Ran past its time limit.
    Timedout,
    /// Never ran: what it required finished in a status it does not accept.
    NotRun,
    /// An approval job waiting for a person to approve it.
    OnHold,
    /// Not allowed to run: the trigger's actor may not use one of its restricted contexts.
    Unauthorized,
}

impl JobStatus {
    /// Every job status, in the order CircleCI's documentation lists them.
    pub const ALL: [JobStatus; 11] = [
        JobStatus::Blocked,
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Success,
        JobStatus::Failed,
        JobStatus::Canceled,
        JobStatus::InfrastructureFail,
        JobStatus::Timedout,
        JobStatus::NotRun,
        JobStatus::OnHold,
        JobStatus::Unauthorized,
    ];

    /// CircleCI's spelling (`not_run`, `on_hold`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Blocked => "blocked",
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Success => "success",
            JobStatus::Failed => "failed",
            JobStatus::Canceled => "canceled",
            JobStatus::InfrastructureFail => "infrastructure_fail",
            JobStatus::Timedout => "timedout",
            JobStatus::NotRun => "not_run",
            JobStatus::OnHold => "on_hold",
            JobStatus::Unauthorized => "unauthorized",
        }
    }

    /// Whether the job has finished for good (it will not change again without a rerun).
    pub fn is_terminal(self) -> bool {
        match self {
            JobStatus::Success
            | JobStatus::Failed
            | JobStatus::Canceled
            | JobStatus::InfrastructureFail
            | JobStatus::Timedout
            | JobStatus::NotRun
            | JobStatus::Unauthorized => true,
            JobStatus::Blocked | JobStatus::Queued | JobStatus::Running | JobStatus::OnHold => {
                false
            }
        }
    }

    /// Whether the job ran and did not succeed: `failed`, `infrastructure_fail` or `timedout`.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            JobStatus::Failed | JobStatus::InfrastructureFail | JobStatus::Timedout
        )
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobStatus {
    type Err = UnknownStatus;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        JobStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| UnknownStatus {
                kind: "job",
                text: text.to_string(),
                expected: spellings(JobStatus::ALL.iter().map(|s| s.as_str())),
            })
    }
}

/// The status of a workflow, derived from the statuses of its jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WorkflowStatus {
    /// Jobs are queued or running, none has failed.
    Running,
    /// Every job that ran succeeded.
    Success,
    /// Finished, and a job failed.
    Failed,
    /// The workflow could not be started (its config is wrong).
    Error,
    /// A job failed while others are still running.
    Failing,
    /// Nothing runs; an approval job waits for a person.
    OnHold,
    /// Cancelled by a person or by auto-cancel.
    Canceled,
    /// None of its jobs ran.
    NotRun,
    /// A job was refused a restricted context.
    Unauthorized,
}

impl WorkflowStatus {
    /// Every workflow status.
    pub const ALL: [WorkflowStatus; 9] = [
        WorkflowStatus::Running,
        WorkflowStatus::Success,
        WorkflowStatus::Failed,
        WorkflowStatus::Error,
        WorkflowStatus::Failing,
        WorkflowStatus::OnHold,
        WorkflowStatus::Canceled,
        WorkflowStatus::NotRun,
        WorkflowStatus::Unauthorized,
    ];

    /// CircleCI's spelling (`on_hold`, `not_run`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowStatus::Running => "running",
            WorkflowStatus::Success => "success",
            WorkflowStatus::Failed => "failed",
            WorkflowStatus::Error => "error",
            WorkflowStatus::Failing => "failing",
            WorkflowStatus::OnHold => "on_hold",
            WorkflowStatus::Canceled => "canceled",
            WorkflowStatus::NotRun => "not_run",
            WorkflowStatus::Unauthorized => "unauthorized",
        }
    }

    /// Whether the workflow has finished for good.
    pub fn is_terminal(self) -> bool {
        !matches!(
            self,
            WorkflowStatus::Running | WorkflowStatus::Failing | WorkflowStatus::OnHold
        )
    }
}

impl fmt::Display for WorkflowStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WorkflowStatus {
    type Err = UnknownStatus;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        WorkflowStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| UnknownStatus {
                kind: "workflow",
                text: text.to_string(),
                expected: spellings(WorkflowStatus::ALL.iter().map(|s| s.as_str())),
            })
    }
}

fn spellings<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}

/// The status of a job from its nodes' statuses: `infrastructure_fail`, then `failed`,
/// `timedout`, `canceled`, any other status, and `success` only when every node succeeded
/// (or there are none).
pub fn worst(statuses: impl IntoIterator<Item = JobStatus>) -> JobStatus {
    let rank = |s: JobStatus| match s {
        JobStatus::InfrastructureFail => 6,
        JobStatus::Failed => 5,
        JobStatus::Timedout => 4,
        JobStatus::Canceled => 3,
        JobStatus::Success => 1,
        _ => 2,
    };
    statuses
        .into_iter()
        .max_by_key(|s| rank(*s))
        .unwrap_or(JobStatus::Success)
}

impl serde::Serialize for JobStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for JobStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for WorkflowStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for WorkflowStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_statuses_round_trip_through_text() {
        for status in JobStatus::ALL {
            assert_eq!(status.as_str().parse::<JobStatus>(), Ok(status));
            assert_eq!(status.to_string(), status.as_str());
        }
    }

    #[test]
    fn workflow_statuses_round_trip_through_text() {
        for status in WorkflowStatus::ALL {
            assert_eq!(status.as_str().parse::<WorkflowStatus>(), Ok(status));
        }
    }

    #[test]
    fn unknown_status_names_the_choices() {
        let err = "sucess".parse::<JobStatus>().unwrap_err();
        assert_eq!(err.text, "sucess");
        assert!(
            err.to_string()
                .starts_with("`sucess` is not a job status; expected one of: blocked, queued")
        );
    }

    #[test]
    fn terminal_statuses() {
        let terminal: Vec<_> = JobStatus::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(
            terminal,
            [
                JobStatus::Success,
                JobStatus::Failed,
                JobStatus::Canceled,
                JobStatus::InfrastructureFail,
                JobStatus::Timedout,
                JobStatus::NotRun,
                JobStatus::Unauthorized
            ]
        );
        assert!(!WorkflowStatus::Failing.is_terminal());
        assert!(!WorkflowStatus::OnHold.is_terminal());
        assert!(WorkflowStatus::NotRun.is_terminal());
    }
}
