//! CircleCI workspaces (`persist_to_workspace` / `attach_workspace`) as layers in a folder.
//!
//! Each `persist_to_workspace` adds one layer (a tar + zstd archive) to its workflow's
//! workspace; `attach_workspace` unpacks the layers of the given upstream jobs in the order they
//! were persisted, so a later layer wins where two hold the same file.
//!
//! `paths` are Go `filepath.Match` patterns relative to the root: `*`, `?` and `[...]` never
//! cross `/`, so a pattern matches only at its own depth, and a matched directory is taken
//! whole. `.` takes the whole root. Symlinks are stored as symlinks and never descended into.
//!
//! Layout: `<dir>/<workflow_id>/<persist time ns, 20 digits>-<sha256(job) hex, 32>.tar.zst`.
//! The layer file is committed with a no-clobber rename, so a half-written layer is never seen.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use globset::{GlobBuilder, GlobMatcher};
use sha2::{Digest, Sha256};

use crate::archive::{self, ArchiveError, ArchiveLimits, PackStats, UnpackStats};

/// Why a workspace operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkspaceError {
    /// A workflow id that is not a plain name.
    #[error("workflow id {0:?} is not usable as a folder name (letters, digits, `-`, `_`, `.`)")]
    InvalidWorkflowId(String),
    /// A pattern that is absolute outside the root, climbs with `..`, or does not parse.
    #[error("persist_to_workspace path {pattern:?}: {reason}")]
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A pattern matched nothing under the root.
    #[error("persist_to_workspace path {pattern:?} matched nothing under {root:?}")]
    NoMatch {
        /// The pattern as given.
        pattern: String,
        /// The workspace root.
        root: PathBuf,
    },
    /// Packing or unpacking a layer failed.
    #[error("workspace layer {layer:?}: {source}")]
    Archive {
        /// The layer file.
        layer: PathBuf,
        /// The cause.
        #[source]
        source: ArchiveError,
    },
    /// A filesystem operation failed.
    #[error("{path:?}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> WorkspaceError + '_ {
    move |source| WorkspaceError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A layer written by [`WorkspaceStore::persist`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// The layer file.
    pub path: PathBuf,
    /// The paths (relative to the root) that were selected by the patterns.
    pub selected: Vec<PathBuf>,
    /// What was packed.
    pub stats: PackStats,
}

/// What [`WorkspaceStore::attach`] unpacked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttachStats {
    /// Layers unpacked.
    pub layers: u64,
    /// Totals over all layers.
    pub unpacked: UnpackStats,
}

/// Whether a workflow id can name its workspace folder: letters, digits, `-`, `_`, `.`, not
/// starting with `.`, at most 128 characters.
pub fn valid_workflow_id(workflow_id: &str) -> bool {
    !workflow_id.is_empty()
        && workflow_id.len() <= 128
        && !workflow_id.starts_with('.')
        && workflow_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Workspaces of all workflows, in a local folder.
#[derive(Debug, Clone)]
pub struct WorkspaceStore {
    dir: PathBuf,
    limits: ArchiveLimits,
}

impl WorkspaceStore {
    /// Opens (creating if needed) a store in `dir` with default [`ArchiveLimits`].
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, WorkspaceError> {
        Self::with_limits(dir, ArchiveLimits::default())
    }

    /// Opens (creating if needed) a store in `dir`; `limits` apply to each layer.
    pub fn with_limits(
        dir: impl Into<PathBuf>,
        limits: ArchiveLimits,
    ) -> Result<Self, WorkspaceError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        Ok(Self { dir, limits })
    }

    fn workflow_dir(&self, workflow_id: &str) -> Result<PathBuf, WorkspaceError> {
        if !valid_workflow_id(workflow_id) {
            return Err(WorkspaceError::InvalidWorkflowId(workflow_id.to_owned()));
        }
        Ok(self.dir.join(workflow_id))
    }

    /// Adds a layer for `job_name` holding what `patterns` select under `root`.
    ///
    /// Every pattern must match something, as in CircleCI.
    pub fn persist(
        &self,
        workflow_id: &str,
        job_name: &str,
        root: &Path,
        patterns: &[String],
    ) -> Result<Layer, WorkspaceError> {
        let wf_dir = self.workflow_dir(workflow_id)?;
        let mut selected = Vec::new();
        for pattern in patterns {
            let found = select(root, pattern)?;
            if found.is_empty() {
                return Err(WorkspaceError::NoMatch {
                    pattern: pattern.clone(),
                    root: root.to_path_buf(),
                });
            }
            selected.extend(found);
        }
        selected.sort();
        selected.dedup();

        fs::create_dir_all(&wf_dir).map_err(io_err(&wf_dir))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".layer-")
            .tempfile_in(&wf_dir)
            .map_err(io_err(&wf_dir))?;
        let stats =
            archive::pack(root, &selected, tmp.as_file_mut(), &self.limits).map_err(|source| {
                WorkspaceError::Archive {
                    layer: tmp.path().to_path_buf(),
                    source,
                }
            })?;
        tmp.as_file().sync_all().map_err(io_err(tmp.path()))?;

        let job = job_hash(job_name);
        let mut nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        loop {
            let path = wf_dir.join(format!("{nanos:020}-{job}.tar.zst"));
            match tmp.persist_noclobber(&path) {
                Ok(_) => {
                    return Ok(Layer {
                        path,
                        selected,
                        stats,
                    });
                }
                Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
                    tmp = e.file;
                    nanos += 1;
                }
                Err(e) => {
                    return Err(WorkspaceError::Io {
                        path,
                        source: e.error,
                    });
                }
            }
        }
    }

    /// The layers of `jobs` in `workflow_id`, in persist order.
    pub fn layers(
        &self,
        workflow_id: &str,
        jobs: &[String],
    ) -> Result<Vec<PathBuf>, WorkspaceError> {
        let wf_dir = self.workflow_dir(workflow_id)?;
        let wanted: Vec<String> = jobs.iter().map(|j| job_hash(j)).collect();
        let entries = match fs::read_dir(&wf_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(WorkspaceError::Io {
                    path: wf_dir,
                    source: e,
                });
            }
        };
        let mut layers = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_err(&wf_dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".tar.zst") else {
                continue;
            };
            let Some((seq, job)) = stem.split_once('-') else {
                continue;
            };
            if seq.len() == 20
                && seq.bytes().all(|b| b.is_ascii_digit())
                && wanted.iter().any(|w| w == job)
            {
                layers.push((seq.to_owned(), entry.path()));
            }
        }
        layers.sort();
        Ok(layers.into_iter().map(|(_, p)| p).collect())
    }

    /// Unpacks every layer of `upstream_jobs` into `at` (created if missing), oldest first.
    pub fn attach(
        &self,
        workflow_id: &str,
        upstream_jobs: &[String],
        at: &Path,
    ) -> Result<AttachStats, WorkspaceError> {
        let mut stats = AttachStats::default();
        for layer in self.layers(workflow_id, upstream_jobs)? {
            let file = fs::File::open(&layer).map_err(io_err(&layer))?;
            let s =
                archive::unpack(io::BufReader::new(file), at, &self.limits).map_err(|source| {
                    WorkspaceError::Archive {
                        layer: layer.clone(),
                        source,
                    }
                })?;
            stats.layers += 1;
            stats.unpacked.files += s.files;
            stats.unpacked.bytes += s.bytes;
            stats.unpacked.dirs += s.dirs;
            stats.unpacked.symlinks += s.symlinks;
        }
        Ok(stats)
    }

    /// Removes the whole workspace of a workflow (retention).
    pub fn remove_workflow(&self, workflow_id: &str) -> Result<(), WorkspaceError> {
        let wf_dir = self.workflow_dir(workflow_id)?;
        match fs::remove_dir_all(&wf_dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(WorkspaceError::Io {
                path: wf_dir,
                source: e,
            }),
        }
    }
}

/// The job part of a layer's file name: the first 16 bytes of `sha256(job)` in hex.
pub fn job_hash(job: &str) -> String {
    Sha256::digest(job.as_bytes())[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The paths under `root` (relative to it) that `pattern` selects, like Go's `filepath.Glob`.
pub fn select(root: &Path, pattern: &str) -> Result<Vec<PathBuf>, WorkspaceError> {
    let invalid = |reason: &str| WorkspaceError::InvalidPattern {
        pattern: pattern.to_owned(),
        reason: reason.to_owned(),
    };
    let path = Path::new(pattern);
    let rel = if path.is_absolute() {
        path.strip_prefix(root)
            .map_err(|_| invalid("absolute path outside the workspace root"))?
    } else {
        path
    };
    let mut components = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(n) => components.push(
                n.to_str()
                    .ok_or_else(|| invalid("not valid UTF-8"))?
                    .to_owned(),
            ),
            Component::CurDir => {}
            _ => return Err(invalid("`..` is not allowed")),
        }
    }
    if components.is_empty() {
        return Ok(if root.is_dir() {
            vec![PathBuf::new()]
        } else {
            Vec::new()
        });
    }

    let mut current = vec![PathBuf::new()];
    let last = components.len() - 1;
    for (i, component) in components.iter().enumerate() {
        let mut next = Vec::new();
        let matcher = if has_meta(component) {
            Some(component_matcher(component).map_err(|e| invalid(&e))?)
        } else {
            None
        };
        for dir in &current {
            let full = root.join(dir);
            // Only real directories are searched; a symlink is a leaf.
            let is_dir = fs::symlink_metadata(&full).is_ok_and(|m| m.file_type().is_dir());
            if i > 0 && !is_dir {
                continue;
            }
            match &matcher {
                None => {
                    let candidate = dir.join(unescape(component));
                    if fs::symlink_metadata(root.join(&candidate)).is_ok() {
                        next.push(candidate);
                    }
                }
                Some(m) => {
                    let Ok(entries) = fs::read_dir(&full) else {
                        continue;
                    };
                    let mut names: Vec<_> = entries
                        .filter_map(Result::ok)
                        .map(|e| e.file_name())
                        .filter(|n| m.is_match(Path::new(n)))
                        .collect();
                    names.sort();
                    next.extend(names.into_iter().map(|n| dir.join(n)));
                }
            }
        }
        if i < last {
            next.retain(|p| fs::symlink_metadata(root.join(p)).is_ok_and(|m| m.is_dir()));
        }
        current = next;
    }
    Ok(current)
}

fn has_meta(component: &str) -> bool {
    component.contains(['*', '?', '[', '\\'])
}

/// Removes Go's backslash escapes from a pattern without other meta characters.
fn unescape(component: &str) -> String {
    let mut out = String::with_capacity(component.len());
    let mut chars = component.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A globset matcher for one component of a Go `filepath.Match` pattern: Go's `[^...]` is
/// globset's `[!...]`; braces are literal in Go; `**` means the same as `*`.
fn component_matcher(component: &str) -> Result<GlobMatcher, String> {
    let mut translated = String::with_capacity(component.len() + 4);
    let mut chars = component.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                translated.push('\\');
                if let Some(n) = chars.next() {
                    translated.push(n);
                }
            }
            '[' if !in_class => {
                in_class = true;
                translated.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    translated.push('!');
                }
            }
            ']' if in_class => {
                in_class = false;
                translated.push(']');
            }
            '*' if !in_class => {
                while chars.peek() == Some(&'*') {
                    chars.next();
                }
                translated.push('*');
            }
            '{' | '}' if !in_class => {
                translated.push('\\');
                translated.push(c);
            }
            c => translated.push(c),
        }
    }
    GlobBuilder::new(&translated)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
