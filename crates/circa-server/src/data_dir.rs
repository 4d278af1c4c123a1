//! The data folder: made readable by its owner only, and held by one server at a time through
//! an exclusive lock on `DATA/circa.lock`, released when the server's process ends.

use std::fs::File;
use std::path::{Path, PathBuf};

/// The lock file in the data folder.
pub const LOCK_FILE: &str = "circa.lock";

/// Why the data folder cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// Another server holds it.
    #[error(
        "the data folder {} is in use by another Circa server; stop that one, or give this one \
         another --data-dir",
        .0.display()
    )]
    InUse(PathBuf),
    /// A file or folder could not be made or opened.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// The held lock on a data folder; dropping it lets another server use the folder.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Makes `dir` and the folders above it that are missing, mode 0700.
pub fn create_private(dir: &Path) -> Result<(), DataDirError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| DataDirError::Io {
            what: "creating",
            path: dir.to_path_buf(),
            source,
        })
}

/// Takes the data folder's lock without waiting; [`DataDirError::InUse`] when another
/// process holds it.
pub fn lock(dir: &Path) -> Result<DataDirLock, DataDirError> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|source| DataDirError::Io {
            what: "opening",
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(DataDirLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(DataDirError::InUse(dir.to_path_buf())),
        Err(std::fs::TryLockError::Error(source)) => Err(DataDirError::Io {
            what: "locking",
            path,
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_folder_is_held_by_one_lock_at_a_time() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/data");
        create_private(&dir).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&root.path().join("a")), 0o700);
        let held = lock(&dir).unwrap();
        let e = lock(&dir).unwrap_err();
        assert!(matches!(&e, DataDirError::InUse(d) if d == &dir), "{e}");
        assert!(e.to_string().contains(&dir.display().to_string()));
        drop(held);
        lock(&dir).unwrap();
    }
}
