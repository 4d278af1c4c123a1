//! What a runner is told when it starts.

use std::path::PathBuf;
use std::time::Duration;

use circa_model::protocol::CLAIM_WAIT_MAX_MS;

/// How long a claim waits for work unless told otherwise.
pub const DEFAULT_CLAIM_WAIT: Duration = Duration::from_secs(30);

/// The niceness of job processes unless told otherwise.
pub const DEFAULT_JOB_NICE: i32 = 10;

/// Which executor runs the jobs a runner claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecutorKind {
    /// Every job runs on this host, `docker:` jobs included (like `--executor shell`).
    #[default]
    Shell,
    /// `docker:` jobs run in containers; `machine:` jobs run on this host.
    Docker,
}

/// A runner's settings.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// The server's base URL, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    /// The runner token (sent as `Authorization: Bearer` on claims).
    pub token: String,
    /// The runner's name, shown in the server's UI.
    pub name: String,
    /// Which executor runs jobs.
    pub executor: ExecutorKind,
    /// How many tasks run at once.
    pub slots: u32,
    /// Where caches, workspaces, spools and task folders live.
    pub data_dir: PathBuf,
    /// `FROM=TO` image replacements for the docker executor.
    pub image_map: Vec<(String, String)>,
    /// How long the server may hold a claim when nothing is queued (at most 60 s).
    pub claim_wait: Duration,
    /// The `circa` binary for the in-job `circleci` command; `None` for the running binary.
    pub agent_exe: Option<PathBuf>,
    /// The resource class this runner means to serve; the server refuses a token of another.
    pub resource_class: Option<String>,
    /// The niceness (0 to 19) of the shell executor's job processes: above the runner's own,
    /// so jobs that load the CPU leave the runner (and a server beside it) responsive.
    pub job_nice: i32,
}

impl RunnerConfig {
    /// A configuration with one slot, the shell executor and the default claim wait.
    pub fn new(url: impl Into<String>, token: impl Into<String>, data_dir: PathBuf) -> Self {
        RunnerConfig {
            url: url.into(),
            token: token.into(),
            name: default_name(),
            executor: ExecutorKind::Shell,
            slots: 1,
            data_dir,
            image_map: Vec::new(),
            claim_wait: DEFAULT_CLAIM_WAIT,
            agent_exe: None,
            resource_class: None,
            job_nice: DEFAULT_JOB_NICE,
        }
    }

    /// The claim wait in milliseconds, capped by the protocol's maximum.
    pub fn claim_wait_ms(&self) -> u64 {
        u64::try_from(self.claim_wait.as_millis())
            .unwrap_or(u64::MAX)
            .min(CLAIM_WAIT_MAX_MS)
    }
}

/// This host's name, or `runner` when it cannot be read.
fn default_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "runner".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_wait_is_capped() {
        let mut c = RunnerConfig::new("http://x", "t", PathBuf::from("/tmp"));
        assert_eq!(c.claim_wait_ms(), 30_000);
        c.claim_wait = Duration::from_secs(600);
        assert_eq!(c.claim_wait_ms(), 60_000);
    }
}
