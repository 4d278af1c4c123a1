//! Applying a change to a workflow and everything it sets off: the model decides which jobs
//! become queued, on hold, not run or canceled; the store applies it all at once; tasks are
//! queued and waiting runners woken; watchers told.
//!
//! Every settle runs under its workflow's lock, and each job change says which statuses the
//! job may move from, checked against the job as it is under the lock. A task's end goes
//! through [`settle_move`]: its move waits for the lock, and whoever takes the lock next
//! settles every waiting move of the workflow at once, so a fan-out's fifty ends cost one
//! settle, not fifty.

use std::collections::{BTreeMap, HashMap};

use circa_config::Span;
use circa_model::{
    AdvanceRequest, JobStatus, PlannedJobState, Requirement, StatusChange, WorkflowStatus, advance,
};
use circa_store::{
    Job, JobChange, JobId, NewTask, Pipeline, Project, Workflow, WorkflowId, WorkflowUpdate,
};

use super::assign::{AssignContext, assignment};
use super::continuation;
use super::{OrchestratorError, OrchestratorResult};
use crate::live::{StatusUpdate, UpdateKind};
use crate::replicas::{Notice, publish, status_changed};
use crate::state::{AppState, now_ms};

/// How many times a settle is retried when another writer changed the workflow meanwhile.
const ATTEMPTS: usize = 8;

/// Moves waiting for their workflow's lock, by workflow: whoever takes the lock next applies
/// them all at once (see [`settle_move`]).
#[derive(Debug, Default)]
pub struct PendingMoves {
    map: crate::registry::Registry<WorkflowId, Vec<(JobMove, Reply)>>,
}

/// Where a batched move's outcome goes.
type Reply = tokio::sync::oneshot::Sender<OrchestratorResult<bool>>;

impl PendingMoves {
    fn push(&self, workflow_id: &WorkflowId, wanted: JobMove, reply: Reply) {
        self.map
            .with_entry(workflow_id.clone(), |moves| moves.push((wanted, reply)));
    }

    fn take(&self, workflow_id: &WorkflowId) -> Vec<(JobMove, Reply)> {
        self.map.remove(workflow_id).unwrap_or_default()
    }
}

/// What a settle did.
#[derive(Debug, Default)]
pub struct Settled {
    /// Whether the caller's own changes applied (false: a job no longer had the expected
    /// status, and nothing was done).
    pub applied: bool,
    /// Every job change made.
    pub changes: Vec<JobChange>,
    /// The workflow's status after.
    pub status: Option<WorkflowStatus>,
}

fn states(jobs: &[Job], overrides: &HashMap<JobId, JobStatus>) -> Vec<PlannedJobState> {
    jobs.iter()
        .map(|j| PlannedJobState {
            name: j.name.clone(),
            status: overrides.get(&j.id).copied().unwrap_or(j.status),
            requires: j
                .requires
                .iter()
                .map(|r| Requirement {
                    name: r.name.clone(),
                    statuses: r.statuses.clone(),
                    span: Span::NONE,
                })
                .collect(),
            approval: j.approval,
        })
        .collect()
}

/// A change a caller asks for: the job moves to `to` if, when the workflow's lock is held, its
/// status is one of `from`.
#[derive(Clone, Debug)]
pub struct JobMove {
    /// The job.
    pub job_id: JobId,
    /// The statuses it may move from.
    pub from: &'static [JobStatus],
    /// Its status after.
    pub to: JobStatus,
    /// Why (kept as the job's message).
    pub message: Option<String>,
    /// Who.
    pub actor: Option<String>,
}

/// Applies `first` (each only if the job's status, read under the workflow's lock, is one it may
/// move from), then propagates with `request`.
pub async fn settle(
    state: &AppState,
    workflow_id: &WorkflowId,
    first: Vec<JobMove>,
    request: AdvanceRequest,
) -> OrchestratorResult<Settled> {
    let lock = state.dispatch.locks.get(workflow_id);
    let _held = lock.lock().await;
    settle_locked(state, workflow_id, &first, request)
        .await
        .map(|(settled, _)| settled)
}

/// Applies one move and propagates, as [`settle`] with [`AdvanceRequest::Propagate`] does, but
/// together with every other such move that waits for the workflow's lock meanwhile: a burst
/// of jobs ending (a fan-out's) costs one settle instead of one each. Whether this move
/// applied.
///
/// The batch is settled on a task of its own, so a caller that goes away does not take the
/// other callers' moves with it; a shutdown waits for it.
pub async fn settle_move(
    state: &AppState,
    workflow_id: &WorkflowId,
    wanted: JobMove,
) -> OrchestratorResult<bool> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    state.dispatch.pending.push(workflow_id, wanted, tx);
    let state = state.clone();
    let workflow_id = workflow_id.clone();
    let drain = std::sync::Arc::clone(&state.drain);
    drain.spawn(async move {
        let lock = state.dispatch.locks.get(&workflow_id);
        let _held = lock.lock().await;
        // Empty when an earlier holder took this caller's move along with its own.
        let batch = state.dispatch.pending.take(&workflow_id);
        if batch.is_empty() {
            return;
        }
        let (moves, replies): (Vec<JobMove>, Vec<_>) = batch.into_iter().unzip();
        match settle_locked(&state, &workflow_id, &moves, AdvanceRequest::Propagate).await {
            Ok((_, accepted)) => {
                for (reply, applied) in replies.into_iter().zip(accepted) {
                    let _ = reply.send(Ok(applied));
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(e.shared()));
                }
            }
        }
    });
    rx.await.map_err(|_| OrchestratorError::Internal {
        what: "settling a workflow",
        cause: "the settle task stopped before answering".into(),
    })?
}

/// [`settle`] with the workflow's lock held; also whether each of `first` applied.
async fn settle_locked(
    state: &AppState,
    workflow_id: &WorkflowId,
    first: &[JobMove],
    request: AdvanceRequest,
) -> OrchestratorResult<(Settled, Vec<bool>)> {
    for _ in 0..ATTEMPTS {
        let workflow = state
            .store
            .workflow(workflow_id)
            .await?
            .ok_or_else(|| OrchestratorError::NotFound("workflow"))?;
        let jobs = state.store.jobs_of_workflow(workflow_id).await?;
        let jobs: &[Job] = &jobs;
        let by_id: HashMap<&str, &Job> = jobs.iter().map(|j| (j.id.as_str(), j)).collect();
        let mut overrides = HashMap::new();
        let mut changes: Vec<JobChange> = Vec::new();
        let mut accepted = vec![false; first.len()];
        for (i, wanted) in first.iter().enumerate() {
            let Some(job) = by_id.get(wanted.job_id.as_str()) else {
                continue;
            };
            // A job moves once per settle: a second move for it (another node's task ending
            // at the same time) finds it moved, as it would one settle later.
            if wanted.from.contains(&job.status) && !overrides.contains_key(&job.id) {
                overrides.insert(job.id.clone(), wanted.to);
                accepted[i] = true;
                changes.push(JobChange {
                    job_id: job.id.clone(),
                    from: job.status,
                    to: wanted.to,
                    message: wanted.message.clone(),
                    actor: wanted.actor.clone(),
                });
            }
        }
        if !first.is_empty() && changes.is_empty() {
            return Ok((Settled::default(), accepted));
        }
        let advanced = advance(&states(jobs, &overrides), request);
        merge_changes(&mut changes, jobs, &advanced.changes);
        let new_tasks = tasks_for(state, &workflow, jobs, &changes).await?;
        let update = WorkflowUpdate {
            version: Some(workflow.version),
            workflow_id: workflow_id.clone(),
            changes: changes.clone(),
            new_tasks,
            status: advanced.workflow_status,
            now: now_ms(),
        };
        let stored = Stored::of(&update);
        if !state.store.update_workflow(update).await? {
            continue;
        }
        after(state, &workflow, jobs, &stored).await;
        return Ok((
            Settled {
                applied: true,
                changes,
                status: Some(advanced.workflow_status),
            },
            accepted,
        ));
    }
    Err(OrchestratorError::Conflict(
        "the workflow kept changing while this change was applied; try again".into(),
    ))
}

/// Adds the model's job changes to `changes` (a job already there takes the model's status),
/// then drops those that change nothing.
fn merge_changes(changes: &mut Vec<JobChange>, jobs: &[Job], advanced: &[StatusChange]) {
    let by_name: HashMap<&str, &Job> = jobs.iter().map(|j| (j.name.as_str(), j)).collect();
    for change in advanced {
        let Some(job) = by_name.get(change.name.as_str()) else {
            continue;
        };
        match changes.iter_mut().find(|c| c.job_id == job.id) {
            Some(existing) => existing.to = change.to,
            None => changes.push(JobChange {
                job_id: job.id.clone(),
                from: job.status,
                to: change.to,
                message: None,
                actor: None,
            }),
        }
    }
    changes.retain(|c| c.from != c.to);
}

/// Tasks for the jobs that become queued.
async fn tasks_for(
    state: &AppState,
    workflow: &circa_store::Workflow,
    jobs: &[Job],
    changes: &[JobChange],
) -> OrchestratorResult<Vec<NewTask>> {
    if !changes.iter().any(|c| c.to == JobStatus::Queued) {
        return Ok(Vec::new());
    }
    let pipeline = state
        .store
        .pipeline(&workflow.pipeline_id)
        .await?
        .ok_or_else(|| OrchestratorError::NotFound("pipeline"))?;
    let project = state
        .store
        .project(&workflow.project_id)
        .await?
        .ok_or_else(|| OrchestratorError::NotFound("project"))?;
    Tasking::of(state, &pipeline, &project).tasks(workflow, jobs, changes)
}

/// What making a workflow's tasks needs besides the workflow: its pipeline and project, and
/// the server's settings that go into assignments.
#[derive(Clone, Copy, Debug)]
pub struct Tasking<'a> {
    /// The pipeline.
    pipeline: &'a Pipeline,
    /// Its project.
    project: &'a Project,
    /// The server's secret (continuation keys derive from it).
    secret: &'a [u8],
    /// The server's URL.
    base_url: &'a str,
    /// The step log limit.
    step_log_limit: u64,
}

impl<'a> Tasking<'a> {
    /// For workflows of `pipeline`.
    pub fn of(state: &'a AppState, pipeline: &'a Pipeline, project: &'a Project) -> Self {
        Tasking {
            pipeline,
            project,
            secret: &state.keys.secret,
            base_url: &state.base_url,
            step_log_limit: state.config.step_log_limit,
        }
    }

    /// The tasks of the jobs `changes` queue: one per node.
    fn tasks(
        &self,
        workflow: &Workflow,
        jobs: &[Job],
        changes: &[JobChange],
    ) -> OrchestratorResult<Vec<NewTask>> {
        let queued: Vec<&Job> = changes
            .iter()
            .filter(|c| c.to == JobStatus::Queued)
            .filter_map(|c| jobs.iter().find(|j| j.id == c.job_id))
            .collect();
        if queued.is_empty() {
            return Ok(Vec::new());
        }
        let mut extra_env = BTreeMap::new();
        let mut secrets = Vec::new();
        if workflow.setup {
            let key = continuation::key_for(self.secret, &self.pipeline.id);
            extra_env.insert("CIRCLE_CONTINUATION_KEY".to_string(), key.clone());
            secrets.push(key);
        }
        let cx = AssignContext {
            project: self.project,
            pipeline: self.pipeline,
            workflow,
            jobs,
            base_url: self.base_url,
            step_log_limit: self.step_log_limit,
            extra_env,
            secrets,
        };
        let mut tasks = Vec::new();
        for job in queued {
            for node in 0..job.parallelism.max(1) {
                let internal = |cause: String| OrchestratorError::Internal {
                    what: "making a task's assignment",
                    cause,
                };
                let payload = assignment(&cx, job, node).map_err(internal)?;
                let payload =
                    serde_json::to_value(&payload).map_err(|e| internal(e.to_string()))?;
                tasks.push(NewTask {
                    job_id: job.id.clone(),
                    node,
                    resource_class: job.resource_class.clone(),
                    payload,
                });
            }
        }
        Ok(tasks)
    }

    /// The first settle of a workflow just added, which nothing else has seen: its jobs as
    /// the model starts them, and their tasks. Made without the store, for the transaction
    /// that adds the workflow ([`circa_store::FirstSettle`]).
    pub fn first_update(
        &self,
        workflow: &Workflow,
        jobs: &[Job],
    ) -> OrchestratorResult<WorkflowUpdate> {
        let advanced = advance(&states(jobs, &HashMap::new()), AdvanceRequest::Propagate);
        let mut changes = Vec::new();
        merge_changes(&mut changes, jobs, &advanced.changes);
        let new_tasks = self.tasks(workflow, jobs, &changes)?;
        Ok(WorkflowUpdate {
            version: None,
            workflow_id: workflow.id.clone(),
            changes,
            new_tasks,
            status: advanced.workflow_status,
            now: now_ms(),
        })
    }
}

/// What a stored [`WorkflowUpdate`] sets off: its job changes, the workflow's status, and the
/// resource classes of its new tasks (whose claims to wake).
#[derive(Clone, Debug)]
pub struct Stored {
    /// The job changes.
    pub changes: Vec<JobChange>,
    /// The workflow's status after.
    pub status: WorkflowStatus,
    /// One resource class per new task.
    pub classes: Vec<String>,
}

impl Stored {
    /// What `update` sets off once stored.
    pub fn of(update: &WorkflowUpdate) -> Stored {
        Stored {
            changes: update.changes.clone(),
            status: update.status,
            classes: update
                .new_tasks
                .iter()
                .map(|t| t.resource_class.clone())
                .collect(),
        }
    }
}

/// Side effects once a settle is stored (by [`settle`], or with a new workflow by a trigger):
/// claims woken, tasks of cancelled jobs stopped, watchers told, finished jobs counted.
pub async fn after(state: &AppState, workflow: &Workflow, jobs: &[Job], stored: &Stored) {
    let Stored {
        changes,
        status,
        classes,
    } = stored;
    let status = *status;
    if !changes.is_empty() {
        publish(state, Notice::Statuses);
    }
    // One claim woken per new task: the other waiting claims would find nothing.
    let mut per_class: BTreeMap<String, usize> = BTreeMap::new();
    for class in classes {
        *per_class.entry(class.clone()).or_default() += 1;
    }
    for (class, tasks) in per_class {
        crate::replicas::queued(state, &class, tasks);
    }
    for change in changes {
        let Some(job) = jobs.iter().find(|j| j.id == change.job_id) else {
            continue;
        };
        if !job.approval {
            state.metrics.job_finished(change.to);
        }
        if change.to == JobStatus::Canceled
            && matches!(change.from, JobStatus::Running | JobStatus::Queued)
        {
            match state.store.cancel_tasks(&job.id, now_ms()).await {
                Ok(tasks) => {
                    for task in tasks {
                        publish(state, Notice::Cancel { task: task.id });
                    }
                }
                Err(e) => tracing::error!("cancel tasks of job {}: {e}", job.id),
            }
        }
        let update = StatusUpdate {
            kind: UpdateKind::Job,
            pipeline_id: workflow.pipeline_id.clone(),
            workflow_id: Some(workflow.id.clone()),
            job_id: Some(job.id.clone()),
            name: job.name.clone(),
            status: change.to.as_str().to_string(),
        };
        status_changed(state, update);
    }
    if status != workflow.status {
        let update = StatusUpdate {
            kind: UpdateKind::Workflow,
            pipeline_id: workflow.pipeline_id.clone(),
            workflow_id: Some(workflow.id.clone()),
            job_id: None,
            name: workflow.name.clone(),
            status: status.as_str().to_string(),
        };
        status_changed(state, update);
    }
}
