//! Git mirrors: one bare mirror per project, brought up to date on each trigger, read at a
//! commit.
//!
//! The `git` command does the work (a mirror fetch, `log`, `cat-file`). A trigger runs none
//! when nothing changed: the fetch is skipped when a local source's refs are as they were at
//! the last fetch (see [`source`]), what a branch or tag resolved to is kept until the next
//! fetch, a commit's subject is kept by commit, and configs are cached by commit in the store.

mod run;
mod source;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use circa_store::ProjectId;
use tokio_util::sync::CancellationToken;

use crate::state::Locks;
use circa_exec::git_access::GitAuth;
pub use run::{run_git, run_git_until, run_git_with};
use source::RefsDigest;

/// The largest config file read from a repository (the config loader's own limit is lower).
const MAX_CONFIG_BYTES: u64 = 8 * 1024 * 1024;

/// Where a project's config lives in its repository.
pub const CONFIG_PATH: &str = ".circleci/config.yml";

/// Why a git operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VcsError {
    /// `git` could not be started.
    #[error("git could not be started: {0}")]
    Spawn(std::io::Error),
    /// `git` failed.
    #[error("git {action} failed: {stderr}")]
    Git {
        /// What was being done.
        action: String,
        /// What git said.
        stderr: String,
    },
    /// `git` did not finish in time; it was killed with everything it started.
    #[error("git {action} did not finish within {after:?}")]
    TimedOut {
        /// What was being done.
        action: String,
        /// The time limit.
        after: Duration,
    },
    /// The server stopped while `git` ran; it was killed with everything it started.
    #[error("git {action} was stopped: the server is shutting down")]
    Stopped {
        /// What was being done.
        action: String,
    },
    /// A branch, tag or commit that is not in the repository.
    #[error("{0} is not in the repository")]
    UnknownRef(String),
    /// A name git would misread.
    #[error("{0:?} is not a valid branch, tag or commit name")]
    InvalidRef(String),
    /// The config file is too large.
    #[error("{CONFIG_PATH} at {sha} is {size} bytes; the limit is {MAX_CONFIG_BYTES}")]
    TooLarge {
        /// The commit.
        sha: String,
        /// Its size.
        size: u64,
    },
}

/// The most commits whose subject a project's mirror remembers.
const MAX_KNOWN_COMMITS: usize = 4096;

/// The mirrors of every project, under one folder.
#[derive(Debug)]
pub struct Mirrors {
    dir: PathBuf,
    /// The longest any one `git` may run.
    timeout: Duration,
    /// Cancelled when the server stops: a `git` still running is killed.
    stop: CancellationToken,
    locks: Locks<ProjectId>,
    /// What each project's mirror knows without running `git`.
    known: crate::registry::Registry<ProjectId, Known>,
}

/// What one mirror knows without running `git`.
#[derive(Debug, Default)]
struct Known {
    /// When the last successful fetch started.
    fetched: Option<std::time::Instant>,
    /// The source and its refs digest, read just before that fetch.
    digest: Option<(String, RefsDigest)>,
    /// One more each time the mirror's refs may have moved.
    generation: u64,
    /// What a branch or tag resolved to since the last fetch.
    refs: HashMap<String, (String, Option<String>)>,
    /// The subjects of commits in the mirror, by full id.
    commits: HashMap<String, Option<String>>,
}

/// What the config lookup found at a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigAt {
    /// The file's text.
    Found(String),
    /// The commit has no `.circleci/config.yml`.
    Missing,
}

fn valid_ref(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && !name.contains("..")
        && !name
            .chars()
            .any(|c| c.is_control() || matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\'))
}

/// Whether `sha` looks like a commit id.
pub fn valid_sha(sha: &str) -> bool {
    (4..=64).contains(&sha.len()) && sha.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Mirrors {
    /// Mirrors kept in `dir`, each `git` run given at most `timeout` and killed when `stop` is
    /// cancelled.
    pub fn new(dir: PathBuf, timeout: Duration, stop: CancellationToken) -> Self {
        Mirrors {
            dir,
            timeout,
            stop,
            locks: Locks::default(),
            known: Default::default(),
        }
    }

    /// Runs `git` within the mirrors' time limit.
    async fn git(
        &self,
        dir: Option<&Path>,
        args: &[&str],
        action: &str,
    ) -> Result<Vec<u8>, VcsError> {
        run_git_until(dir, args, action, self.timeout, &self.stop).await
    }

    /// The time limit and stop signal of every `git` run.
    fn limits(&self) -> (Duration, &CancellationToken) {
        (self.timeout, &self.stop)
    }

    /// Reads or changes what a project's mirror knows.
    fn known<T>(&self, project_id: &ProjectId, f: impl FnOnce(&mut Known) -> T) -> T {
        self.known.with_entry(project_id.clone(), f)
    }

    fn path(&self, project_id: &ProjectId) -> PathBuf {
        self.dir.join(format!("{project_id}.git"))
    }

    /// The folder a fetch's credentials are written to (inside the data folder, private).
    pub fn scratch(&self) -> PathBuf {
        self.dir.join("access")
    }

    /// Brings a project's mirror up to date with `repo_url` (cloning it the first time),
    /// git given `auth`'s credentials when there are some.
    ///
    /// Callers arriving while a fetch runs wait for the next one; a fetch that started after a
    /// caller arrived serves it too, so a burst of triggers costs one or two fetches. A local
    /// source whose refs are byte for byte as they were just before the last fetch is not
    /// fetched again.
    pub async fn fetch(
        &self,
        project_id: &ProjectId,
        repo_url: &str,
        auth: Option<&GitAuth>,
    ) -> Result<PathBuf, VcsError> {
        let arrived = std::time::Instant::now();
        let lock = self.locks.get(project_id);
        let _held = lock.lock().await;
        let path = self.path(project_id);
        let cloned = path.join("HEAD").exists();
        let (fresh, last_digest) = self.known(project_id, |k| {
            (
                k.fetched.is_some_and(|started| started >= arrived),
                k.digest.clone(),
            )
        });
        if fresh && cloned {
            return Ok(path);
        }
        let started = std::time::Instant::now();
        let digest = source::local_git_dir(repo_url)
            .and_then(|dir| source::refs_digest(&dir))
            .map(|d| (repo_url.to_string(), d));
        if cloned && digest.is_some() && digest == last_digest {
            return Ok(path);
        }
        self.known(project_id, |k| {
            k.generation += 1;
            k.refs.clear();
            k.digest = None;
        });
        if cloned {
            let args = ["fetch", "--prune", "--quiet", "origin"];
            run_git_with(Some(&path), &args, "fetch", self.limits(), auth).await?;
        } else {
            tokio::fs::create_dir_all(&self.dir)
                .await
                .map_err(VcsError::Spawn)?;
            let tmp = self.dir.join(format!("{project_id}.git.tmp"));
            let _ = tokio::fs::remove_dir_all(&tmp).await;
            let tmp_str = tmp.to_string_lossy().into_owned();
            let args = ["clone", "--mirror", "--quiet", "--", repo_url, &tmp_str];
            run_git_with(None, &args, "clone", self.limits(), auth).await?;
            tokio::fs::rename(&tmp, &path)
                .await
                .map_err(VcsError::Spawn)?;
        }
        self.known(project_id, |k| {
            k.fetched = Some(started);
            k.digest = digest;
        });
        Ok(path)
    }

    /// The commit a branch or tag points at in a project's mirror.
    pub async fn resolve(
        &self,
        project_id: &ProjectId,
        branch: Option<&str>,
        tag: Option<&str>,
    ) -> Result<(String, Option<String>), VcsError> {
        let (name, full) = match (tag, branch) {
            (Some(tag), _) => (tag, format!("refs/tags/{tag}^{{commit}}")),
            (None, Some(branch)) => (branch, format!("refs/heads/{branch}^{{commit}}")),
            (None, None) => return Err(VcsError::InvalidRef(String::new())),
        };
        if !valid_ref(name) {
            return Err(VcsError::InvalidRef(name.to_string()));
        }
        let (generation, cached) =
            self.known(project_id, |k| (k.generation, k.refs.get(&full).cloned()));
        if let Some(found) = cached {
            return Ok(found);
        }
        let found = self
            .commit(project_id, &full)
            .await
            .map_err(|_| VcsError::UnknownRef(name.to_string()))?;
        self.known(project_id, |k| {
            // Only if no fetch began meanwhile: the ref may have moved since `git log` read it.
            if k.generation == generation {
                k.refs.insert(full, found.clone());
            }
        });
        Ok(found)
    }

    /// A commit's full id and subject, in one `git log`.
    async fn commit(
        &self,
        project_id: &ProjectId,
        spec: &str,
    ) -> Result<(String, Option<String>), VcsError> {
        let out = self
            .git(
                Some(&self.path(project_id)),
                &["log", "-1", "--format=%H%n%s", spec, "--"],
                "log",
            )
            .await?;
        let text = String::from_utf8_lossy(&out);
        let mut lines = text.lines();
        let sha = lines.next().unwrap_or_default().trim().to_string();
        if !valid_sha(&sha) {
            return Err(VcsError::UnknownRef(spec.to_string()));
        }
        let subject = lines.next().map(|l| l.trim().to_string());
        self.known(project_id, |k| {
            if k.commits.len() >= MAX_KNOWN_COMMITS {
                k.commits.clear();
            }
            k.commits.insert(sha.clone(), subject.clone());
        });
        Ok((sha, subject))
    }

    /// The subject of a commit given by its full id, if the mirror is known to have it.
    fn known_commit(&self, project_id: &ProjectId, sha: &str) -> Option<(String, Option<String>)> {
        let sha = sha.to_ascii_lowercase();
        self.known(project_id, |k| k.commits.get(&sha).cloned())
            .map(|subject| (sha, subject))
    }

    /// The full id and subject of a commit given by a prefix (some forges send abbreviated
    /// ids).
    pub async fn full_sha(
        &self,
        project_id: &ProjectId,
        sha: &str,
    ) -> Result<(String, Option<String>), VcsError> {
        if !valid_sha(sha) {
            return Err(VcsError::InvalidRef(sha.to_string()));
        }
        if let Some(found) = self.known_commit(project_id, sha) {
            return Ok(found);
        }
        self.commit(project_id, &format!("{sha}^{{commit}}"))
            .await
            .map_err(|_| VcsError::UnknownRef(sha.to_string()))
    }

    /// Whether the mirror has a commit (its subject is kept for [`Mirrors::full_sha`]).
    pub async fn has_commit(&self, project_id: &ProjectId, sha: &str) -> bool {
        self.full_sha(project_id, sha).await.is_ok()
    }

    /// `.circleci/config.yml` at a commit.
    pub async fn config_at(&self, project_id: &ProjectId, sha: &str) -> Result<ConfigAt, VcsError> {
        if !valid_sha(sha) {
            return Err(VcsError::InvalidRef(sha.to_string()));
        }
        let path = self.path(project_id);
        let spec = format!("{sha}:{CONFIG_PATH}");
        let size = match self
            .git(Some(&path), &["cat-file", "-s", &spec], "cat-file")
            .await
        {
            Ok(size) => size,
            Err(VcsError::Git { .. }) => return Ok(ConfigAt::Missing),
            Err(e) => return Err(e),
        };
        let size: u64 = String::from_utf8_lossy(&size).trim().parse().unwrap_or(0);
        if size > MAX_CONFIG_BYTES {
            return Err(VcsError::TooLarge {
                sha: sha.to_string(),
                size,
            });
        }
        let text = self
            .git(Some(&path), &["cat-file", "blob", &spec], "cat-file")
            .await?;
        Ok(ConfigAt::Found(String::from_utf8_lossy(&text).into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_that_git_would_misread_are_refused() {
        assert!(valid_ref("main"));
        assert!(valid_ref("feature/x-1"));
        assert!(!valid_ref("-rf"));
        assert!(!valid_ref("a..b"));
        assert!(!valid_ref("a b"));
        assert!(valid_sha("0123abcd"));
        assert!(!valid_sha("xyz"));
    }
}
