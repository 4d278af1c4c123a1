//! A throwaway PostgreSQL cluster from the machine's binaries: found, initialised and run
//! the same way by the store's conformance suite (`pg_server`) and by the server's fault tests
//! in the `circa` crate, which include this file by path.
//!
//! - `initdb` and `postgres` are found in `$CIRCA_TEST_PG_BIN` if set, else on `PATH` or in
//!   `/usr/lib/postgresql/<version>/bin`.
//! - PostgreSQL refuses to run as root, so as root the cluster's folder is given to the
//!   `postgres` user, `initdb` runs through `runuser -u postgres`, and the server through
//!   `setpriv` (which `exec`s it as `postgres`, so the server's pid is known).
//! - Settings favour speed over durability (`fsync=off`, no full-page writes); TCP on
//!   `127.0.0.1`; trust authentication for the `postgres` user.

#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// An initialised cluster: its binaries and folders.
pub struct Cluster {
    /// The folder with `initdb` and `postgres`.
    pub bin: PathBuf,
    /// The cluster's folder: `data/`, the unix socket, `log`.
    pub root: PathBuf,
    /// The data folder.
    pub data: PathBuf,
    as_root: bool,
}

impl Cluster {
    /// Runs `initdb` in `ROOT/data` (`root` is made, and given to `postgres` as root).
    pub fn init(root: &Path) -> Result<Cluster, String> {
        let bin = find_bin_dir().ok_or(
            "initdb and postgres not found in $CIRCA_TEST_PG_BIN, on PATH or in /usr/lib/postgresql/*/bin",
        )?;
        std::fs::create_dir_all(root).map_err(|e| format!("{}: {e}", root.display()))?;
        let as_root = is_root();
        if as_root {
            run(Command::new("chown").arg("postgres:").arg(root))?;
        }
        let data = root.join("data");
        let mut initdb = if as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(bin.join("initdb"));
            c
        } else {
            Command::new(bin.join("initdb"))
        };
        initdb.arg("-D").arg(&data).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        run(&mut initdb)?;
        Ok(Cluster {
            bin,
            root: root.to_path_buf(),
            data,
            as_root,
        })
    }

    /// The command line that runs the server on 127.0.0.1:`port` in the foreground.
    pub fn server_command(&self, port: u16) -> Vec<String> {
        let mut server: Vec<String> = Vec::new();
        if self.as_root {
            server.extend(
                [
                    "setpriv",
                    "--reuid=postgres",
                    "--regid=postgres",
                    "--init-groups",
                    "--",
                ]
                .map(String::from),
            );
        }
        server.push(self.bin.join("postgres").display().to_string());
        server.extend(["-D".into(), self.data.display().to_string()]);
        server.extend(["-p".into(), port.to_string()]);
        server.extend(["-k".into(), self.root.display().to_string()]);
        for setting in [
            "listen_addresses=127.0.0.1",
            "fsync=off",
            "synchronous_commit=off",
            "full_page_writes=off",
            "max_connections=300",
            "shared_buffers=64MB",
        ] {
            server.extend(["-c".into(), setting.into()]);
        }
        server
    }

    /// Waits for `postmaster.pid` to report `ready` (what `pg_ctl -w` waits for); the error
    /// carries `ROOT/log`.
    pub fn wait_until_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let pid_file = std::fs::read_to_string(self.data.join("postmaster.pid"));
            let status = pid_file.unwrap_or_default();
            if status.lines().nth(7).map(str::trim) == Some("ready") {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let log = std::fs::read_to_string(self.root.join("log")).unwrap_or_default();
        Err(format!("PostgreSQL did not become ready in 60 s:\n{log}"))
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{command:?}: {e}"))?;
    if !output.status.success() {
        let mut message = format!("{command:?} failed: {}\n", output.status);
        message.push_str(&String::from_utf8_lossy(&output.stderr));
        return Err(message);
    }
    Ok(())
}

/// The folder with `initdb` and `postgres`.
fn find_bin_dir() -> Option<PathBuf> {
    let has_both = |dir: &PathBuf| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(dir) = std::env::var_os("CIRCA_TEST_PG_BIN") {
        return Some(PathBuf::from(dir)).filter(has_both);
    }
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| dir.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    // Newest version first.
    debian.sort_by_key(|dir| {
        let version = dir.parent().and_then(Path::file_name);
        std::cmp::Reverse(version.and_then(|v| v.to_str()?.parse::<u32>().ok()))
    });
    on_path
        .into_iter()
        .chain(debian)
        .map(|dir| dir.canonicalize().unwrap_or(dir))
        .map(|dir| resolve_links(&dir))
        .find(has_both)
}

/// Debian links `/usr/local/bin/initdb` to the versioned folder: use the folder the link
/// points into, where `postgres` is too.
fn resolve_links(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir.join("initdb"))
        .ok()
        .and_then(|initdb| initdb.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| dir.to_path_buf())
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}
