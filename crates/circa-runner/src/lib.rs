//! Circa's runner agent: claims tasks from the server's runner API
//! ([`circa_model::protocol`]), runs them with [`circa_exec`], and reports back.
//!
//! [`run`] starts one claimer: whenever slots are free it claims (long-poll) up to that many
//! tasks in one request, runs each beside the others, and claims again (`claim`). A task's events are numbered, appended to a spool file and sent in batches until
//! acknowledged ([`spool`], [`sink`], [`sender`]); heartbeats keep its lease and bring
//! cancels ([`heartbeat`]); artifacts, test results and workspace layers are uploaded after the
//! job ([`uploads`], [`layers`]); then the task is completed.
//!
//! Data folder layout: `caches/` and `workspaces/<workflow>/` (shared by all tasks, as
//! [`circa_exec`] keeps them), `agent/` (the staged in-job `circleci` command),
//! `spool/<folder>.jsonl` and `tasks/<folder>/` (per task; emptied when it ends and used by a
//! later task).
//!
//! Shutdown: cancelling `shutdown` stops claiming at once (a waiting claim is dropped) and
//! lets running tasks finish; [`run_with_abort`]'s `abort` also cancels running jobs, whose
//! tasks are then completed as `infrastructure_fail`. A runner that restarts abandons the
//! tasks it was running (their leases run out on the server); it clears their folders. One
//! runner at a time uses a data folder (`runner.lock`).

pub mod api;
pub mod backoff;
mod claim;
pub mod config;
pub mod convert;
pub mod encode;
pub mod error;
mod executors;
pub mod heartbeat;
pub mod layers;
pub mod sender;
pub mod sink;
pub mod spool;
mod task;
pub mod uploads;

use std::path::Path;
use std::sync::Arc;

use circa_exec::agent::AgentDir;
use circa_exec::cache::CacheStore;
use circa_exec::workspace::WorkspaceStore;

pub use config::{ExecutorKind, RunnerConfig};
pub use error::RunnerError;
/// The token that stops a runner (re-exported so callers need not depend on `tokio-util`).
pub use tokio_util::sync::CancellationToken;

use crate::executors::Executors;
use crate::task::Shared;

/// Runs the runner until `shutdown` is cancelled and running tasks have finished, or until
/// the server refuses the runner token.
pub async fn run(config: RunnerConfig, shutdown: CancellationToken) -> Result<(), RunnerError> {
    run_with_abort(config, shutdown, CancellationToken::new()).await
}

/// Like [`run`]; cancelling `abort` also cancels running jobs (a forced shutdown).
pub async fn run_with_abort(
    config: RunnerConfig,
    shutdown: CancellationToken,
    abort: CancellationToken,
) -> Result<(), RunnerError> {
    check(&config)?;
    let data = config.data_dir.clone();
    let _lock = lock_data_dir(&data)?;
    for dir in ["spool", "tasks"] {
        let path = data.join(dir);
        // Left by a runner that stopped mid-task: those tasks are lost anyway.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).map_err(|source| RunnerError::Io { path, source })?;
    }
    let agent = stage_agent(&data, config.agent_exe.clone()).await;
    let shared = Arc::new(Shared {
        api: api::Api::new(&config.url).map_err(|e| RunnerError::Client(e.to_string()))?,
        caches: CacheStore::new(data.join("caches"))?,
        workspaces: WorkspaceStore::new(data.join("workspaces"))?,
        executors: Executors::new(config.executor, &config.image_map, config.job_nice),
        agent,
        abort: abort.clone(),
        tidy: tokio::sync::Semaphore::new(1),
        folders: task::Folders::default(),
        config,
    });
    tracing::info!(
        url = %shared.config.url,
        name = %shared.config.name,
        slots = shared.config.slots,
        "runner started"
    );
    let stop = CancellationToken::new();
    let watch = {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = abort.cancelled() => {}
                () = stop.cancelled() => {}
            }
            stop.cancel();
        })
    };
    let result = claim::claim_loop(Arc::clone(&shared), stop.clone()).await;
    stop.cancel();
    let _ = watch.await;
    tracing::info!("runner stopped");
    result
}

/// Takes the data folder for this runner alone (held until the returned file is dropped).
fn lock_data_dir(data: &Path) -> Result<std::fs::File, RunnerError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RunnerError::Io { path, source }
    };
    std::fs::create_dir_all(data).map_err(io(data))?;
    let path = data.join("runner.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(RunnerError::Config(format!(
            "another runner is using the data folder {}",
            data.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(io(&path)(e)),
    }
}

fn check(config: &RunnerConfig) -> Result<(), RunnerError> {
    let bad = |m: &str| Err(RunnerError::Config(m.to_string()));
    if !(config.url.starts_with("http://") || config.url.starts_with("https://")) {
        return bad("the server URL must start with http:// or https://");
    }
    if config.token.is_empty() {
        return bad("no runner token");
    }
    if config.slots == 0 {
        return bad("slots must be at least 1");
    }
    if !circa_exec::spawner::NICENESS_RANGE.contains(&config.job_nice) {
        return bad("the job niceness must be between 0 and 19");
    }
    Ok(())
}

/// Stages the in-job `circleci` command under `data/agent`; without it jobs still run.
async fn stage_agent(data: &Path, exe: Option<std::path::PathBuf>) -> AgentDir {
    let root = data.join("agent");
    let staged = tokio::task::spawn_blocking({
        let root = root.clone();
        move || {
            let exe = match exe {
                Some(e) => e,
                None => std::env::current_exe().map_err(|e| e.to_string())?,
            };
            AgentDir::stage(&root, &exe).map_err(|e| e.to_string())
        }
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    match staged {
        Ok(dir) => dir,
        Err(e) => {
            tracing::warn!("{e}; `circleci` will not be available inside jobs");
            AgentDir::at(root.join("unavailable"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_runner_per_data_folder() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock_data_dir(dir.path()).unwrap();
        let err = lock_data_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("another runner"), "{err}");
        drop(first);
        assert!(lock_data_dir(dir.path()).is_ok());
    }

    #[test]
    fn settings_are_checked() {
        let ok = RunnerConfig::new("http://h", "t", "/tmp/x".into());
        assert!(check(&ok).is_ok());
        let mut c = ok.clone();
        c.url = "h:8080".into();
        assert!(check(&c).is_err());
        let mut c = ok.clone();
        c.slots = 0;
        assert!(check(&c).is_err());
        for nice in [-1, 20] {
            let mut c = ok.clone();
            c.job_nice = nice;
            let err = check(&c).unwrap_err();
            assert!(err.to_string().contains("niceness"), "{err}");
        }
        let mut c = ok;
        c.token.clear();
        assert!(check(&c).is_err());
    }
}
