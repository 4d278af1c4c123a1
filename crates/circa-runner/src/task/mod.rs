//! One task, from its assignment to its completion.
//!
//! The heartbeat and the event sender start first and run beside the job. Then: the upstream
//! workspace layers are fetched, the job runs, its artifacts, test results and new layers are
//! uploaded, every event is acknowledged, and the task is completed. Its folders go last.
//!
//! A task the server takes away (404/410) is stopped and not completed. On a forced shutdown
//! the job is canceled and the task completed as `infrastructure_fail`, with at most
//! [`ABORT_GRACE`] spent on its last events and as much on the completion.

mod background;
mod complete;
pub mod context;
mod execute;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use circa_exec::agent::AgentDir;
use circa_exec::cache::CacheStore;
use circa_exec::workspace::WorkspaceStore;
use circa_model::JobStatus;
use circa_model::protocol::TaskAssignment;
use tokio_util::sync::CancellationToken;

use crate::api::Api;
use crate::config::RunnerConfig;
use crate::encode;
use crate::executors::Executors;
use crate::sink::TaskSink;
use crate::spool::Spool;
use crate::uploads::Uploader;
use background::{Background, Drained};
use complete::complete;
use execute::execute;

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
    pub(crate) executors: Executors,
    /// Forced shutdown.
    pub abort: CancellationToken,
}

impl Shared {
    fn workspaces_dir(&self) -> PathBuf {
        self.config.data_dir.join("workspaces")
    }
}

/// Runs one task to its end. Never fails: problems end up in the task's status and log.
pub async fn run(shared: Arc<Shared>, a: TaskAssignment) {
    let folder = encode::file_name(&a.task_id);
    let data = &shared.config.data_dir;
    let root = data.join("tasks").join(&folder);
    let spool_path = data.join("spool").join(format!("{folder}.jsonl"));
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
    let mut bg = Background::start(&shared, &a, &sink);
    let signals = bg.signals.clone();

    let ran = execute(&shared, &a, &sink, &root, &signals.job).await;
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

    let last_seq = match bg.drain(&shared.abort).await {
        Drained::Sent(last) => Some(last),
        Drained::Abandoned => None,
        Drained::SpoolFailed { acked, error } => {
            tracing::error!(task = %a.task_id, "{error}");
            message.get_or_insert(error);
            Some(acked)
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
    bg.stop().await;
    spool.remove();
    let _ = std::fs::remove_dir_all(&root);
    tracing::info!(task = %a.task_id, job = %a.job_name, status = status.as_str(), "task finished");
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
