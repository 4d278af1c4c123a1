//! A throwaway PostgreSQL server for this test binary, started from the machine's PostgreSQL
//! binaries on first use and shared by every test.
//!
//! How it is started and stopped:
//! - `initdb` and `postgres` are found in `$CIRCA_TEST_PG_BIN` if set, else on `PATH` or in
//!   `/usr/lib/postgresql/<version>/bin`.
//! - Everything lives in `$TMPDIR/circa-store-pg-<pid>/` (data, unix socket, log). PostgreSQL
//!   refuses to run as root, so as root that folder is given to the `postgres` user, `initdb`
//!   runs through `runuser -u postgres`, and the server through `setpriv` (which `exec`s it as
//!   `postgres`, so the server's pid is known).
//! - The server runs under a small `sh` watchdog whose stdin is a pipe from this process. The
//!   pipe closes when the test binary ends, however it ends (normal exit, panic, kill -9);
//!   `cat` then returns and the watchdog stops the server (`SIGQUIT`, immediate shutdown) and
//!   removes the folder. Folders of test binaries that vanished without that (the whole
//!   process group killed) are removed on the next start.
//! - Settings favour speed over durability (`fsync=off`, no full-page writes); TCP on
//!   `127.0.0.1` and a free port; trust authentication for the `postgres` user.

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The running server.
pub struct PgServer {
    /// Its TCP port on 127.0.0.1.
    pub port: u16,
    /// The watchdog's stdin: the server lives as long as this stays open.
    _lifeline: ChildStdin,
}

impl PgServer {
    /// The URL of a database on the server.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

static SERVER: OnceLock<Result<PgServer, String>> = OnceLock::new();

/// The shared server, started on first use; an error says why there is none.
pub fn server() -> Result<&'static PgServer, &'static str> {
    SERVER.get_or_init(start).as_ref().map_err(String::as_str)
}

fn start() -> Result<PgServer, String> {
    let bin = find_bin_dir().ok_or(
        "initdb and postgres not found in $CIRCA_TEST_PG_BIN, on PATH or in /usr/lib/postgresql/*/bin",
    )?;
    remove_stale_folders();
    let root = std::env::temp_dir().join(format!("circa-store-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    let as_root = is_root();
    if as_root {
        run(Command::new("chown").arg("postgres:").arg(&root))?;
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

    let port = free_port()?;
    let mut server: Vec<String> = Vec::new();
    if as_root {
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
    server.push(bin.join("postgres").display().to_string());
    server.extend(["-D".into(), data.display().to_string()]);
    server.extend(["-p".into(), port.to_string()]);
    server.extend(["-k".into(), root.display().to_string()]);
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
    let watchdog = r#"trap '' INT HUP
root=$1; shift
"$@" >"$root/log" 2>&1 &
pg=$!
cat >/dev/null
kill -QUIT "$pg" 2>/dev/null
wait "$pg"
rm -rf "$root""#;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(watchdog)
        .arg("sh")
        .arg(&root)
        .args(&server)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("sh: {e}"))?;
    let lifeline = child.stdin.take().ok_or("no pipe to the watchdog")?;
    wait_until_ready(&data, &root)?;
    crate::backends::note(&format!(
        "postgres: test server on 127.0.0.1:{port} in {}",
        root.display()
    ));
    Ok(PgServer {
        port,
        _lifeline: lifeline,
    })
}

/// Waits for `postmaster.pid` to report `ready` (what `pg_ctl -w` waits for).
fn wait_until_ready(data: &Path, root: &Path) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let status = std::fs::read_to_string(data.join("postmaster.pid")).unwrap_or_default();
        if status.lines().nth(7).map(str::trim) == Some("ready") {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = std::fs::read_to_string(root.join("log")).unwrap_or_default();
    Err(format!("PostgreSQL did not become ready in 60 s:\n{log}"))
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

/// Removes server folders left by test binaries that are gone.
fn remove_stale_folders() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("circa-store-pg-"))
        else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}
