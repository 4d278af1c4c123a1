//! Picks the executor for a task and runs the job on it.
//!
//! A shell runner runs every job on this host (a `docker:` job gets a warning, as with
//! `circa local execute --executor shell`); a docker runner runs `docker:` jobs in containers
//! and `machine:` jobs on this host.

use std::collections::BTreeMap;
use std::path::Path;

use circa_exec::docker::{DockerClient, DockerExecutor, DockerOptions};
use circa_exec::events::Reporter;
use circa_exec::job::{JobContext, JobOutcome, run_job};
use circa_exec::shell::ShellExecutor;
use circa_model::ExecutorSpec;
use tokio::sync::Mutex;

use crate::config::ExecutorKind;

/// The executors of a runner: which kind, and the Docker Engine once connected.
#[derive(Debug)]
pub struct Executors {
    kind: ExecutorKind,
    image_map: BTreeMap<String, String>,
    job_nice: i32,
    /// The Docker Engine, once reached (tried again for each task until then).
    docker: Mutex<Option<DockerClient>>,
}

impl Executors {
    /// Executors of `kind`; `image_map` applies to docker jobs, `job_nice` to the processes
    /// of jobs on this host.
    pub fn new(kind: ExecutorKind, image_map: &[(String, String)], job_nice: i32) -> Self {
        Executors {
            kind,
            image_map: image_map.iter().cloned().collect(),
            job_nice,
            docker: Mutex::new(None),
        }
    }

    /// Runs the job of `ctx`; a shell job's home is `home`.
    pub async fn run(&self, ctx: &JobContext, reporter: &Reporter, home: &Path) -> JobOutcome {
        let images = match &ctx.spec.executor {
            ExecutorSpec::Docker { images } if self.kind == ExecutorKind::Docker => images.clone(),
            spec => {
                if matches!(spec, ExecutorSpec::Docker { .. }) {
                    reporter.notice(
                        "this runner uses the shell executor: the job runs on the runner's host, not in its docker image",
                        true,
                    );
                }
                // The home stays: the task's folder is emptied for the next task.
                let mut ex = ShellExecutor::new(home, true).with_nice(self.job_nice);
                return run_job(&mut ex, ctx, reporter).await;
            }
        };
        match self.docker_client().await {
            Ok(client) => {
                let options = DockerOptions {
                    image_map: self.image_map.clone(),
                    ..DockerOptions::default()
                };
                let mut ex = DockerExecutor::new(client, images, options);
                run_job(&mut ex, ctx, reporter).await
            }
            Err(message) => {
                reporter.notice(&message, true);
                tracing::warn!("{message}");
                JobOutcome::infrastructure_fail(message)
            }
        }
    }

    async fn docker_client(&self) -> Result<DockerClient, String> {
        let mut slot = self.docker.lock().await;
        if let Some(client) = &*slot {
            return Ok(client.clone());
        }
        let client = DockerClient::connect().await.map_err(|e| e.to_string())?;
        *slot = Some(client.clone());
        Ok(client)
    }
}
