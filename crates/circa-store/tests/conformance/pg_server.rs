//! A throwaway PostgreSQL server for this test binary, started from the machine's PostgreSQL
//! binaries on first use and shared by every test.
//!
//! How it is started and stopped (the cluster itself is made and run as `pg_cluster` says):
//! - Everything lives in `$TMPDIR/circa-store-pg-<pid>/` (data, unix socket, log).
//! - The server runs under a small `sh` watchdog whose stdin is a pipe from this process. The
//!   pipe closes when the test binary ends, however it ends (normal exit, panic, kill -9);
//!   `cat` then returns and the watchdog stops the server (`SIGQUIT`, immediate shutdown) and
//!   removes the folder. Folders of test binaries that vanished without that (the whole
//!   process group killed) are removed on the next start.
//! - TCP on `127.0.0.1` and a free port.

use std::path::Path;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::OnceLock;

use crate::pg_cluster::{Cluster, free_port};

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
    remove_stale_folders();
    let root = std::env::temp_dir().join(format!("circa-store-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let cluster = Cluster::init(&root)?;
    let port = free_port()?;
    let server = cluster.server_command(port);
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
    cluster.wait_until_ready()?;
    crate::backends::note(&format!(
        "postgres: test server on 127.0.0.1:{port} in {}",
        root.display()
    ));
    Ok(PgServer {
        port,
        _lifeline: lifeline,
    })
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
