//! The context name of a job's commit status, as CircleCI names it.
//!
//! Source: CircleCI's "Status updates overview" docs, "Status update naming" (summarised in
//! `shared/corpus/forge-apis/circleci-status-reporting.md`): regular jobs report as
//! `ci/circleci: <job_name>`, approval and no-op jobs as `ci/circleci: <workflow_name>/<job_name>`.

/// What kind of job a status is for, as far as its context name cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// A job that runs steps (CircleCI's `type: build`, the default).
    Build,
    /// An approval job (`type: approval`).
    Approval,
    /// A job that does nothing (`type: no-op`).
    NoOp,
}

/// The prefix CircleCI puts before every status context.
const CONTEXT_PREFIX: &str = "ci/circleci: ";

/// The status context of job `job` in workflow `workflow`: `ci/circleci: JOB` for build jobs,
/// `ci/circleci: WORKFLOW/JOB` for approval and no-op jobs.
pub fn status_context(kind: JobKind, workflow: &str, job: &str) -> String {
    match kind {
        JobKind::Build => format!("{CONTEXT_PREFIX}{job}"),
        JobKind::Approval | JobKind::NoOp => format!("{CONTEXT_PREFIX}{workflow}/{job}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_jobs_are_named_by_the_job_alone() {
        assert_eq!(
            status_context(JobKind::Build, "test-deploy", "build"),
            "ci/circleci: build"
        );
        assert_eq!(
            status_context(JobKind::Build, "main", "rspec"),
            "ci/circleci: rspec"
        );
    }

    #[test]
    fn approval_and_no_op_jobs_are_named_with_their_workflow() {
        assert_eq!(
            status_context(JobKind::Approval, "deploy", "hold"),
            "ci/circleci: deploy/hold"
        );
        assert_eq!(
            status_context(JobKind::NoOp, "nightly", "gate"),
            "ci/circleci: nightly/gate"
        );
    }
}
