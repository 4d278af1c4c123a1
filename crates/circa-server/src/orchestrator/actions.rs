//! What people and runners do to jobs and workflows: a task starts or ends, a hold is approved,
//! a workflow or job is cancelled, a workflow is rerun.

use circa_model::{AdvanceRequest, JobStatus, WorkflowStatus};
use circa_store::{Job, JobId, NewJob, NewWorkflow, Task, TaskState, Workflow, WorkflowId};

use super::settle::{JobMove, Settled, settle, settle_move};
use super::{OrchestratorError, OrchestratorResult};
use crate::live::{StatusUpdate, UpdateKind};
use crate::state::AppState;

fn change_id(job_id: &JobId, from: &'static [JobStatus], to: JobStatus) -> JobMove {
    JobMove {
        job_id: job_id.clone(),
        from,
        to,
        message: None,
        actor: None,
    }
}

fn change(job: &Job, from: &'static [JobStatus], to: JobStatus) -> JobMove {
    change_id(&job.id, from, to)
}

/// Where a job is while a runner has it or is about to.
const IN_PROGRESS: &[JobStatus] = &[JobStatus::Queued, JobStatus::Running];

/// Every status a job can be cancelled from.
const NOT_FINISHED: &[JobStatus] = &[
    JobStatus::Blocked,
    JobStatus::Queued,
    JobStatus::Running,
    JobStatus::OnHold,
];

/// A claim moved a job to `running` (in the claim's own transaction): watchers are told, and
/// the commit status worker woken, and it is counted.
pub fn job_started(state: &AppState, job: &Job) {
    crate::replicas::publish(state, crate::replicas::Notice::Statuses);
    state.metrics.job_started(job);
    crate::replicas::status_changed(
        state,
        StatusUpdate {
            kind: UpdateKind::Job,
            pipeline_id: job.pipeline_id.clone(),
            workflow_id: Some(job.workflow_id.clone()),
            job_id: Some(job.id.clone()),
            name: job.name.clone(),
            status: JobStatus::Running.as_str().to_string(),
        },
    );
}

/// The status of a job from its tasks' results: the worst one wins (a task without a result
/// counts as lost).
pub fn job_result(tasks: &[Task]) -> JobStatus {
    circa_model::worst(
        tasks
            .iter()
            .map(|t| t.result.unwrap_or(JobStatus::InfrastructureFail)),
    )
}

/// A task ended: once every task of its job has, the job ends and the workflow moves on.
pub async fn task_finished(state: &AppState, task: &Task) -> OrchestratorResult<()> {
    let tasks = state.store.tasks_of_job(&task.job_id).await?;
    if tasks.iter().any(|t| t.state != TaskState::Finished) {
        return Ok(());
    }
    let result = job_result(&tasks);
    let message = tasks
        .iter()
        .filter(|t| t.result != Some(JobStatus::Success))
        .find_map(|t| t.message.clone());
    // The claim started the job, but one whose task could not be handed out is still queued;
    // which it is is decided under the workflow's lock.
    let mut finished = change_id(&task.job_id, IN_PROGRESS, result);
    finished.message = message;
    settle_move(state, &task.workflow_id, finished).await?;
    Ok(())
}

/// Approves an on-hold approval job of a workflow (by its approval request id).
pub async fn approve(
    state: &AppState,
    workflow_id: &WorkflowId,
    approval_request_id: &str,
    actor: &str,
) -> OrchestratorResult<()> {
    let jobs = state.store.jobs_of_workflow(workflow_id).await?;
    let job = jobs
        .iter()
        .find(|j| j.approval && j.approval_request_id.as_deref() == Some(approval_request_id))
        .ok_or_else(|| OrchestratorError::NotFound("approval request"))?;
    if job.status != JobStatus::OnHold {
        return Err(OrchestratorError::BadRequest(format!(
            "job `{}` is {}, not on_hold",
            job.name,
            job.status.as_str()
        )));
    }
    let settled = settle(
        state,
        workflow_id,
        vec![JobMove {
            actor: Some(actor.to_string()),
            ..change(job, &[JobStatus::OnHold], JobStatus::Success)
        }],
        AdvanceRequest::Propagate,
    )
    .await?;
    if !settled.applied {
        return Err(OrchestratorError::Conflict(
            "the job changed meanwhile; try again".into(),
        ));
    }
    Ok(())
}

/// Cancels a workflow: every job not finished becomes canceled, running ones are stopped.
pub async fn cancel_workflow(
    state: &AppState,
    workflow_id: &WorkflowId,
) -> OrchestratorResult<Settled> {
    settle(state, workflow_id, Vec::new(), AdvanceRequest::Cancel).await
}

/// Cancels one job.
pub async fn cancel_job(state: &AppState, job: &Job, actor: &str) -> OrchestratorResult<()> {
    if job.status.is_terminal() {
        return Err(OrchestratorError::BadRequest(format!(
            "job `{}` already finished ({})",
            job.name,
            job.status.as_str()
        )));
    }
    settle(
        state,
        &job.workflow_id,
        vec![JobMove {
            message: Some(format!("canceled by {actor}")),
            actor: Some(actor.to_string()),
            ..change(job, NOT_FINISHED, JobStatus::Canceled)
        }],
        AdvanceRequest::Propagate,
    )
    .await?;
    Ok(())
}

/// Reruns a finished workflow as a new workflow of the same pipeline: from the start, or from
/// failed (jobs that succeeded are copied as they are; failed jobs and what depends on them run
/// again). Returns the new workflow.
pub async fn rerun(
    state: &AppState,
    workflow: &Workflow,
    from_failed: bool,
    only: &[String],
) -> OrchestratorResult<Workflow> {
    if !workflow.status.is_terminal() {
        return Err(OrchestratorError::BadRequest(format!(
            "workflow `{}` is still {}; cancel it or wait for it to finish",
            workflow.name,
            workflow.status.as_str()
        )));
    }
    if from_failed && workflow.status == WorkflowStatus::Success {
        return Err(OrchestratorError::BadRequest(
            "the workflow has no failed jobs to rerun".into(),
        ));
    }
    let jobs = state.store.jobs_of_workflow(&workflow.id).await?;
    let chosen = rerun_set(&jobs, only)?;
    let new_jobs = jobs
        .iter()
        .map(|j| {
            let keep = match &chosen {
                Some(set) => !set.contains(j.name.as_str()),
                None => from_failed && j.status == JobStatus::Success,
            };
            NewJob {
                name: j.name.clone(),
                job_key: j.job_key.clone(),
                status: if keep { j.status } else { JobStatus::Blocked },
                approval: j.approval,
                requires: j.requires.clone(),
                contexts: j.contexts.clone(),
                spec: j.spec.clone(),
                resource_class: j.resource_class.clone(),
                parallelism: j.parallelism,
                copied_from: keep.then(|| j.id.clone()),
            }
        })
        .collect();
    let (created, _) = state
        .store
        .add_workflows(
            &workflow.pipeline_id,
            vec![NewWorkflow {
                name: workflow.name.clone(),
                status: WorkflowStatus::Running,
                setup: workflow.setup,
                rerun_of: Some(workflow.id.clone()),
                jobs: new_jobs,
            }],
            crate::state::now_ms(),
        )
        .await?;
    let new = created
        .into_iter()
        .next()
        .ok_or_else(|| OrchestratorError::Conflict("the rerun workflow was not created".into()))?;
    settle(state, &new.id, Vec::new(), AdvanceRequest::Propagate).await?;
    Ok(new)
}

/// The names of the jobs a rerun of chosen job ids runs again: those jobs and every job that
/// requires them, directly or not. `None` when no jobs are chosen (the whole workflow, or
/// from failed); a 400 naming an id that is not a job of the workflow.
fn rerun_set<'a>(
    jobs: &'a [Job],
    only: &[String],
) -> OrchestratorResult<Option<std::collections::HashSet<&'a str>>> {
    if only.is_empty() {
        return Ok(None);
    }
    let mut set = std::collections::HashSet::new();
    for id in only {
        let job = jobs.iter().find(|j| &j.id == id).ok_or_else(|| {
            OrchestratorError::BadRequest(format!("jobs: {id:?} is not a job of this workflow"))
        })?;
        set.insert(job.name.as_str());
    }
    loop {
        let before = set.len();
        for j in jobs {
            if j.requires.iter().any(|r| set.contains(r.name.as_str())) {
                set.insert(j.name.as_str());
            }
        }
        if set.len() == before {
            return Ok(Some(set));
        }
    }
}
