//! A project's repository as people give it — to the API, the web UI's forms, or
//! `circa project add` —: a folder on the server's machine, or a remote git URL. One check
//! serves every way a repository is set: a folder must be a git repository now (else nothing is
//! stored); a remote URL is tried, and a failure is only a warning, since the key of a private
//! repository may be set up after the project.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use crate::error::ApiError;
use crate::vcs::{VcsError, run_git};

/// How long a remote repository is tried before the server warns and goes on.
pub const REMOTE_PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a project's repository is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoLocation {
    /// A folder on the server's machine: an absolute path, lexically normalised (no `.`, no
    /// `..`, no trailing `/`); `file_url` when it was given as a `file://` URL.
    Local {
        /// The folder.
        path: PathBuf,
        /// Whether it is stored as `file://PATH`.
        file_url: bool,
    },
    /// A URL git fetches over the network (`https://…`, `ssh://…`, `git@host:path`).
    Remote(String),
}

impl RepoLocation {
    /// Reads a repository as given; the error names the `repo` field.
    pub fn parse(given: &str) -> Result<RepoLocation, String> {
        let given = given.trim();
        if given.is_empty() || given.starts_with('-') {
            return Err("repo: a git URL or a path is required".to_string());
        }
        if let Some(rest) = given.strip_prefix("file://") {
            return local(rest, given, true);
        }
        if is_remote(given) {
            return Ok(RepoLocation::Remote(given.to_string()));
        }
        local(given, given, false)
    }

    /// The text stored with the project (what its mirror is cloned from).
    pub fn stored(&self) -> String {
        match self {
            RepoLocation::Local { path, file_url } => {
                let path = path.display();
                if *file_url {
                    format!("file://{path}")
                } else {
                    path.to_string()
                }
            }
            RepoLocation::Remote(url) => url.clone(),
        }
    }
}

/// Whether `given` is a URL with a scheme, or scp-like `[user@]host:path` as git reads it (a
/// colon before any slash).
pub fn is_remote(given: &str) -> bool {
    if given.contains("://") {
        return true;
    }
    match (given.find(':'), given.find('/')) {
        (Some(colon), Some(slash)) => colon > 0 && colon < slash,
        (Some(colon), None) => colon > 0,
        (None, _) => false,
    }
}

fn local(path: &str, given: &str, file_url: bool) -> Result<RepoLocation, String> {
    let path = Path::new(path);
    if !path.is_absolute() {
        return Err(format!(
            "repo: `{given}` is neither a git URL nor an absolute path; give the repository's \
             absolute path on the server's machine"
        ));
    }
    Ok(RepoLocation::Local {
        path: normalise(path),
        file_url,
    })
}

/// `path` without `.` components, with `..` taken away lexically, without a trailing `/`.
pub fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push(part);
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// A repository checked: the text to store, and a warning when a remote one could not be
/// fetched now.
#[derive(Debug)]
pub struct Checked {
    /// What is stored with the project.
    pub stored: String,
    /// Why the server cannot fetch a remote repository now.
    pub warning: Option<String>,
}

/// Checks a repository as given: a local one must be a git repository now (a 400 naming
/// `repo` otherwise); a remote one is tried for at most [`REMOTE_PROBE_TIMEOUT`], or
/// `git_timeout` when that is shorter.
pub async fn check(given: &str, git_timeout: Duration) -> Result<Checked, ApiError> {
    let timeout = git_timeout.min(REMOTE_PROBE_TIMEOUT);
    let location = RepoLocation::parse(given).map_err(ApiError::bad_request)?;
    let stored = location.stored();
    match &location {
        RepoLocation::Local { path, .. } => {
            if !path.exists() {
                return Err(ApiError::bad_request(format!(
                    "repo: {} does not exist on the server's machine",
                    path.display()
                )));
            }
            match probe(&stored, timeout).await {
                Probe::Answered => {}
                Probe::Refused(why) => {
                    return Err(ApiError::bad_request(format!(
                        "repo: {} is not a git repository ({why})",
                        path.display()
                    )));
                }
                Probe::NoGit(e) => return Err(no_git(&e)),
            }
            Ok(Checked {
                stored,
                warning: None,
            })
        }
        RepoLocation::Remote(url) => {
            let warning = match probe(url, timeout).await {
                Probe::Answered => None,
                Probe::Refused(why) => Some(format!(
                    "the server cannot fetch {url} now ({why}); the project is added, and its \
                     pipelines start once the server can fetch it (e.g. after its key is set up)"
                )),
                Probe::NoGit(e) => return Err(no_git(&e)),
            };
            Ok(Checked { stored, warning })
        }
    }
}

fn no_git(e: &std::io::Error) -> ApiError {
    ApiError::internal(format!(
        "git could not be started to check a repository: {e}"
    ))
}

/// What `git ls-remote` said about a repository.
enum Probe {
    /// It listed the repository's `HEAD` (or an empty repository).
    Answered,
    /// It failed or took too long: why.
    Refused(String),
    /// `git` could not be started.
    NoGit(std::io::Error),
}

/// Asks `git ls-remote` for `repo`'s `HEAD`, without prompting for credentials or host keys,
/// for at most `timeout` (the server's one time-limited way of running git).
async fn probe(repo: &str, timeout: Duration) -> Probe {
    let args = ["ls-remote", "--quiet", "--", repo, "HEAD"];
    match run_git(None, &args, "ls-remote", timeout).await {
        Ok(_) => Probe::Answered,
        Err(VcsError::Spawn(e)) => Probe::NoGit(e),
        Err(VcsError::TimedOut { after, .. }) => {
            Probe::Refused(format!("no answer within {after:?}"))
        }
        Err(VcsError::Git { stderr, .. }) => {
            Probe::Refused(format!("git: {}", first_complaint(&stderr)))
        }
        Err(other) => Probe::Refused(other.to_string()),
    }
}

/// The first line of git's complaint (`fatal: …`), without its prefix.
fn first_complaint(stderr: &str) -> &str {
    let lines = || stderr.lines().map(str::trim).filter(|l| !l.is_empty());
    let line = lines()
        .find(|l| l.starts_with("fatal:") || l.starts_with("error:"))
        .or_else(|| lines().next())
        .unwrap_or("it failed");
    line.strip_prefix("fatal:")
        .or_else(|| line.strip_prefix("error:"))
        .unwrap_or(line)
        .trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_scp_forms_are_remote() {
        for remote in [
            "https://github.com/acme/app.git",
            "ssh://git@host:22/acme/app",
            "git@github.com:acme/app.git",
            "host:app.git",
        ] {
            assert_eq!(
                RepoLocation::parse(remote),
                Ok(RepoLocation::Remote(remote.to_string())),
                "{remote}"
            );
        }
    }

    #[test]
    fn local_paths_are_absolute_and_normalised() {
        let local = |p: &str| RepoLocation::parse(p).map(|l| l.stored());
        assert_eq!(local("/srv/app/."), Ok("/srv/app".to_string()));
        assert_eq!(local("/srv/app/"), Ok("/srv/app".to_string()));
        assert_eq!(local("/srv/./x/../app"), Ok("/srv/app".to_string()));
        assert_eq!(
            local(" file:///srv/app/. "),
            Ok("file:///srv/app".to_string())
        );
        assert_eq!(local("/"), Ok("/".to_string()));
        for relative in [".", "app", "./a:b", "../app"] {
            let err = local(relative).unwrap_err();
            assert!(err.starts_with("repo: `"), "{err}");
            assert!(err.contains("absolute path"), "{err}");
        }
        assert!(local("  ").unwrap_err().contains("required"));
        assert!(local("-upload-pack=x").unwrap_err().contains("required"));
    }

    #[tokio::test]
    async fn a_remote_that_never_answers_is_given_up_on() {
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/acme/app.git", silent.local_addr().unwrap());
        // Connections are taken and held open without a word.
        std::thread::spawn(move || {
            let held: Vec<_> = silent.incoming().collect();
            drop(held);
        });
        match probe(&url, Duration::from_millis(300)).await {
            Probe::Refused(why) => assert_eq!(why, "no answer within 300ms"),
            Probe::Answered => panic!("a silent server answered"),
            Probe::NoGit(e) => panic!("git: {e}"),
        }
    }

    #[test]
    fn git_complaints_are_cut_to_their_first_line() {
        let stderr = "fatal: '/tmp' does not appear to be a git repository\nfatal: Could not read \
                      from remote repository.\n\nPlease make sure you have the correct access \
                      rights\nand the repository exists.\n";
        assert_eq!(
            first_complaint(stderr),
            "'/tmp' does not appear to be a git repository"
        );
        assert_eq!(first_complaint("warning: x\n"), "warning: x");
        assert_eq!(first_complaint(""), "it failed");
    }
}
