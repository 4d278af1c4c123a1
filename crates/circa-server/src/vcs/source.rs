//! Whether a project's repository changed since the mirror was last fetched, told without
//! running `git` when the repository is a folder on this machine.
//!
//! A fetch brings something only if one of the source's refs moved. For a local repository
//! the refs are files: `HEAD`, `packed-refs` and everything under `refs/`. Their names and
//! bytes, hashed together, are the source's *refs digest*; the mirror remembers the digest
//! read just before its last fetch, and an unchanged digest means the fetch can be skipped.
//! Nothing here parses a ref: any byte that changes only makes a fetch happen.
//!
//! Layouts this does not read (reftable, linked worktrees, symlinked refs, very many refs) and
//! remote URLs give no digest, and the mirror is fetched as before.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The most ref files read for one digest; beyond it the fetch decides.
const MAX_REF_FILES: usize = 4096;
/// The most ref bytes read for one digest.
const MAX_REF_BYTES: u64 = 16 * 1024 * 1024;

/// The hash of a local repository's refs.
pub type RefsDigest = [u8; 32];

/// The git folder of a repository given as a local path or `file://` URL, when its layout is
/// one [`refs_digest`] reads: a bare repository, or a working tree with a `.git` folder.
pub fn local_git_dir(repo_url: &str) -> Option<PathBuf> {
    let path = match repo_url.strip_prefix("file://") {
        Some(rest) => PathBuf::from(rest),
        None if repo_url.starts_with('/') => PathBuf::from(repo_url),
        None => return None,
    };
    let dot_git = path.join(".git");
    let dir = if dot_git.is_dir() { dot_git } else { path };
    let plain = dir.join("HEAD").is_file()
        && dir.join("refs").is_dir()
        && !dir.join("reftable").exists()
        && !dir.join("commondir").exists();
    plain.then_some(dir)
}

/// The digest of `git_dir`'s refs, or `None` when they cannot all be read within the limits.
pub fn refs_digest(git_dir: &Path) -> Option<RefsDigest> {
    let mut hasher = Sha256::new();
    let mut budget = Budget {
        files: MAX_REF_FILES,
        bytes: MAX_REF_BYTES,
    };
    add_file(&mut hasher, &mut budget, git_dir, Path::new("HEAD"))?;
    if git_dir.join("packed-refs").exists() {
        add_file(&mut hasher, &mut budget, git_dir, Path::new("packed-refs"))?;
    }
    add_tree(&mut hasher, &mut budget, git_dir, Path::new("refs"))?;
    Some(hasher.finalize().into())
}

/// What a digest may still read.
struct Budget {
    files: usize,
    bytes: u64,
}

/// Adds a file's name (relative to the git folder) and bytes.
fn add_file(hasher: &mut Sha256, budget: &mut Budget, root: &Path, rel: &Path) -> Option<()> {
    let path = root.join(rel);
    let meta = std::fs::symlink_metadata(&path).ok()?;
    if !meta.is_file() || meta.len() > budget.bytes || budget.files == 0 {
        return None;
    }
    let bytes = std::fs::read(&path).ok()?;
    budget.files -= 1;
    budget.bytes = budget.bytes.saturating_sub(bytes.len() as u64);
    let name = rel.to_string_lossy();
    // Lengths first, so that no two different sets of files hash the same bytes.
    hasher.update((name.len() as u64).to_le_bytes());
    hasher.update(name.as_bytes());
    hasher.update((bytes.len() as u64).to_le_bytes());
    hasher.update(&bytes);
    Some(())
}

/// Adds every file under a folder, in name order.
fn add_tree(hasher: &mut Sha256, budget: &mut Budget, root: &Path, rel: &Path) -> Option<()> {
    let mut entries: Vec<(String, std::fs::FileType)> = std::fs::read_dir(root.join(rel))
        .ok()?
        .map(|e| {
            let e = e.ok()?;
            Some((e.file_name().to_str()?.to_string(), e.file_type().ok()?))
        })
        .collect::<Option<_>>()?;
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, kind) in entries {
        let child = rel.join(&name);
        if kind.is_dir() {
            add_tree(hasher, budget, root, &child)?;
        } else if kind.is_file() {
            add_file(hasher, budget, root, &child)?;
        } else {
            return None;
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn any_ref_change_changes_the_digest() {
        let dir = tempfile::tempdir().unwrap();
        let git = dir.path().join(".git");
        write(&git.join("HEAD"), "ref: refs/heads/main\n");
        write(&git.join("refs/heads/main"), "1111\n");
        std::fs::create_dir_all(git.join("refs/tags")).unwrap();
        let url = dir.path().to_string_lossy().into_owned();
        assert_eq!(local_git_dir(&url), Some(git.clone()));
        assert_eq!(local_git_dir(&format!("file://{url}")), Some(git.clone()));
        let first = refs_digest(&git).unwrap();
        assert_eq!(refs_digest(&git), Some(first));
        write(&git.join("refs/heads/main"), "2222\n");
        let moved = refs_digest(&git).unwrap();
        assert_ne!(moved, first);
        write(&git.join("refs/tags/v1"), "2222\n");
        let tagged = refs_digest(&git).unwrap();
        assert_ne!(tagged, moved);
        write(&git.join("packed-refs"), "3333 refs/heads/old\n");
        assert_ne!(refs_digest(&git).unwrap(), tagged);
    }

    #[test]
    fn layouts_it_cannot_read_give_no_digest() {
        assert_eq!(local_git_dir("https://example.com/a.git"), None);
        assert_eq!(local_git_dir("git@example.com:a.git"), None);
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(local_git_dir(&dir.path().to_string_lossy()), None);
        let git = dir.path().join(".git");
        write(&git.join("HEAD"), "ref: refs/heads/main\n");
        std::fs::create_dir_all(git.join("refs/heads")).unwrap();
        std::fs::create_dir_all(git.join("reftable")).unwrap();
        assert_eq!(local_git_dir(&dir.path().to_string_lossy()), None);
        std::fs::remove_dir_all(git.join("reftable")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", git.join("refs/heads/link")).unwrap();
        assert_eq!(refs_digest(&git), None);
    }
}
