//! One task, from its assignment to its completion.
//!
//! The heartbeat and the event sender start first and run beside the job. Then: the upstream
//! workspace layers are fetched, the job runs, its artifacts, test results and new layers are
//! uploaded, every event is acknowledged, and the task is completed. Its heartbeats stop and
//! its folder is emptied for a later task after that, beside the next claims ([`folder`]).
//!
//! A task the server takes away (404/410) is stopped and not completed. On a forced shutdown
//! the job is canceled and the task completed as `infrastructure_fail`, with at most
//! [`ABORT_GRACE`] spent on its last events and as much on the completion.

mod background;
mod complete;
pub mod context;
mod execute;
pub mod folder;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use circa_exec::agent::AgentDir;
use circa_exec::cache::CacheStore;
use circa_exec::workspace::WorkspaceStore;
use circa_model::JobStatus;
use circa_model::protocol::TaskAssignment;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::api::Api;
use crate::config::RunnerConfig;
use crate::executors::Executors;
use crate::sink::TaskSink;
use crate::uploads::{Upload, Uploader};
use background::{Background, Drained, Signals};
use complete::complete;
use execute::execute;
pub use folder::{Folders, Prepared, prepare};

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
    /// Turns for emptying finished tasks' folders, one at a time.
    pub tidy: tokio::sync::Semaphore,
    /// Task folders no task holds.
    pub folders: Folders,
}

impl Shared {
    fn workspaces_dir(&self) -> PathBuf {
        self.config.data_dir.join("workspaces")
    }
}

/// Runs one task to its completion, in `prepared` (or a folder made now). Never fails:
/// problems end up in the task's status and log. `slot` is let go once the job and its
/// uploads are done, so the runner claims the next task while this one's last events and
/// completion are on their way. Its heartbeats and folders are put away on a task of their
/// own: the caller awaits the returned handle (none when the task could not start) before it
/// stops.
pub async fn run<S: Send>(
    shared: Arc<Shared>,
    a: TaskAssignment,
    prepared: Option<Prepared>,
    slot: S,
) -> Option<JoinHandle<()>> {
    tracing::info!(task = %a.task_id, job = %a.job_name, node = a.node, "claimed a task");
    let folder = match folder_for(&shared, prepared).await {
        Ok(folder) => folder,
        Err(e) => {
            tracing::error!(task = %a.task_id, "cannot prepare the task: {e}");
            complete(&shared, &a, JobStatus::InfrastructureFail, Some(e), 0).await;
            return None;
        }
    };
    let sink = Arc::new(TaskSink::new(Arc::clone(&folder.spool), a.step_log_limit));
    let mut bg = Background::start(&shared, &a, &sink);
    let signals = bg.signals.clone();

    let ran = execute(&shared, &a, &sink, &folder.root, &signals.job).await;
    let mut ending = Ending::of(&shared, &signals, ran.status, ran.message);
    if !signals.lost.is_cancelled() {
        ending
            .upload(&shared, &a, &sink, &signals, &ran.uploads)
            .await;
    }
    drop(slot);

    let status = ending.status;
    ending.report(&shared, &a, &mut bg, &sink, &signals).await;
    tracing::info!(task = %a.task_id, job = %a.job_name, status = status.as_str(), "task finished");
    // Nothing the job left running (a background step's report) reaches the spool now: it
    // is the next task's once emptied.
    sink.seal();
    Some(tokio::spawn(put_away(shared, bg, folder)))
}

/// The task's folder: one made since the claim was answered, else one made ahead, else one
/// made now.
async fn folder_for(shared: &Shared, prepared: Option<Prepared>) -> Result<Prepared, String> {
    if let Some(folder) = prepared.or_else(|| shared.folders.take(1).pop()) {
        return Ok(folder);
    }
    let data = shared.config.data_dir.clone();
    tokio::task::spawn_blocking(move || prepare(&data))
        .await
        .unwrap_or_else(|e| Err(e.to_string()))
}

/// The status and message a task is completed with.
struct Ending {
    status: JobStatus,
    message: Option<String>,
}

impl Ending {
    /// How the job ran; a job the runner's own stop cut short (not the server's cancel) is an
    /// infrastructure failure.
    fn of(
        shared: &Shared,
        signals: &Signals,
        status: JobStatus,
        message: Option<String>,
    ) -> Ending {
        if shared.abort.is_cancelled() && !signals.server_cancel.is_cancelled() {
            return Ending {
                status: JobStatus::InfrastructureFail,
                message: Some("the runner was stopped while the job ran".to_string()),
            };
        }
        Ending { status, message }
    }

    /// Uploads what the job left; a task the server no longer knows is marked lost, and a
    /// workspace layer that could not be stored fails an otherwise successful job.
    async fn upload(
        &mut self,
        shared: &Shared,
        a: &TaskAssignment,
        sink: &TaskSink,
        signals: &Signals,
        uploads: &[Upload],
    ) {
        let uploaded = Uploader {
            api: &shared.api,
            task_id: &a.task_id,
            token: &a.task_token,
            sink,
        }
        .send(uploads)
        .await;
        if uploaded.lost {
            signals.lost.cancel();
        }
        if let Some(failure) = uploaded.layer_failure
            && self.status == JobStatus::Success
        {
            self.status = JobStatus::InfrastructureFail;
            self.message = Some(failure);
        }
    }

    /// Waits until the server has every event, then completes the task (unless it is lost or
    /// its events were abandoned); a spool or sink failure becomes the message when there is
    /// none.
    async fn report(
        mut self,
        shared: &Shared,
        a: &TaskAssignment,
        bg: &mut Background,
        sink: &TaskSink,
        signals: &Signals,
    ) {
        let last_seq = match bg.drain(&shared.abort).await {
            Drained::Sent(last) => Some(last),
            Drained::Abandoned => None,
            Drained::SpoolFailed { acked, error } => {
                tracing::error!(task = %a.task_id, "{error}");
                self.message.get_or_insert(error);
                Some(acked)
            }
        };
        if let Some(e) = sink.error() {
            self.message.get_or_insert(e);
        }
        if let Some(last_seq) = last_seq
            && !signals.lost.is_cancelled()
        {
            complete(shared, a, self.status, self.message, last_seq).await;
        }
    }
}

/// Stops a finished task's heartbeats and empties its folder for a later task (a folder that
/// cannot be emptied is removed).
async fn put_away(shared: Arc<Shared>, bg: Background, folder: Prepared) {
    bg.stop().await;
    // One folder at a time: a burst of tasks ending together (a fan-out) must not crowd
    // out the file work of the tasks starting right after them.
    let _turn = shared.tidy.acquire().await;
    let pool = Arc::clone(&shared);
    let _ = tokio::task::spawn_blocking(move || match folder.reset() {
        Ok(()) => pool.folders.put([folder]),
        Err(e) => {
            tracing::warn!("emptying a task folder: {e}; removing it");
            folder.discard();
        }
    })
    .await;
}

/// Resolves [`ABORT_GRACE`] after a forced shutdown (never without one).
async fn grace(abort: &CancellationToken) {
    abort.cancelled().await;
    tokio::time::sleep(ABORT_GRACE).await;
}
