//! The shell executor: steps run as processes on this host, in a folder of their own.
//!
//! The job's home is a fresh folder (`HOME` points there), so `~/project` — the default
//! working directory — is a folder under it, and nothing a job writes under `~` touches the
//! user's real home. Commands start with a clean environment: only what the job runner gives
//! plus `HOME`, `USER`, `LOGNAME` and `LANG`. Each command is its own process group; a
//! timeout or the end of the job kills the whole group, background steps included.
//!
//! stdout and stderr share one pipe, so their lines interleave exactly as they were written.

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use crate::archive::{self, ArchiveLimits};
use crate::events::Reporter;
use crate::executor::{
    CopiedOut, ExecError, ExecRequest, Executor, Running, StartRequest, Started, resolve_path,
};
use crate::{folders, workspace};

/// Output chunk size read from a command's pipe.
const CHUNK: usize = 64 * 1024;

/// The output pipe's buffer: a chatty command writes this much before it waits for the
/// runner, so its output is read in few, full chunks (Linux grows a pipe up to
/// `/proc/sys/fs/pipe-max-size`; where it cannot, the pipe keeps its size).
const PIPE_BUFFER: i32 = 1024 * 1024;

/// Runs a job node's steps on this host.
#[derive(Debug)]
pub struct ShellExecutor {
    root: PathBuf,
    keep: bool,
    groups: Arc<Mutex<Vec<Pid>>>,
    host_env: BTreeMap<String, String>,
    nice: i32,
}

impl ShellExecutor {
    /// An executor whose job folder (the job's `HOME`) is `root`, created at start. With
    /// `keep`, the folder stays after the job for inspection.
    pub fn new(root: impl Into<PathBuf>, keep: bool) -> Self {
        let mut host_env = BTreeMap::new();
        for key in ["USER", "LOGNAME", "LANG", "LC_ALL", "TERM"] {
            if let Ok(v) = std::env::var(key) {
                host_env.insert(key.to_string(), v);
            }
        }
        Self {
            root: root.into(),
            keep,
            groups: Arc::new(Mutex::new(Vec::new())),
            host_env,
            nice: 0,
        }
    }

    /// Runs the job's processes at niceness `nice` (0 to 19) rather than the caller's own:
    /// see [`crate::spawner`].
    pub fn with_nice(mut self, nice: i32) -> Self {
        self.nice = nice;
        self
    }

    /// Empties a home that a job run with `keep` left, for the next job: the home and its
    /// `project` folder stay, emptied, so the next job need not make them again (see
    /// [`crate::folders`]). A missing home is made. Blocking IO.
    pub fn reset_home(root: &Path) -> std::io::Result<()> {
        match std::fs::symlink_metadata(root) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return std::fs::create_dir(root);
            }
            Err(e) => return Err(e),
            Ok(_) => folders::ensure_real_dir(root)?,
        }
        make_removable(root);
        for entry in std::fs::read_dir(root)? {
            let entry = entry?;
            if entry.file_name() == "project" && entry.file_type()?.is_dir() {
                folders::empty_dir(&entry.path())?;
            } else {
                folders::remove_entry(&entry)?;
            }
        }
        Ok(())
    }

    fn home(&self) -> String {
        self.root.to_string_lossy().into_owned()
    }

    fn kill_all(&self) {
        let groups = match self.groups.lock() {
            Ok(mut g) => std::mem::take(&mut *g),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        };
        for pgid in groups {
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ExecError + '_ {
    move |source| ExecError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Executor for ShellExecutor {
    async fn start(
        &mut self,
        request: &StartRequest,
        _reporter: &Reporter,
    ) -> Result<Started, ExecError> {
        std::fs::create_dir_all(&self.root).map_err(io_err(&self.root))?;
        let root = self.root.canonicalize().map_err(io_err(&self.root))?;
        self.root = root;
        let home = self.home();
        let wd = resolve_path(&request.working_directory, &home, &home);
        std::fs::create_dir_all(&wd).map_err(io_err(Path::new(&wd)))?;
        let mut path = request.agent.host_bin().to_string_lossy().into_owned();
        let host_path =
            std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".to_string());
        path.push(':');
        path.push_str(&host_path);
        Ok(Started {
            home: home.clone(),
            working_directory: wd,
            task_dir: request.task_dir_host.to_string_lossy().into_owned(),
            has_bash: Path::new("/bin/bash").exists(),
            path,
            description: format!("shell: this machine, in {home}"),
        })
    }

    async fn exec(&self, request: ExecRequest) -> Result<Running, ExecError> {
        let Some((program, args)) = request.argv.split_first() else {
            return Err(ExecError::Other("an empty command".to_string()));
        };
        let spawn_err = |e: std::io::Error| ExecError::Spawn {
            program: program.clone(),
            reason: e.to_string(),
        };
        let (reader, writer) = std::io::pipe().map_err(spawn_err)?;
        let _ = nix::fcntl::fcntl(&writer, nix::fcntl::FcntlArg::F_SETPIPE_SZ(PIPE_BUFFER));
        // Read on the async threads (no thread per running step).
        let mut reader = tokio::net::unix::pipe::Receiver::from_owned_fd(OwnedFd::from(reader))
            .map_err(spawn_err)?;
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            .env_clear()
            .envs(&self.host_env)
            .env("HOME", self.home())
            .envs(&request.env)
            .current_dir(&request.workdir)
            .stdin(Stdio::null())
            .stdout(writer.try_clone().map_err(spawn_err)?)
            .stderr(writer)
            .process_group(0)
            .kill_on_drop(false);
        let mut child = crate::spawner::spawn(cmd, self.nice)
            .await
            .map_err(spawn_err)?;
        let pgid = child.id().map(|id| Pid::from_raw(id as i32));
        if let Some(pgid) = pgid
            && let Ok(mut g) = self.groups.lock()
        {
            g.push(pgid);
        }

        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(async move {
            let mut buf = vec![0u8; CHUNK];
            loop {
                match reader.read(&mut buf).await {
                    Ok(0) => break,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).await.is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        });
        let program = program.clone();
        let exit = Box::pin(async move {
            let status = child.wait().await.map_err(|e| ExecError::Spawn {
                program,
                reason: e.to_string(),
            })?;
            use std::os::unix::process::ExitStatusExt;
            Ok(match (status.code(), status.signal()) {
                (Some(code), _) => i64::from(code),
                (None, Some(sig)) => 128 + i64::from(sig),
                (None, None) => -1,
            })
        });
        let kill: Option<Box<dyn FnOnce() + Send>> = pgid.map(|pgid| {
            Box::new(move || {
                let _ = killpg(pgid, Signal::SIGKILL);
            }) as Box<dyn FnOnce() + Send>
        });
        Ok(Running {
            output: rx,
            exit,
            kill,
        })
    }

    fn host_path(&self, path: &str) -> Option<PathBuf> {
        Some(PathBuf::from(path))
    }

    async fn copy_out(
        &self,
        root: &str,
        patterns: &[String],
        dest: &Path,
    ) -> Result<CopiedOut, ExecError> {
        let root = Path::new(root);
        let mut out = CopiedOut::default();
        let mut selected = Vec::new();
        for pattern in patterns {
            let found =
                workspace::select(root, pattern).map_err(|e| ExecError::Other(e.to_string()))?;
            if found.is_empty() {
                out.missing.push(pattern.clone());
            }
            for f in found {
                out.matched.push(f.to_string_lossy().into_owned());
                selected.push(f);
            }
        }
        if !selected.is_empty() {
            archive::copy_paths(root, &selected, dest, &ArchiveLimits::default())?;
        }
        Ok(out)
    }

    async fn copy_in(&self, src: &Path, dest: &str) -> Result<(), ExecError> {
        archive::copy_dir(src, Path::new(dest), &ArchiveLimits::default())?;
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), ExecError> {
        self.kill_all();
        if !self.keep && self.root.exists() {
            make_removable(&self.root);
            std::fs::remove_dir_all(&self.root).map_err(io_err(&self.root))?;
        }
        Ok(())
    }
}

impl Drop for ShellExecutor {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// Gives the owner write permission on every folder under `root`, so a job that made a
/// folder read-only (Go's module cache does) cannot stop the cleanup.
fn make_removable(root: &Path) {
    let Ok(meta) = std::fs::symlink_metadata(root) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    let mut perms = meta.permissions();
    if perms.mode() & 0o700 != 0o700 {
        perms.set_mode(perms.mode() | 0o700);
        let _ = std::fs::set_permissions(root, perms);
    }
    if let Ok(entries) = std::fs::read_dir(root) {
        for e in entries.flatten() {
            make_removable(&e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::AgentDir;
    use crate::events::Recorder;

    fn request(dir: &Path) -> StartRequest {
        StartRequest {
            run_id: "t".into(),
            working_directory: "~/project".into(),
            needs_docker: false,
            secrets_env: BTreeMap::new(),
            agent: AgentDir::at(dir.join("agent")),
            task_dir_host: dir.join("task"),
        }
    }

    async fn collect(mut running: Running) -> (String, i64) {
        let mut out = Vec::new();
        while let Some(chunk) = running.output.recv().await {
            out.extend(chunk);
        }
        let code = running.exit.await.unwrap();
        (String::from_utf8_lossy(&out).into_owned(), code)
    }

    #[tokio::test]
    async fn runs_commands_in_the_job_home_with_a_clean_environment() {
        let dir = tempfile::tempdir().unwrap();
        let mut ex = ShellExecutor::new(dir.path().join("job"), false);
        let reporter = Reporter::new(Arc::new(Recorder::new()), "j", 0);
        let started = ex.start(&request(dir.path()), &reporter).await.unwrap();
        assert_eq!(
            started.working_directory,
            format!("{}/project", started.home)
        );
        assert!(Path::new(&started.working_directory).is_dir());
        let mut env = BTreeMap::new();
        env.insert("FOO".to_string(), "bar".to_string());
        env.insert("PATH".to_string(), started.path.clone());
        let running = ex
            .exec(ExecRequest {
                argv: vec![
                    "/bin/sh".into(),
                    "-c".into(),
                    "echo out $FOO; echo err >&2; pwd; echo $HOME; exit 7".into(),
                ],
                env,
                workdir: started.working_directory.clone(),
            })
            .await
            .unwrap();
        let (out, code) = collect(running).await;
        assert_eq!(code, 7);
        assert_eq!(
            out,
            format!(
                "out bar\nerr\n{}\n{}\n",
                started.working_directory, started.home
            )
        );
        ex.stop().await.unwrap();
        assert!(!dir.path().join("job").exists());
    }

    #[tokio::test]
    async fn kill_stops_the_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let mut ex = ShellExecutor::new(dir.path().join("job"), false);
        let reporter = Reporter::new(Arc::new(Recorder::new()), "j", 0);
        let started = ex.start(&request(dir.path()), &reporter).await.unwrap();
        let mut running = ex
            .exec(ExecRequest {
                argv: vec!["/bin/sh".into(), "-c".into(), "sleep 30 & sleep 30".into()],
                env: BTreeMap::new(),
                workdir: started.working_directory.clone(),
            })
            .await
            .unwrap();
        (running.kill.take().unwrap())();
        let (_, code) = collect(running).await;
        assert_eq!(code, 128 + 9);
        ex.stop().await.unwrap();
    }

    #[tokio::test]
    async fn copies_out_and_in_by_pattern() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/f.txt"), "x").unwrap();
        std::fs::write(root.join("top.log"), "y").unwrap();
        let ex = ShellExecutor::new(dir.path().join("job"), false);
        let out = dir.path().join("out");
        let copied = ex
            .copy_out(
                root.to_str().unwrap(),
                &["a".to_string(), "*.log".to_string(), "missing".to_string()],
                &out,
            )
            .await
            .unwrap();
        assert_eq!(copied.matched, vec!["a", "top.log"]);
        assert_eq!(copied.missing, vec!["missing"]);
        assert_eq!(std::fs::read_to_string(out.join("a/b/f.txt")).unwrap(), "x");
        let back = dir.path().join("back");
        ex.copy_in(&out, back.to_str().unwrap()).await.unwrap();
        assert_eq!(std::fs::read_to_string(back.join("top.log")).unwrap(), "y");
    }
}
