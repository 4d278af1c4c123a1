//! W2-pg and W2-ha: W2 on `circa server` with PostgreSQL (one replica, one external 4-slot
//! runner), and W2 through nginx in front of three replicas on one PostgreSQL and one S3 bucket
//! (moto's, when `CIRCA_TEST_MOTO` names its `moto_server`; each replica's own folder
//! otherwise, with a note) with four 1-slot runners talking to nginx. Each job appends its id to
//! a file, so W2-ha also counts jobs that ran twice or never. Without PostgreSQL or nginx a
//! workload prints a note and is skipped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use circa_server::secrets::keys::{Key, KeyFile, Keyring};
use serde_json::json;

use super::nginx::{self, Nginx};
use super::{Api, Circa, project, repo, w2_measure};

#[path = "../../../../circa-store/tests/conformance/pg_cluster.rs"]
mod pg_cluster;

/// W2-ha's server replicas.
const REPLICAS: usize = 3;

/// W2's one job, appending its id to `record`.
fn record_config(record: &Path) -> String {
    format!(
        "version: 2.1\njobs:\n  one:\n    machine: true\n    steps:\n      - run: echo \"$CIRCLE_WORKFLOW_JOB_ID\" >> {}\nworkflows:\n  main:\n    jobs: [one]\n",
        record.display()
    )
}

/// A throwaway PostgreSQL server, stopped and removed when dropped.
struct Postgres {
    child: Child,
    root: PathBuf,
    port: u16,
}

impl Postgres {
    /// Initialises and starts one; why not, when PostgreSQL is not installed.
    fn start(name: &str) -> Result<Postgres, String> {
        // Not a private temp folder: the `postgres` user must reach it when run as root.
        let root = std::env::temp_dir().join(format!("circa-bench-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let cluster = pg_cluster::Cluster::init(&root)?;
        let port = pg_cluster::free_port()?;
        let command = cluster.server_command(port);
        let log = std::fs::File::create(root.join("log")).map_err(|e| e.to_string())?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(&command[0])
            .args(&command[1..])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("{}: {e}", command[0]))?;
        let server = Postgres { child, root, port };
        cluster.wait_until_ready()?;
        Ok(server)
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // A fast shutdown (SIGINT), as `pg_ctl stop -m fast`.
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// A `moto_server` with a bucket `circa`, killed when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    /// Starts the `moto_server` `CIRCA_TEST_MOTO` names, if it names one.
    async fn start() -> anyhow::Result<Option<Moto>> {
        let Some(exe) = std::env::var_os("CIRCA_TEST_MOTO") else {
            return Ok(None);
        };
        let port = pg_cluster::free_port().map_err(anyhow::Error::msg)?;
        let child = Command::new(&exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", exe.to_string_lossy()))?;
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !http
            .get(&moto.endpoint)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            if Instant::now() > deadline {
                bail!("moto_server did not answer in 30 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let made = http.put(format!("{}/circa", moto.endpoint)).send().await?;
        if !made.status().is_success() {
            bail!("moto_server did not make the bucket: {}", made.status());
        }
        Ok(Some(moto))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `circa runner` child process (shell executor), killed when dropped.
struct Runner {
    child: Child,
    _data: tempfile::TempDir,
}

impl Runner {
    fn start(url: &str, token: &str, slots: u32, name: &str) -> anyhow::Result<Runner> {
        let data = tempfile::tempdir()?;
        let exe = std::env::current_exe().context("finding the circa binary")?;
        let child = Command::new(exe)
            .args([
                "runner",
                "--url",
                url,
                "--token",
                token,
                "--executor",
                "shell",
            ])
            .args(["--slots", &slots.to_string(), "--name", name, "--data-dir"])
            .arg(data.path())
            .env("CIRCA_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting a runner")?;
        Ok(Runner { child, _data: data })
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A runner token of class `default`.
async fn runner_token(api: &Api) -> anyhow::Result<String> {
    let made = api
        .post(
            "/api/circa/tokens",
            json!({ "kind": "runner", "name": "bench", "resource_class": "default" }),
        )
        .await?;
    made["token"]
        .as_str()
        .map(str::to_string)
        .context("no runner token in the answer")
}

/// PostgreSQL, or a note saying why `name` is skipped.
fn postgres_or_note(name: &str) -> Option<Postgres> {
    match Postgres::start(name) {
        Ok(pg) => Some(pg),
        Err(why) => {
            println!("{name}: skipped, PostgreSQL cannot be started ({why})");
            None
        }
    }
}

/// Prints `name_ratio` (`jobs_per_sec` over the baseline's) when the baseline ran.
fn ratio(name: &str, jobs_per_sec: f64, baseline: Option<f64>) {
    if let Some(baseline) = baseline {
        println!("{name}_ratio: {:.2}", jobs_per_sec / baseline.max(0.001));
    }
}

/// W2-pg: W2 on one `circa server` with PostgreSQL and one external 4-slot runner; jobs per
/// second (`None` when skipped). `sqlite` is W2's, the baseline.
pub async fn w2_pg(
    pipelines: usize,
    concurrency: usize,
    sqlite: Option<f64>,
) -> anyhow::Result<Option<f64>> {
    let Some(pg) = postgres_or_note("w2_pg") else {
        return Ok(None);
    };
    let server = Circa::start(&["server", "--database-url", &pg.url()])?;
    let api = server.api();
    let token = runner_token(&api).await?;
    let _runner = Runner::start(&server.url, &token, 4, "bench-1")?;
    let record = tempfile::tempdir()?;
    let repo = repo(&record_config(&record.path().join("jobs")))?;
    project(&api, "gh/bench/w2", repo.path()).await?;
    let run = w2_measure("w2_pg", &api, &[&server], pipelines, concurrency).await?;
    ratio("w2_pg", run.jobs_per_sec, sqlite);
    Ok(Some(run.jobs_per_sec))
}

/// W2-ha: W2 through nginx in front of three replicas on one PostgreSQL and one S3 bucket,
/// four 1-slot runners through nginx; every job once. `postgres` is W2-pg's, the baseline.
pub async fn w2_ha(
    pipelines: usize,
    concurrency: usize,
    postgres: Option<f64>,
) -> anyhow::Result<()> {
    if !nginx::installed() {
        println!("w2_ha: skipped, {} is not installed", nginx::NGINX);
        return Ok(());
    }
    let Some(pg) = postgres_or_note("w2_ha") else {
        return Ok(());
    };
    let moto = Moto::start().await?;
    let port = pg_cluster::free_port().map_err(anyhow::Error::msg)?;
    let public_url = format!("http://127.0.0.1:{port}");
    let mut options = vec!["server".to_string(), "--database-url".into(), pg.url()];
    options.extend(["--public-url".into(), public_url]);
    match &moto {
        Some(moto) => options.extend(
            [
                "--s3-endpoint",
                &moto.endpoint,
                "--s3-bucket",
                "circa",
                "--s3-access-key-id",
                "bench",
                "--s3-secret-access-key",
                "bench",
            ]
            .map(String::from),
        ),
        None => println!(
            "w2_ha: note: blobs in each replica's folder (CIRCA_TEST_MOTO names no moto_server)"
        ),
    }
    let keys = tempfile::tempdir()?;
    let key_file = keys.path().join("secret.keys");
    KeyFile {
        path: key_file.clone(),
    }
    .save(&Keyring::single(Key::generate()))?;
    options.extend(["--secret-key-file".into(), key_file.display().to_string()]);
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    // The replicas share the machine's cores as they would share a node's under a CPU
    // limit each (a runtime sizes itself to the cores it may use): W2-pg's one server has
    // them all.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = (cores / REPLICAS).max(1);
    println!("w2_ha_worker_threads_per_replica: {threads}");
    // The first replica makes the tables; the others start on them.
    let mut replicas = Vec::new();
    for _ in 0..REPLICAS {
        let listen = format!(
            "127.0.0.1:{}",
            pg_cluster::free_port().map_err(anyhow::Error::msg)?
        );
        replicas.push(Circa::start_at(&options, &listen, Some(threads))?);
    }
    let upstream: Vec<String> = replicas
        .iter()
        .map(|r| r.url.trim_start_matches("http://").to_string())
        .collect();
    let proxy_dir = tempfile::tempdir()?;
    let proxy = Nginx::start(proxy_dir.path(), port, &upstream).context("starting nginx")?;
    let mut api = replicas[0].api();
    api.url = proxy.url.clone();
    let token = runner_token(&api).await?;
    let _runners = (1..=4)
        .map(|i| Runner::start(&proxy.url, &token, 1, &format!("bench-{i}")))
        .collect::<anyhow::Result<Vec<Runner>>>()?;
    let record = tempfile::tempdir()?;
    let record_file = record.path().join("jobs");
    let repo = repo(&record_config(&record_file))?;
    project(&api, "gh/bench/w2", repo.path()).await?;
    let servers: Vec<&Circa> = replicas.iter().collect();
    let run = w2_measure("w2_ha", &api, &servers, pipelines, concurrency)
        .await
        .with_context(|| format!("nginx's log: {}", proxy.error_log().display()))?;
    ratio("w2_ha", run.jobs_per_sec, postgres);
    // Each replica's warm-up pipeline ran a job too.
    exactly_once("w2_ha", &record_file, pipelines + REPLICAS)
}

/// Prints how many job ids `record` holds, how many twice, how many short of `jobs`; an error
/// when any job ran twice or never.
fn exactly_once(name: &str, record: &Path, jobs: usize) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(record).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let distinct: std::collections::HashSet<&str> = lines.iter().copied().collect();
    let twice = lines.len() - distinct.len();
    let missing = jobs.saturating_sub(distinct.len());
    println!("{name}_jobs_recorded: {}", lines.len());
    println!("{name}_jobs_run_twice: {twice}");
    println!("{name}_jobs_never_run: {missing}");
    if twice > 0 || missing > 0 {
        bail!("{name}: {twice} jobs ran twice and {missing} never ran");
    }
    Ok(())
}
