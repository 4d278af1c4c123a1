//! What a finished task sends besides events: artifacts, test result files and the workspace
//! layers it wrote.
//!
//! Each file is retried on network errors and 5xx answers for a while. A file that still
//! cannot be sent is reported in the task's log; for a workspace layer that also fails the
//! task, since the jobs after it would miss its files.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::api::{Api, ApiError};
use crate::backoff::Backoff;
use crate::encode;
use crate::sink::TaskSink;

/// How long one upload is retried.
const UPLOAD_PATIENCE: Duration = Duration::from_secs(120);

/// One file to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The route's kind: `artifacts`, `test-results` or `workspace`.
    pub kind: &'static str,
    /// The name under that route, `/`-separated.
    pub name: String,
    /// The file on this host.
    pub file: PathBuf,
}

/// How the uploads went.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Uploaded {
    /// Files sent.
    pub sent: usize,
    /// Why a workspace layer could not be sent, if one could not.
    pub layer_failure: Option<String>,
    /// The server said the task is no longer this runner's.
    pub lost: bool,
}

/// The artifacts stored by the job (`paths` under `dir`).
pub fn artifacts(dir: &Path, paths: &[String]) -> Vec<Upload> {
    paths
        .iter()
        .map(|p| Upload {
            kind: "artifacts",
            name: p.clone(),
            file: dir.join(p),
        })
        .collect()
}

/// The test result files under `dir` (this node's folder), named by their path in it.
pub fn test_results(dir: &Path) -> Vec<Upload> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t) if t.is_file() => {
                    if let Some(name) = relative_name(dir, &path) {
                        out.push(Upload {
                            kind: "test-results",
                            name,
                            file: path,
                        });
                    }
                }
                _ => {}
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Workspace layers in `dir`.
pub fn layers(dir: &Path, names: &[String]) -> Vec<Upload> {
    names
        .iter()
        .map(|n| Upload {
            kind: "workspace",
            name: n.clone(),
            file: dir.join(n),
        })
        .collect()
}

fn relative_name(base: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(base).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

/// Sends files of one task.
#[derive(Debug)]
pub struct Uploader<'a> {
    /// The server.
    pub api: &'a Api,
    /// The task.
    pub task_id: &'a str,
    /// The task's token.
    pub token: &'a str,
    /// Where problems are reported.
    pub sink: &'a TaskSink,
}

impl Uploader<'_> {
    /// Sends `uploads` in order; stops early if the task is lost.
    pub async fn send(&self, uploads: &[Upload]) -> Uploaded {
        let mut done = Uploaded::default();
        for u in uploads {
            let Some(encoded) = encode::path(&u.name) else {
                self.sink.notice(
                    format!(
                        "not uploading {} {:?}: not a plain relative path",
                        u.kind, u.name
                    ),
                    true,
                );
                continue;
            };
            match self.one(u, &encoded).await {
                Ok(()) => done.sent += 1,
                Err(e) if matches!(e.status(), Some(401 | 403 | 404 | 410)) => {
                    tracing::warn!(task = %self.task_id, "uploading {} {}: {e}; the task is no longer this runner's", u.kind, u.name);
                    done.lost = true;
                    return done;
                }
                Err(e) => {
                    let message = format!("could not upload {} {}: {e}", singular(u.kind), u.name);
                    self.sink.notice(&message, true);
                    if u.kind == "workspace" && done.layer_failure.is_none() {
                        done.layer_failure = Some(message);
                    }
                }
            }
        }
        done
    }

    async fn one(&self, u: &Upload, encoded: &str) -> Result<(), ApiError> {
        let started = Instant::now();
        let mut backoff = Backoff::default();
        loop {
            match self
                .api
                .put_file(self.task_id, self.token, u.kind, encoded, &u.file)
                .await
            {
                Err(e) if e.is_transient() && started.elapsed() < UPLOAD_PATIENCE => {
                    let delay = backoff.next_delay();
                    tracing::warn!(task = %self.task_id, "uploading {} {}: {e}; retrying in {delay:?}", u.kind, u.name);
                    tokio::time::sleep(delay).await;
                }
                other => return other,
            }
        }
    }
}

fn singular(kind: &str) -> &str {
    match kind {
        "artifacts" => "artifact",
        "test-results" => "test result",
        "workspace" => "workspace layer",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_results_are_named_by_their_path_under_the_node_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("0000.xml"), b"<x/>").unwrap();
        std::fs::write(dir.path().join("sub/a b.xml"), b"<x/>").unwrap();
        let names: Vec<String> = test_results(dir.path())
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(names, ["0000.xml", "sub/a b.xml"]);
        assert!(test_results(&dir.path().join("missing")).is_empty());
    }

    #[test]
    fn artifacts_and_layers_point_at_their_files() {
        let a = artifacts(Path::new("/t/artifacts"), &["out/report.html".to_string()]);
        assert_eq!(a[0].file, Path::new("/t/artifacts/out/report.html"));
        assert_eq!(a[0].kind, "artifacts");
        let l = layers(Path::new("/w/wf"), &["1-x.tar.zst".to_string()]);
        assert_eq!(l[0].file, Path::new("/w/wf/1-x.tar.zst"));
        assert_eq!(l[0].kind, "workspace");
    }
}
