//! The `circleci` command inside jobs (`circleci tests glob|split`, `circleci step halt`,
//! `circleci env subst|mask`), and its staging on the host so every executor can put it on a
//! job's `PATH`.
//!
//! The command is Circa's own binary run as `circa __agent ARGS...`. For the shell executor,
//! [`AgentDir::host_bin`] holds `circleci` and `circleci-agent` scripts that exec the binary.
//! For the docker executor, [`AgentDir::container_mount`] is bind-mounted read-only at
//! [`CONTAINER_DIR`]; it holds the binary, the dynamic loader and the shared libraries the
//! binary needs (copied from the host), and `bin/` scripts that start the binary through that
//! loader — so the command works in any Linux image of the host's architecture that has
//! `/bin/sh`, whatever C library (or none) the image has.
//!
//! The command talks to the job runner through files in `$CIRCLE_INTERNAL_TASK_DATA`:
//! [`HALT_FILE`] (the job ends successfully after the current step), [`MASK_FILE`] (values to
//! mask from now on, one per line, base64) and [`TIMINGS_FILE`] (timings from earlier test
//! results, for `--split-by=timings`).

use std::path::{Path, PathBuf};

/// Where [`AgentDir::container_mount`] is mounted inside containers.
pub const CONTAINER_DIR: &str = "/.circa-agent";

/// File in the task folder whose presence means `circleci step halt` was called.
pub const HALT_FILE: &str = "halt";

/// File in the task folder to which `circleci env mask` appends values (base64, one per line).
pub const MASK_FILE: &str = "mask-values";

/// File in the task folder with the timings `circleci tests split --split-by=timings` uses
/// (a [`crate::split::Timings`] as JSON).
pub const TIMINGS_FILE: &str = "timings.json";

/// Why the agent could not be staged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The binary's loader or libraries could not be found.
    #[error("cannot stage the in-job `circleci` command: {0}")]
    Libraries(String),
}

/// A staged agent folder (see the module documentation for its layout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentDir {
    root: PathBuf,
}

impl AgentDir {
    /// Stages the agent for binary `exe` under `root` (created if missing; an existing staging
    /// of the same binary is reused).
    pub fn stage(root: &Path, exe: &Path) -> Result<AgentDir, AgentError> {
        let _ = exe;
        Err(AgentError::Libraries(format!(
            "not staged yet under {}",
            root.display()
        )))
    }

    /// An agent folder at `root`, staged before (or never: executors then run jobs without
    /// the in-job command, and skip a `container_mount` that does not exist).
    pub fn at(root: impl Into<PathBuf>) -> AgentDir {
        AgentDir { root: root.into() }
    }

    /// The folder to put first on `PATH` for jobs on the host.
    pub fn host_bin(&self) -> PathBuf {
        self.root.join("host").join("bin")
    }

    /// The folder to mount at [`CONTAINER_DIR`] in containers.
    pub fn container_mount(&self) -> PathBuf {
        self.root.join("container")
    }
}

/// The argv that runs `circa __agent ARGS...` inside a container where
/// [`AgentDir::container_mount`] is mounted at [`CONTAINER_DIR`] (no shell needed), e.g. the
/// primary container's keep-alive command `container_command(&["keepalive"])`.
pub fn container_command(args: &[&str]) -> Vec<String> {
    let mut argv = vec![format!("{CONTAINER_DIR}/bin/circa-agent")];
    argv.extend(args.iter().map(|a| a.to_string()));
    argv
}

/// Runs the agent command line (`ARGS` of `circa __agent ARGS...`) and returns the exit code.
pub fn main(args: &[String]) -> i32 {
    eprintln!("circleci: `{}` is not available yet", args.join(" "));
    2
}

/// Reads the values `circleci env mask` appended to [`MASK_FILE`] in `task_dir` since byte
/// `offset`; returns them and the new offset.
pub fn read_mask_values(task_dir: &Path, offset: u64) -> (Vec<String>, u64) {
    let _ = task_dir;
    (Vec::new(), offset)
}
