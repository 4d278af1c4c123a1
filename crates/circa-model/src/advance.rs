//! Moving a workflow forward after a job changed status: which blocked jobs can now run, which
//! never will, and the workflow's status.
//!
//! The caller (the orchestrator) records the new status of a job (finished, approved, ...),
//! then hands every job of the workflow to [`advance`] and applies the changes it returns.
//! Applying them and calling again changes nothing: the result is a fixed point.

use crate::plan::PlannedJob;
use crate::status::{JobStatus, WorkflowStatus};
use crate::workflow::Requirement;
use std::collections::HashMap;

/// One job of a workflow as it stands now.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedJobState {
    /// The name in the workflow.
    pub name: String,
    /// The current status.
    pub status: JobStatus,
    /// Its requirements as planned (jobs left out of the plan are already removed).
    pub requires: Vec<Requirement>,
    /// Whether this is an approval job.
    pub approval: bool,
}

impl From<&PlannedJob> for PlannedJobState {
    fn from(job: &PlannedJob) -> Self {
        PlannedJobState {
            name: job.name.clone(),
            status: job.status,
            requires: job.requires.clone(),
            approval: job.approval,
        }
    }
}

/// What happened to the workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdvanceRequest {
    /// A job's status changed: propagate it to the jobs that require it.
    Propagate,
    /// The workflow is cancelled: every job that has not finished becomes `canceled`.
    Cancel,
}

/// One job's status change decided by [`advance`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusChange {
    /// The job's name.
    pub name: String,
    /// Its status before.
    pub from: JobStatus,
    /// Its status now.
    pub to: JobStatus,
}

/// The result of [`advance`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advance {
    /// The jobs whose status changes, in workflow order.
    pub changes: Vec<StatusChange>,
    /// The workflow's status once the changes are applied.
    pub workflow_status: WorkflowStatus,
}

/// Decides the next statuses of a workflow's jobs and the workflow's status.
///
/// A `blocked` job becomes `queued` (approval jobs: `on_hold`) once every requirement has
/// finished in a status it accepts, and `not_run` as soon as one has finished in a status it
/// does not accept (`not_run` included); `infrastructure_fail` and `timedout` count as `failed`.
/// Requirements naming a job that is not in `jobs` are ignored, like jobs left out of the plan.
pub fn advance(jobs: &[PlannedJobState], request: AdvanceRequest) -> Advance {
    let mut statuses: Vec<JobStatus> = jobs.iter().map(|j| j.status).collect();
    match request {
        AdvanceRequest::Cancel => {
            for status in statuses.iter_mut().filter(|s| !s.is_terminal()) {
                *status = JobStatus::Canceled;
            }
        }
        AdvanceRequest::Propagate => propagate(jobs, &mut statuses),
    }
    let changes: Vec<StatusChange> = jobs
        .iter()
        .zip(&statuses)
        .filter(|(job, now)| job.status != **now)
        .map(|(job, now)| StatusChange {
            name: job.name.clone(),
            from: job.status,
            to: *now,
        })
        .collect();
    let workflow_status = if request == AdvanceRequest::Cancel && !changes.is_empty() {
        WorkflowStatus::Canceled
    } else {
        workflow_status(&statuses)
    };
    Advance {
        changes,
        workflow_status,
    }
}

/// Whether a blocked job can go on.
enum Readiness {
    /// A requirement has not finished yet.
    Waiting,
    /// Every requirement finished in an accepted status.
    Ready,
    /// A requirement finished in a status the job does not accept.
    NeverRuns,
}

/// Unblocks and rules out jobs until nothing changes (a `not_run` can rule out its dependents).
fn propagate(jobs: &[PlannedJobState], statuses: &mut [JobStatus]) {
    let index: HashMap<&str, usize> = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| (j.name.as_str(), i))
        .collect();
    let mut changed = true;
    while changed {
        changed = false;
        for (i, job) in jobs.iter().enumerate() {
            if statuses[i] != JobStatus::Blocked {
                continue;
            }
            let next = match readiness(job, &index, statuses) {
                Readiness::Waiting => continue,
                Readiness::Ready if job.approval => JobStatus::OnHold,
                Readiness::Ready => JobStatus::Queued,
                Readiness::NeverRuns => JobStatus::NotRun,
            };
            statuses[i] = next;
            changed = true;
        }
    }
}

fn readiness(
    job: &PlannedJobState,
    index: &HashMap<&str, usize>,
    statuses: &[JobStatus],
) -> Readiness {
    let mut waiting = false;
    for requirement in &job.requires {
        let Some(&required) = index.get(requirement.name.as_str()) else {
            continue;
        };
        let status = statuses[required];
        if !status.is_terminal() {
            waiting = true;
        } else if !requirement.accepts(status) {
            return Readiness::NeverRuns;
        }
    }
    if waiting {
        Readiness::Waiting
    } else {
        Readiness::Ready
    }
}

/// The workflow's status from its jobs' statuses.
///
/// Unfinished: `failing` when a job failed while others are queued or running, `running`
/// without a failure, `on_hold` when only approvals (and jobs waiting on them) are left.
/// Finished: `failed` if any job failed, else `unauthorized`, else `canceled`, else `not_run`
/// when no job ran, else `success`.
pub fn workflow_status(statuses: &[JobStatus]) -> WorkflowStatus {
    let any = |wanted: fn(JobStatus) -> bool| statuses.iter().any(|s| wanted(*s));
    let failed = any(JobStatus::is_failure);
    if any(|s| !s.is_terminal()) {
        return if any(|s| matches!(s, JobStatus::Queued | JobStatus::Running)) {
            if failed {
                WorkflowStatus::Failing
            } else {
                WorkflowStatus::Running
            }
        } else if any(|s| s == JobStatus::OnHold) {
            WorkflowStatus::OnHold
        } else {
            WorkflowStatus::Running
        };
    }
    if failed {
        WorkflowStatus::Failed
    } else if any(|s| s == JobStatus::Unauthorized) {
        WorkflowStatus::Unauthorized
    } else if any(|s| s == JobStatus::Canceled) {
        WorkflowStatus::Canceled
    } else if statuses.iter().all(|s| *s == JobStatus::NotRun) {
        WorkflowStatus::NotRun
    } else {
        WorkflowStatus::Success
    }
}

#[cfg(test)]
mod tests;
