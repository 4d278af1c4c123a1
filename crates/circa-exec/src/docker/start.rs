//! Starting a job's containers: images, the primary, the services, and the one setup command
//! that learns `$HOME` and `PATH`, looks for bash and creates the working directory.

use std::path::Path;
use std::sync::Mutex;

use circa_model::task::DockerImage;
use futures_util::future::try_join_all;

use super::client::DockerClient;
use super::containers::{self, Bind, DOCKER_SOCKET, TASK_DIR, container_name};
use super::exec::{self, Command};
use super::images::{self, Wanted};
use crate::agent::CONTAINER_DIR;
use crate::events::Reporter;
use crate::executor::{ExecError, StartRequest, Started, resolve_path};

/// `PATH` when the container has none.
pub(crate) const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Prints `$HOME`, `$PATH` and whether `/bin/bash` is executable, one per line, then creates
/// the working directory `$1` (`~` and `~/…` against `$HOME`; nothing when empty).
const SETUP_SCRIPT: &str = r#"printf '%s\n' "$HOME" "$PATH"
if [ -x /bin/bash ]; then echo yes; else echo no; fi
case $1 in "~") d=$HOME ;; "~/"*) d=$HOME/${1#??} ;; *) d=$1 ;; esac
if [ -n "$d" ]; then mkdir -p -- "$d"; fi
"#;

/// What [`start`] made.
pub(crate) struct Outcome {
    pub primary_id: String,
    pub started: Started,
}

/// Starts the job's containers; every id goes into `created` as soon as it exists.
pub(crate) async fn start(
    client: &DockerClient,
    images: &[DockerImage],
    references: &[String],
    request: &StartRequest,
    reporter: &Reporter,
    created: &Mutex<Vec<String>>,
) -> Result<Outcome, ExecError> {
    let (Some(primary), Some(primary_ref)) = (images.first(), references.first()) else {
        return Err(ExecError::Other(
            "the job's `docker` list has no image".to_owned(),
        ));
    };
    let wanted: Vec<Wanted<'_>> = images
        .iter()
        .zip(references)
        .map(|(image, reference)| Wanted {
            image: reference,
            auth: image.auth.as_ref(),
        })
        .collect();
    images::ensure_all(client, &wanted, &request.secrets_env, reporter).await?;

    let (binds, agent_mounted) = primary_binds(client, request, reporter)?;
    let hosts = extra_hosts(images, reporter);
    let body = containers::primary_body(&request.run_id, primary_ref, primary, binds, hosts);
    let primary_id = containers::create_and_start(
        client,
        &container_name(&request.run_id, 0),
        body,
        created,
    )
    .await?;

    let services = images
        .iter()
        .zip(references)
        .enumerate()
        .skip(1)
        .map(|(index, (image, reference))| {
            let body = containers::service_body(&request.run_id, reference, image, &primary_id);
            let name = container_name(&request.run_id, index);
            async move { containers::create_and_start(client, &name, body, created).await }
        });
    let working_arg = working_dir_arg(&request.working_directory);
    let setup = exec::capture(
        client,
        &primary_id,
        Command {
            argv: vec![
                "/bin/sh".to_owned(),
                "-c".to_owned(),
                SETUP_SCRIPT.to_owned(),
                "sh".to_owned(),
                working_arg.clone().unwrap_or_default(),
            ],
            env: Vec::new(),
            workdir: None,
            user: primary.user.clone(),
        },
    );
    let (services, setup) = tokio::join!(try_join_all(services), setup);
    services?;
    let setup = setup?;
    let facts = parse_setup(&setup.stdout);
    let working_directory = resolve_path(&request.working_directory, &facts.home, &facts.home);
    if setup.code != 0 {
        return Err(ExecError::Other(format!(
            "cannot create the working directory {working_directory} in the primary container: {}",
            setup.stderr_text()
        )));
    }
    if working_arg.is_none() {
        let mkdir = exec::capture(
            client,
            &primary_id,
            Command {
                argv: vec![
                    "mkdir".to_owned(),
                    "-p".to_owned(),
                    "--".to_owned(),
                    working_directory.clone(),
                ],
                env: Vec::new(),
                workdir: None,
                user: primary.user.clone(),
            },
        )
        .await?;
        if mkdir.code != 0 {
            return Err(ExecError::Other(format!(
                "cannot create the working directory {working_directory} in the primary container: {}",
                mkdir.stderr_text()
            )));
        }
    }

    let path = if agent_mounted {
        format!("{CONTAINER_DIR}/bin:{}", facts.path)
    } else {
        facts.path
    };
    let services = images.len() - 1;
    let description = match services {
        0 => format!("docker: {primary_ref}"),
        1 => format!("docker: {primary_ref} (+1 service)"),
        n => format!("docker: {primary_ref} (+{n} services)"),
    };
    Ok(Outcome {
        primary_id,
        started: Started {
            home: facts.home,
            working_directory,
            task_dir: TASK_DIR.to_owned(),
            has_bash: facts.has_bash,
            path,
            description,
        },
    })
}

/// The primary's bind mounts, and whether the agent is among them.
fn primary_binds(
    client: &DockerClient,
    request: &StartRequest,
    reporter: &Reporter,
) -> Result<(Vec<Bind>, bool), ExecError> {
    let mut binds = vec![Bind {
        source: host_path_text(&request.task_dir_host)?,
        target: TASK_DIR.to_owned(),
        read_only: false,
    }];
    let agent = request.agent.container_mount();
    let agent_mounted = agent.is_dir();
    if agent_mounted {
        binds.push(Bind {
            source: host_path_text(&agent)?,
            target: CONTAINER_DIR.to_owned(),
            read_only: true,
        });
    }
    if request.needs_docker {
        match client.socket_path() {
            Some(socket) => binds.push(Bind {
                source: host_path_text(socket)?,
                target: DOCKER_SOCKET.to_owned(),
                read_only: false,
            }),
            None => reporter.notice(
                format!(
                    "setup_remote_docker: the Docker Engine at {} is not a unix socket on this \
                     host, so it is not made reachable from the job",
                    client.endpoint()
                ),
                true,
            ),
        }
    }
    Ok((binds, agent_mounted))
}

/// A host path as the engine takes it: absolute, UTF-8.
fn host_path_text(path: &Path) -> Result<String, ExecError> {
    let absolute = std::path::absolute(path).map_err(|source| ExecError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    absolute
        .to_str()
        .map(str::to_owned)
        .ok_or_else(|| ExecError::Other(format!("{}: not a UTF-8 path", path.display())))
}

/// `name:127.0.0.1` for every image's `name` that is a usable host name.
fn extra_hosts(images: &[DockerImage], reporter: &Reporter) -> Vec<String> {
    let mut hosts = Vec::new();
    for name in images.iter().filter_map(|i| i.name.as_deref()) {
        let usable = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
        if usable {
            hosts.push(format!("{name}:127.0.0.1"));
        } else {
            reporter.notice(
                format!("docker image name {name:?} is not a usable host name; it is not resolvable"),
                true,
            );
        }
    }
    hosts
}

/// The working directory as the setup script's `$1`: `~`, `~/…` or an absolute path, folded;
/// `None` when folding needs `$HOME` (a `..` that may climb above it).
pub(crate) fn working_dir_arg(working_directory: &str) -> Option<String> {
    if working_directory.starts_with('/') {
        return Some(resolve_path(working_directory, "/", "/"));
    }
    let rest = if working_directory == "~" {
        ""
    } else {
        working_directory
            .strip_prefix("~/")
            .unwrap_or(working_directory)
    };
    let mut parts = Vec::new();
    for part in rest.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        Some("~".to_owned())
    } else {
        Some(format!("~/{}", parts.join("/")))
    }
}

/// What the setup script found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Facts {
    pub home: String,
    pub path: String,
    pub has_bash: bool,
}

pub(crate) fn parse_setup(stdout: &[u8]) -> Facts {
    let text = String::from_utf8_lossy(stdout);
    let mut lines = text.lines();
    let home = lines.next().unwrap_or_default().trim();
    let path = lines.next().unwrap_or_default().trim();
    let has_bash = lines.next().is_some_and(|l| l.trim() == "yes");
    Facts {
        home: if home.starts_with('/') {
            home.to_owned()
        } else {
            "/".to_owned()
        },
        path: if path.is_empty() {
            DEFAULT_PATH.to_owned()
        } else {
            path.to_owned()
        },
        has_bash,
    }
}
