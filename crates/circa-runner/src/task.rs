//! One task, from its assignment to its completion.
//!
//! The heartbeat and the event sender start first and run beside the job. Then: the upstream
//! workspace layers are fetched, the job runs, its artifacts, test results and new layers are
//! uploaded, every event is acknowledged, and the task is completed. Its folders go last.
//!
//! A task the server takes away (404/410) is stopped and not completed. On a forced shutdown
//! the job is canceled and the task completed as `infrastructure_fail`, with at most
//! [`ABORT_GRACE`] spent on its last events and the completion.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use circa_exec::agent::AgentDir;
use circa_exec::cache::CacheStore;
use circa_exec::events::Reporter;
use circa_exec::job::{Ids, JobContext, Stores, Vcs};
use circa_exec::workspace::WorkspaceStore;
use circa_model::JobStatus;
use circa_model::protocol::{CompleteRequest, TaskAssignment};
use tokio_util::sync::CancellationToken;

use crate::api::Api;
use crate::backoff::Backoff;
use crate::config::RunnerConfig;
use crate::encode;
use crate::executors::Executors;
use crate::heartbeat::Heartbeat;
use crate::layers::{self, Download};
use crate::sender::{SendError, Sender};
use crate::sink::TaskSink;
use crate::spool::Spool;
use crate::uploads::{self, Upload, Uploader};

/// How long a forced shutdown waits for a task's last events, then for its completion.
pub const ABORT_GRACE: Duration = Duration::from_secs(10);

/// What every task of a runner shares.
#[derive(Debug)]
pub struct Shared {
    /// The settings.
    pub config: RunnerConfig,
    /// The server.
    pub api: Api,
    /// The staged in-job `circleci` command.
    pub agent: AgentDir,
    /// Caches, shared by all tasks.
    pub caches: CacheStore,
    /// Workspaces, shared by all tasks.
    pub workspaces: WorkspaceStore,
    /// The executors.
    pub executors: Executors,
    /// Forced shutdown.
    pub abort: CancellationToken,
}

impl Shared {
    fn workspaces_dir(&self) -> PathBuf {
        self.config.data_dir.join("workspaces")
    }
}

/// How the job went, and what it left to upload.
struct Ran {
    status: JobStatus,
    message: Option<String>,
    uploads: Vec<Upload>,
}

impl Ran {
    fn failed(message: String) -> Ran {
        Ran {
            status: JobStatus::InfrastructureFail,
            message: Some(message),
            uploads: Vec::new(),
        }
    }
}

/// The tokens of one task.
struct Signals {
    /// Cancels the job.
    job: CancellationToken,
    /// The server canceled the task.
    server_cancel: CancellationToken,
    /// The task is no longer this runner's.
    lost: CancellationToken,
    /// The task is over: heartbeats stop.
    done: CancellationToken,
}

/// Runs one task to its end. Never fails: problems end up in the task's status and log.
pub async fn run(shared: Arc<Shared>, a: TaskAssignment) {
    let folder = encode::file_name(&a.task_id);
    let root = shared.config.data_dir.join("tasks").join(&folder);
    let spool_path = shared
        .config
        .data_dir
        .join("spool")
        .join(format!("{folder}.jsonl"));
    tracing::info!(task = %a.task_id, job = %a.job_name, node = a.node, "claimed a task");
    let spool = match fresh_dir(&root)
        .and_then(|()| Spool::create(&spool_path).map_err(|e| e.to_string()))
    {
        Ok(s) => Arc::new(s),
        Err(e) => {
            tracing::error!(task = %a.task_id, "cannot prepare the task: {e}");
            complete(&shared, &a, JobStatus::InfrastructureFail, Some(e), 0).await;
            let _ = std::fs::remove_dir_all(&root);
            return;
        }
    };
    let sink = Arc::new(TaskSink::new(Arc::clone(&spool), a.step_log_limit));
    let signals = Signals {
        job: CancellationToken::new(),
        server_cancel: CancellationToken::new(),
        lost: CancellationToken::new(),
        done: CancellationToken::new(),
    };
    let heartbeat = tokio::spawn(
        Heartbeat {
            api: shared.api.clone(),
            task_id: a.task_id.clone(),
            token: a.task_token.clone(),
            lease_ms: a.lease_ms,
            cancel_job: signals.server_cancel.clone(),
            lost: signals.lost.clone(),
            stop: signals.done.clone(),
        }
        .run(),
    );
    tokio::spawn(cancel_job_on(
        [
            signals.server_cancel.clone(),
            signals.lost.clone(),
            shared.abort.clone(),
        ],
        signals.job.clone(),
        signals.done.clone(),
    ));
    let finish = CancellationToken::new();
    let send_abort = signals.lost.child_token();
    let sender = Sender {
        api: shared.api.clone(),
        task_id: a.task_id.clone(),
        token: a.task_token.clone(),
        sink: Arc::clone(&sink),
        finish: finish.clone(),
        abort: send_abort.clone(),
    };
    let lost = signals.lost.clone();
    let sender_task = a.task_id.clone();
    let mut sender = tokio::spawn(async move {
        let sent = sender.run().await;
        if let Err(SendError::Refused(e)) = &sent {
            // Nobody takes the job's reports any more: stop it now.
            tracing::warn!(task = %sender_task, "{e}; stopping the task");
            lost.cancel();
        }
        sent
    });

    let ran = execute(&shared, &a, &sink, &root, &signals).await;
    let (mut status, mut message) = (ran.status, ran.message);
    if shared.abort.is_cancelled() && !signals.server_cancel.is_cancelled() {
        status = JobStatus::InfrastructureFail;
        message = Some("the runner was stopped while the job ran".to_string());
    }
    if !signals.lost.is_cancelled() {
        let uploaded = Uploader {
            api: &shared.api,
            task_id: &a.task_id,
            token: &a.task_token,
            sink: &sink,
        }
        .send(&ran.uploads)
        .await;
        if uploaded.lost {
            signals.lost.cancel();
        }
        if let Some(failure) = uploaded.layer_failure
            && status == JobStatus::Success
        {
            status = JobStatus::InfrastructureFail;
            message = Some(failure);
        }
    }

    finish.cancel();
    let sent = tokio::select! {
        r = &mut sender => r,
        () = grace(&shared.abort) => {
            send_abort.cancel();
            (&mut sender).await
        }
    };
    let sent = sent.unwrap_or_else(|e| {
        tracing::error!(task = %a.task_id, "the event sender stopped: {e}");
        Err(SendError::Aborted)
    });
    let last_seq = match sent {
        Ok(()) => Some(spool.last_seq()),
        Err(SendError::Aborted | SendError::Refused(_)) => None,
        Err(SendError::Spool(e)) => {
            tracing::error!(task = %a.task_id, "{e}");
            message.get_or_insert_with(|| e.to_string());
            Some(spool.acked())
        }
    };
    if let Some(e) = sink.error() {
        message.get_or_insert(e);
    }
    if let Some(last_seq) = last_seq
        && !signals.lost.is_cancelled()
    {
        complete(&shared, &a, status, message, last_seq).await;
    }
    signals.done.cancel();
    let _ = heartbeat.await;
    spool.remove();
    let _ = std::fs::remove_dir_all(&root);
    tracing::info!(task = %a.task_id, job = %a.job_name, status = status.as_str(), "task finished");
}

/// Cancels `job` when any of `causes` is cancelled, until `done`.
async fn cancel_job_on(
    causes: [CancellationToken; 3],
    job: CancellationToken,
    done: CancellationToken,
) {
    let [a, b, c] = causes;
    tokio::select! {
        () = a.cancelled() => {}
        () = b.cancelled() => {}
        () = c.cancelled() => {}
        () = done.cancelled() => return,
    }
    job.cancel();
}

/// Resolves [`ABORT_GRACE`] after a forced shutdown (never without one).
async fn grace(abort: &CancellationToken) {
    abort.cancelled().await;
    tokio::time::sleep(ABORT_GRACE).await;
}

fn fresh_dir(dir: &Path) -> Result<(), String> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(format!("{}: {e}", dir.display()));
        }
        _ => {}
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))
}

/// Fetches the layers, runs the job, and lists what to upload.
async fn execute(
    shared: &Shared,
    a: &TaskAssignment,
    sink: &Arc<TaskSink>,
    root: &Path,
    signals: &Signals,
) -> Ran {
    let wf_dir = match layers::workflow_dir(&shared.workspaces_dir(), &a.ids.workflow_id) {
        Ok(d) => d,
        Err(e) => return Ran::failed(e),
    };
    if !a.workspace_layers.is_empty() {
        sink.progress("Downloading workspace layers", false);
        let download = Download {
            api: &shared.api,
            task_id: &a.task_id,
            token: &a.task_token,
        };
        let fetched = tokio::select! {
            r = download.missing(&wf_dir, &a.workspace_layers) => r,
            () = signals.job.cancelled() => {
                return Ran {
                    status: JobStatus::Canceled,
                    message: Some("canceled".to_string()),
                    uploads: Vec::new(),
                };
            }
        };
        match fetched {
            Ok(n) => sink.progress(format!("Downloaded {n} workspace layers"), true),
            Err(e) => return Ran::failed(e),
        }
    }
    let before = layers::list(&wf_dir);
    let ctx = context(shared, a, root, signals.job.clone());
    let reporter = Reporter::new(
        Arc::clone(sink) as Arc<dyn circa_exec::events::EventSink>,
        a.job_name.clone(),
        a.node,
    );
    let outcome = shared
        .executors
        .run(&ctx, &reporter, &root.join("home"))
        .await;
    let mut up = uploads::artifacts(&ctx.stores.artifacts_dir, &outcome.artifacts);
    up.extend(uploads::test_results(
        &ctx.stores
            .test_results_dir
            .join(format!("node-{}", ctx.node)),
    ));
    let written = layers::written_since(&wf_dir, &before, &a.job_name);
    up.extend(uploads::layers(&wf_dir, &written));
    Ran {
        status: outcome.status,
        message: outcome.message,
        uploads: up,
    }
}

/// The job runner's context for the task.
fn context(
    shared: &Shared,
    a: &TaskAssignment,
    root: &Path,
    cancel: CancellationToken,
) -> JobContext {
    JobContext {
        spec: a.spec.clone(),
        job_name: a.job_name.clone(),
        node: a.node,
        run_id: format!("circa-{}", encode::file_name(&a.task_id)),
        vcs: Vcs {
            branch: a.vcs.branch.clone(),
            tag: a.vcs.tag.clone(),
            sha1: a.vcs.sha1.clone(),
            repository_url: a.vcs.repository_url.clone(),
            project_username: a.vcs.project_username.clone(),
            project_reponame: a.vcs.project_reponame.clone(),
            username: a.vcs.username.clone(),
            pull_request: a.vcs.pull_request.clone(),
            repo_dir: local_repo(&a.vcs.repository_url),
        },
        ids: Ids {
            pipeline_id: a.ids.pipeline_id.clone(),
            workflow_id: a.ids.workflow_id.clone(),
            workflow_job_id: a.ids.workflow_job_id.clone(),
            project_id: a.ids.project_id.clone(),
            organization_id: a.ids.organization_id.clone(),
            build_num: a.ids.build_num,
            build_url: a.ids.build_url.clone(),
        },
        project_env: a.project_env.clone(),
        context_env: context_env(a),
        secrets: a.secrets.clone(),
        stores: Stores {
            caches: shared.caches.clone(),
            workspaces: shared.workspaces.clone(),
            artifacts_dir: root.join("artifacts"),
            test_results_dir: root.join("test-results"),
        },
        upstream: a.upstream.clone(),
        timings: None,
        agent: shared.agent.clone(),
        task_dir: root.join("task"),
        cancel,
    }
}

/// The repository folder when `url` is a path on this host (checkout then clones it), else
/// `None` (checkout fetches the URL).
pub fn local_repo(url: &str) -> Option<PathBuf> {
    if url.contains("://") {
        return None;
    }
    let path = Path::new(url);
    (path.is_absolute() && path.is_dir()).then(|| path.to_path_buf())
}

/// `POST complete`, retried on network errors and 5xx answers until it lands (or, after a
/// forced shutdown, until [`ABORT_GRACE`] has passed).
async fn complete(
    shared: &Shared,
    a: &TaskAssignment,
    status: JobStatus,
    message: Option<String>,
    last_seq: u64,
) {
    let request = CompleteRequest {
        status,
        message,
        last_seq,
    };
    let mut backoff = Backoff::default();
    loop {
        let result = tokio::select! {
            r = shared.api.complete(&a.task_id, &a.task_token, &request) => r,
            () = grace(&shared.abort) => {
                tracing::warn!(task = %a.task_id, "stopping without completing the task");
                return;
            }
        };
        match result {
            Ok(()) => return,
            Err(e) if e.is_transient() => {
                let delay = backoff.next_delay();
                tracing::warn!(task = %a.task_id, "completing the task: {e}; retrying in {delay:?}");
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = grace(&shared.abort) => return,
                }
            }
            Err(e) => {
                tracing::warn!(task = %a.task_id, "completing the task: {e}; moving on");
                return;
            }
        }
    }
}

/// Context variables with the server's extra variables over them (below the built-in
/// `CIRCLE_*` variables and the job's own `environment`).
fn context_env(a: &TaskAssignment) -> BTreeMap<String, String> {
    let mut env = a.context_env.clone();
    env.extend(a.extra_env.clone());
    env
}

#[cfg(test)]
mod tests;
