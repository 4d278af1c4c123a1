//! Circa's view of a job's commit status, before any forge's words.

use circa_model::JobStatus;
use serde::{Deserialize, Serialize};

/// The state Circa reports for one job; each forge spells it in its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusState {
    /// Not started: waiting for required jobs, for a runner or for an approval.
    Pending,
    /// A runner is running it.
    Running,
    /// Finished and passed (an approval job: approved).
    Success,
    /// Finished and failed, or ran past its time limit.
    Failed,
    /// Could not run through no fault of its steps (infrastructure, authorization).
    Error,
    /// Canceled, or never ran because what it required did not finish as it needs.
    Canceled,
}

impl StatusState {
    /// Every state.
    pub const ALL: [StatusState; 6] = [
        StatusState::Pending,
        StatusState::Running,
        StatusState::Success,
        StatusState::Failed,
        StatusState::Error,
        StatusState::Canceled,
    ];

    /// The state of a job in `status`. An approval job waiting for a person is
    /// [`JobStatus::OnHold`] and reports as pending, as CircleCI shows a job on hold; once
    /// approved it is [`JobStatus::Success`].
    pub fn of_job(status: JobStatus) -> StatusState {
        match status {
            JobStatus::Blocked | JobStatus::Queued | JobStatus::OnHold => StatusState::Pending,
            JobStatus::Running => StatusState::Running,
            JobStatus::Success => StatusState::Success,
            JobStatus::Failed | JobStatus::Timedout => StatusState::Failed,
            JobStatus::InfrastructureFail | JobStatus::Unauthorized => StatusState::Error,
            JobStatus::Canceled | JobStatus::NotRun => StatusState::Canceled,
        }
    }

    /// Whether the job will not change state again.
    pub fn is_final(self) -> bool {
        !matches!(self, StatusState::Pending | StatusState::Running)
    }
}

/// A short description of a job in `status`, shown beside its commit status. CircleCI's own
/// wording is not in the docs the forge extracts cite, so these are Circa's.
pub fn job_description(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Blocked => "Waiting for the jobs it requires",
        JobStatus::Queued => "Queued, waiting for a runner",
        JobStatus::Running => "Running on Circa",
        JobStatus::Success => "Your tests passed on Circa!",
        JobStatus::Failed => "Your tests failed on Circa",
        JobStatus::Timedout => "Ran past its time limit on Circa",
        JobStatus::Canceled => "Canceled",
        JobStatus::InfrastructureFail => "Could not run: an infrastructure failure",
        JobStatus::NotRun => "Not run: a job it requires did not finish as needed",
        JobStatus::OnHold => "Waiting for approval",
        JobStatus::Unauthorized => "Not run: not allowed to use a restricted context",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_status_has_a_state() {
        let states: Vec<StatusState> = JobStatus::ALL
            .into_iter()
            .map(StatusState::of_job)
            .collect();
        use StatusState::*;
        // Order of JobStatus::ALL: blocked, queued, running, success, failed, canceled,
        // infrastructure_fail, timedout, not_run, on_hold, unauthorized.
        assert_eq!(
            states,
            [
                Pending, Pending, Running, Success, Failed, Canceled, Error, Failed, Canceled,
                Pending, Error
            ]
        );
    }

    #[test]
    fn an_approval_on_hold_is_pending_and_approved_is_success() {
        assert_eq!(StatusState::of_job(JobStatus::OnHold), StatusState::Pending);
        assert!(!StatusState::of_job(JobStatus::OnHold).is_final());
        assert_eq!(
            StatusState::of_job(JobStatus::Success),
            StatusState::Success
        );
    }

    #[test]
    fn only_pending_and_running_are_not_final() {
        let open: Vec<StatusState> = StatusState::ALL
            .into_iter()
            .filter(|s| !s.is_final())
            .collect();
        assert_eq!(open, [StatusState::Pending, StatusState::Running]);
    }

    #[test]
    fn descriptions_are_short_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for status in JobStatus::ALL {
            let text = job_description(status);
            assert!(!text.is_empty() && text.chars().count() <= 64, "{text}");
            assert!(seen.insert(text), "{text} is used twice");
        }
        assert_eq!(
            job_description(JobStatus::Success),
            "Your tests passed on Circa!"
        );
    }

    #[test]
    fn states_are_lower_case_in_json() {
        assert_eq!(
            serde_json::to_string(&StatusState::Canceled).unwrap(),
            r#""canceled""#
        );
    }
}
