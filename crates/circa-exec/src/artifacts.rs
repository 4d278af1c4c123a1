//! `store_artifacts`: copies a file or a directory tree into an output folder.
//!
//! The artifact name shown to users is `destination` (for a file) or `destination/<relative
//! path>` (for files under a directory). Without a destination, the path itself is used,
//! made relative (CircleCI's default prefix is the path's directory, so `/tmp/out/x.log` shows
//! as `tmp/out/x.log`).
//!
//! Destinations are untrusted: `..` is refused, leading `/` and `.` components are dropped,
//! and every parent inside the output folder must be a real directory (never a symlink).
//! Symlinks in the source are skipped, so a job cannot publish files outside its own tree by
//! linking to them.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// One stored file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredArtifact {
    /// The artifact path as shown (relative, `/`-separated).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Where the copy lives in the output folder.
    pub file: PathBuf,
}

/// Why storing artifacts failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArtifactError {
    /// The source path does not exist (CircleCI reports this as a warning, not a failure).
    #[error("store_artifacts: no file or directory at {0:?}")]
    NotFound(PathBuf),
    /// The destination climbs with `..` or is empty.
    #[error("store_artifacts: destination {destination:?}: {reason}")]
    InvalidDestination {
        /// The destination as given (or derived from the path).
        destination: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A parent of the target in the output folder is not a real directory.
    #[error("store_artifacts: {path:?} in the output folder is not a real directory")]
    UnsafeParent {
        /// The offending path.
        path: PathBuf,
    },
    /// A filesystem operation failed.
    #[error("store_artifacts: {path:?}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ArtifactError + '_ {
    move |source| ArtifactError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// An output folder for one job's artifacts.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    dir: PathBuf,
}

impl ArtifactStore {
    /// Uses (creating if needed) `dir` as the output folder.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, ArtifactError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        Ok(Self { dir })
    }

    /// Copies `path` (a file, or a directory recursively) under `destination` (see the module
    /// documentation). Storing the same artifact path again replaces it.
    pub fn store(
        &self,
        path: &Path,
        destination: Option<&str>,
    ) -> Result<Vec<StoredArtifact>, ArtifactError> {
        let meta = match fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ArtifactError::NotFound(path.to_path_buf()));
            }
            Err(e) => {
                return Err(ArtifactError::Io {
                    path: path.to_path_buf(),
                    source: e,
                });
            }
        };
        let prefix = match destination {
            Some(d) => clean_destination(d)?,
            None => default_destination(path)?,
        };
        let mut stored = Vec::new();
        if meta.is_dir() {
            self.store_dir(path, &prefix, &mut stored)?;
        } else if meta.is_file() {
            stored.push(self.store_file(path, &prefix)?);
        }
        Ok(stored)
    }

    fn store_dir(
        &self,
        dir: &Path,
        prefix: &[String],
        stored: &mut Vec<StoredArtifact>,
    ) -> Result<(), ArtifactError> {
        let mut entries = fs::read_dir(dir)
            .map_err(io_err(dir))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(io_err(dir))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let ft = entry.file_type().map_err(io_err(&entry.path()))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue; // not representable as an artifact path
            };
            let mut child = prefix.to_vec();
            child.push(name);
            if ft.is_dir() {
                self.store_dir(&entry.path(), &child, stored)?;
            } else if ft.is_file() {
                stored.push(self.store_file(&entry.path(), &child)?);
            }
        }
        Ok(())
    }

    fn store_file(&self, source: &Path, parts: &[String]) -> Result<StoredArtifact, ArtifactError> {
        let Some((file_name, parents)) = parts.split_last() else {
            return Err(ArtifactError::InvalidDestination {
                destination: String::new(),
                reason: "names no file",
            });
        };
        let mut dir = self.dir.clone();
        for p in parents {
            dir.push(p);
            match fs::symlink_metadata(&dir) {
                Ok(m) if m.file_type().is_dir() => {}
                Ok(_) => return Err(ArtifactError::UnsafeParent { path: dir }),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::create_dir(&dir).map_err(io_err(&dir))?;
                }
                Err(e) => {
                    return Err(ArtifactError::Io {
                        path: dir,
                        source: e,
                    });
                }
            }
        }
        let target = dir.join(file_name);
        if fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir()) {
            return Err(ArtifactError::UnsafeParent { path: target });
        }
        let mut tmp = tempfile::Builder::new()
            .prefix(".artifact-")
            .tempfile_in(&dir)
            .map_err(io_err(&dir))?;
        let mut src = fs::File::open(source).map_err(io_err(source))?;
        let size = io::copy(&mut src, tmp.as_file_mut()).map_err(io_err(source))?;
        tmp.persist(&target).map_err(|e| ArtifactError::Io {
            path: target.clone(),
            source: e.error,
        })?;
        Ok(StoredArtifact {
            path: parts.join("/"),
            size,
            file: target,
        })
    }
}

/// Splits a destination into clean components, refusing `..` and empty results.
fn clean_destination(destination: &str) -> Result<Vec<String>, ArtifactError> {
    let invalid = |reason| ArtifactError::InvalidDestination {
        destination: destination.to_owned(),
        reason,
    };
    let mut parts = Vec::new();
    for part in destination.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => return Err(invalid("`..` is not allowed")),
            p => parts.push(p.to_owned()),
        }
    }
    if parts.is_empty() {
        return Err(invalid("is empty"));
    }
    Ok(parts)
}

/// The path itself made relative: root and `.` dropped, `..` resolved lexically (and dropped
/// where it would climb above the start).
fn default_destination(path: &Path) -> Result<Vec<String>, ArtifactError> {
    let mut parts: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => parts.push(n.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    if parts.is_empty() {
        return Err(ArtifactError::InvalidDestination {
            destination: path.display().to_string(),
            reason: "is empty; give a destination",
        });
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn file_and_directory_with_destinations() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("src");
        fs::create_dir_all(src.join("logs/sub")).unwrap();
        fs::write(src.join("logs/a.log"), "aaa").unwrap();
        fs::write(src.join("logs/sub/b.log"), "b").unwrap();
        symlink("/etc/passwd", src.join("logs/leak")).unwrap();
        let store = ArtifactStore::new(d.path().join("out")).unwrap();

        let got = store
            .store(&src.join("logs/a.log"), Some("artifact-file"))
            .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].path, "artifact-file");
        assert_eq!(got[0].size, 3);
        assert_eq!(fs::read_to_string(&got[0].file).unwrap(), "aaa");

        let got = store.store(&src.join("logs"), Some("/./reports/")).unwrap();
        let paths: Vec<_> = got.iter().map(|a| a.path.as_str()).collect();
        assert_eq!(
            paths,
            ["reports/a.log", "reports/sub/b.log"],
            "symlink skipped"
        );

        let got = store.store(&src.join("logs/sub"), None).unwrap();
        let shown = src.join("logs/sub/b.log");
        let expected = shown.to_string_lossy().trim_start_matches('/').to_owned();
        assert_eq!(got[0].path, expected);
    }

    #[test]
    fn hostile_destinations() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("f"), "x").unwrap();
        let out = d.path().join("out");
        let store = ArtifactStore::new(&out).unwrap();
        for bad in ["../escape", "a/../../escape", "", "/", "./."] {
            let err = store.store(&d.path().join("f"), Some(bad)).unwrap_err();
            assert!(
                matches!(err, ArtifactError::InvalidDestination { .. }),
                "{bad}: {err}"
            );
        }
        assert!(!d.path().join("escape").exists());
        // A symlink planted in the output folder is not written through.
        fs::create_dir(d.path().join("elsewhere")).unwrap();
        symlink(d.path().join("elsewhere"), out.join("link")).unwrap();
        let err = store
            .store(&d.path().join("f"), Some("link/f"))
            .unwrap_err();
        assert!(matches!(err, ArtifactError::UnsafeParent { .. }), "{err}");
        assert!(!d.path().join("elsewhere/f").exists());
        let err = store.store(&d.path().join("missing"), None).unwrap_err();
        assert!(matches!(err, ArtifactError::NotFound(_)), "{err}");
    }
}
