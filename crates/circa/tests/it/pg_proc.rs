//! A PostgreSQL of one test, which the test stops and starts again on the same port and data
//! folder (to take the database away under a running server). The cluster is made and run as
//! the store's conformance suite makes its own (`pg_cluster`, shared by path).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

#[path = "../../../circa-store/tests/conformance/pg_cluster.rs"]
mod pg_cluster;

use pg_cluster::{Cluster, free_port};

/// A PostgreSQL server process on 127.0.0.1.
pub struct Postgres {
    cluster: Cluster,
    /// Its TCP port.
    pub port: u16,
    child: Option<Child>,
}

impl Postgres {
    /// Starts one; `None` (after a note) when PostgreSQL is not installed, except with
    /// `CI_REQUIRE_PG=1`, where that fails the test.
    pub fn start() -> Option<Postgres> {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        // Not a private temp folder: the `postgres` user must reach it when tests run as root.
        let root: PathBuf =
            std::env::temp_dir().join(format!("circa-it-pg-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let cluster = match Cluster::init(&root) {
            Ok(cluster) => cluster,
            Err(why) => {
                let _ = std::fs::remove_dir_all(&root);
                assert!(
                    !std::env::var("CI_REQUIRE_PG").is_ok_and(|v| v == "1"),
                    "CI_REQUIRE_PG=1 but PostgreSQL cannot be started: {why}"
                );
                eprintln!("postgres: skipped, the test passes without running ({why})");
                return None;
            }
        };
        let mut pg = Postgres {
            cluster,
            port: free_port().expect("a free port"),
            child: None,
        };
        pg.run();
        Some(pg)
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The path of one of its programs (`pg_dump`, `pg_restore`, `psql`).
    pub fn program(&self, name: &str) -> PathBuf {
        self.cluster.bin.join(name)
    }

    fn run(&mut self) {
        let command = self.cluster.server_command(self.port);
        let log = std::fs::File::create(self.cluster.root.join("log")).expect("the log file");
        let child = Command::new(&command[0])
            .args(&command[1..])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log file"))
            .stderr(log)
            .spawn()
            .expect("postgres starts");
        self.child = Some(child);
        self.cluster.wait_until_ready().expect("postgres is ready");
    }

    /// Runs one SQL statement with `psql` in its `postgres` database.
    pub fn sql(&self, statement: &str) {
        let output = Command::new(self.cluster.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .args(["-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c", statement])
            .output()
            .expect("psql runs");
        assert!(output.status.success(), "{statement}: {output:?}");
    }

    /// Stops it as `pg_ctl stop -m fast` does (SIGINT: sessions ended, no new ones), and
    /// waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(self.cluster.data.join("postmaster.pid"));
    }

    /// Starts it again on the same port and data folder.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.cluster.root);
    }
}
