//! The assignment a runner receives for one node of a job.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use circa_model::JobSpec;
use circa_model::protocol::{TaskAssignment, TaskIds, TaskVcs};
use circa_store::{Job, Pipeline, Project, Workflow};

/// Where a project's slug puts the organisation and the repository.
pub fn slug_parts(slug: &str) -> (&str, &str) {
    let mut parts = slug.splitn(3, '/');
    let _vcs = parts.next();
    let org = parts.next().unwrap_or_default();
    let repo = parts.next().unwrap_or_default();
    (org, repo)
}

/// The jobs `job` depends on, directly or not, in workflow order.
pub fn ancestors(job: &Job, jobs: &[Job]) -> Vec<String> {
    let by_name: HashMap<&str, &Job> = jobs.iter().map(|j| (j.name.as_str(), j)).collect();
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&str> = job.requires.iter().map(|r| r.name.as_str()).collect();
    while let Some(name) = stack.pop() {
        if !seen.insert(name.to_string()) {
            continue;
        }
        if let Some(j) = by_name.get(name) {
            stack.extend(j.requires.iter().map(|r| r.name.as_str()));
        }
    }
    jobs.iter()
        .filter(|j| seen.contains(&j.name))
        .map(|j| j.name.clone())
        .collect()
}

/// Everything that goes into an assignment besides the job.
pub struct AssignContext<'a> {
    /// The project.
    pub project: &'a Project,
    /// The pipeline.
    pub pipeline: &'a Pipeline,
    /// The workflow.
    pub workflow: &'a Workflow,
    /// Every job of the workflow.
    pub jobs: &'a [Job],
    /// The server's URL.
    pub base_url: &'a str,
    /// The step log limit.
    pub step_log_limit: u64,
    /// Variables the server adds (the continuation key of a setup workflow).
    pub extra_env: BTreeMap<String, String>,
    /// Values to mask.
    pub secrets: Vec<String>,
}

/// The assignment of one node, without token, lease and workspace layers (set at claim).
pub fn assignment(cx: &AssignContext<'_>, job: &Job, node: u32) -> Result<TaskAssignment, String> {
    let spec_json = job
        .spec
        .clone()
        .ok_or_else(|| format!("job `{}` has no spec", job.name))?;
    let spec: JobSpec =
        serde_json::from_value(spec_json).map_err(|e| format!("job `{}`: {e}", job.name))?;
    let (org, repo) = slug_parts(&cx.project.slug);
    let trigger = &cx.pipeline.trigger;
    let number = job.number.unwrap_or_default();
    Ok(TaskAssignment {
        task_id: String::new(),
        task_token: String::new(),
        lease_ms: 0,
        spec,
        job_name: job.name.clone(),
        node,
        vcs: TaskVcs {
            branch: trigger.branch.clone(),
            tag: trigger.tag.clone(),
            sha1: trigger.revision.clone(),
            repository_url: cx.project.repo_url.clone(),
            project_username: org.to_string(),
            project_reponame: repo.to_string(),
            username: trigger.actor.clone(),
            pull_request: trigger.pull_request.clone(),
            fork_pull_request: trigger.fork_pull_request.clone(),
        },
        ids: TaskIds {
            pipeline_id: cx.pipeline.id.to_string(),
            workflow_id: cx.workflow.id.to_string(),
            workflow_job_id: job.id.to_string(),
            project_id: cx.project.id.to_string(),
            organization_id: org.to_string(),
            build_num: u64::try_from(number).unwrap_or_default(),
            build_url: crate::api::render::job_web_url(cx.base_url, &cx.project.slug, number),
        },
        project_env: BTreeMap::new(),
        context_env: BTreeMap::new(),
        extra_env: cx.extra_env.clone(),
        secrets: cx.secrets.clone(),
        ssh_keys: Vec::new(),
        upstream: ancestors(job, cx.jobs),
        workspace_layers: Vec::new(),
        step_log_limit: cx.step_log_limit,
        git_access: None,
    })
}
