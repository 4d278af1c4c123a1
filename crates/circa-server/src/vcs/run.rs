//! Every `git` the server runs: without prompts, time-limited, in a process group of its own,
//! and killed with everything it started (`git-remote-http`, `ssh`, `upload-pack`) when the
//! time is up, when the server stops, or when the caller stops waiting (a dropped request).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use circa_exec::git_access::GitAuth;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

use super::VcsError;

/// Kills a process group when dropped, unless disarmed.
struct GroupKiller(Option<Pid>);

impl GroupKiller {
    fn kill(&mut self) {
        if let Some(group) = self.0.take() {
            let _ = killpg(group, Signal::SIGKILL);
        }
    }
}

impl Drop for GroupKiller {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `git [-C dir] args` for at most `timeout`: its output, or why it failed (`action`
/// names what was being done).
pub async fn run_git(
    dir: Option<&Path>,
    args: &[&str],
    action: &str,
    timeout: Duration,
) -> Result<Vec<u8>, VcsError> {
    run_git_until(dir, args, action, timeout, &CancellationToken::new()).await
}

/// [`run_git`], stopped early (and killed) when `stop` is cancelled.
pub async fn run_git_until(
    dir: Option<&Path>,
    args: &[&str],
    action: &str,
    timeout: Duration,
    stop: &CancellationToken,
) -> Result<Vec<u8>, VcsError> {
    run_git_with(dir, args, action, (timeout, stop), None).await
}

/// [`run_git_until`] with a fetch's credentials in git's environment (`auth`).
pub async fn run_git_with(
    dir: Option<&Path>,
    args: &[&str],
    action: &str,
    (timeout, stop): (Duration, &CancellationToken),
    auth: Option<&GitAuth>,
) -> Result<Vec<u8>, VcsError> {
    let mut cmd = Command::new("git");
    if let Some(dir) = dir {
        cmd.arg("-C").arg(dir);
    }
    cmd.args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(auth) = auth {
        cmd.envs(auth.env().iter().map(|(k, v)| (k, v)));
    } else if std::env::var_os("GIT_SSH_COMMAND").is_none() && std::env::var_os("GIT_SSH").is_none()
    {
        cmd.env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
    }
    let mut child = cmd.spawn().map_err(VcsError::Spawn)?;
    // Declared after `child`, so dropped first: the group is killed while its leader is not
    // yet reaped, and its id cannot have been given to another process.
    let mut group = GroupKiller(
        child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(Pid::from_raw),
    );
    let finished = tokio::select! {
        finished = tokio::time::timeout(timeout, finish(&mut child)) => Some(finished),
        _ = stop.cancelled() => None,
    };
    let Some(Ok(finished)) = finished else {
        group.kill();
        let _ = child.wait().await;
        let action = action.to_string();
        return Err(match finished {
            Some(_) => VcsError::TimedOut {
                action,
                after: timeout,
            },
            None => VcsError::Stopped { action },
        });
    };
    match finished {
        Err(e) => Err(VcsError::Spawn(e)),
        Ok((status, stdout, stderr)) => {
            // Reaped: its helpers ended with it, and its id may already be another's.
            group.0 = None;
            if status.success() {
                Ok(stdout)
            } else {
                Err(VcsError::Git {
                    action: action.to_string(),
                    stderr: String::from_utf8_lossy(&stderr).trim().to_string(),
                })
            }
        }
    }
}

/// Reads a child's output to the end and waits for it.
async fn finish(
    child: &mut Child,
) -> std::io::Result<(std::process::ExitStatus, Vec<u8>, Vec<u8>)> {
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let read_out = async {
        match stdout.as_mut() {
            Some(s) => s.read_to_end(&mut out).await.map(drop),
            None => Ok(()),
        }
    };
    let read_err = async {
        match stderr.as_mut() {
            Some(s) => s.read_to_end(&mut err).await.map(drop),
            None => Ok(()),
        }
    };
    let (read_out, read_err) = tokio::join!(read_out, read_err);
    read_out?;
    read_err?;
    let status = child.wait().await?;
    Ok((status, out, err))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TCP server that takes connections and never says a word: its URL.
    fn silent_remote() -> String {
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("git://{}/acme/app.git", silent.local_addr().unwrap());
        std::thread::spawn(move || {
            let held: Vec<_> = silent.incoming().collect();
            drop(held);
        });
        url
    }

    /// The processes whose command line names `needle`.
    fn processes_naming(needle: &str) -> Vec<String> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(needle) {
                found.push(cmdline);
            }
        }
        found
    }

    /// Waits up to two seconds for no process to name `needle`.
    async fn none_left(needle: &str) -> Vec<String> {
        for _ in 0..40 {
            let left = processes_naming(needle);
            if left.is_empty() {
                return left;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        processes_naming(needle)
    }

    #[tokio::test]
    async fn a_remote_that_never_answers_times_out_and_leaves_no_git_behind() {
        let url = silent_remote();
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("m.git").to_string_lossy().into_owned();
        let started = std::time::Instant::now();
        let result = run_git(
            None,
            &["clone", "--mirror", "--quiet", "--", &url, &target],
            "clone",
            Duration::from_millis(500),
        )
        .await;
        assert!(
            matches!(&result, Err(VcsError::TimedOut { action, .. }) if action == "clone"),
            "{result:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        let port = url.trim_start_matches("git://").split('/').next().unwrap();
        assert_eq!(none_left(port).await, Vec::<String>::new());
    }

    #[tokio::test]
    async fn a_caller_that_stops_waiting_leaves_no_git_behind() {
        let url = silent_remote();
        let port = url.trim_start_matches("git://").split('/').next().unwrap();
        let probe_url = url.clone();
        let running = tokio::spawn(async move {
            run_git(
                None,
                &["ls-remote", "--", &probe_url],
                "ls-remote",
                Duration::from_secs(600),
            )
            .await
        });
        let mut seen = false;
        for _ in 0..100 {
            if !processes_naming(port).is_empty() {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(seen, "git never started");
        running.abort();
        let _ = running.await;
        assert_eq!(none_left(port).await, Vec::<String>::new());
    }

    #[tokio::test]
    async fn a_server_that_stops_kills_its_git() {
        let url = silent_remote();
        let port = url.trim_start_matches("git://").split('/').next().unwrap();
        let stop = CancellationToken::new();
        let stopper = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            stopper.cancel();
        });
        let result = run_git_until(
            None,
            &["ls-remote", "--", &url],
            "ls-remote",
            Duration::from_secs(600),
            &stop,
        )
        .await;
        assert!(
            matches!(&result, Err(VcsError::Stopped { action }) if action == "ls-remote"),
            "{result:?}"
        );
        assert_eq!(none_left(port).await, Vec::<String>::new());
    }

    #[tokio::test]
    async fn output_and_complaints_come_back() {
        let out = run_git(None, &["--version"], "version", Duration::from_secs(30))
            .await
            .unwrap();
        assert!(String::from_utf8_lossy(&out).starts_with("git version"));
        let dir = tempfile::tempdir().unwrap();
        let e = run_git(Some(dir.path()), &["log"], "log", Duration::from_secs(30))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, VcsError::Git { action, stderr } if action == "log" && stderr.contains("not a git repository")),
            "{e:?}"
        );
    }
}
