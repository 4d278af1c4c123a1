//! Git mirrors: one bare mirror per project, fetched on each trigger, read at a commit.
//!
//! The `git` command does the work (a mirror fetch, `rev-parse`, `cat-file`): one process per
//! trigger, while configs are cached by commit in the store.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

use crate::state::Locks;

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

/// The mirrors of every project, under one folder.
#[derive(Debug)]
pub struct Mirrors {
    dir: PathBuf,
    locks: Locks,
    /// When each project's last successful fetch started.
    fetched: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
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

async fn git(dir: Option<&Path>, args: &[&str], action: &str) -> Result<Vec<u8>, VcsError> {
    let mut cmd = Command::new("git");
    if let Some(dir) = dir {
        cmd.arg("-C").arg(dir);
    }
    let out = cmd
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(VcsError::Spawn)?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(VcsError::Git {
            action: action.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

impl Mirrors {
    /// Mirrors kept in `dir`.
    pub fn new(dir: PathBuf) -> Self {
        Mirrors {
            dir,
            locks: Locks::default(),
            fetched: Default::default(),
        }
    }

    fn path(&self, project_id: &str) -> PathBuf {
        self.dir.join(format!("{project_id}.git"))
    }

    /// Brings a project's mirror up to date with `repo_url` (cloning it the first time).
    ///
    /// Callers arriving while a fetch runs wait for the next one; a fetch that started after a
    /// caller arrived serves it too, so a burst of triggers costs one or two fetches.
    pub async fn fetch(&self, project_id: &str, repo_url: &str) -> Result<PathBuf, VcsError> {
        let arrived = std::time::Instant::now();
        let lock = self.locks.get(project_id);
        let _held = lock.lock().await;
        let path = self.path(project_id);
        let fresh = self
            .fetched
            .lock()
            .map(|f| f.get(project_id).is_some_and(|started| *started >= arrived))
            .unwrap_or(false);
        if fresh && path.join("HEAD").exists() {
            return Ok(path);
        }
        let started = std::time::Instant::now();
        if path.join("HEAD").exists() {
            git(
                Some(&path),
                &["fetch", "--prune", "--quiet", "origin"],
                "fetch",
            )
            .await?;
        } else {
            tokio::fs::create_dir_all(&self.dir)
                .await
                .map_err(VcsError::Spawn)?;
            let tmp = self.dir.join(format!("{project_id}.git.tmp"));
            let _ = tokio::fs::remove_dir_all(&tmp).await;
            let tmp_str = tmp.to_string_lossy().into_owned();
            git(
                None,
                &["clone", "--mirror", "--quiet", "--", repo_url, &tmp_str],
                "clone",
            )
            .await?;
            tokio::fs::rename(&tmp, &path)
                .await
                .map_err(VcsError::Spawn)?;
        }
        if let Ok(mut fetched) = self.fetched.lock() {
            fetched.insert(project_id.to_string(), started);
        }
        Ok(path)
    }

    /// The commit a branch or tag points at in a project's mirror.
    pub async fn resolve(
        &self,
        project_id: &str,
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
        self.commit(project_id, &full)
            .await
            .map_err(|_| VcsError::UnknownRef(name.to_string()))
    }

    /// A commit's full id and subject, in one `git log`.
    async fn commit(
        &self,
        project_id: &str,
        spec: &str,
    ) -> Result<(String, Option<String>), VcsError> {
        let out = git(
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
        Ok((sha, subject))
    }

    /// The full id and subject of a commit given by a prefix (some forges send abbreviated
    /// ids).
    pub async fn full_sha(
        &self,
        project_id: &str,
        sha: &str,
    ) -> Result<(String, Option<String>), VcsError> {
        if !valid_sha(sha) {
            return Err(VcsError::InvalidRef(sha.to_string()));
        }
        self.commit(project_id, &format!("{sha}^{{commit}}"))
            .await
            .map_err(|_| VcsError::UnknownRef(sha.to_string()))
    }

    /// Whether the mirror has a commit.
    pub async fn has_commit(&self, project_id: &str, sha: &str) -> bool {
        if !valid_sha(sha) {
            return false;
        }
        let spec = format!("{sha}^{{commit}}");
        git(
            Some(&self.path(project_id)),
            &["cat-file", "-e", &spec],
            "cat-file",
        )
        .await
        .is_ok()
    }

    /// `.circleci/config.yml` at a commit.
    pub async fn config_at(&self, project_id: &str, sha: &str) -> Result<ConfigAt, VcsError> {
        if !valid_sha(sha) {
            return Err(VcsError::InvalidRef(sha.to_string()));
        }
        let path = self.path(project_id);
        let spec = format!("{sha}:{CONFIG_PATH}");
        let Ok(size) = git(Some(&path), &["cat-file", "-s", &spec], "cat-file").await else {
            return Ok(ConfigAt::Missing);
        };
        let size: u64 = String::from_utf8_lossy(&size).trim().parse().unwrap_or(0);
        if size > MAX_CONFIG_BYTES {
            return Err(VcsError::TooLarge {
                sha: sha.to_string(),
                size,
            });
        }
        let text = git(Some(&path), &["cat-file", "blob", &spec], "cat-file").await?;
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
