//! The job itself: fetch the upstream layers, run on the right executor, list what to upload.

use std::path::Path;
use std::sync::Arc;

use circa_exec::events::{EventSink, Reporter};
use circa_model::JobStatus;
use circa_model::protocol::TaskAssignment;
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::context::context;
use crate::layers::{self, Download};
use crate::sink::TaskSink;
use crate::uploads::{self, Upload};

/// How the job went, and what it left to upload.
#[derive(Debug)]
pub(super) struct Ran {
    /// The job's status.
    pub status: JobStatus,
    /// Why, when not success.
    pub message: Option<String>,
    /// Artifacts, test results and new workspace layers.
    pub uploads: Vec<Upload>,
}

impl Ran {
    fn ended(status: JobStatus, message: String) -> Ran {
        Ran {
            status,
            message: Some(message),
            uploads: Vec::new(),
        }
    }
}

/// Runs the job of task `a` in folder `root`, reporting to `sink`, until done or `cancel`.
pub(super) async fn execute(
    shared: &Shared,
    a: &TaskAssignment,
    sink: &Arc<TaskSink>,
    root: &Path,
    cancel: &CancellationToken,
) -> Ran {
    let infra = |e| Ran::ended(JobStatus::InfrastructureFail, e);
    let wf_dir = match layers::workflow_dir(&shared.workspaces_dir(), &a.ids.workflow_id) {
        Ok(d) => d,
        Err(e) => return infra(e),
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
            () = cancel.cancelled() => {
                return Ran::ended(JobStatus::Canceled, "canceled".to_string());
            }
        };
        match fetched {
            Ok(n) => sink.progress(format!("Downloaded {n} workspace layers"), true),
            Err(e) => return infra(e),
        }
    }
    let before = layers::list(&wf_dir);
    let ctx = context(shared, a, root, cancel.clone());
    let reporter = Reporter::new(
        Arc::clone(sink) as Arc<dyn EventSink>,
        a.job_name.clone(),
        a.node,
    );
    let outcome = shared
        .executors
        .run(&ctx, &reporter, &root.join("home"))
        .await;
    let mut up = uploads::artifacts(&ctx.stores.artifacts_dir, &outcome.artifacts);
    let node_results = ctx.stores.test_results_dir.join(format!("node-{}", a.node));
    up.extend(uploads::test_results(&node_results));
    let written = layers::written_since(&wf_dir, &before, &a.job_name);
    up.extend(uploads::layers(&wf_dir, &written));
    Ran {
        status: outcome.status,
        message: outcome.message,
        uploads: up,
    }
}
