//! Workspace layers on this runner: fetching the upstream jobs' layers before a task, finding
//! the ones it wrote after.
//!
//! Layers live where [`circa_exec::workspace::WorkspaceStore`] keeps them:
//! `<workspaces>/<workflow_id>/<time>-<job hash>.tar.zst`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::api::{Api, ApiError};
use crate::backoff::Backoff;

/// How long a layer download is retried.
const DOWNLOAD_PATIENCE: Duration = Duration::from_secs(120);

/// Whether `name` is a plain layer file name (no folders, no hidden files).
pub fn is_layer_name(name: &str) -> bool {
    name.ends_with(".tar.zst")
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A workflow's layer folder, or why the workflow id cannot name one.
pub fn workflow_dir(workspaces: &Path, workflow_id: &str) -> Result<PathBuf, String> {
    if circa_exec::workspace::valid_workflow_id(workflow_id) {
        Ok(workspaces.join(workflow_id))
    } else {
        Err(format!(
            "workflow id {workflow_id:?} is not usable as a folder name"
        ))
    }
}

/// The layer files in `dir` (none if it does not exist).
pub fn list(dir: &Path) -> BTreeSet<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeSet::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| is_layer_name(n))
        .collect()
}

/// The layers in `dir` that job `job_name` wrote and that were not in `before`, oldest first.
pub fn written_since(dir: &Path, before: &BTreeSet<String>, job_name: &str) -> Vec<String> {
    let suffix = format!("-{}.tar.zst", circa_exec::workspace::job_hash(job_name));
    list(dir)
        .into_iter()
        .filter(|n| n.ends_with(&suffix) && !before.contains(n))
        .collect()
}

/// Where a task's layers come from.
#[derive(Debug)]
pub struct Download<'a> {
    /// The server.
    pub api: &'a Api,
    /// The task.
    pub task_id: &'a str,
    /// The task's token.
    pub token: &'a str,
}

impl Download<'_> {
    /// Fetches each of `layers` missing from `dir` (written under a temporary name, then
    /// renamed, so a half-downloaded layer is never seen). Returns how many were fetched.
    pub async fn missing(&self, dir: &Path, layers: &[String]) -> Result<usize, String> {
        let have = list(dir);
        let mut fetched = 0;
        for layer in layers {
            if !is_layer_name(layer) {
                return Err(format!("the server named an invalid layer {layer:?}"));
            }
            if have.contains(layer) {
                continue;
            }
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let tmp = dir.join(format!(".download-{}-{layer}", uuid::Uuid::new_v4()));
            let result = self.one(layer, &tmp).await;
            let result = result.and_then(|()| {
                std::fs::rename(&tmp, dir.join(layer))
                    .map_err(|e| format!("{}: {e}", dir.join(layer).display()))
            });
            if let Err(e) = result {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
            fetched += 1;
        }
        Ok(fetched)
    }

    async fn one(&self, layer: &str, tmp: &Path) -> Result<(), String> {
        let started = Instant::now();
        let mut backoff = Backoff::default();
        loop {
            match self
                .api
                .get_layer(self.task_id, self.token, layer, tmp)
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if e.is_transient() && started.elapsed() < DOWNLOAD_PATIENCE => {
                    let delay = backoff.next_delay();
                    tracing::warn!(task = %self.task_id, "downloading workspace layer {layer}: {e}; retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                }
                Err(e) => return Err(describe(layer, &e)),
            }
        }
    }
}

fn describe(layer: &str, e: &ApiError) -> String {
    format!("cannot download workspace layer {layer}: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_names_are_plain_file_names() {
        assert!(is_layer_name(
            "00000001700000000000-0123456789abcdef0123456789abcdef.tar.zst"
        ));
        for bad in [
            "../x.tar.zst",
            "a/b.tar.zst",
            ".hidden.tar.zst",
            "x.tar",
            "a b.tar.zst",
        ] {
            assert!(!is_layer_name(bad), "{bad}");
        }
    }

    #[test]
    fn workflow_ids_must_be_folder_names() {
        let root = Path::new("/w");
        assert_eq!(workflow_dir(root, "wf-1").unwrap(), Path::new("/w/wf-1"));
        assert!(workflow_dir(root, "../x").is_err());
        assert!(workflow_dir(root, "").is_err());
    }

    #[test]
    fn new_layers_are_the_jobs_own_and_not_seen_before() {
        let dir = tempfile::tempdir().unwrap();
        let hash = circa_exec::workspace::job_hash("build");
        let other = circa_exec::workspace::job_hash("test");
        let old = format!("00000000000000000001-{hash}.tar.zst");
        std::fs::write(dir.path().join(&old), b"").unwrap();
        let before = list(dir.path());
        let mine = format!("00000000000000000002-{hash}.tar.zst");
        for name in [
            mine.clone(),
            format!("00000000000000000003-{other}.tar.zst"),
            format!(".layer-tmp-{hash}.tar.zst"),
        ] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        assert_eq!(written_since(dir.path(), &before, "build"), vec![mine]);
    }
}
