//! New workflows and jobs as records, before they are inserted.

use circa_model::JobStatus;

use crate::ids::{JobId, PipelineId, ProjectId, WorkflowId};
use crate::records::{Job, Millis, NewJob, NewWorkflow, Workflow};
use crate::sql::codec::new_id;

/// Where new workflows go.
pub(crate) struct Parent<'a> {
    /// The pipeline.
    pub pipeline_id: &'a PipelineId,
    /// Its project.
    pub project_id: &'a ProjectId,
    /// The time of creation.
    pub now: Millis,
}

/// A new workflow's record; a workflow created in a final status is stopped at once.
pub(crate) fn workflow(parent: &Parent<'_>, new: &NewWorkflow) -> Workflow {
    Workflow {
        id: new_id(),
        pipeline_id: parent.pipeline_id.clone(),
        project_id: parent.project_id.clone(),
        name: new.name.clone(),
        status: new.status,
        setup: new.setup,
        rerun_of: new.rerun_of.clone(),
        created_at: parent.now,
        stopped_at: new.status.is_terminal().then_some(parent.now),
        version: 0,
    }
}

/// A new job's record. `number` is the build number it was given; `copied` the job a rerun
/// copies, whose number, times, message and actor it keeps.
pub(crate) fn job(
    parent: &Parent<'_>,
    workflow_id: &WorkflowId,
    new: NewJob,
    number: Option<i64>,
    copied: Option<&Job>,
) -> Job {
    let id: JobId = new_id();
    let now = parent.now;
    let (queued_at, started_at, stopped_at) = match copied {
        Some(source) => (source.queued_at, source.started_at, source.stopped_at),
        None => (
            (new.status == JobStatus::Queued).then_some(now),
            (new.status == JobStatus::Running).then_some(now),
            new.status.is_terminal().then_some(now),
        ),
    };
    Job {
        approval_request_id: new.approval.then(|| id.to_string()),
        id,
        workflow_id: workflow_id.clone(),
        pipeline_id: parent.pipeline_id.clone(),
        project_id: parent.project_id.clone(),
        name: new.name,
        job_key: new.job_key,
        number: copied.and_then(|source| source.number).or(number),
        status: new.status,
        approval: new.approval,
        requires: new.requires,
        contexts: new.contexts,
        spec: new.spec,
        resource_class: new.resource_class,
        parallelism: new.parallelism,
        actor: copied.and_then(|source| source.actor.clone()),
        message: copied.and_then(|source| source.message.clone()),
        created_at: now,
        queued_at,
        started_at,
        stopped_at,
    }
}

/// Whether a new job takes a fresh build number: not an approval, and not a copy of a job
/// that has one.
pub(crate) fn takes_number(new: &NewJob, copied: Option<&Job>) -> bool {
    !new.approval && copied.is_none_or(|source| source.number.is_none())
}
