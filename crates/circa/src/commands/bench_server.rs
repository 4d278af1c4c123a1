//! `circa bench server`: the server and its runners on the workloads of shared/docs/bench.md.
//!
//! - W2 dispatch: `circa up` (embedded runner, 4 slots, shell executor); N pipelines of one
//!   `run: "true"` job triggered through the API. Jobs per second end to end, trigger-to-first-
//!   step latency p50/p99, peak RSS of the `circa up` process; the floor is N × `sh -c true`.
//! - W2-forge: W2 twice in one run, commit statuses off then on (to `slow_forge`, which takes
//!   200 ms per request), each pipeline's job named after its number (a context each); jobs
//!   per second of both, and how long the outbox took to drain after the last job.
//! - W2-pg: W2 on `circa server` with PostgreSQL and one external 4-slot runner; W2-ha: W2
//!   through nginx in front of three replicas on one PostgreSQL and one S3 bucket (moto's),
//!   four 1-slot runners through nginx, every job once (`replicas`). Each against the one
//!   before it in the same run, and the peak RSS of each replica.
//! - W3 fan-out: one workflow 1 → 50 → 1, run several times (51 gaps each); median wall time
//!   minus the floor on its critical path, and the scheduling gap between a job's end (its
//!   task completed) and its dependents' start (their first step began, by the runner's
//!   clock), p50/p99/max over every run's gaps.
//! - W4 logs: one step writes 256 MiB of lines while an SSE client follows; MB/s into the
//!   store, peak RSS; the baseline is the same command writing to /dev/null.
//! - W5 API: 10,000 pipelines stored; 64 connections for 10 s on the pipeline list and on a
//!   job's detail; requests per second, p50/p99, RSS (`w5`).
//! - W6 runners: R agents long-polling an empty queue of `circa server` for D seconds; server
//!   RSS and CPU against the idle server.
//!
//! Every figure prints as `name: value unit`. Circa itself runs as child processes (this
//! binary), measured through /proc.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use futures_util::StreamExt;
use serde_json::{Value, json};

mod nginx;
mod replicas;
mod slow_forge;
mod w5;

/// Which workloads to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// W2 dispatch.
    W2,
    /// W2 with commit statuses off, then on to a forge taking 200 ms per request.
    W2Forge,
    /// W2 on `circa server` with PostgreSQL and one external 4-slot runner.
    W2Pg,
    /// W2 through nginx in front of three `circa server` replicas on one PostgreSQL and one S3
    /// bucket, four 1-slot runners through nginx.
    W2Ha,
    /// W3 fan-out.
    W3,
    /// W4 logs.
    W4,
    /// W5 API (pipeline list and job detail with 10,000 pipelines stored).
    W5,
    /// W6 idle runners.
    W6,
}

/// Sizes of the workloads.
#[derive(Debug, Clone)]
pub struct Sizes {
    /// W2: pipelines.
    pub pipelines: usize,
    /// W2: triggers in flight at once.
    pub concurrency: usize,
    /// W3: fan-out pipelines measured (after one warm-up).
    pub w3_runs: usize,
    /// W4: bytes the step writes.
    pub log_bytes: u64,
    /// W5: pipelines stored before the API is loaded.
    pub api_pipelines: usize,
    /// W6: runner agents.
    pub runners: usize,
    /// W6: seconds they poll.
    pub poll_secs: u64,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let i = ((values.len() as f64 - 1.0) * p).round() as usize;
    values[i.min(values.len() - 1)]
}

/// A `circa up` or `circa server` child process.
struct Circa {
    child: Child,
    url: String,
    token: String,
    _data: tempfile::TempDir,
}

impl Circa {
    fn start(args: &[&str]) -> anyhow::Result<Circa> {
        Circa::start_at(args, "127.0.0.1:0", None)
    }

    /// Starts `circa ARGS` listening at `listen` (port 0: a free one), with `threads` worker
    /// threads (`TOKIO_WORKER_THREADS`; one per core when `None`); its URL is where it
    /// listens, whatever public URL it is given.
    fn start_at(args: &[&str], listen: &str, threads: Option<usize>) -> anyhow::Result<Circa> {
        let data = tempfile::tempdir()?;
        let exe = std::env::current_exe().context("finding the circa binary")?;
        let mut command = Command::new(exe);
        if let Some(threads) = threads {
            command.env("TOKIO_WORKER_THREADS", threads.max(1).to_string());
        }
        let mut child = command
            .args(args)
            .args(["--listen", listen, "--data-dir"])
            .arg(data.path())
            // `CIRCA_BENCH_LOG` sets the server's log filter (its log goes to stdout).
            .env(
                "CIRCA_LOG",
                std::env::var("CIRCA_BENCH_LOG").unwrap_or_else(|_| "error".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting circa")?;
        let stdout = child.stdout.take().context("circa's output")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = lines
            .next()
            .context("circa printed nothing")?
            .context("reading circa's output")?;
        let url = if listen.ends_with(":0") {
            first
                .rsplit(' ')
                .next()
                .context("no URL in circa's first line")?
                .to_string()
        } else {
            format!("http://{listen}")
        };
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if std::env::var_os("CIRCA_BENCH_LOG").is_some() {
                    eprintln!("{line}");
                }
            }
        });
        let token = std::fs::read_to_string(data.path().join("admin.token"))?
            .trim()
            .to_string();
        Ok(Circa {
            child,
            url,
            token,
            _data: data,
        })
    }

    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    /// Peak resident memory, MiB.
    fn peak_rss_mib(&self) -> f64 {
        self.status_kib("VmHWM:") as f64 / 1024.0
    }

    /// Resident memory now, MiB.
    fn rss_mib(&self) -> f64 {
        self.status_kib("VmRSS:") as f64 / 1024.0
    }

    /// CPU time used so far (user + system), seconds; clock ticks are 100 per second on Linux.
    fn cpu_secs(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (ticks(11) + ticks(12)) / 100.0
    }

    fn api(&self) -> Api {
        Api {
            url: self.url.clone(),
            token: self.token.clone(),
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(2048)
                .build()
                .unwrap_or_default(),
        }
    }
}

impl Drop for Circa {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Clone)]
struct Api {
    url: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.send(reqwest::Method::POST, path, body).await
    }

    async fn put(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.send(reqwest::Method::PUT, path, body).await
    }

    /// A JSON request answered with a success status: the answer's JSON.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> anyhow::Result<Value> {
        let r = self
            .http
            .request(method.clone(), format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await?;
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{method} {path}: {status} {body}");
        }
        Ok(body)
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .send()
            .await?;
        Ok(r.json().await?)
    }

    /// Waits (at most five minutes) for every workflow of a pipeline to finish, by following
    /// its watch stream; when.
    async fn wait_pipeline(&self, id: &str) -> anyhow::Result<i64> {
        tokio::time::timeout(Duration::from_secs(300), self.follow_pipeline(id))
            .await
            .with_context(|| format!("pipeline {id} did not finish within five minutes"))?
    }

    async fn follow_pipeline(&self, id: &str) -> anyhow::Result<i64> {
        // One connection pool for every follower: the load generator's own costs stay small.
        let client =
            crate::service::client::Client::with_http(&self.url, &self.token, self.http.clone());
        let mut progress = crate::service::client::PipelineProgress::default();
        client
            .follow(&format!("/api/circa/pipelines/{id}/watch"), |event| {
                progress.apply(&event);
                !progress.done()
            })
            .await?;
        Ok(now_ms())
    }

    async fn jobs_of_pipeline(&self, id: &str) -> anyhow::Result<Vec<Value>> {
        let mut jobs = Vec::new();
        for wf in self.get(&format!("/api/v2/pipeline/{id}/workflow")).await?["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let wf_id = wf["id"].as_str().unwrap_or_default();
            let mut token: Option<String> = None;
            loop {
                let mut path = format!("/api/v2/workflow/{wf_id}/job");
                if let Some(t) = &token {
                    path.push_str(&format!("?page-token={t}"));
                }
                let list = self.get(&path).await?;
                jobs.extend(list["items"].as_array().cloned().unwrap_or_default());
                match list["next_page_token"].as_str() {
                    Some(t) => token = Some(t.to_string()),
                    None => break,
                }
            }
        }
        Ok(jobs)
    }

    async fn job_details(&self, job_id: &str) -> anyhow::Result<Value> {
        self.get(&format!("/api/circa/jobs/{job_id}")).await
    }
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.com",
        ])
        .args(args)
        .current_dir(dir)
        .output()?;
    if !out.status.success() {
        bail!("git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// A temp git repository holding `config`.
fn repo(config: &str) -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join(".circleci"))?;
    std::fs::write(dir.path().join(".circleci/config.yml"), config)?;
    git(dir.path(), &["init", "-q", "-b", "main"])?;
    git(dir.path(), &["add", "-A"])?;
    git(dir.path(), &["commit", "-q", "-m", "bench"])?;
    Ok(dir)
}

async fn project(api: &Api, slug: &str, repo: &Path) -> anyhow::Result<()> {
    api.post(
        "/api/circa/projects",
        json!({ "slug": slug, "repo": repo, "default_branch": "main" }),
    )
    .await?;
    Ok(())
}

fn floor_ms(n: usize) -> anyhow::Result<f64> {
    let t0 = Instant::now();
    for _ in 0..n {
        Command::new("sh").args(["-c", "true"]).status()?;
    }
    Ok(t0.elapsed().as_secs_f64() * 1000.0 / n as f64)
}

/// When a job ended: its last task's completion (what the runner reported), in ms.
fn finished_ms(details: &Value) -> Option<i64> {
    details["tasks"]
        .as_array()?
        .iter()
        .map(|t| t["finished_at"].as_i64())
        .collect::<Option<Vec<i64>>>()?
        .into_iter()
        .max()
}

/// When a job's first step began (the runner's time), in ms.
fn started_ms(details: &Value) -> Option<i64> {
    details["tasks"]
        .as_array()?
        .iter()
        .filter_map(|t| t["steps"].as_array()?.first()?["started_at"].as_i64())
        .min()
}

/// W2's config: one job.
const W2_CONFIG: &str = "version: 2.1\njobs:\n  one:\n    machine: true\n    steps:\n      - run: \"true\"\nworkflows:\n  main:\n    jobs: [one]\n";

/// W2-forge's config: one job named after its pipeline's number, so that each pipeline's
/// status has its own context.
const W2_FORGE_CONFIG: &str = "version: 2.1\njobs:\n  one:\n    machine: true\n    steps:\n      - run: \"true\"\nworkflows:\n  main:\n    jobs:\n      - one: { name: \"one-<< pipeline.number >>\" }\n";

async fn w2(pipelines: usize, concurrency: usize) -> anyhow::Result<f64> {
    w2_run("w2", W2_CONFIG, pipelines, concurrency, None).await
}

/// W2-forge: W2 with statuses off, then on.
async fn w2_forge(pipelines: usize, concurrency: usize) -> anyhow::Result<()> {
    w2_run(
        "w2_forge_off",
        W2_FORGE_CONFIG,
        pipelines,
        concurrency,
        None,
    )
    .await?;
    let forge = slow_forge::SlowForge::start().await?;
    w2_run(
        "w2_forge_on",
        W2_FORGE_CONFIG,
        pipelines,
        concurrency,
        Some(&forge),
    )
    .await?;
    Ok(())
}

/// W2 on `config`, figures named `name_…`; with `forge`, the project reports statuses to it.
/// Jobs per second.
async fn w2_run(
    name: &str,
    config: &str,
    pipelines: usize,
    concurrency: usize,
    forge: Option<&slow_forge::SlowForge>,
) -> anyhow::Result<f64> {
    let circa = Circa::start(&["up", "--executor", "shell", "--slots", "4"])?;
    let api = circa.api();
    let repo = repo(config)?;
    project(&api, "gh/bench/w2", repo.path()).await?;
    if let Some(forge) = forge {
        api.put(
            "/api/circa/projects/gh/bench/w2/forge",
            json!({ "kind": "github", "api_url": forge.api_url, "token": "bench-token" }),
        )
        .await?;
    }
    let run = w2_measure(name, &api, &[&circa], pipelines, concurrency).await?;
    if let Some(forge) = forge {
        drained(name, &api, run.end, forge).await?;
    }
    Ok(run.jobs_per_sec)
}

/// What a W2 run measured beyond what it printed.
struct W2Run {
    /// Jobs per second end to end.
    jobs_per_sec: f64,
    /// When the last job ended, ms.
    end: i64,
}

/// Triggers `pipelines` pipelines of project `gh/bench/w2` through `api` (after one warm-up
/// pipeline on each of `servers`), `concurrency` at once, and waits for them; prints W2's
/// figures as `name_…`, the peak RSS of each of `servers`.
async fn w2_measure(
    name: &str,
    api: &Api,
    servers: &[&Circa],
    pipelines: usize,
    concurrency: usize,
) -> anyhow::Result<W2Run> {
    // One warm-up pipeline per server, sent to it directly: each has its mirror cloned and
    // the config cached before the clock starts.
    for server in servers {
        let direct = Api {
            url: server.url.clone(),
            ..api.clone()
        };
        let warm = direct
            .post("/api/v2/project/gh/bench/w2/pipeline", json!({}))
            .await?;
        direct
            .wait_pipeline(warm["id"].as_str().unwrap_or_default())
            .await?;
    }
    let start = now_ms();
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..pipelines {
        let api = api.clone();
        let semaphore = semaphore.clone();
        tasks.spawn(async move {
            let permit = semaphore.acquire_owned().await;
            let sent = now_ms();
            let created = api
                .post("/api/v2/project/gh/bench/w2/pipeline", json!({}))
                .await?;
            let answered = now_ms();
            drop(permit);
            let id = created["id"].as_str().unwrap_or_default().to_string();
            let done = api.wait_pipeline(&id).await?;
            anyhow::Ok((id, sent, answered, done))
        });
    }
    let mut results = Vec::new();
    while let Some(r) = tasks.join_next().await {
        results.push(r??);
    }
    let end = results.iter().map(|r| r.3).max().unwrap_or(start);
    let mut latencies = Vec::new();
    let mut dispatch = Vec::new();
    let mut answers: Vec<f64> = results.iter().map(|r| (r.2 - r.1) as f64).collect();
    let mut failed = 0;
    for (id, sent, answered, _) in &results {
        for job in api.jobs_of_pipeline(id).await? {
            if job["status"] != "success" {
                failed += 1;
            }
            let details = api
                .job_details(job["id"].as_str().unwrap_or_default())
                .await?;
            if let Some(first) = started_ms(&details) {
                latencies.push((first - sent) as f64);
                dispatch.push((first - answered) as f64);
            }
        }
    }
    if failed > 0 {
        bail!("{name}: {failed} jobs did not succeed");
    }
    let secs = (end - start) as f64 / 1000.0;
    let jobs_per_sec = pipelines as f64 / secs.max(0.001);
    let floor = floor_ms(pipelines)?;
    println!("{name}_pipelines: {pipelines}");
    println!("{name}_triggers_in_flight: {concurrency}");
    println!("{name}_jobs_per_sec: {jobs_per_sec:.1} jobs/s");
    println!(
        "{name}_trigger_to_first_step_p50: {:.1} ms",
        percentile(&mut latencies, 0.5)
    );
    println!(
        "{name}_trigger_to_first_step_p99: {:.1} ms",
        percentile(&mut latencies, 0.99)
    );
    println!(
        "{name}_created_to_first_step_p50: {:.1} ms",
        percentile(&mut dispatch, 0.5)
    );
    println!(
        "{name}_created_to_first_step_p99: {:.1} ms",
        percentile(&mut dispatch, 0.99)
    );
    println!(
        "{name}_trigger_answer_p50: {:.1} ms",
        percentile(&mut answers, 0.5)
    );
    println!(
        "{name}_trigger_answer_p99: {:.1} ms",
        percentile(&mut answers, 0.99)
    );
    match servers {
        [one] => println!("{name}_peak_rss: {:.1} MiB", one.peak_rss_mib()),
        several => {
            for (i, server) in several.iter().enumerate() {
                let rss = server.peak_rss_mib();
                println!("{name}_replica_{}_peak_rss: {rss:.1} MiB", i + 1);
            }
        }
    }
    println!("{name}_floor_per_job: {floor:.2} ms");
    println!(
        "{name}_per_job_ratio: {:.2}",
        (1000.0 / jobs_per_sec) / floor.max(0.001)
    );
    Ok(W2Run { jobs_per_sec, end })
}

/// Waits for the outbox to drain; prints how long after the last job it took.
async fn drained(
    name: &str,
    api: &Api,
    last_job: i64,
    forge: &slow_forge::SlowForge,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let shown = api.get("/api/circa/projects/gh/bench/w2/forge").await?;
        if shown["backlog"] == 0 {
            break;
        }
        if Instant::now() > deadline {
            bail!("{name}: the outbox did not drain in ten minutes: {shown}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = (now_ms() - last_job) as f64 / 1000.0;
    println!("{name}_outbox_drained_after_last_job: {secs:.2} s");
    println!("{name}_statuses_sent: {}", forge.received());
    Ok(())
}

async fn w3(runs: usize) -> anyhow::Result<()> {
    // As many slots as the widest level: the gap measures scheduling, not waiting for a slot.
    let circa = Circa::start(&["up", "--executor", "shell", "--slots", "50"])?;
    let api = circa.api();
    let mut config = String::from(
        "version: 2.1\njobs:\n  one:\n    machine: true\n    steps:\n      - run: \"true\"\nworkflows:\n  fan:\n    jobs:\n      - one: { name: first }\n",
    );
    for i in 1..=50 {
        config.push_str(&format!(
            "      - one: {{ name: mid-{i}, requires: [first] }}\n"
        ));
    }
    let mids: Vec<String> = (1..=50).map(|i| format!("mid-{i}")).collect();
    config.push_str(&format!(
        "      - one: {{ name: last, requires: [{}] }}\n",
        mids.join(", ")
    ));
    let repo = repo(&config)?;
    project(&api, "gh/bench/w3", repo.path()).await?;
    let warm = api
        .post("/api/v2/project/gh/bench/w3/pipeline", json!({}))
        .await?;
    api.wait_pipeline(warm["id"].as_str().unwrap_or_default())
        .await?;
    let mut gaps = Vec::new();
    let mut walls = Vec::new();
    let mut jobs_per_run = 0;
    for _ in 0..runs.max(1) {
        let (wall, jobs, mut run_gaps) = w3_run(&api, &mids).await?;
        walls.push(wall);
        jobs_per_run = jobs;
        gaps.append(&mut run_gaps);
    }
    let floor = floor_ms(50)?;
    let wall = percentile(&mut walls, 0.5);
    println!("w3_runs: {}", runs.max(1));
    println!("w3_jobs: {jobs_per_run}");
    println!("w3_wall: {wall:.1} ms");
    println!("w3_floor_critical_path: {:.1} ms", floor * 3.0);
    println!("w3_wall_minus_floor: {:.1} ms", wall - floor * 3.0);
    println!("w3_scheduling_gaps: {}", gaps.len());
    println!(
        "w3_scheduling_gap_p50: {:.1} ms",
        percentile(&mut gaps, 0.5)
    );
    println!(
        "w3_scheduling_gap_p99: {:.1} ms",
        percentile(&mut gaps, 0.99)
    );
    println!(
        "w3_scheduling_gap_max: {:.1} ms",
        percentile(&mut gaps, 1.0)
    );
    Ok(())
}

/// One W3 pipeline: its wall time, its jobs, and its scheduling gaps (each mid's start after
/// `first` ended; `last`'s start after the last mid ended), in ms.
async fn w3_run(api: &Api, mids: &[String]) -> anyhow::Result<(f64, usize, Vec<f64>)> {
    let sent = now_ms();
    let created = api
        .post("/api/v2/project/gh/bench/w3/pipeline", json!({}))
        .await?;
    let id = created["id"].as_str().unwrap_or_default().to_string();
    let done = api.wait_pipeline(&id).await?;
    let jobs = api.jobs_of_pipeline(&id).await?;
    let mut started = std::collections::HashMap::new();
    let mut stopped = std::collections::HashMap::new();
    for job in &jobs {
        let details = api
            .job_details(job["id"].as_str().unwrap_or_default())
            .await?;
        let name = job["name"].as_str().unwrap_or_default().to_string();
        if let (Some(a), Some(b)) = (started_ms(&details), finished_ms(&details)) {
            started.insert(name.clone(), a);
            stopped.insert(name.clone(), b);
        }
    }
    let first_stop = stopped.get("first").copied().unwrap_or_default();
    let mut gaps: Vec<f64> = mids
        .iter()
        .filter_map(|m| started.get(m))
        .map(|s| (s - first_stop) as f64)
        .collect();
    let mids_done = mids
        .iter()
        .filter_map(|m| stopped.get(m))
        .max()
        .copied()
        .unwrap_or_default();
    if let Some(last) = started.get("last") {
        gaps.push((last - mids_done) as f64);
    }
    Ok(((done - sent) as f64, jobs.len(), gaps))
}

async fn w4(bytes: u64) -> anyhow::Result<()> {
    let circa = Circa::start(&["up", "--executor", "shell", "--slots", "1"])?;
    let api = circa.api();
    let command = format!("head -c {bytes} /dev/zero | tr '\\\\0' x | fold -w 99");
    let config = format!(
        "version: 2.1\njobs:\n  talk:\n    machine: true\n    steps:\n      - run: \"{command}\"\nworkflows:\n  main:\n    jobs: [talk]\n"
    );
    let repo = repo(&config)?;
    project(&api, "gh/bench/w4", repo.path()).await?;
    let created = api
        .post("/api/v2/project/gh/bench/w4/pipeline", json!({}))
        .await?;
    let id = created["id"].as_str().unwrap_or_default().to_string();
    // Follow the task's live stream as soon as it exists.
    let follower = {
        let api = api.clone();
        let id = id.clone();
        tokio::spawn(async move {
            let task = loop {
                let jobs = api.jobs_of_pipeline(&id).await?;
                if let Some(job) = jobs.first() {
                    let details = api
                        .job_details(job["id"].as_str().unwrap_or_default())
                        .await?;
                    if let Some(task) = details["tasks"][0]["id"].as_str() {
                        break task.to_string();
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            };
            let r = api
                .http
                .get(format!("{}/api/circa/tasks/{task}/live", api.url))
                .bearer_auth(&api.token)
                .send()
                .await?;
            let mut stream = r.bytes_stream();
            let mut received = 0u64;
            while let Some(chunk) = stream.next().await {
                received += chunk?.len() as u64;
            }
            anyhow::Ok(received)
        })
    };
    api.wait_pipeline(&id).await?;
    let streamed = tokio::time::timeout(Duration::from_secs(120), follower)
        .await
        .context("the SSE follower did not finish")???;
    let jobs = api.jobs_of_pipeline(&id).await?;
    let job = jobs.first().context("no job")?;
    if job["status"] != "success" {
        bail!("W4: the job ended {}", job["status"]);
    }
    let details = api
        .job_details(job["id"].as_str().unwrap_or_default())
        .await?;
    let step = &details["tasks"][0]["steps"][0];
    let duration_ms = step["duration_ms"].as_f64().unwrap_or(1.0);
    let log_bytes = step["log_bytes"].as_f64().unwrap_or(0.0);
    let t0 = Instant::now();
    Command::new("sh")
        .args(["-c", &format!("{command} > /dev/null")])
        .status()?;
    let baseline_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let mb = log_bytes / 1e6;
    println!("w4_log_bytes: {log_bytes:.0} bytes");
    println!("w4_sse_bytes: {streamed} bytes");
    println!("w4_throughput: {:.1} MB/s", mb / (duration_ms / 1000.0));
    println!(
        "w4_baseline_throughput: {:.1} MB/s",
        mb / (baseline_ms / 1000.0)
    );
    println!("w4_ratio: {:.2}", duration_ms / baseline_ms.max(0.001));
    println!("w4_peak_rss: {:.1} MiB", circa.peak_rss_mib());
    Ok(())
}

async fn w6(runners: usize, secs: u64) -> anyhow::Result<()> {
    let circa = Circa::start(&["server"])?;
    let api = circa.api();
    let token = api
        .post(
            "/api/circa/tokens",
            json!({ "kind": "runner", "name": "w6", "resource_class": "idle" }),
        )
        .await?["token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let idle = Duration::from_secs(secs.min(5));
    let cpu0 = circa.cpu_secs();
    tokio::time::sleep(idle).await;
    let idle_cpu = (circa.cpu_secs() - cpu0) / idle.as_secs_f64();
    let idle_rss = circa.rss_mib();
    let stop = tokio_util::sync::CancellationToken::new();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..runners {
        let http = reqwest::Client::new();
        let url = format!("{}/api/runner/v1/claims", circa.url);
        let token = token.clone();
        let stop = stop.clone();
        tasks.spawn(async move {
            let mut claims = 0u64;
            while !stop.is_cancelled() {
                let request = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "runner": format!("w6-{i}"), "wait_ms": 30_000 }))
                    .send();
                tokio::select! {
                    _ = stop.cancelled() => break,
                    r = request => {
                        if r.is_err() {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        claims += 1;
                    }
                }
            }
            claims
        });
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cpu1 = circa.cpu_secs();
    let t1 = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let busy_cpu = (circa.cpu_secs() - cpu1) / t1.elapsed().as_secs_f64();
    let rss = circa.rss_mib();
    stop.cancel();
    let mut claims = 0;
    while let Some(r) = tasks.join_next().await {
        claims += r.unwrap_or(0);
    }
    println!("w6_runners: {runners}");
    println!("w6_seconds: {secs}");
    println!("w6_claim_requests: {claims}");
    println!("w6_server_rss: {rss:.1} MiB");
    println!("w6_server_peak_rss: {:.1} MiB", circa.peak_rss_mib());
    println!("w6_server_cpu: {:.1} %", busy_cpu * 100.0);
    println!("w6_idle_server_rss: {idle_rss:.1} MiB");
    println!("w6_idle_server_cpu: {:.1} %", idle_cpu * 100.0);
    println!("w6_rss_ratio: {:.2}", rss / idle_rss.max(0.001));
    Ok(())
}

/// Runs the chosen workloads and prints their figures.
pub fn run(workloads: &[Workload], sizes: &Sizes) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        // Baselines of W2-pg (W2 on SQLite) and W2-ha (W2-pg), when they ran first.
        let (mut sqlite, mut postgres) = (None, None);
        for w in workloads {
            match w {
                Workload::W2 => sqlite = Some(w2(sizes.pipelines, sizes.concurrency).await?),
                Workload::W2Pg => {
                    postgres = replicas::w2_pg(sizes.pipelines, sizes.concurrency, sqlite).await?
                }
                Workload::W2Ha => {
                    replicas::w2_ha(sizes.pipelines, sizes.concurrency, postgres).await?
                }
                Workload::W2Forge => w2_forge(sizes.pipelines, sizes.concurrency).await?,
                Workload::W3 => w3(sizes.w3_runs).await?,
                Workload::W4 => w4(sizes.log_bytes).await?,
                Workload::W5 => w5::w5(sizes.api_pipelines).await?,
                Workload::W6 => w6(sizes.runners, sizes.poll_secs).await?,
            }
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
