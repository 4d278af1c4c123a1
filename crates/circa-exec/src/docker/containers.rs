//! Creating, listing and removing a job's containers.

use std::collections::HashMap;
use std::sync::Mutex;

use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType};
use bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptionsBuilder, RemoveContainerOptions,
};
use circa_model::task::DockerImage;
use futures_util::future::join_all;

use super::client::{DockerClient, describe, docker_err, is_conflict, is_not_found};
use crate::executor::ExecError;

/// The label every container of a job carries: `circa.run=<run_id>`.
pub const RUN_LABEL: &str = "circa.run";

/// Where the job's task folder is mounted in the primary container.
pub const TASK_DIR: &str = "/.circa-task";

/// Where the host's Docker socket is mounted for `setup_remote_docker`.
pub const DOCKER_SOCKET: &str = "/var/run/docker.sock";

/// The keep-alive command of a primary container whose config sets neither `entrypoint` nor
/// `command`: a shell reading the stdin Circa holds open (see [`super::keepalive`]).
const KEEP_ALIVE: &str = "/bin/sh";

/// Whether the primary container runs Circa's keep-alive shell (the config gives neither
/// `entrypoint` nor `command`).
pub(crate) fn keeps_alive(image: &DockerImage) -> bool {
    image.entrypoint.is_none() && image.command.is_none()
}

/// A bind mount.
pub(crate) struct Bind {
    pub source: String,
    pub target: String,
    pub read_only: bool,
}

/// `<run_id>`'s container number `index` (0 is the primary).
pub(crate) fn container_name(run_id: &str, index: usize) -> String {
    format!("circa-{run_id}-{index}")
}

fn environment(image: &DockerImage) -> Vec<String> {
    image
        .environment
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect()
}

fn labels(run_id: &str) -> HashMap<String, String> {
    HashMap::from([(RUN_LABEL.to_owned(), run_id.to_owned())])
}

/// The primary container: the config's `entrypoint`/`command` when it gives either, else the
/// image's are replaced by [`KEEP_ALIVE`], whose stdin closes when Circa's attachment ends.
pub(crate) fn primary_body(
    run_id: &str,
    reference: &str,
    image: &DockerImage,
    binds: Vec<Bind>,
    extra_hosts: Vec<String>,
) -> ContainerCreateBody {
    let keep_alive = keeps_alive(image);
    let (entrypoint, cmd) = if keep_alive {
        (Some(vec![KEEP_ALIVE.to_owned()]), None)
    } else {
        (image.entrypoint.clone(), image.command.clone())
    };
    let mounts = binds
        .into_iter()
        .map(|b| Mount {
            target: Some(b.target),
            source: Some(b.source),
            typ: Some(MountType::BIND),
            read_only: Some(b.read_only),
            ..Default::default()
        })
        .collect();
    ContainerCreateBody {
        image: Some(reference.to_owned()),
        entrypoint,
        cmd,
        user: image.user.clone(),
        env: Some(environment(image)),
        open_stdin: Some(true),
        stdin_once: Some(keep_alive),
        labels: Some(labels(run_id)),
        host_config: Some(HostConfig {
            mounts: Some(mounts),
            extra_hosts: Some(extra_hosts),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A service container: the image's own entrypoint and command unless the config sets them,
/// in the primary's network namespace.
pub(crate) fn service_body(
    run_id: &str,
    reference: &str,
    image: &DockerImage,
    primary_id: &str,
) -> ContainerCreateBody {
    ContainerCreateBody {
        image: Some(reference.to_owned()),
        entrypoint: image.entrypoint.clone(),
        cmd: image.command.clone(),
        user: image.user.clone(),
        env: Some(environment(image)),
        labels: Some(labels(run_id)),
        host_config: Some(HostConfig {
            network_mode: Some(format!("container:{primary_id}")),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Creates and starts a container named `name` (see [`create`]).
pub(crate) async fn create_and_start(
    client: &DockerClient,
    name: &str,
    body: ContainerCreateBody,
    created: &Mutex<Vec<String>>,
) -> Result<String, ExecError> {
    let id = create(client, name, body, created).await?;
    start(client, &id, name).await?;
    Ok(id)
}

/// Creates a container named `name`; its id goes into `created` as soon as the engine returns
/// it. A leftover container of the same name (an earlier run that was killed) is removed and
/// the creation tried once more.
pub(crate) async fn create(
    client: &DockerClient,
    name: &str,
    body: ContainerCreateBody,
    created: &Mutex<Vec<String>>,
) -> Result<String, ExecError> {
    let options = || CreateContainerOptions {
        name: Some(name.to_owned()),
        ..Default::default()
    };
    let response = match client
        .api()
        .create_container(Some(options()), body.clone())
        .await
    {
        Err(e) if is_conflict(&e) => {
            remove(client, name).await?;
            client.api().create_container(Some(options()), body).await
        }
        other => other,
    }
    .map_err(|e| ExecError::Docker(format!("creating container {name}: {}", describe(&e))))?;
    let id = response.id;
    lock(created).push(id.clone());
    Ok(id)
}

/// Starts the created container `id` (called `name` in messages).
pub(crate) async fn start(client: &DockerClient, id: &str, name: &str) -> Result<(), ExecError> {
    client
        .api()
        .start_container(id, None)
        .await
        .map_err(|e| ExecError::Docker(format!("starting container {name}: {}", describe(&e))))
}

/// Force-removes a container (and its anonymous volumes); one that is gone already is fine.
pub(crate) async fn remove(client: &DockerClient, id: &str) -> Result<(), ExecError> {
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        ..Default::default()
    };
    match client.api().remove_container(id, Some(options)).await {
        Ok(()) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        // "removal already in progress": another stop got there first.
        Err(e) if is_conflict(&e) => Ok(()),
        Err(e) => Err(ExecError::Docker(format!(
            "removing container {id}: {}",
            describe(&e)
        ))),
    }
}

/// Removes all of `ids` at once; the first error, after every removal was tried.
pub(crate) async fn remove_all(client: &DockerClient, ids: &[String]) -> Result<(), ExecError> {
    let results = join_all(ids.iter().map(|id| remove(client, id))).await;
    results.into_iter().collect()
}

/// The ids of every container (running or not) labelled `circa.run=<run_id>`.
pub async fn list_run_containers(
    client: &DockerClient,
    run_id: &str,
) -> Result<Vec<String>, ExecError> {
    let filters = HashMap::from([("label".to_owned(), vec![format!("{RUN_LABEL}={run_id}")])]);
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    let found: Vec<_> = client
        .api()
        .list_containers(Some(options))
        .await
        .map_err(docker_err("listing containers"))?;
    Ok(found.into_iter().filter_map(|c| c.id).collect())
}

/// Removes every container labelled `circa.run=<run_id>` (a safety net when a job was
/// interrupted before its executor could stop). Returns how many there were.
pub async fn remove_run_containers(
    client: &DockerClient,
    run_id: &str,
) -> Result<usize, ExecError> {
    let ids = list_run_containers(client, run_id).await?;
    remove_all(client, &ids).await?;
    Ok(ids.len())
}

/// The list inside `m`, even after a panic elsewhere poisoned it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}
