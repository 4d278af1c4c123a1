//! The seam between a job's steps and the place they run.
//!
//! An [`Executor`] owns one job node's environment: a folder on the host ([`crate::shell`]) or a
//! primary container with its services ([`crate::docker`]). The job runner ([`crate::job`])
//! only ever speaks to it through this trait: start, run a command with streamed output, write
//! a file, copy trees out and in, stop. Paths given to an executor are paths *inside* the
//! environment, absolute, with `~` already resolved against [`Started::home`].

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use tokio::sync::mpsc;

use crate::agent::AgentDir;
use crate::events::Reporter;

/// Why an executor could not do what it was asked. Every variant is an infrastructure
/// failure, not a failure of the user's command (that is a non-zero exit code).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// The Docker Engine does not answer.
    #[error(
        "cannot reach the Docker Engine at {endpoint}: {reason}\n\
         hint: start Docker, or run the job on this machine with `--executor shell`"
    )]
    DockerUnavailable {
        /// Where the engine was looked for.
        endpoint: String,
        /// What went wrong.
        reason: String,
    },
    /// An image is not present and could not be pulled.
    #[error("image `{image}` is not available: {reason}")]
    ImageUnavailable {
        /// The image (after `--image-map`).
        image: String,
        /// What went wrong.
        reason: String,
    },
    /// A Docker Engine call failed.
    #[error("docker: {0}")]
    Docker(String),
    /// A host file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A tar stream going in or out was refused (see [`crate::archive`]).
    #[error(transparent)]
    Archive(#[from] crate::archive::ArchiveError),
    /// A command could not be started.
    #[error("cannot start `{program}`: {reason}")]
    Spawn {
        /// The program.
        program: String,
        /// What went wrong.
        reason: String,
    },
    /// Anything else, said plainly.
    #[error("{0}")]
    Other(String),
}

/// What the job runner tells an executor before it starts.
#[derive(Debug, Clone)]
pub struct StartRequest {
    /// A name unique among running jobs on this host, usable in container names and labels
    /// (letters, digits, `-`, `_`, `.`).
    pub run_id: String,
    /// The job's `working_directory` as written (`~/project` by default).
    pub working_directory: String,
    /// Whether the job has a `setup_remote_docker` step (the docker executor then makes the
    /// host's Docker Engine reachable from the primary container).
    pub needs_docker: bool,
    /// Environment made available to the executor itself, e.g. for `$VAR` in image `auth`
    /// passwords (project variables and `--secret` values).
    pub secrets_env: BTreeMap<String, String>,
    /// The staged `circleci` command for jobs (see [`crate::agent`]): the shell executor puts
    /// [`AgentDir::host_bin`] first on `PATH`; the docker executor mounts
    /// [`AgentDir::container_mount`] read-only at [`crate::agent::CONTAINER_DIR`] and puts its
    /// `bin` first on `PATH`.
    pub agent: AgentDir,
    /// A host folder, created and owned by the job runner, that the executor makes visible
    /// inside the environment as [`Started::task_dir`] (the docker executor bind-mounts it
    /// read-write; the shell executor uses it as is). Step scripts, `BASH_ENV`, test timings
    /// and the `circleci step halt` marker live there, so the runner reads and writes them
    /// without a round trip.
    pub task_dir_host: PathBuf,
}

/// Facts about a started environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// `$HOME` inside the environment, absolute.
    pub home: String,
    /// The job's working directory, absolute, created.
    pub working_directory: String,
    /// [`StartRequest::task_dir_host`] as seen inside the environment, absolute; exported as
    /// `CIRCLE_INTERNAL_TASK_DATA`.
    pub task_dir: String,
    /// Whether `/bin/bash` exists (the default shell is then `/bin/bash -eo pipefail`, else
    /// `/bin/sh -eo pipefail`).
    pub has_bash: bool,
    /// The `PATH` steps start with (the environment's own, with the agent's `bin` first).
    pub path: String,
    /// A one-line description for output: `docker: cimg/base:2024.01 (+1 service)`.
    pub description: String,
}

/// One command to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRequest {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Environment for the command, complete except what the environment itself supplies
    /// (the container's own variables, `HOME`, `USER`); it overrides those.
    pub env: BTreeMap<String, String>,
    /// Working directory, absolute.
    pub workdir: String,
}

/// A future that resolves to a command's exit code.
pub type ExitFuture = Pin<Box<dyn Future<Output = Result<i64, ExecError>> + Send>>;

/// A started command.
pub struct Running {
    /// Output chunks, stdout and stderr interleaved as they came. Closed when the command's
    /// output ends.
    pub output: mpsc::Receiver<Vec<u8>>,
    /// Resolves when the command has exited, with its exit code.
    pub exit: ExitFuture,
    /// Stops the command and everything it started, when the executor can do that alone
    /// (the shell executor kills the process group); `None` when only [`Executor::stop`] can.
    pub kill: Option<Box<dyn FnOnce() + Send>>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("kill", &self.kill.is_some())
            .finish_non_exhaustive()
    }
}

/// What [`Executor::copy_out`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopiedOut {
    /// The patterns' matches, relative to the root, in order.
    pub matched: Vec<String>,
    /// Patterns that matched nothing.
    pub missing: Vec<String>,
}

/// Where a job node's steps run.
pub trait Executor: Send + Sync {
    /// Prepares the environment: pulls images, starts containers, creates the working
    /// directory and the task folder. Progress (pulls) is reported through `reporter`.
    fn start(
        &mut self,
        request: &StartRequest,
        reporter: &Reporter,
    ) -> impl Future<Output = Result<Started, ExecError>> + Send;

    /// Starts a command; its output streams into [`Running::output`].
    fn exec(&self, request: ExecRequest)
    -> impl Future<Output = Result<Running, ExecError>> + Send;

    /// The host path of an environment path, when the environment is the host itself (the
    /// shell executor); `None` when files must be copied out and in.
    fn host_path(&self, path: &str) -> Option<PathBuf>;

    /// Copies what `patterns` match under `root` into the host folder `dest`, keeping their
    /// paths relative to `root`. A pattern is a plain relative path or a Go `filepath.Match`
    /// pattern (`*`, `?`, `[...]`, never crossing `/`); `.` is the whole root. Directories are
    /// copied whole; symlinks stay symlinks. What comes out is unpacked with
    /// [`crate::archive::unpack_tar`], so nothing lands outside `dest`.
    fn copy_out(
        &self,
        root: &str,
        patterns: &[String],
        dest: &Path,
    ) -> impl Future<Output = Result<CopiedOut, ExecError>> + Send;

    /// Copies the contents of the host folder `src` into the environment folder `dest`
    /// (created if missing), merging with what is there.
    fn copy_in(&self, src: &Path, dest: &str)
    -> impl Future<Output = Result<(), ExecError>> + Send;

    /// Removes everything the executor made (containers, the job folder as the executor
    /// decides); stops background commands. Safe to call twice and after a failed start.
    fn stop(&mut self) -> impl Future<Output = Result<(), ExecError>> + Send;
}

/// Resolves a path as written in a config against the environment: `~` and `~/x` against
/// `home`, a relative path against `base`; `.` and `..` components are folded.
pub fn resolve_path(path: &str, home: &str, base: &str) -> String {
    let joined = if path == "~" {
        home.to_string()
    } else if let Some(rest) = path.strip_prefix("~/") {
        format!("{}/{rest}", home.trim_end_matches('/'))
    } else if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{}/{path}", base.trim_end_matches('/'))
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::resolve_path;

    #[test]
    fn resolves_home_relative_and_absolute_paths() {
        assert_eq!(resolve_path("~/project", "/root", "/x"), "/root/project");
        assert_eq!(resolve_path("~", "/home/u/", "/x"), "/home/u");
        assert_eq!(resolve_path("a/../b/./c", "/root", "/w"), "/w/b/c");
        assert_eq!(resolve_path("/tmp/x/", "/root", "/w"), "/tmp/x");
        assert_eq!(resolve_path(".", "/root", "/w/p"), "/w/p");
        assert_eq!(resolve_path("../..", "/root", "/w"), "/");
    }
}
