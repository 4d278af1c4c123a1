//! Runs one node of one job: starts the executor, runs every step with CircleCI's rules
//! (`when`, halting, timeouts, cancel), reports events, stops the executor.
//!
//! The caller (`circa local execute`, the runner) decides everything outside the node: which
//! executor, where caches, workspaces, artifacts and test results live, which secrets to mask.

mod builtin;
pub use builtin::load_timings;
pub mod env;
mod run;
pub mod ssh_keys;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use circa_model::protocol::{ForkPullRequest, SshKeyGrant};
use circa_model::{JobSpec, JobStatus, StepAction, When};
use tokio_util::sync::CancellationToken;

use crate::agent::AgentDir;
use crate::cache::CacheStore;
use crate::events::{EventKind, Reporter, StepStatus};
use crate::executor::{Executor, StartRequest, Started};
use crate::workspace::WorkspaceStore;

/// File in the task folder that `BASH_ENV` names.
pub const BASH_ENV_FILE: &str = "bash_env";

/// What is known of the code being built.
#[derive(Debug, Clone, Default)]
pub struct Vcs {
    /// The branch (`CIRCLE_BRANCH`), unless a tag is built.
    pub branch: Option<String>,
    /// The tag (`CIRCLE_TAG`).
    pub tag: Option<String>,
    /// The commit (`CIRCLE_SHA1`).
    pub sha1: String,
    /// `CIRCLE_REPOSITORY_URL`.
    pub repository_url: String,
    /// `CIRCLE_PROJECT_USERNAME`.
    pub project_username: String,
    /// `CIRCLE_PROJECT_REPONAME`.
    pub project_reponame: String,
    /// `CIRCLE_USERNAME`.
    pub username: String,
    /// `CIRCLE_PULL_REQUEST`, when building a pull request.
    pub pull_request: Option<String>,
    /// `CIRCLE_PR_NUMBER`, `CIRCLE_PR_USERNAME`, `CIRCLE_PR_REPONAME`: a pull request from a
    /// fork only.
    pub fork_pull_request: Option<ForkPullRequest>,
    /// A git repository on this host that `checkout` clones `sha1` from.
    pub repo_dir: Option<PathBuf>,
    /// The credentials `checkout` fetches `repository_url` with (`None`: this host's own
    /// setup).
    pub access: Option<circa_model::protocol::GitAccess>,
}

/// Identifiers of the pipeline, workflow and job the node belongs to.
#[derive(Debug, Clone, Default)]
pub struct Ids {
    /// `CIRCLE_PIPELINE_ID`.
    pub pipeline_id: String,
    /// `CIRCLE_WORKFLOW_ID` (also names the workspace).
    pub workflow_id: String,
    /// `CIRCLE_WORKFLOW_JOB_ID`.
    pub workflow_job_id: String,
    /// `CIRCLE_PROJECT_ID`.
    pub project_id: String,
    /// `CIRCLE_ORGANIZATION_ID`.
    pub organization_id: String,
    /// `CIRCLE_BUILD_NUM`.
    pub build_num: u64,
    /// `CIRCLE_BUILD_URL`.
    pub build_url: String,
}

/// Where a node keeps what outlives it.
#[derive(Debug, Clone)]
pub struct Stores {
    /// Caches (`save_cache`/`restore_cache`).
    pub caches: CacheStore,
    /// Workspaces (`persist_to_workspace`/`attach_workspace`).
    pub workspaces: WorkspaceStore,
    /// This node's artifact folder.
    pub artifacts_dir: PathBuf,
    /// This job's test results folder (all nodes); each node writes `node-N/` in it.
    pub test_results_dir: PathBuf,
}

/// Everything a node needs besides its executor.
#[derive(Debug, Clone)]
pub struct JobContext {
    /// The job.
    pub spec: JobSpec,
    /// The job's name as invoked in the workflow (`CIRCLE_JOB`).
    pub job_name: String,
    /// This node's index.
    pub node: u32,
    /// Unique among running nodes on this host (names containers, folders).
    pub run_id: String,
    /// The code being built.
    pub vcs: Vcs,
    /// Pipeline identifiers.
    pub ids: Ids,
    /// Project variables (and `--env`, `--env-file`, `--secret` locally): lowest precedence.
    pub project_env: BTreeMap<String, String>,
    /// Context variables, later contexts already merged over earlier ones.
    pub context_env: BTreeMap<String, String>,
    /// Values to mask in all output.
    pub secrets: Vec<String>,
    /// The project's SSH keys `add_ssh_keys` installs; `None` where no keys are managed
    /// (`circa local execute`: the step then only prints a notice).
    pub ssh_keys: Option<Vec<SshKeyGrant>>,
    /// Where caches, workspaces, artifacts and test results go.
    pub stores: Stores,
    /// The jobs whose workspace layers `attach_workspace` sees (this job's ancestors).
    pub upstream: Vec<String>,
    /// Timings from the job's previous test results ([`load_timings`]), the same for every
    /// node, for `circleci tests split --split-by=timings`.
    pub timings: Option<crate::split::Timings>,
    /// The staged in-job `circleci` command.
    pub agent: AgentDir,
    /// A host folder for this node's task files (created, then removed at the end).
    pub task_dir: PathBuf,
    /// Cancels the node.
    pub cancel: CancellationToken,
}

/// Why [`JobContext::standalone`] could not open its stores.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// The cache folder.
    #[error(transparent)]
    Cache(#[from] crate::cache::CacheError),
    /// The workspace folder.
    #[error(transparent)]
    Workspace(#[from] crate::workspace::WorkspaceError),
}

impl JobContext {
    /// A context for running `spec` on its own: stores under `data_dir` (`caches/`,
    /// `workspaces/`, `artifacts/JOB`, `test-results/JOB`), the task folder
    /// `data_dir/tasks/RUN_ID`, workflow id `local`, no repository, no variables, no secrets,
    /// and the in-job command not staged. Callers set what they need on top.
    pub fn standalone(spec: JobSpec, data_dir: &Path, run_id: &str) -> Result<Self, ContextError> {
        let job = spec.name.clone();
        Ok(JobContext {
            job_name: job.clone(),
            node: 0,
            run_id: run_id.to_string(),
            vcs: Vcs::default(),
            ids: Ids {
                workflow_id: "local".to_string(),
                ..Ids::default()
            },
            project_env: BTreeMap::new(),
            context_env: BTreeMap::new(),
            secrets: Vec::new(),
            ssh_keys: None,
            stores: Stores {
                caches: CacheStore::new(data_dir.join("caches"))?,
                workspaces: WorkspaceStore::new(data_dir.join("workspaces"))?,
                artifacts_dir: data_dir.join("artifacts").join(&job),
                test_results_dir: data_dir.join("test-results").join(&job),
            },
            upstream: Vec::new(),
            timings: None,
            agent: AgentDir::at(data_dir.join("agent")),
            task_dir: data_dir.join("tasks").join(run_id),
            cancel: CancellationToken::new(),
            spec,
        })
    }
}

/// How a node ended.
#[derive(Debug, Clone, PartialEq)]
pub struct JobOutcome {
    /// CircleCI's status.
    pub status: JobStatus,
    /// Why, when not success.
    pub message: Option<String>,
    /// Wall time.
    pub duration: Duration,
    /// Artifacts stored, as paths under the artifact folder.
    pub artifacts: Vec<String>,
    /// Test cases stored and how many failed.
    pub tests: Option<(u64, u64)>,
}

impl JobOutcome {
    /// A node that could not run at all (no executor, a crashed task): `infrastructure_fail`.
    pub fn infrastructure_fail(message: impl Into<String>) -> Self {
        JobOutcome {
            status: JobStatus::InfrastructureFail,
            message: Some(message.into()),
            duration: Duration::ZERO,
            artifacts: Vec::new(),
            tests: None,
        }
    }
}

/// The state of the step loop.
#[derive(Debug, Default)]
struct Progress {
    failed: bool,
    halted: bool,
    timedout: bool,
    canceled: bool,
    message: Option<String>,
    artifacts: Vec<String>,
    tests: Option<(u64, u64)>,
}

impl Progress {
    fn should_run(&self, step_when: When, action: &StepAction) -> bool {
        if self.halted || self.timedout || self.canceled {
            return false;
        }
        let when = match (step_when, action) {
            // CircleCI uploads artifacts and test results even after a failed step.
            (
                When::OnSuccess,
                StepAction::StoreArtifacts { .. } | StepAction::StoreTestResults { .. },
            ) => When::Always,
            (w, _) => w,
        };
        match when {
            When::OnSuccess => !self.failed,
            When::Always => true,
            When::OnFail => self.failed,
        }
    }
}

/// Runs one node of `ctx.spec` on `executor` and reports through `reporter`.
pub async fn run_job<E: Executor>(
    executor: &mut E,
    ctx: &JobContext,
    reporter: &Reporter,
) -> JobOutcome {
    let started_at = Instant::now();
    reporter.emit(EventKind::JobStarted {
        executor: match &ctx.spec.executor {
            circa_model::ExecutorSpec::Docker { .. } => "docker".to_string(),
            circa_model::ExecutorSpec::Machine { .. } => "shell".to_string(),
        },
        nodes: ctx.spec.parallelism.max(1),
    });
    let mut progress = Progress::default();
    let status = match prepare_task_dir(ctx) {
        Err(e) => {
            progress.message = Some(e);
            JobStatus::InfrastructureFail
        }
        Ok(()) => {
            let request = StartRequest {
                run_id: ctx.run_id.clone(),
                working_directory: ctx.spec.working_directory.clone(),
                needs_docker: ctx
                    .spec
                    .steps
                    .iter()
                    .any(|s| matches!(s.action, StepAction::SetupRemoteDocker)),
                secrets_env: ctx.project_env.clone(),
                agent: ctx.agent.clone(),
                task_dir_host: ctx.task_dir.clone(),
            };
            let start = tokio::select! {
                r = executor.start(&request, reporter) => Some(r),
                () = ctx.cancel.cancelled() => None,
            };
            match start {
                None => {
                    progress.message = Some("canceled while starting".to_string());
                    JobStatus::Canceled
                }
                Some(Err(e)) => {
                    progress.message = Some(e.to_string());
                    JobStatus::InfrastructureFail
                }
                Some(Ok(started)) => {
                    reporter.emit(EventKind::EnvironmentReady {
                        description: started.description.clone(),
                    });
                    run_steps(executor, ctx, reporter, &started, &mut progress).await
                }
            }
        }
    };
    if let Err(e) = executor.stop().await {
        reporter.notice(format!("cleaning up: {e}"), true);
    }
    let duration = started_at.elapsed();
    reporter.emit(EventKind::JobFinished {
        status,
        duration_ms: millis(duration),
        message: progress.message.clone(),
    });
    JobOutcome {
        status,
        message: progress.message,
        duration,
        artifacts: progress.artifacts,
        tests: progress.tests,
    }
}

fn prepare_task_dir(ctx: &JobContext) -> Result<(), String> {
    make_task_dir(&ctx.task_dir).map_err(|e| format!("{}: {e}", ctx.task_dir.display()))?;
    builtin::write_timings(ctx);
    Ok(())
}

/// Lays out a task folder: the folder, writable by any user (containers may run steps as any
/// user), with an empty `BASH_ENV` file anyone may write. A folder laid out already (a runner
/// makes the next task's folder ahead of its claim) is left as it is.
pub fn make_task_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let bash_env = dir.join(BASH_ENV_FILE);
    if std::fs::metadata(&bash_env).is_ok_and(|m| m.is_file() && m.len() == 0) {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777))?;
    std::fs::write(&bash_env, b"")?;
    std::fs::set_permissions(&bash_env, std::fs::Permissions::from_mode(0o666))
}

/// Readies a task folder a job has used for the next job: `BASH_ENV` emptied, step scripts
/// blanked (kept for the next job's scripts to be written over), everything else removed, the
/// folder itself kept (see [`crate::folders`]). Blocking IO.
pub fn reset_task_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    crate::folders::ensure_real_dir(dir)?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name() == BASH_ENV_FILE && entry.file_type()?.is_file() {
            let file = std::fs::OpenOptions::new().write(true).open(entry.path())?;
            let meta = file.metadata()?;
            if meta.len() > 0 {
                file.set_len(0)?;
            }
            if meta.permissions().mode() & 0o777 != 0o666 {
                file.set_permissions(std::fs::Permissions::from_mode(0o666))?;
            }
            continue;
        }
        if run::is_script_name(&entry.file_name().to_string_lossy()) && entry.file_type()?.is_file()
        {
            crate::folders::blank(&entry.path())?;
            continue;
        }
        crate::folders::remove_entry(&entry)?;
    }
    if std::fs::metadata(dir)?.permissions().mode() & 0o777 != 0o777 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777))?;
    }
    make_task_dir(dir)
}

async fn run_steps<E: Executor>(
    executor: &mut E,
    ctx: &JobContext,
    reporter: &Reporter,
    started: &Started,
    progress: &mut Progress,
) -> JobStatus {
    let mut job_env = env::job_env(ctx, started);
    let mut background = run::Background::default();
    for (index, step) in ctx.spec.steps.iter().enumerate() {
        if ctx.cancel.is_cancelled() {
            progress.canceled = true;
        }
        if !progress.should_run(step.when, &step.action) {
            continue;
        }
        reporter.emit(EventKind::StepStarted {
            step: index,
            name: step.name.clone(),
            background: matches!(&step.action, StepAction::Run(r) if r.background),
        });
        let t0 = Instant::now();
        let result = match &step.action {
            StepAction::Run(run) => {
                let step_ctx = run::StepRun {
                    executor: &*executor,
                    ctx,
                    reporter,
                    started,
                    job_env: &job_env,
                    index,
                };
                if run.background {
                    match step_ctx.start_background(run, &mut background).await {
                        Some(failed) => failed,
                        // It reports its own end.
                        None => continue,
                    }
                } else {
                    step_ctx.run(run).await
                }
            }
            other => {
                builtin::run(
                    &*executor,
                    ctx,
                    reporter,
                    started,
                    &mut job_env,
                    index,
                    other,
                    progress,
                )
                .await
            }
        };
        if std::path::Path::new(&ctx.task_dir)
            .join(crate::agent::HALT_FILE)
            .exists()
        {
            progress.halted = true;
        }
        match result.status {
            StepStatus::Failed => {
                progress.failed = true;
                progress.message.get_or_insert_with(|| {
                    result
                        .message
                        .clone()
                        .unwrap_or_else(|| format!("step `{}` failed", step.name))
                });
            }
            StepStatus::Timedout => {
                progress.timedout = true;
                progress.message = result.message.clone();
            }
            StepStatus::Canceled => progress.canceled = true,
            StepStatus::Success | StepStatus::Skipped => {}
        }
        reporter.emit(EventKind::StepFinished {
            step: index,
            status: result.status,
            exit_code: result.exit_code,
            duration_ms: millis(t0.elapsed()),
            message: result.message,
        });
        if progress.halted {
            reporter.notice("the job was halted by `circleci step halt`", false);
        }
    }
    background.finish(reporter).await;
    if progress.canceled || ctx.cancel.is_cancelled() {
        progress.message = Some("canceled".to_string());
        JobStatus::Canceled
    } else if progress.timedout {
        JobStatus::Timedout
    } else if progress.failed {
        JobStatus::Failed
    } else {
        JobStatus::Success
    }
}

/// How one step ended.
#[derive(Debug, Clone, PartialEq)]
struct StepResult {
    status: StepStatus,
    exit_code: Option<i64>,
    message: Option<String>,
}

impl StepResult {
    fn success() -> Self {
        Self {
            status: StepStatus::Success,
            exit_code: None,
            message: None,
        }
    }

    fn failed(message: impl Into<String>) -> Self {
        Self {
            status: StepStatus::Failed,
            exit_code: None,
            message: Some(message.into()),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
