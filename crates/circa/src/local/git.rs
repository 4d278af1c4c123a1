//! What `circa local execute` learns from the git repository it runs in.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository being built.
#[derive(Debug, Clone, Default)]
pub struct RepoInfo {
    /// The work tree's top folder.
    pub root: Option<PathBuf>,
    /// `HEAD`'s commit.
    pub sha1: Option<String>,
    /// The checked-out branch, unless `HEAD` is detached.
    pub branch: Option<String>,
    /// A tag pointing at `HEAD`, if any.
    pub tag: Option<String>,
    /// The `origin` remote's URL.
    pub origin: Option<String>,
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!s.is_empty()).then_some(s)
}

impl RepoInfo {
    /// Reads the repository that contains `dir`; empty when there is none (or no git).
    pub fn discover(dir: &Path) -> RepoInfo {
        let Some(root) = git(dir, &["rev-parse", "--show-toplevel"]) else {
            return RepoInfo::default();
        };
        let root = PathBuf::from(root);
        RepoInfo {
            sha1: git(&root, &["rev-parse", "--verify", "-q", "HEAD"]),
            branch: git(&root, &["symbolic-ref", "-q", "--short", "HEAD"]),
            tag: git(&root, &["describe", "--tags", "--exact-match", "HEAD"]),
            origin: git(&root, &["remote", "get-url", "origin"]),
            root: Some(root),
        }
    }

    /// `(username, reponame)` from the origin URL (`git@host:acme/app.git`,
    /// `https://host/acme/app`), else from the folder name.
    pub fn project_names(&self) -> (String, String) {
        if let Some(url) = &self.origin {
            let trimmed = url.trim_end_matches('/').trim_end_matches(".git");
            let parts: Vec<&str> = trimmed.rsplit(['/', ':']).take(2).collect();
            if let [repo, user] = parts.as_slice() {
                return (user.to_string(), repo.to_string());
            }
        }
        let name = self
            .root
            .as_deref()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "project".to_string());
        ("local".to_string(), name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names_from_remote_urls() {
        let info = |url: &str| RepoInfo {
            origin: Some(url.to_string()),
            ..RepoInfo::default()
        };
        assert_eq!(
            info("git@github.com:acme/app.git").project_names(),
            ("acme".to_string(), "app".to_string())
        );
        assert_eq!(
            info("https://gitlab.example.com/group/app/").project_names(),
            ("group".to_string(), "app".to_string())
        );
    }
}
