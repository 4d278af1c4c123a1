//! The docker executor: a job's steps run in a primary container, with its service containers
//! beside it, through the Docker Engine API.
//!
//! - [`DockerClient`] is the connection, made once per process and shared by every job.
//! - [`DockerExecutor`] runs one job node: it makes the images present (pulling what is
//!   missing), starts the primary container (kept alive by a shell reading a stdin that never
//!   ends, unless the config gives an `entrypoint` or `command`) and the services in the
//!   primary's network namespace (so they answer at `localhost`, and every `name:` resolves to
//!   `127.0.0.1`), and runs each step as an exec in the primary.
//! - Every container carries the label `circa.run=<run_id>`; [`remove_run_containers`] removes
//!   what an interrupted job left behind.
//!
//! Mounts of the primary: the job's task folder read-write at [`TASK_DIR`], the staged agent
//! read-only at [`crate::agent::CONTAINER_DIR`] (when it was staged), and for
//! `setup_remote_docker` the host's Docker socket at [`DOCKER_SOCKET`].

mod bench;
mod client;
mod containers;
mod copy;
mod exec;
mod images;
mod keepalive;
mod start;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use circa_model::task::DockerImage;

pub use bench::{Overhead, measure_overhead};
pub use client::{DEFAULT_ENDPOINT, DockerClient};
pub use containers::{
    DOCKER_SOCKET, RUN_LABEL, TASK_DIR, list_run_containers, remove_run_containers,
};

use crate::archive::ArchiveLimits;
use crate::events::Reporter;
use crate::executor::{
    CopiedOut, ExecError, ExecRequest, Executor, Running, StartRequest, Started,
};
use containers::lock;

/// Settings of the docker executor that come from the command line.
#[derive(Debug, Clone, Default)]
pub struct DockerOptions {
    /// `--image-map FROM=TO`: an image whose reference is exactly `FROM` runs as `TO`.
    pub image_map: BTreeMap<String, String>,
    /// Caps on what [`Executor::copy_out`] and [`Executor::copy_in`] move.
    pub archive_limits: ArchiveLimits,
}

/// One job node's containers. See the module documentation.
pub struct DockerExecutor {
    client: DockerClient,
    images: Vec<DockerImage>,
    options: DockerOptions,
    /// Every container created, primary first, recorded as soon as the engine returns its id.
    created: Mutex<Vec<String>>,
    /// The run id of the last `start`, for the label sweep after an unfinished start.
    run_id: Option<String>,
    /// Set once `start` has finished: every container is then in `created`.
    complete: bool,
    primary: Option<Primary>,
    /// The stdin of the primary's keep-alive shell, closed by `stop`.
    held: Mutex<Option<keepalive::Held>>,
}

/// The started primary container.
#[derive(Debug, Clone)]
struct Primary {
    id: String,
    user: Option<String>,
    owner: (u64, u64),
}

impl std::fmt::Debug for DockerExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerExecutor")
            .field("images", &self.images.len())
            .field("created", &*lock(&self.created))
            .field("primary", &self.primary)
            .finish_non_exhaustive()
    }
}

impl DockerExecutor {
    /// An executor for the job's `docker:` list (the first image is the primary container).
    pub fn new(client: DockerClient, images: Vec<DockerImage>, options: DockerOptions) -> Self {
        Self {
            client,
            images,
            options,
            created: Mutex::new(Vec::new()),
            run_id: None,
            complete: false,
            primary: None,
            held: Mutex::new(None),
        }
    }

    /// The ids of the containers created so far, primary first.
    pub fn container_ids(&self) -> Vec<String> {
        lock(&self.created).clone()
    }

    /// The image reference `image` runs as, after `--image-map`.
    fn reference<'a>(&'a self, image: &'a str) -> &'a str {
        self.options
            .image_map
            .get(image)
            .map_or(image, String::as_str)
    }

    fn primary(&self) -> Result<&Primary, ExecError> {
        self.primary
            .as_ref()
            .ok_or_else(|| ExecError::Other("the docker executor is not started".to_owned()))
    }

    fn copy_target(&self) -> Result<copy::Target<'_>, ExecError> {
        let primary = self.primary()?;
        Ok(copy::Target {
            client: &self.client,
            container: &primary.id,
            user: primary.user.as_deref(),
            owner: primary.owner,
            limits: &self.options.archive_limits,
        })
    }
}

impl Executor for DockerExecutor {
    async fn start(
        &mut self,
        request: &StartRequest,
        reporter: &Reporter,
    ) -> Result<Started, ExecError> {
        self.run_id = Some(request.run_id.clone());
        self.complete = false;
        let references: Vec<String> = self
            .images
            .iter()
            .map(|i| self.reference(&i.image).to_owned())
            .collect();
        let started = start::start(
            &self.client,
            &self.images,
            &references,
            request,
            reporter,
            &self.created,
        )
        .await?;
        *lock(&self.held) = started.held;
        self.primary = Some(Primary {
            id: started.primary_id,
            user: self.images.first().and_then(|i| i.user.clone()),
            owner: started.owner,
        });
        self.complete = true;
        Ok(started.started)
    }

    async fn exec(&self, request: ExecRequest) -> Result<Running, ExecError> {
        let primary = self.primary()?;
        exec::stream(
            &self.client,
            &primary.id,
            exec::Command {
                argv: request.argv,
                env: request
                    .env
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect(),
                workdir: Some(request.workdir),
                user: primary.user.clone(),
            },
        )
        .await
    }

    fn host_path(&self, _path: &str) -> Option<PathBuf> {
        None
    }

    async fn copy_out(
        &self,
        root: &str,
        patterns: &[String],
        dest: &Path,
    ) -> Result<CopiedOut, ExecError> {
        copy::copy_out(&self.copy_target()?, root, patterns, dest).await
    }

    async fn copy_in(&self, src: &Path, dest: &str) -> Result<(), ExecError> {
        copy::copy_in(&self.copy_target()?, src, dest).await
    }

    async fn stop(&mut self) -> Result<(), ExecError> {
        self.primary = None;
        let held = lock(&self.held).take();
        let ids = lock(&self.created).clone();
        // Services first (they live in the primary's network namespace), then the primary.
        // Meanwhile the primary's keep-alive shell is told its input ended: a container that
        // exits by itself is removed faster than one that must be killed.
        let closing = async {
            if let (Some(held), Some(primary)) = (held, ids.first()) {
                held.close(&self.client, primary).await;
            }
        };
        let services = containers::remove_all(&self.client, ids.get(1..).unwrap_or_default());
        let (services, ()) = tokio::join!(services, closing);
        let primary = containers::remove_all(&self.client, ids.get(..1).unwrap_or_default()).await;
        services?;
        primary?;
        lock(&self.created).retain(|id| !ids.contains(id));
        // A start that did not finish may have created a container whose id never came back.
        if !self.complete
            && let Some(run_id) = &self.run_id
        {
            remove_run_containers(&self.client, run_id).await?;
        }
        self.complete = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
