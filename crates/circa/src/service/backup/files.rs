//! Files of a backup: private folders, copies hashed as they are written, trees walked.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};

use super::manifest::FileEntry;

/// Makes `dir` (mode 0700, with missing parents) and refuses one that holds anything.
pub fn empty_private_dir(dir: &Path, what: &str) -> anyhow::Result<()> {
    if let Ok(mut entries) = std::fs::read_dir(dir) {
        anyhow::ensure!(
            entries.next().is_none(),
            "{what} {} is not empty: give a new or empty folder",
            dir.display()
        );
    }
    circa_server::data_dir::create_private(dir)?;
    Ok(())
}

/// Writes `bytes` to the new file `path`, mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = create_private(path)?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}

/// Creates (or truncates) `path` with mode 0600, and its folders with mode 0700.
fn create_private(path: &Path) -> anyhow::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent() {
        circa_server::data_dir::create_private(parent)?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))
}

/// Copies `from` to `to` (mode 0600) and describes the copy as `name`: its size and the
/// SHA-256 of the bytes written. `None` when `from` is gone (a blob deleted meanwhile).
pub fn copy_hashed(from: &Path, to: &Path, name: String) -> anyhow::Result<Option<FileEntry>> {
    let mut input = match std::fs::File::open(from) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", from.display())),
    };
    let mut output = create_private(to)?;
    let (size, sha256) = hashed_read(&mut input, from, |chunk| {
        output
            .write_all(chunk)
            .with_context(|| format!("writing {}", to.display()))
    })?;
    output
        .sync_all()
        .with_context(|| format!("writing {}", to.display()))?;
    Ok(Some(FileEntry {
        path: name,
        size,
        sha256,
    }))
}

/// Reads `input` (the file at `path`) to its end, giving each chunk to `each`; its size and
/// SHA-256.
fn hashed_read(
    input: &mut std::fs::File,
    path: &Path,
    mut each: impl FnMut(&[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0; 1 << 20];
    loop {
        let n = input
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            return Ok((size, hex::encode(hasher.finalize())));
        }
        hasher.update(&buf[..n]);
        each(&buf[..n])?;
        size += n as u64;
    }
}

/// The size and SHA-256 of the file at `path`.
pub fn hash_file(path: &Path) -> anyhow::Result<(u64, String)> {
    let mut input =
        std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    hashed_read(&mut input, path, |_| Ok(()))
}

/// Every regular file under `root`, as paths relative to it, sorted. Symbolic links are not
/// followed; names with `#` are the blob store's uploads in progress and are left out.
pub fn walk(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
        };
        for entry in entries {
            let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
            let name = entry.file_name();
            if name.to_string_lossy().contains('#') {
                continue;
            }
            let kind = entry
                .file_type()
                .with_context(|| format!("reading {}", entry.path().display()))?;
            if kind.is_dir() {
                stack.push(rel.join(&name));
            } else if kind.is_file() {
                out.push(rel.join(&name));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// `path` with `/` between its names, as the manifest names files.
pub fn slash_name(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
