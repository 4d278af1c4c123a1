//! A job's environment, built in CircleCI's precedence order.
//!
//! Highest first: the step's `environment`, the job's `environment`, CircleCI's built-in
//! variables (`CI`, `CIRCLECI`, `CIRCLE_*`), context variables, project variables. A later layer
//! here overrides an earlier one, so [`job_env`] applies them lowest first.

use std::collections::BTreeMap;

use super::JobContext;
use crate::executor::Started;

/// The built-in variables of one job node.
pub fn builtins(ctx: &JobContext, started: &Started) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        env.insert(k.to_string(), v);
    };
    set("CI", "true".into());
    set("CIRCLECI", "true".into());
    set("CIRCLE_JOB", ctx.job_name.clone());
    set("CIRCLE_NODE_INDEX", ctx.node.to_string());
    set("CIRCLE_NODE_TOTAL", ctx.spec.parallelism.max(1).to_string());
    set("CIRCLE_BUILD_NUM", ctx.ids.build_num.to_string());
    set("CIRCLE_BUILD_URL", ctx.ids.build_url.clone());
    set("CIRCLE_PIPELINE_ID", ctx.ids.pipeline_id.clone());
    set("CIRCLE_WORKFLOW_ID", ctx.ids.workflow_id.clone());
    set("CIRCLE_WORKFLOW_JOB_ID", ctx.ids.workflow_job_id.clone());
    set("CIRCLE_WORKFLOW_WORKSPACE_ID", ctx.ids.workflow_id.clone());
    set("CIRCLE_PROJECT_ID", ctx.ids.project_id.clone());
    set("CIRCLE_ORGANIZATION_ID", ctx.ids.organization_id.clone());
    set("CIRCLE_SHA1", ctx.vcs.sha1.clone());
    set("CIRCLE_REPOSITORY_URL", ctx.vcs.repository_url.clone());
    set("CIRCLE_PROJECT_USERNAME", ctx.vcs.project_username.clone());
    set("CIRCLE_PROJECT_REPONAME", ctx.vcs.project_reponame.clone());
    set("CIRCLE_USERNAME", ctx.vcs.username.clone());
    if let Some(branch) = &ctx.vcs.branch {
        set("CIRCLE_BRANCH", branch.clone());
    }
    if let Some(tag) = &ctx.vcs.tag {
        set("CIRCLE_TAG", tag.clone());
    }
    if let Some(pr) = &ctx.vcs.pull_request {
        set("CIRCLE_PULL_REQUEST", pr.clone());
        set("CIRCLE_PULL_REQUESTS", pr.clone());
    }
    if let Some(fork) = &ctx.vcs.fork_pull_request {
        set("CIRCLE_PR_NUMBER", fork.number.to_string());
        set("CIRCLE_PR_USERNAME", fork.username.clone());
        set("CIRCLE_PR_REPONAME", fork.reponame.clone());
    }
    set(
        "CIRCLE_WORKING_DIRECTORY",
        started.working_directory.clone(),
    );
    set("CIRCLE_INTERNAL_TASK_DATA", started.task_dir.clone());
    set("BASH_ENV", bash_env_path(started));
    env
}

/// Where `BASH_ENV` points inside the environment.
pub fn bash_env_path(started: &Started) -> String {
    format!(
        "{}/{}",
        started.task_dir.trim_end_matches('/'),
        super::BASH_ENV_FILE
    )
}

/// The environment every step of the job starts from: project and context variables, the
/// built-ins, the job's `environment`, and `PATH` from the executor unless the job sets it.
pub fn job_env(ctx: &JobContext, started: &Started) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("PATH".to_string(), started.path.clone());
    env.extend(ctx.project_env.clone());
    env.extend(ctx.context_env.clone());
    env.extend(builtins(ctx, started));
    env.extend(ctx.spec.environment.clone());
    env
}

/// The environment of one `run` step: the job's, with the step's `environment` on top.
pub fn step_env(
    job: &BTreeMap<String, String>,
    step: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut env = job.clone();
    env.extend(step.clone());
    env
}
