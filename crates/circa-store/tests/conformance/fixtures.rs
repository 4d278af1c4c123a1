//! Builders for the rows tests need.

use circa_model::{JobStatus, WorkflowStatus};
use circa_store::*;
use serde_json::json;

/// The time tests start from.
pub const T0: Millis = 1_700_000_000_000;

/// A project with settings left at their defaults.
pub async fn project(store: &dyn Store, slug: &str) -> Project {
    store
        .create_project(
            NewProject {
                slug: slug.into(),
                repo_url: format!("https://example.com/{slug}.git"),
                default_branch: "main".into(),
                webhook_secret: "s3cret".into(),
                settings: ProjectSettings::default(),
            },
            T0,
        )
        .await
        .unwrap()
}

/// A job to create (not an approval), `docker` class, parallelism 1.
pub fn job(name: &str, status: JobStatus) -> NewJob {
    NewJob {
        name: name.into(),
        job_key: name.into(),
        status,
        approval: false,
        requires: Vec::new(),
        contexts: Vec::new(),
        spec: Some(json!({ "steps": [{ "run": "true" }] })),
        resource_class: "docker".into(),
        parallelism: 1,
        copied_from: None,
    }
}

/// An approval job, on hold.
pub fn approval(name: &str) -> NewJob {
    NewJob {
        approval: true,
        spec: None,
        ..job(name, JobStatus::OnHold)
    }
}

/// A workflow to create, running.
pub fn workflow(name: &str, jobs: Vec<NewJob>) -> NewWorkflow {
    NewWorkflow {
        name: name.into(),
        status: WorkflowStatus::Running,
        setup: false,
        rerun_of: None,
        jobs,
    }
}

/// A pipeline to create, triggered on `branch`.
pub fn new_pipeline(project_id: &str, branch: &str) -> NewPipeline {
    NewPipeline {
        project_id: project_id.into(),
        state: PipelineState::Created,
        trigger: PipelineTrigger {
            kind: circa_store::TriggerKind::Webhook,
            actor: "alice".into(),
            branch: Some(branch.into()),
            revision: "0123456789abcdef".into(),
            ..PipelineTrigger::default()
        },
        errors: Vec::new(),
        config_source: Some("version: 2.1".into()),
        config_compiled: None,
        continuation_key_hash: None,
        continuation_deadline: None,
    }
}

/// A project `slug` and a pipeline of it on `main` with no workflows yet (one to start).
pub async fn unstarted_pipeline(store: &dyn Store, slug: &str) -> (Project, Pipeline) {
    let p = project(store, slug).await;
    let CreatedPipeline {
        pipeline: created, ..
    } = store
        .create_pipeline(new_pipeline(&p.id, "main"), Vec::new(), T0)
        .await
        .unwrap();
    (p, created)
}

/// Creates a pipeline on `branch` with one workflow of these jobs.
pub async fn pipeline(
    store: &dyn Store,
    project_id: &str,
    branch: &str,
    jobs: Vec<NewJob>,
) -> (Pipeline, Workflow, Vec<Job>) {
    let CreatedPipeline {
        pipeline,
        mut workflows,
        jobs,
    } = store
        .create_pipeline(
            new_pipeline(project_id, branch),
            vec![workflow("build", jobs)],
            T0,
        )
        .await
        .unwrap();
    (pipeline, workflows.remove(0), jobs)
}

/// A fresh project's pipeline with two blocked jobs, `a` and `b`.
pub async fn jobs_a_and_b(store: &dyn Store) -> Vec<Job> {
    let p = project(store, "gh/acme/app").await;
    let (_, _, jobs) = pipeline(
        store,
        &p.id,
        "main",
        vec![job("a", JobStatus::Blocked), job("b", JobStatus::Blocked)],
    )
    .await;
    jobs
}

/// A task to queue for node `node` of `job`.
pub fn task(job: &Job, node: u32, resource_class: &str) -> NewTask {
    NewTask {
        job_id: job.id.clone(),
        node,
        resource_class: resource_class.into(),
        payload: json!({ "job": job.name, "node": node }),
    }
}

/// Moves `job` from `from` to queued with tasks for `nodes` nodes, at `now`.
pub async fn queue(store: &dyn Store, job: &Job, from: JobStatus, nodes: u32, now: Millis) {
    let applied = store
        .update_workflow(WorkflowUpdate {
            version: None,
            workflow_id: job.workflow_id.clone(),
            changes: vec![change(job, from, JobStatus::Queued)],
            new_tasks: (0..nodes)
                .map(|n| task(job, n, &job.resource_class))
                .collect(),
            status: WorkflowStatus::Running,
            now,
        })
        .await
        .unwrap();
    assert!(applied);
}

/// A job status change without message or actor.
pub fn change(job: &Job, from: JobStatus, to: JobStatus) -> JobChange {
    JobChange {
        job_id: job.id.clone(),
        from,
        to,
        message: None,
        actor: None,
    }
}

/// A claim of the oldest `resource_class` task by `runner` at `now`, leased for a minute.
pub fn claim(resource_class: &str, runner: &str, now: Millis) -> Claim {
    Claim {
        resource_class: resource_class.into(),
        runner: runner.into(),
        token_hash: format!("hash-of-{runner}"),
        now,
        lease_expires_at: now + 60_000,
    }
}

/// One claim through the batch claim the runner API makes: the task and its job as started,
/// if any.
pub async fn claim_one(store: &dyn Store, claim: Claim) -> Option<(Task, Option<Job>)> {
    let mut claimed = store.claim_tasks_and_start_jobs(vec![claim]).await.unwrap();
    assert!(claimed.len() <= 1, "one claim takes one task at most");
    claimed.pop()
}

/// The task one claim through the batch claim takes, if any.
pub async fn claimed_task(store: &dyn Store, claim: Claim) -> Option<Task> {
    claim_one(store, claim).await.map(|(task, _)| task)
}

/// Moves a workflow to `status` at `now` the way a settle writes it: an update with no job
/// changes.
pub async fn settle_status(
    store: &dyn Store,
    workflow_id: &str,
    status: WorkflowStatus,
    now: Millis,
) {
    let applied = store
        .update_workflow(WorkflowUpdate {
            version: None,
            workflow_id: workflow_id.into(),
            changes: Vec::new(),
            new_tasks: Vec::new(),
            status,
            now,
        })
        .await
        .unwrap();
    assert!(applied);
}

/// One running task of a fresh project, with its job.
pub async fn running_task(store: &dyn Store) -> (Job, Task) {
    let project = project(store, "gh/acme/events").await;
    let (_, _, jobs) = pipeline(
        store,
        &project.id,
        "main",
        vec![job("build", JobStatus::Blocked)],
    )
    .await;
    queue(store, &jobs[0], JobStatus::Blocked, 1, T0).await;
    let task = claimed_task(store, claim("docker", "runner-1", T0 + 1))
        .await
        .unwrap();
    (jobs[0].clone(), task)
}
