//! A cluster of `circa server` replicas as production runs one: one PostgreSQL, one S3 bucket
//! (moto's), one shared secret key file, three replicas each with its own data folder, Debian's
//! nginx in front of them (round-robin, no sticky sessions, no upstream keepalive), and runners
//! that talk only to nginx.
//!
//! Without nginx, PostgreSQL or moto the cluster is not started: a note is printed and the
//! test passes, unless `CI_REQUIRE_NGINX=1`, `CI_REQUIRE_PG=1` or `CI_REQUIRE_S3=1` asks for
//! the missing one.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use circa_server::secrets::keys::{Key, KeyFile, Keyring};

use crate::pg_proc::Postgres;
use crate::server_harness::{Api, RunnerProc, ServerProc};

#[path = "../../../circa-store/tests/conformance/moto.rs"]
mod moto;

/// The nginx `circa bench server` puts in front of replicas.
#[path = "../../src/commands/bench_server/nginx.rs"]
mod nginx;

use moto::Moto;
use nginx::{NGINX, Nginx};

/// The grace period replicas get for a shutdown (the default is 50 s).
pub const GRACE_SECS: u64 = 10;

/// Whether `CI_REQUIRE_<what>=1`.
fn required(what: &str) -> bool {
    std::env::var(format!("CI_REQUIRE_{what}")).is_ok_and(|v| v == "1")
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The moto_server executable `CIRCA_TEST_MOTO` names; `None` after a note when unset.
fn moto_executable() -> Option<PathBuf> {
    match std::env::var_os("CIRCA_TEST_MOTO") {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            assert!(
                !required("S3"),
                "CI_REQUIRE_S3=1 but CIRCA_TEST_MOTO does not name a moto_server"
            );
            eprintln!("cluster: skipped, the test passes without running (no CIRCA_TEST_MOTO)");
            None
        }
    }
}

/// Whether nginx is installed; a note when not (a failure with `CI_REQUIRE_NGINX=1`).
fn nginx_installed() -> bool {
    let found = nginx::installed();
    if !found {
        assert!(
            !required("NGINX"),
            "CI_REQUIRE_NGINX=1 but {NGINX} is missing"
        );
        eprintln!("cluster: skipped, the test passes without running ({NGINX} is missing)");
    }
    found
}

/// The last `lines` lines of a file (empty when it cannot be read).
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// How a cluster is made.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Replicas.
    pub replicas: usize,
    /// Runners (talking to nginx).
    pub runners: usize,
    /// Slots of each runner.
    pub slots: u32,
    /// The task lease of every replica, in seconds.
    pub lease_secs: u64,
}

/// Three replicas, four runners of four slots, a lease of five seconds (a claim whose answer
/// was lost with a replica is claimable again soon).
pub const THREE_REPLICAS: Shape = Shape {
    replicas: 3,
    runners: 4,
    slots: 4,
    lease_secs: 5,
};

/// A running cluster; every process stops when it is dropped.
pub struct Cluster {
    /// Stopped first: runners retrying against a cluster that is going away only make noise.
    runners: Vec<RunnerProc>,
    /// The replicas, in the order of nginx's upstream.
    pub replicas: Vec<ServerProc>,
    /// Each replica's open metrics listener (`host:port`).
    pub metrics: Vec<String>,
    /// nginx.
    pub nginx: Nginx,
    /// nginx's port and its upstream's replicas (`host:port`), to write its configuration again.
    nginx_port: u16,
    upstream: Vec<String>,
    /// The admin's client, through nginx.
    pub api: Api,
    /// The cluster's folder (data folders, logs, key file).
    pub dir: tempfile::TempDir,
    _moto: Moto,
    _pg: Postgres,
}

impl Cluster {
    /// Starts PostgreSQL, moto, the replicas (all at once, on a fresh database), nginx and the
    /// runners; `None` after a note when a part is not installed (see the module's doc).
    pub async fn start(shape: Shape) -> Option<Cluster> {
        if !nginx_installed() {
            return None;
        }
        let moto_exe = moto_executable()?;
        let pg = Postgres::start()?;
        let moto = Moto::start(&moto_exe);
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("secret.keys");
        KeyFile {
            path: key_file.clone(),
        }
        .save(&Keyring::single(Key::generate()))
        .unwrap();
        let nginx_port = free_port();
        let public_url = format!("http://127.0.0.1:{nginx_port}");
        let metrics: Vec<String> = (0..shape.replicas)
            .map(|_| format!("127.0.0.1:{}", free_port()))
            .collect();
        let common = ReplicaOptions {
            database_url: pg.url(),
            s3_endpoint: format!("http://127.0.0.1:{}", moto.port),
            key_file,
            public_url,
            lease_secs: shape.lease_secs,
        };
        let t0 = Instant::now();
        let replicas = tokio::task::block_in_place(|| {
            std::thread::scope(|scope| {
                let started: Vec<_> = metrics
                    .iter()
                    .enumerate()
                    .map(|(i, listen)| {
                        let common = &common;
                        let root = dir.path();
                        scope.spawn(move || common.start(root, i, listen))
                    })
                    .collect();
                started
                    .into_iter()
                    .enumerate()
                    .map(|(i, s)| {
                        s.join().unwrap_or_else(|_| {
                            let log = dir.path().join(format!("replica-{i}.log"));
                            panic!(
                                "replica {} did not start together with the others; its log:\n{}",
                                i + 1,
                                tail(&log, 30)
                            )
                        })
                    })
                    .collect::<Vec<ServerProc>>()
            })
        });
        eprintln!(
            "cluster: {} replicas started together in {:.1} s",
            replicas.len(),
            t0.elapsed().as_secs_f64()
        );
        let upstream: Vec<String> = replicas
            .iter()
            .map(|r| r.url.trim_start_matches("http://").to_string())
            .collect();
        let nginx =
            Nginx::start(&dir.path().join("nginx"), nginx_port, &upstream).expect("nginx starts");
        let api = replicas[0].client().at(&nginx.url);
        let token = api.runner_token("default").await;
        let runners = (0..shape.runners)
            .map(|i| {
                let data = dir.path().join(format!("runner-{i}"));
                let log = dir.path().join(format!("runner-{i}.log"));
                RunnerProc::start_logged(&nginx.url, &token, &data, shape.slots, &[], Some(&log))
            })
            .collect();
        Some(Cluster {
            nginx_port,
            upstream,
            replicas,
            metrics,
            runners,
            nginx,
            api,
            dir,
            _moto: moto,
            _pg: pg,
        })
    }

    /// The admin's client straight to replica `i` (past nginx).
    pub fn direct(&self, i: usize) -> Api {
        self.api.at(&self.replicas[i].url)
    }

    /// Takes replica `down` out of nginx's upstream (or, with `None`, puts every replica back)
    /// and reloads nginx, as an operator does before restarting a replica behind a proxy that
    /// does not read `/readyz`: new requests go to the others, those in flight finish.
    pub fn set_down(&self, down: Option<usize>) {
        let prefix = self.dir.path().join("nginx");
        let conf = nginx::config_with_down(&prefix, self.nginx_port, &self.upstream, down);
        std::fs::write(prefix.join("nginx.conf"), conf).unwrap();
        let pid = std::fs::read_to_string(prefix.join("nginx.pid")).unwrap();
        let reloaded = Command::new("kill")
            .args(["-HUP", pid.trim()])
            .status()
            .unwrap();
        assert!(reloaded.success(), "nginx reloads");
        // New workers start with the new upstream; the old ones take no new connection.
        std::thread::sleep(Duration::from_millis(500));
    }

    /// Stops replica `i` as a service manager does (SIGTERM, then waiting for it to exit
    /// within its grace period), and starts it again on the same port and data folder;
    /// whether it exited in time.
    pub fn restart_replica(&mut self, i: usize) -> bool {
        let replica = &mut self.replicas[i];
        let exited = replica.terminate(Duration::from_secs(GRACE_SECS + 5));
        replica.restart();
        exited
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for i in 0..self.replicas.len() {
                let log = self.dir.path().join(format!("replica-{i}.log"));
                eprintln!(
                    "--- replica {}'s log, last lines:\n{}",
                    i + 1,
                    tail(&log, 20)
                );
            }
            for i in 0..self.runners.len() {
                let log = self.dir.path().join(format!("runner-{i}.log"));
                eprintln!(
                    "--- runner {}'s log, last lines:\n{}",
                    i + 1,
                    tail(&log, 10)
                );
            }
            let log = self.nginx.error_log();
            eprintln!("--- nginx's error log, last lines:\n{}", tail(&log, 20));
        }
    }
}

/// What every replica is given.
struct ReplicaOptions {
    database_url: String,
    s3_endpoint: String,
    key_file: PathBuf,
    public_url: String,
    lease_secs: u64,
}

impl ReplicaOptions {
    /// Starts replica `i` (its data folder and log under `root`), metrics open on `metrics`.
    fn start(&self, root: &Path, i: usize, metrics: &str) -> ServerProc {
        let data = root.join(format!("replica-{i}"));
        std::fs::create_dir_all(&data).unwrap();
        let grace = GRACE_SECS.to_string();
        let options = [
            "--database-url",
            &self.database_url,
            "--s3-endpoint",
            &self.s3_endpoint,
            "--s3-bucket",
            "circa",
            "--s3-access-key-id",
            "test",
            "--s3-secret-access-key",
            "test",
            "--secret-key-file",
            self.key_file.to_str().unwrap(),
            "--public-url",
            &self.public_url,
            "--metrics-listen",
            metrics,
            "--shutdown-grace-secs",
            &grace,
        ];
        let log = root.join(format!("replica-{i}.log"));
        let listen = format!("127.0.0.1:{}", free_port());
        ServerProc::start_at(&listen, &data, self.lease_secs, &[], &options, Some(&log))
    }
}
