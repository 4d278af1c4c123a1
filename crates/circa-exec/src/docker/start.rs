//! Starting a job's containers: images, the primary, the services, and the one setup script
//! that learns `$HOME` and `PATH`, looks for bash and creates the working directory (run by
//! the primary's keep-alive shell, or as an exec when the config gives the primary its own
//! `entrypoint` or `command`).

use std::path::Path;
use std::sync::Mutex;

use circa_model::task::DockerImage;
use futures_util::future::try_join_all;

use super::client::DockerClient;
use super::containers::{self, Bind, DOCKER_SOCKET, TASK_DIR, container_name};
use super::copy::shell_quote;
use super::exec;
use super::images::{self, Wanted};
use super::keepalive::{Held, KeepAlive};
use crate::agent::CONTAINER_DIR;
use crate::events::Reporter;
use crate::executor::{ExecError, StartRequest, Started, resolve_path};

/// `PATH` when the container has none.
pub(crate) const DEFAULT_PATH: &str =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The line the setup script ends with, followed by its status.
pub(crate) const SETUP_END: &str = "__circa_setup_end__";

/// The setup script: prints `$HOME`, `$PATH`, whether `/bin/bash` is executable and the user's
/// uid and gid, one per line; then creates the working directory `working` (`~` and `~/…`
/// against `$HOME`; nothing when empty), with any complaint on stdout; last [`SETUP_END`] and
/// the status. It runs in the keep-alive shell itself, so it never exits.
pub(crate) fn setup_script(working: &str) -> String {
    format!(
        r#"printf '%s\n' "$HOME" "$PATH"
if [ -x /bin/bash ]; then echo yes; else echo no; fi
id -u 2>/dev/null || echo
id -g 2>/dev/null || echo
set -- {working}
case $1 in "~") d=$HOME ;; "~/"*) d=$HOME/${{1#??}} ;; *) d=$1 ;; esac
if [ -n "$d" ]; then mkdir -p -- "$d" 2>&1; fi
echo "{SETUP_END} $?"
"#,
        working = shell_quote(working)
    )
}

/// What [`start`] made.
pub(crate) struct Outcome {
    pub primary_id: String,
    /// The keep-alive shell's stdin, when the primary runs one.
    pub held: Option<Held>,
    /// The uid and gid the primary's commands run as (root when `id` is missing).
    pub owner: (u64, u64),
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
    let primary_name = container_name(&request.run_id, 0);
    let primary_id = containers::create(client, &primary_name, body, created).await?;
    let keep_alive = if containers::keeps_alive(primary) {
        Some(KeepAlive::attach(client, &primary_id).await?)
    } else {
        None
    };
    containers::start(client, &primary_id, &primary_name).await?;

    let services =
        images
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
    let script = setup_script(working_arg.as_deref().unwrap_or_default());
    let setup = async {
        match keep_alive {
            Some(mut shell) => {
                let out = shell.run(&script, SETUP_END).await?;
                Ok((out, Some(shell.hold())))
            }
            None => {
                let argv = vec!["/bin/sh".to_owned(), "-c".to_owned(), script.clone()];
                let captured =
                    exec::capture_as(client, &primary_id, primary.user.as_deref(), argv).await?;
                Ok::<_, ExecError>((captured.stdout, None))
            }
        }
    };
    let (services, setup) = tokio::join!(try_join_all(services), setup);
    services?;
    let (out, held) = setup?;
    let setup = parse_setup(&out);
    let facts = setup.facts;
    let working_directory = resolve_path(&request.working_directory, &facts.home, &facts.home);
    if setup.status != Some(0) {
        return Err(ExecError::Other(format!(
            "cannot create the working directory {working_directory} in the primary container: {}",
            setup.message
        )));
    }
    if working_arg.is_none() {
        exec::mkdir_p(
            client,
            &primary_id,
            primary.user.as_deref(),
            &working_directory,
        )
        .await?;
    }

    if let Some(owner) = facts.owner {
        share_task_dir(&request.task_dir_host, owner, reporter);
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
        held,
        owner: facts.owner.unwrap_or((0, 0)),
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

/// Lets the primary's user (`owner`, uid and gid) use the task folder: it becomes theirs when
/// Circa may give it away (it runs as root), else open to all (it is the job's own folder).
fn share_task_dir(dir: &Path, owner: (u64, u64), reporter: &Reporter) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let Ok(meta) = std::fs::metadata(dir) else {
        return;
    };
    if owner == (0, 0) || (u64::from(meta.uid()), u64::from(meta.gid())) == owner {
        return;
    }
    let ids = u32::try_from(owner.0).ok().zip(u32::try_from(owner.1).ok());
    if let Some((uid, gid)) = ids
        && std::os::unix::fs::chown(dir, Some(uid), Some(gid)).is_ok()
    {
        return;
    }
    if let Err(e) = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)) {
        reporter.notice(
            format!(
                "the task folder {} may not be usable by the container's user: {e}",
                dir.display()
            ),
            true,
        );
    }
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
                format!(
                    "docker image name {name:?} is not a usable host name; it is not resolvable"
                ),
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
    pub owner: Option<(u64, u64)>,
}

/// The setup script's output, read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Setup {
    pub facts: Facts,
    /// The status of creating the working directory; `None` when the script did not finish.
    pub status: Option<i64>,
    /// What the script printed besides the facts (complaints), trimmed.
    pub message: String,
}

pub(crate) fn parse_setup(out: &[u8]) -> Setup {
    let text = String::from_utf8_lossy(out);
    let mut lines = text.lines();
    let mut next = || lines.next().unwrap_or_default().trim().to_owned();
    let (home, path, bash, uid, gid) = (next(), next(), next(), next(), next());
    let mut status = None;
    let mut message = Vec::new();
    for line in lines {
        match line.strip_prefix(SETUP_END) {
            Some(code) => status = code.trim().parse().ok(),
            None => message.push(line),
        }
    }
    let facts = Facts {
        home: if home.starts_with('/') {
            home
        } else {
            "/".to_owned()
        },
        path: if path.is_empty() {
            DEFAULT_PATH.to_owned()
        } else {
            path
        },
        has_bash: bash == "yes",
        owner: uid.parse().ok().zip(gid.parse().ok()),
    };
    Setup {
        facts,
        status,
        message: message.join("\n").trim().to_owned(),
    }
}
