//! Runs every node of one job with the right executor and sums the nodes up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use circa_exec::cache::CacheStore;
use circa_exec::events::{EventKind, Reporter};
use circa_exec::job::{Ids, JobContext, JobOutcome, Stores, Vcs, run_job};
use circa_exec::shell::ShellExecutor;
use circa_exec::workspace::WorkspaceStore;
use circa_model::{ExecutorSpec, JobSpec, JobStatus};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::output::SummaryRow;
use super::{Session, unique_id};
use crate::cli::ExecutorChoice;

/// Build numbers for this invocation, continuing from the last run's.
pub struct BuildNumbers {
    next: AtomicU64,
    file: std::path::PathBuf,
}

impl BuildNumbers {
    /// Reads the last number from the data folder.
    pub fn load(data_dir: &std::path::Path) -> Self {
        let file = data_dir.join("build-number");
        let last = std::fs::read_to_string(&file)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0);
        Self {
            next: AtomicU64::new(last + 1),
            file,
        }
    }

    fn take(&self) -> u64 {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let _ = std::fs::write(&self.file, n.to_string());
        n
    }
}

/// One job to run in a workflow (or alone).
pub struct JobRun {
    /// The invocation's name.
    pub name: String,
    /// The job.
    pub spec: JobSpec,
    /// Jobs whose workspace layers it sees.
    pub upstream: Vec<String>,
    /// The workflow's id (names the workspace).
    pub workflow_id: String,
}

/// Shared by all jobs of an invocation.
pub struct Runner {
    /// The invocation.
    pub session: Arc<Session>,
    /// Limits nodes running at once (`--jobs`).
    pub slots: Arc<Semaphore>,
    /// Cancels everything (Ctrl-C).
    pub cancel: CancellationToken,
    /// Build numbers.
    pub numbers: BuildNumbers,
    /// The Docker Engine, connected on first use.
    pub docker: super::workflow::DockerSlot,
    /// Caches, shared by every job.
    pub caches: CacheStore,
    /// Workspaces, shared by every job.
    pub workspaces: WorkspaceStore,
}

impl Runner {
    /// Runs every node of `run` and returns the job's summary row.
    pub async fn run(self: &Arc<Self>, run: JobRun) -> SummaryRow {
        let total = run.spec.parallelism.max(1);
        let results = self.test_results_dir(&run.name);
        let timings = circa_exec::job::load_timings(&results);
        let _ = std::fs::remove_dir_all(&results);
        let run = Arc::new((run, timings));
        let mut tasks = tokio::task::JoinSet::new();
        for node in 0..total {
            let this = Arc::clone(self);
            let run = Arc::clone(&run);
            tasks.spawn(async move {
                let _permit = this.slots.acquire().await;
                this.run_node(&run.0, run.1.clone(), node).await
            });
        }
        let mut outcomes: Vec<JobOutcome> = Vec::new();
        while let Some(res) = tasks.join_next().await {
            match res {
                Ok(o) => outcomes.push(o),
                Err(e) => outcomes.push(JobOutcome::infrastructure_fail(format!(
                    "a node stopped unexpectedly: {e}"
                ))),
            }
        }
        let status = circa_model::worst(outcomes.iter().map(|o| o.status));
        let tests = outcomes
            .iter()
            .filter_map(|o| o.tests)
            .reduce(|a, b| (a.0 + b.0, a.1 + b.1));
        SummaryRow {
            job: run.0.name.clone(),
            status,
            nodes: total,
            duration: outcomes
                .iter()
                .map(|o| o.duration)
                .max()
                .unwrap_or_default(),
            tests,
            message: outcomes.iter().find_map(|o| o.message.clone()),
            artifacts: outcomes.iter().flat_map(|o| o.artifacts.clone()).collect(),
        }
    }

    fn test_results_dir(&self, job: &str) -> std::path::PathBuf {
        self.session
            .data_dir
            .join("test-results")
            .join(sanitize(job))
    }

    async fn run_node(
        &self,
        run: &JobRun,
        timings: Option<circa_exec::split::Timings>,
        node: u32,
    ) -> JobOutcome {
        let s = &self.session;
        let reporter = Reporter::new(s.sink.clone(), run.name.clone(), node);
        let run_id = format!("{}-{}-{node}", unique_id(), sanitize(&run.name));
        let ctx = self.context(run, node, &run_id, timings);
        let machine = matches!(run.spec.executor, ExecutorSpec::Machine { .. });
        if machine || s.executor == ExecutorChoice::Shell {
            if !machine {
                reporter.notice(
                    "--executor shell: the job runs on this machine, not in its docker image",
                    true,
                );
            }
            let mut ex = ShellExecutor::new(s.data_dir.join("jobs").join(&run_id), s.keep);
            let mut outcome = run_job(&mut ex, &ctx, &reporter).await;
            let _ = std::fs::remove_dir_all(&ctx.task_dir);
            outcome.artifacts = located(&ctx, outcome.artifacts);
            return outcome;
        }
        let ExecutorSpec::Docker { images } = &run.spec.executor else {
            return failed_before_start(&reporter, "no executor".to_string());
        };
        let mut outcome = match self.docker.executor(images.clone(), &s.image_map).await {
            Ok(mut ex) => run_job(&mut ex, &ctx, &reporter).await,
            Err(e) => failed_before_start(&reporter, e),
        };
        let _ = std::fs::remove_dir_all(&ctx.task_dir);
        outcome.artifacts = located(&ctx, outcome.artifacts);
        outcome
    }

    fn context(
        &self,
        run: &JobRun,
        node: u32,
        run_id: &str,
        timings: Option<circa_exec::split::Timings>,
    ) -> JobContext {
        let s = &self.session;
        let (project_username, project_reponame) = s.repo.project_names();
        let artifacts_dir = s
            .data_dir
            .join("artifacts")
            .join(&run.name)
            .join(format!("node-{node}"));
        let _ = std::fs::remove_dir_all(&artifacts_dir);
        let build_num = self.numbers.take();
        JobContext {
            spec: run.spec.clone(),
            job_name: run.name.clone(),
            node,
            run_id: run_id.to_string(),
            vcs: Vcs {
                branch: s.branch.clone(),
                tag: s.tag.clone(),
                sha1: s.repo.sha1.clone().unwrap_or_default(),
                repository_url: s
                    .repo
                    .origin
                    .clone()
                    .or_else(|| s.repo.root.as_ref().map(|r| r.display().to_string()))
                    .unwrap_or_default(),
                project_username,
                project_reponame,
                username: std::env::var("USER").unwrap_or_default(),
                pull_request: None,
                fork_pull_request: None,
                repo_dir: s.repo.root.clone(),
                access: None,
            },
            ids: Ids {
                pipeline_id: s.pipeline_id.clone(),
                workflow_id: run.workflow_id.clone(),
                workflow_job_id: format!("{}-{}", run.workflow_id, sanitize(&run.name)),
                project_id: "local".to_string(),
                organization_id: "local".to_string(),
                build_num,
                build_url: format!("file://{}", s.data_dir.display()),
            },
            project_env: s.project_env.clone(),
            context_env: Default::default(),
            secrets: s.secrets.clone(),
            ssh_keys: None,
            stores: Stores {
                caches: self.caches.clone(),
                workspaces: self.workspaces.clone(),
                artifacts_dir,
                test_results_dir: self.test_results_dir(&run.name),
            },
            timings,
            upstream: run.upstream.clone(),
            agent: s.agent.clone(),
            task_dir: s.data_dir.join("tasks").join(run_id),
            cancel: self.cancel.child_token(),
        }
    }
}

/// Artifact paths as files on this machine.
fn located(ctx: &JobContext, artifacts: Vec<String>) -> Vec<String> {
    artifacts
        .into_iter()
        .map(|a| ctx.stores.artifacts_dir.join(a).display().to_string())
        .collect()
}

fn failed_before_start(reporter: &Reporter, message: String) -> JobOutcome {
    reporter.emit(EventKind::JobFinished {
        status: JobStatus::InfrastructureFail,
        duration_ms: 0,
        message: Some(message.clone()),
    });
    JobOutcome::infrastructure_fail(message)
}

/// A job name made safe for folder and container names.
pub fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}
