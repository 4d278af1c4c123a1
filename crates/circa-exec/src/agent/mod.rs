//! The `circleci` command inside jobs (`circleci tests glob|split|run`, `circleci step halt`,
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
//!
//! # Layout
//!
//! ```text
//! ROOT/host/bin/circleci, circleci-agent     sh scripts: exec 'EXE' __agent NAME "$@"
//! ROOT/container/                            mounted read-only at /.circa-agent
//!   circa                                    the binary (hard link of EXE, or a copy)
//!   lib/ld-linux-x86-64.so.2, lib/ld.so      its PT_INTERP loader (also under a fixed name)
//!   lib/libc.so.6, ...                       every DT_NEEDED library, transitively
//!   bin/circleci, circleci-agent, circa-agent
//!                                            sh scripts: exec LOADER --library-path lib circa __agent NAME "$@"
//! ```
//!
//! The loader is started explicitly with `--library-path`, so the image's own loader, C
//! library and `LD_LIBRARY_PATH` play no part, and programs the agent starts (`tests run`)
//! see the image's libraries as usual. A statically linked binary needs neither `lib/` nor the
//! loader. [`container_command`] starts the agent without a shell (for images without
//! `/bin/sh`, and for the keep-alive process).
//!
//! # Commands
//!
//! `ARGS` of `circa __agent ARGS...` start with the program name as typed (`circleci`,
//! `circleci-agent` or `circa-agent`), which is only used in messages; when the first word is
//! not one of those names it is taken as the command. Besides the documented commands there
//! is `keepalive`: sleep until SIGTERM/SIGINT/SIGHUP (exit 0), reaping exited children, for a
//! container's PID 1.
//!
//! Choices where CircleCI does not say: `env subst` is GNU `envsubst` (`$NAME`, `${NAME}`; no
//! `${NAME:-default}`); `tests run` does not start its command when this node's share is empty
//! (so `xargs rspec` cannot run the whole suite), and does not yet narrow the items to the
//! failed tests of a "rerun failed tests". `circleci run oidc|release` are not provided.

mod cli;
mod elf;
mod stage;

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use base64::Engine;

/// Where [`AgentDir::container_mount`] is mounted inside containers.
pub const CONTAINER_DIR: &str = "/.circa-agent";

/// File in the task folder whose presence means `circleci step halt` was called.
pub const HALT_FILE: &str = "halt";

/// File in the task folder to which `circleci env mask` appends values (base64, one per line).
pub const MASK_FILE: &str = "mask-values";

/// File in the task folder with the timings `circleci tests split --split-by=timings` uses
/// (a [`crate::split::Timings`] as JSON).
pub const TIMINGS_FILE: &str = "timings.json";

/// The fixed name of the dynamic loader in the container folder's `lib/` (besides its own
/// name), so [`container_command`] need not know which loader the binary has.
pub const LOADER_ALIAS: &str = "ld.so";

/// The program names the agent answers to (the first word of its `ARGS`).
pub const PROGRAM_NAMES: [&str; 3] = ["circleci", "circleci-agent", "circa-agent"];

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
    /// of the same binary is reused). The returned folder's paths are absolute, ready for
    /// bind mounts.
    ///
    /// `exe` is normally [`std::env::current_exe`] of the `circa` binary; it must accept
    /// `__agent NAME ARGS...` (as `circa` does, and the `circa-agent` test binary).
    ///
    /// # Errors
    ///
    /// [`AgentError::Io`] when a file cannot be written; [`AgentError::Libraries`] when `exe`
    /// is not an ELF binary or its loader or a library it needs is missing on this host.
    pub fn stage(root: &Path, exe: &Path) -> Result<AgentDir, AgentError> {
        stage::stage(root, exe)?;
        let root = std::path::absolute(root).map_err(|source| AgentError::Io {
            path: root.to_path_buf(),
            source,
        })?;
        Ok(AgentDir::at(root))
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
///
/// The binary staged is assumed to be linked like the running one (both are normally the
/// same `circa`): a dynamically linked binary is started through [`LOADER_ALIAS`], a static
/// one directly.
pub fn container_command(args: &[&str]) -> Vec<String> {
    let mut argv = if cfg!(target_feature = "crt-static") {
        vec![format!("{CONTAINER_DIR}/circa")]
    } else {
        vec![
            format!("{CONTAINER_DIR}/lib/{LOADER_ALIAS}"),
            "--library-path".to_owned(),
            format!("{CONTAINER_DIR}/lib"),
            format!("{CONTAINER_DIR}/circa"),
        ]
    };
    argv.push("__agent".to_owned());
    argv.extend(args.iter().map(|a| (*a).to_owned()));
    argv
}

/// Runs the agent command line (`ARGS` of `circa __agent ARGS...`: the program name as typed,
/// then its arguments) with this process's stdio, environment and working directory, and
/// returns the exit code.
pub fn main(args: &[String]) -> i32 {
    let (program, rest) = match args.split_first() {
        Some((first, rest)) => {
            let name = Path::new(first)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if PROGRAM_NAMES.contains(&name.as_str()) {
                (name, rest)
            } else {
                ("circleci".to_owned(), args)
            }
        }
        None => ("circleci".to_owned(), args),
    };
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let env = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
    let mut stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    let mut ctx = cli::Ctx {
        stdin: &mut stdin,
        stdout: &mut stdout,
        stderr: &mut stderr,
        env: &env,
        cwd,
    };
    cli::run(&program, rest, &mut ctx)
}

/// For the job runner: the values `circleci env mask` appended to `task_dir`'s [`MASK_FILE`]
/// since byte `offset`, and the offset to pass next time. Only complete lines are consumed;
/// lines that are not base64 are skipped. A missing file gives nothing; a file shorter than
/// `offset` (replaced) is read from its start.
pub fn read_mask_values(task_dir: &Path, offset: u64) -> (Vec<String>, u64) {
    let Ok(mut file) = std::fs::File::open(task_dir.join(MASK_FILE)) else {
        return (Vec::new(), offset);
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = if len < offset { 0 } else { offset };
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_err() || file.read_to_end(&mut bytes).is_err() {
        return (Vec::new(), offset);
    }
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let values = bytes[..complete]
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| !line.is_empty())
        .filter_map(|line| base64::engine::general_purpose::STANDARD.decode(line).ok())
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .collect();
    (values, start + complete as u64)
}
