//! Credentials for one `git` fetch of a private repository, on disk only while it runs.
//!
//! A [`GitAuth`] is a private folder (0700) holding what the fetch needs, each file 0600: the
//! checkout key, the `known_hosts` lines SSH checks the server against, and for HTTPS the
//! user and token that a tiny `GIT_ASKPASS` script prints. Git receives only paths, through
//! its environment ([`GitAuth::env`]): no private value is ever in a URL or in any process's
//! argument list. The folder is removed when the [`GitAuth`] is dropped.
//!
//! Host keys are never accepted blindly: `StrictHostKeyChecking=yes` with the recorded lines,
//! or `accept-new` (the server's first fetch of a project, which records what it saw) —
//! never `no`. [`classify`] tells from git's complaint why a fetch was refused.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use circa_model::protocol::GitAccess;

/// How SSH treats a server's host key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKeys {
    /// Only the recorded lines are accepted (`StrictHostKeyChecking=yes`).
    Strict,
    /// A host with no recorded key is accepted and written to the file; a host whose
    /// recorded key differs is refused (`StrictHostKeyChecking=accept-new`).
    AcceptNew,
}

impl HostKeys {
    fn option(self) -> &'static str {
        match self {
            HostKeys::Strict => "yes",
            HostKeys::AcceptNew => "accept-new",
        }
    }
}

/// The user name given with a token when the project names none (GitHub's; GitLab and Gitea
/// take any name with a token as the password).
pub const DEFAULT_HTTPS_USER: &str = "x-access-token";

/// One fetch's credentials on disk; removed when dropped.
#[derive(Debug)]
pub struct GitAuth {
    dir: tempfile::TempDir,
    known_hosts: PathBuf,
    env: Vec<(&'static str, OsString)>,
}

impl GitAuth {
    /// Writes `access` into a new private folder under `parent` (the system's temporary
    /// folder when `None`).
    pub fn prepare(
        parent: Option<&Path>,
        access: &GitAccess,
        host_keys: HostKeys,
    ) -> std::io::Result<GitAuth> {
        let mut builder = tempfile::Builder::new();
        builder
            .prefix("circa-git-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
        let dir = match parent {
            Some(parent) => {
                std::fs::create_dir_all(parent)?;
                builder.tempdir_in(parent)?
            }
            None => builder.tempdir()?,
        };
        let known_hosts = dir.path().join("known_hosts");
        let mut lines = access.known_hosts.join("\n");
        if !lines.is_empty() {
            lines.push('\n');
        }
        write_private(&known_hosts, &lines, 0o600)?;
        let key = match &access.ssh_private_key {
            Some(pem) => {
                let path = dir.path().join("id");
                let mut pem = pem.clone();
                if !pem.ends_with('\n') {
                    pem.push('\n');
                }
                write_private(&path, &pem, 0o600)?;
                Some(path)
            }
            None => None,
        };
        let mut env = vec![
            ("GIT_TERMINAL_PROMPT", OsString::from("0")),
            (
                "GIT_SSH_COMMAND",
                OsString::from(ssh_command(key.as_deref(), &known_hosts, host_keys)),
            ),
        ];
        if let Some(token) = &access.https_token {
            let user = access.https_user.as_deref().unwrap_or(DEFAULT_HTTPS_USER);
            let askpass = askpass(dir.path(), user, token)?;
            env.extend([
                ("GIT_ASKPASS", askpass.into_os_string()),
                // A credential helper configured on this host must neither answer for the
                // project nor keep its token.
                ("GIT_CONFIG_COUNT", OsString::from("1")),
                ("GIT_CONFIG_KEY_0", OsString::from("credential.helper")),
                ("GIT_CONFIG_VALUE_0", OsString::new()),
            ]);
        }
        Ok(GitAuth {
            dir,
            known_hosts,
            env,
        })
    }

    /// The variables to give `git` (paths only, never a private value).
    pub fn env(&self) -> &[(&'static str, OsString)] {
        &self.env
    }

    /// The `known_hosts` lines as the file holds them now (with what `accept-new` added).
    pub fn known_hosts(&self) -> std::io::Result<Vec<String>> {
        let text = std::fs::read_to_string(&self.known_hosts)?;
        Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect())
    }

    /// The private folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Writes a new file readable only by its owner.
fn write_private(path: &Path, text: &str, mode: u32) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    file.write_all(text.as_bytes())
}

/// Writes the user and token files and the script that prints them, which `git` runs with
/// its prompt (`Username for …` or `Password for …`) as its one argument.
fn askpass(dir: &Path, user: &str, token: &str) -> std::io::Result<PathBuf> {
    let user_file = dir.join("user");
    let token_file = dir.join("token");
    write_private(&user_file, user, 0o600)?;
    write_private(&token_file, token, 0o600)?;
    let script = dir.join("askpass");
    write_private(
        &script,
        &format!(
            "#!/bin/sh\ncase \"$1\" in\n  [Uu]sername*) exec cat {} ;;\n  *) exec cat {} ;;\nesac\n",
            shell_quote(&user_file.to_string_lossy()),
            shell_quote(&token_file.to_string_lossy()),
        ),
        0o700,
    )?;
    Ok(script)
}

/// `GIT_SSH_COMMAND` (run by a shell, hence the quoting): the key alone when given, the
/// given `known_hosts` file alone, no prompt, and host keys checked as `host_keys` says.
pub fn ssh_command(key: Option<&Path>, known_hosts: &Path, host_keys: HostKeys) -> String {
    let mut command = String::from("ssh");
    if let Some(key) = key {
        command.push_str(&format!(
            " -i {} -o IdentitiesOnly=yes",
            shell_quote(&key.to_string_lossy())
        ));
    }
    command.push_str(&format!(
        " -o BatchMode=yes -o UserKnownHostsFile={} -o GlobalKnownHostsFile=/dev/null \
         -o HashKnownHosts=no -o StrictHostKeyChecking={}",
        shell_quote(&known_hosts.to_string_lossy()),
        host_keys.option()
    ));
    command
}

/// `text` as one word for a POSIX shell.
fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:,@%=".contains(&b))
    {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// Why a server or forge refused a fetch, told from what `git` printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The SSH server's host key is not the recorded one.
    HostKeyChanged,
    /// No recorded host key matches the server (strict checking).
    HostKeyUnknown,
    /// The SSH server refused the key offered.
    KeyRefused,
    /// An HTTPS remote asked for credentials and none were given.
    CredentialsNeeded,
    /// An HTTPS remote refused the credentials given.
    CredentialsRefused,
}

/// Why git's complaint `stderr` says the fetch was refused, if it says so.
pub fn classify(stderr: &str) -> Option<Refusal> {
    let has = |needle: &str| stderr.contains(needle);
    if has("HOST IDENTIFICATION HAS CHANGED") || has("Host key for ") && has("has changed") {
        Some(Refusal::HostKeyChanged)
    } else if has("Host key verification failed") {
        Some(Refusal::HostKeyUnknown)
    } else if has("Permission denied (publickey") {
        Some(Refusal::KeyRefused)
    } else if has("terminal prompts disabled") || has("could not read Username") {
        Some(Refusal::CredentialsNeeded)
    } else if has("Authentication failed for") || has("could not read Password") {
        Some(Refusal::CredentialsRefused)
    } else {
        None
    }
}

/// Whether `url` reaches its repository over SSH (`ssh://…`, `git+ssh://…` or scp-like
/// `user@host:path`).
pub fn is_ssh(url: &str) -> bool {
    if let Some((scheme, _)) = url.split_once("://") {
        return matches!(scheme, "ssh" | "git+ssh" | "ssh+git");
    }
    // scp-like: a colon before any slash, and not a local path.
    match (url.find(':'), url.find('/')) {
        (Some(colon), slash) => colon > 0 && slash.is_none_or(|s| colon < s),
        (None, _) => false,
    }
}

/// Whether `url` reaches its repository over HTTP(S).
pub fn is_http(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_ssh_command_names_the_key_and_the_project_hosts_only() {
        let cmd = ssh_command(
            Some(Path::new("/data/tmp/circa-git-x/id")),
            Path::new("/data dir/known_hosts"),
            HostKeys::Strict,
        );
        assert_eq!(
            cmd,
            "ssh -i /data/tmp/circa-git-x/id -o IdentitiesOnly=yes -o BatchMode=yes \
             -o UserKnownHostsFile='/data dir/known_hosts' -o GlobalKnownHostsFile=/dev/null \
             -o HashKnownHosts=no -o StrictHostKeyChecking=yes"
        );
        let first = ssh_command(None, Path::new("/k"), HostKeys::AcceptNew);
        assert!(
            first.ends_with("StrictHostKeyChecking=accept-new"),
            "{first}"
        );
        assert!(!first.contains("-i "), "{first}");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }

    #[test]
    fn credentials_are_private_files_named_only_by_path() {
        let parent = tempfile::tempdir().unwrap();
        let access = GitAccess {
            ssh_private_key: Some("-----BEGIN OPENSSH PRIVATE KEY-----\nabc".into()),
            known_hosts: vec!["[127.0.0.1]:22 ssh-ed25519 AAAA".into()],
            https_user: None,
            https_token: Some("tok-secret-123".into()),
        };
        let auth = GitAuth::prepare(Some(parent.path()), &access, HostKeys::Strict).unwrap();
        assert_eq!(mode(auth.path()), 0o700);
        for file in ["id", "known_hosts", "user", "token"] {
            assert_eq!(mode(&auth.path().join(file)), 0o600, "{file}");
        }
        assert_eq!(auth.known_hosts().unwrap(), access.known_hosts);
        for (_, value) in auth.env() {
            assert!(!value.to_string_lossy().contains("tok-secret-123"));
            assert!(!value.to_string_lossy().contains("PRIVATE"));
        }
        let askpass = auth
            .env()
            .iter()
            .find(|(k, _)| *k == "GIT_ASKPASS")
            .map(|(_, v)| v.clone())
            .unwrap();
        let ask = |prompt: &str| {
            let out = std::process::Command::new(&askpass)
                .arg(prompt)
                .output()
                .unwrap();
            String::from_utf8(out.stdout).unwrap()
        };
        assert_eq!(
            ask("Username for 'https://example.com': "),
            DEFAULT_HTTPS_USER
        );
        assert_eq!(
            ask("Password for 'https://x-access-token@example.com': "),
            "tok-secret-123"
        );
        let dir = auth.path().to_path_buf();
        drop(auth);
        assert!(!dir.exists(), "removed when dropped");
    }

    #[test]
    fn refusals_are_told_from_what_git_says() {
        let changed = "@@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n\
            Host key verification failed.\nfatal: Could not read from remote repository.";
        assert_eq!(classify(changed), Some(Refusal::HostKeyChanged));
        let unknown = "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested \
            strict checking.\nHost key verification failed.";
        assert_eq!(classify(unknown), Some(Refusal::HostKeyUnknown));
        let denied = "git@127.0.0.1: Permission denied (publickey).\nfatal: Could not read";
        assert_eq!(classify(denied), Some(Refusal::KeyRefused));
        let prompt = "fatal: could not read Username for 'https://h': terminal prompts disabled";
        assert_eq!(classify(prompt), Some(Refusal::CredentialsNeeded));
        let bad = "remote: Invalid username or password.\n\
            fatal: Authentication failed for 'https://h/a.git/'";
        assert_eq!(classify(bad), Some(Refusal::CredentialsRefused));
        assert_eq!(classify("fatal: repository 'x' not found"), None);
    }

    #[test]
    fn ssh_and_http_remotes_are_told_apart() {
        for ssh in [
            "ssh://git@example.com/a/b.git",
            "git@github.com:acme/app.git",
            "git+ssh://h/x",
        ] {
            assert!(is_ssh(ssh), "{ssh}");
            assert!(!is_http(ssh), "{ssh}");
        }
        for other in ["/srv/repo", "file:///srv/repo", "https://h/a.git", "./a:b"] {
            assert!(!is_ssh(other), "{other}");
        }
        assert!(is_http("HTTPS://h/a.git"));
    }
}
