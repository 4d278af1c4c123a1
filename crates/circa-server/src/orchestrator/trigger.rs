//! Starting a pipeline: fetch the code, read the config at the commit, compile and plan it,
//! store the pipeline with its workflows, queue the first jobs.

use std::sync::{Arc, Mutex};

use circa_config::pipeline::PipelineValues;
use circa_model::{AdvanceRequest, Trigger, TriggerSource, WorkflowStatus};
use circa_store::{
    FirstSettle, Job, NewPipeline, NewWorkflow, Pipeline, PipelineError, PipelineErrorKind,
    PipelineStart, PipelineState, PipelineTrigger, Project, ScheduledBy, TriggerKind, Workflow,
    WorkflowId,
};

use super::compile::{CompileInput, CompileOutcome, compile_and_plan};
use super::settle::{Stored, Tasking, after, settle};
use super::{OrchestratorError, OrchestratorResult};
use crate::git_fetch::FetchError;
use crate::live::{StatusUpdate, UpdateKind};
use crate::state::{AppState, now_ms};
use crate::vcs::{ConfigAt, valid_sha};

/// What to build.
#[derive(Clone, Debug, Default)]
pub struct TriggerRequest {
    /// What starts it.
    pub kind: TriggerKind,
    /// Who.
    pub actor: String,
    /// The branch (the project's default branch when neither branch nor tag is given).
    pub branch: Option<String>,
    /// The tag.
    pub tag: Option<String>,
    /// The commit, when the caller knows it (a webhook); else the branch's or tag's head.
    pub revision: Option<String>,
    /// The commit's subject, when the caller knows it.
    pub subject: Option<String>,
    /// The pull request's URL.
    pub pull_request: Option<String>,
    /// Pipeline parameters.
    pub parameters: serde_json::Map<String, serde_json::Value>,
    /// For a scheduled pipeline (`kind` `schedule`): the schedule and its tick.
    pub schedule: Option<ScheduledBy>,
    /// Whether it builds a pull request from a fork.
    pub from_fork: bool,
    /// For a pull request from a fork: what its jobs' `CIRCLE_PR_*` variables say.
    pub fork_pull_request: Option<circa_model::protocol::ForkPullRequest>,
}

/// The `pipeline.*` values of a pipeline.
pub fn values_for(project: &Project, pipeline: &Pipeline) -> PipelineValues {
    let t = &pipeline.trigger;
    let mut pv = PipelineValues::new();
    pv.set("id", pipeline.id.as_str());
    pv.set("number", pipeline.number);
    pv.set("project.git_url", project.repo_url.as_str());
    let vcs = project.slug.split('/').next().unwrap_or("gh");
    let kind = match vcs {
        "bb" | "bitbucket" => "bitbucket",
        "gl" | "gitlab" => "gitlab",
        _ => "github",
    };
    pv.set("project.type", kind);
    pv.set("git.revision", t.revision.as_str());
    pv.set("git.base_revision", t.revision.as_str());
    if let Some(tag) = &t.tag {
        pv.set("git.tag", tag.as_str());
    }
    if let Some(branch) = &t.branch {
        pv.set("git.branch", branch.as_str());
    }
    let source = match t.kind {
        TriggerKind::Webhook => "webhook",
        TriggerKind::Schedule => "scheduled_pipeline",
        TriggerKind::Api | TriggerKind::Explicit => "api",
    };
    pv.set("trigger_source", source);
    pv.set(
        "trigger.type",
        match t.kind {
            TriggerKind::Webhook => "webhook",
            TriggerKind::Schedule => "schedule",
            TriggerKind::Api | TriggerKind::Explicit => "api",
        },
    );
    if let Some(schedule) = &t.schedule {
        pv.set("schedule.name", schedule.name.as_str());
        pv.set("schedule.id", schedule.id.as_str());
    }
    if let Some(subject) = &t.subject {
        pv.set(
            "trigger_parameters.circleci.commit_subject",
            subject.as_str(),
        );
    }
    pv.set("trigger_parameters.circleci.actor_id", t.actor.as_str());
    pv
}

/// Starts a pipeline for `project`. Config problems give an `errored` pipeline, not an error.
pub async fn trigger_pipeline(
    state: &AppState,
    project: &Project,
    request: TriggerRequest,
) -> OrchestratorResult<Pipeline> {
    super::parameters::check(&request.parameters)?;
    let branch = match (&request.branch, &request.tag) {
        (None, None) => Some(project.default_branch.clone()),
        (b, _) => b.clone(),
    };
    let mut commit = locate_commit(state, project, &request, branch.as_deref()).await?;
    let config = if commit.errors.is_empty() {
        read_config(state, project, &commit.revision, &mut commit.errors).await
    } else {
        None
    };
    let trigger = PipelineTrigger {
        kind: request.kind,
        actor: request.actor.clone(),
        branch: if request.tag.is_some() { None } else { branch },
        tag: request.tag.clone(),
        revision: commit.revision,
        subject: commit.subject,
        pull_request: request.pull_request.clone(),
        parameters: request.parameters.clone(),
        schedule: request.schedule.clone(),
        from_fork: request.from_fork,
        fork_pull_request: request.fork_pull_request.clone(),
    };
    let pipeline = create_pipeline(state, project, &trigger, commit.errors, &config).await?;
    let Some(source) = config else {
        notify_pipeline(state, &pipeline, PipelineState::Errored);
        return Ok(pipeline);
    };
    if request.schedule.is_none()
        && let Some(branch) = trigger.branch.clone()
    {
        // A push or API call on a branch: its config (re)defines the branch's legacy schedules.
        tokio::spawn(crate::schedules::legacy::sync_branch(
            state.clone(),
            project.clone(),
            branch,
            source.clone(),
        ));
    }
    let input = CompileInput {
        source,
        pipeline: values_for(project, &pipeline),
        parameters: request.parameters.clone(),
        trigger: model_trigger(project, &trigger),
        orbs: state.config.orbs.clone(),
    };
    let outcome = state
        .dispatch
        .compiles
        .run(move || compile_and_plan(input))
        .await?;
    // The pipeline was made here: what the database holds now is what was written to it.
    let mut pipeline = pipeline;
    store_outcome(state, project, &mut pipeline, outcome).await?;
    Ok(pipeline)
}

/// The commit a trigger builds, and what went wrong finding it.
struct LocatedCommit {
    /// The full commit id (the one given, or empty, when it could not be found).
    revision: String,
    /// Its subject line, when known.
    subject: Option<String>,
    /// Why the repository or the commit could not be read (the pipeline then errors).
    errors: Vec<PipelineError>,
}

/// Brings the project's mirror up to date (unless it holds the commit a webhook names) and
/// finds the commit to build: the one given, else the head of `branch` or of the request's
/// tag. A branch or tag that does not exist is the caller's error, not an errored pipeline.
async fn locate_commit(
    state: &AppState,
    project: &Project,
    request: &TriggerRequest,
    branch: Option<&str>,
) -> OrchestratorResult<LocatedCommit> {
    let given = request.revision.clone().filter(|r| valid_sha(r));
    let mut found = LocatedCommit {
        revision: given.clone().unwrap_or_default(),
        subject: request.subject.clone(),
        errors: Vec::new(),
    };
    let known = match &given {
        Some(sha) if sha.len() == 40 || sha.len() == 64 => {
            state.vcs.has_commit(&project.id, sha).await
        }
        _ => false,
    };
    if !known && let Err(e) = crate::git_fetch::fetch_mirror(state, project).await {
        match e {
            FetchError::Secret(e) => return Err(e.into()),
            e if e.is_internal() => {
                return Err(OrchestratorError::Internal {
                    what: "fetching the repository",
                    cause: e.to_string(),
                });
            }
            _ => {}
        }
        found.errors.push(PipelineError {
            kind: PipelineErrorKind::ConfigFetch,
            message: format!("the repository could not be fetched: {e}"),
        });
        return Ok(found);
    }
    if let Some(given) = given {
        match state.vcs.full_sha(&project.id, &given).await {
            Ok((full, subject)) => {
                found.revision = full;
                found.subject = found.subject.or(subject);
            }
            Err(e) => found.errors.push(PipelineError {
                kind: PipelineErrorKind::ConfigFetch,
                message: format!("commit {given}: {e}"),
            }),
        }
        return Ok(found);
    }
    let tag = request.tag.as_deref();
    match state.vcs.resolve(&project.id, branch, tag).await {
        Ok((sha, subject)) => {
            found.revision = sha;
            found.subject = found.subject.or(subject);
            Ok(found)
        }
        Err(e) => {
            let what = match tag {
                Some(t) => format!("tag `{t}`"),
                None => format!("branch `{}`", branch.unwrap_or_default()),
            };
            Err(OrchestratorError::BadRequest(format!(
                "cannot build {what}: {e}"
            )))
        }
    }
}

/// Stores a new pipeline of `trigger`: `errored` with `errors`, else `created`.
async fn create_pipeline(
    state: &AppState,
    project: &Project,
    trigger: &PipelineTrigger,
    errors: Vec<PipelineError>,
    config: &Option<String>,
) -> OrchestratorResult<Pipeline> {
    let created = state
        .store
        .create_pipeline(
            NewPipeline {
                project_id: project.id.clone(),
                state: if errors.is_empty() {
                    PipelineState::Created
                } else {
                    PipelineState::Errored
                },
                trigger: trigger.clone(),
                errors,
                config_source: config.clone(),
                config_compiled: None,
                continuation_key_hash: None,
                continuation_deadline: None,
            },
            Vec::new(),
            now_ms(),
        )
        .await?;
    Ok(created.pipeline)
}

/// The trigger as the config engine sees it (`pipeline.trigger_source`, branch filters).
fn model_trigger(project: &Project, trigger: &PipelineTrigger) -> Trigger {
    Trigger {
        branch: trigger.branch.clone(),
        tag: trigger.tag.clone(),
        revision: trigger.revision.clone(),
        parameters: Vec::new(),
        source: match (&trigger.schedule, trigger.kind) {
            (Some(schedule), _) => TriggerSource::Schedule {
                name: schedule.name.clone(),
            },
            (None, TriggerKind::Webhook) => TriggerSource::Webhook,
            _ => TriggerSource::Api,
        },
        default_branch: Some(project.default_branch.clone()),
    }
}

/// Stores a compile's outcome on a pipeline: its errors, or its workflows (queued at once).
pub async fn start_workflows(
    state: &AppState,
    project: &Project,
    mut pipeline: Pipeline,
    outcome: CompileOutcome,
) -> OrchestratorResult<Pipeline> {
    store_outcome(state, project, &mut pipeline, outcome).await?;
    Ok(state
        .store
        .pipeline(&pipeline.id)
        .await?
        .unwrap_or(pipeline))
}

/// [`start_workflows`]' work; `pipeline` gets the changes written to the database.
async fn store_outcome(
    state: &AppState,
    project: &Project,
    pipeline: &mut Pipeline,
    outcome: CompileOutcome,
) -> OrchestratorResult<()> {
    match outcome {
        CompileOutcome::Errors(errors) => {
            let now = now_ms();
            state
                .store
                .set_pipeline_state(&pipeline.id, PipelineState::Errored, &errors, now)
                .await?;
            pipeline.state = PipelineState::Errored;
            pipeline.errors = errors;
            pipeline.updated_at = now;
            notify_pipeline(state, pipeline, PipelineState::Errored);
            Ok(())
        }
        CompileOutcome::Planned {
            compiled,
            setup,
            workflows,
        } => start_planned(state, project, pipeline, compiled, setup, workflows).await,
    }
}

/// Stores a planned pipeline's processed config, its state (setup pending for a setup
/// config, with its continuation key's hash and deadline), its workflows and their first
/// settle in one transaction; then cancels what it supersedes and tells watchers.
async fn start_planned(
    state: &AppState,
    project: &Project,
    pipeline: &mut Pipeline,
    compiled: String,
    setup: bool,
    workflows: Vec<NewWorkflow>,
) -> OrchestratorResult<()> {
    let now = now_ms();
    let continuation = setup.then(|| {
        let key = super::continuation::key_for(&state.keys.secret, &pipeline.id);
        (
            crate::auth::hash_token(&key),
            now + state.config.continuation_ttl.as_millis() as i64,
        )
    });
    let pending = setup.then_some(PipelineState::SetupPending);
    (
        pipeline.continuation_key_hash,
        pipeline.continuation_deadline,
    ) = continuation.clone().unzip();
    pipeline.updated_at = now;
    if let Some(pending) = pending {
        pipeline.state = pending;
        pipeline.errors = Vec::new();
    }
    let settled = Arc::new(Mutex::new(FirstSettled::default()));
    let first = first_settle(state, pipeline, project, settled.clone());
    let (created, jobs) = state
        .store
        .start_pipeline(PipelineStart {
            pipeline_id: &pipeline.id,
            compiled: &compiled,
            continuation,
            state: pending,
            workflows,
            settle: Some(first),
            now,
        })
        .await?;
    pipeline.config_compiled = Some(compiled);
    let settled = std::mem::take(&mut *settled.lock().unwrap_or_else(|e| e.into_inner()));
    if let Some(error) = settled.error {
        return Err(error);
    }
    // Other pipelines' workflows on the branch (this one's are left alone).
    auto_cancel(state, project, pipeline).await;
    announce_workflows(state, pipeline, created, jobs, &settled).await;
    notify_pipeline(
        state,
        pipeline,
        if setup {
            PipelineState::SetupPending
        } else {
            PipelineState::Created
        },
    );
    Ok(())
}

/// Tells watchers that each new workflow runs, and sets off what its first settle stored.
async fn announce_workflows(
    state: &AppState,
    pipeline: &Pipeline,
    created: Vec<Workflow>,
    mut jobs: Vec<Job>,
    settled: &FirstSettled,
) {
    for workflow in created {
        let (mine, rest): (Vec<Job>, Vec<Job>) =
            jobs.into_iter().partition(|j| j.workflow_id == workflow.id);
        jobs = rest;
        crate::replicas::status_changed(
            state,
            StatusUpdate {
                kind: UpdateKind::Workflow,
                pipeline_id: pipeline.id.clone(),
                workflow_id: Some(workflow.id.clone()),
                job_id: None,
                name: workflow.name.clone(),
                status: WorkflowStatus::Running.as_str().to_string(),
            },
        );
        if let Some((_, stored)) = settled.stored.iter().find(|(id, _)| *id == workflow.id) {
            after(state, &workflow, &mine, stored).await;
        }
    }
}

/// What the first settles made inside the start's transaction: what each workflow's update
/// sets off, by workflow, and the first failure to make one.
#[derive(Default)]
struct FirstSettled {
    stored: Vec<(WorkflowId, Stored)>,
    error: Option<OrchestratorError>,
}

/// The first settle of a pipeline's new workflows, for
/// [`circa_store::PipelineStore::start_pipeline`]:
/// each workflow's update, recorded in `settled` too for what follows the commit. A workflow
/// whose tasks cannot be made is left unsettled and the failure recorded.
fn first_settle(
    state: &AppState,
    pipeline: &Pipeline,
    project: &Project,
    settled: Arc<Mutex<FirstSettled>>,
) -> FirstSettle {
    let (state, pipeline, project) = (state.clone(), pipeline.clone(), project.clone());
    Box::new(move |workflows: &[Workflow], jobs: &[Job]| {
        let tasking = Tasking::of(&state, &pipeline, &project);
        let mut out = settled.lock().unwrap_or_else(|e| e.into_inner());
        let mut updates = Vec::with_capacity(workflows.len());
        for workflow in workflows {
            let mine: Vec<Job> = jobs
                .iter()
                .filter(|j| j.workflow_id == workflow.id)
                .cloned()
                .collect();
            match tasking.first_update(workflow, &mine) {
                Ok(update) => {
                    out.stored.push((workflow.id.clone(), Stored::of(&update)));
                    updates.push(update);
                }
                Err(e) => {
                    out.error.get_or_insert(e);
                }
            }
        }
        updates
    })
}

async fn read_config(
    state: &AppState,
    project: &Project,
    revision: &str,
    errors: &mut Vec<PipelineError>,
) -> Option<String> {
    if let Ok(Some(text)) = state.store.cached_config(&project.id, revision).await {
        return Some(text);
    }
    match state.vcs.config_at(&project.id, revision).await {
        Ok(ConfigAt::Found(text)) => {
            if let Err(e) = state.store.cache_config(&project.id, revision, &text).await {
                tracing::warn!("config cache: {e}");
            }
            Some(text)
        }
        Ok(ConfigAt::Missing) => {
            errors.push(PipelineError {
                kind: PipelineErrorKind::ConfigFetch,
                message: format!(
                    "{} was not found at commit {revision}",
                    crate::vcs::CONFIG_PATH
                ),
            });
            None
        }
        Err(e) => {
            errors.push(PipelineError {
                kind: PipelineErrorKind::ConfigFetch,
                message: e.to_string(),
            });
            None
        }
    }
}

/// Cancels older running workflows on the same non-default branch, when the project asks.
async fn auto_cancel(state: &AppState, project: &Project, pipeline: &Pipeline) {
    if !project.settings.auto_cancel_redundant {
        return;
    }
    let Some(branch) = pipeline.trigger.branch.as_deref() else {
        return;
    };
    if branch == project.default_branch {
        return;
    }
    let Ok(active) = state
        .store
        .active_workflows_on_branch(&project.id, branch)
        .await
    else {
        return;
    };
    for workflow in active.iter().filter(|w| w.pipeline_id != pipeline.id) {
        if let Err(e) = settle(state, &workflow.id, Vec::new(), AdvanceRequest::Cancel).await {
            tracing::warn!("auto-cancel of workflow {}: {e}", workflow.id);
        }
    }
}

fn notify_pipeline(state: &AppState, pipeline: &Pipeline, st: PipelineState) {
    crate::replicas::status_changed(
        state,
        StatusUpdate {
            kind: UpdateKind::Pipeline,
            pipeline_id: pipeline.id.clone(),
            workflow_id: None,
            job_id: None,
            name: pipeline.number.to_string(),
            status: st.as_str().to_string(),
        },
    );
}
