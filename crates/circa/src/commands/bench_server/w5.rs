//! W5 API: `circa up` with 10,000 pipelines in its SQLite database; 64 connections for 10 s on
//! the pipeline list, then on one job's detail. Requests per second, p50/p99 latency, RSS.
//! The pipelines are written through the `Store` trait from this process (the database is in
//! WAL mode, so the server reads while the seed writes); one real pipeline gives the job.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use circa_store::{NewPipeline, PipelineState, PipelineTrigger};

use super::{Circa, now_ms, percentile, project, repo};

/// Connections kept busy at once.
const CONNECTIONS: usize = 64;
/// How long each route is loaded.
const SECONDS: u64 = 10;

/// Writes `n` pipelines of project `project_id` straight into the database at `db`.
async fn seed(db: &str, project_id: &str, n: usize) -> anyhow::Result<()> {
    let store = circa_store::connect(db).await?;
    for i in 0..n {
        let branch = if i % 4 == 0 { "feature" } else { "main" };
        store
            .create_pipeline(
                NewPipeline {
                    project_id: project_id.into(),
                    state: PipelineState::Created,
                    trigger: PipelineTrigger {
                        kind: circa_store::TriggerKind::Api,
                        actor: "admin".into(),
                        branch: Some(branch.into()),
                        revision: format!("{i:040x}"),
                        subject: Some(format!("commit {i}")),
                        ..PipelineTrigger::default()
                    },
                    errors: Vec::new(),
                    config_source: Some("version: 2.1\n".into()),
                    config_compiled: Some("version: 2\n".into()),
                    continuation_key_hash: None,
                    continuation_deadline: None,
                },
                Vec::new(),
                now_ms(),
            )
            .await?;
    }
    Ok(())
}

/// Loads `path` from `CONNECTIONS` tasks for `SECONDS`; prints `w5_NAME_*` figures.
async fn load(circa: &Circa, name: &str, path: &str) -> anyhow::Result<f64> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()?;
    let url = Arc::new(format!("{}{path}", circa.url));
    let token = Arc::new(circa.token.clone());
    // One request to check the route answers before timing it.
    let first = client
        .get(url.as_str())
        .bearer_auth(token.as_str())
        .send()
        .await?;
    if !first.status().is_success() {
        bail!("GET {path}: {}", first.status());
    }
    let deadline = Instant::now() + Duration::from_secs(SECONDS);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (client, url, token) = (client.clone(), url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                let ok = match client
                    .get(url.as_str())
                    .bearer_auth(token.as_str())
                    .send()
                    .await
                {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if ok {
                    latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                } else {
                    failures += 1;
                }
            }
            (latencies, failures)
        }));
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (l, f) = t.await?;
        latencies.extend(l);
        failures += f;
    }
    let secs = started.elapsed().as_secs_f64();
    let rps = latencies.len() as f64 / secs;
    println!("w5_{name}_requests: {}", latencies.len());
    println!("w5_{name}_failures: {failures}");
    println!("w5_{name}_rps: {rps:.0} req/s");
    println!("w5_{name}_p50: {:.2} ms", percentile(&mut latencies, 0.50));
    println!("w5_{name}_p99: {:.2} ms", percentile(&mut latencies, 0.99));
    Ok(rps)
}

/// W5.
pub(super) async fn w5(pipelines: usize) -> anyhow::Result<()> {
    let circa = Circa::start(&["up", "--executor", "shell", "--slots", "1"])?;
    let api = circa.api();
    let slug = "gh/bench/w5";
    let repo = repo(
        "version: 2.1\njobs:\n  one:\n    machine: true\n    steps:\n      - run: \"true\"\nworkflows:\n  main:\n    jobs: [one]\n",
    )?;
    project(&api, slug, repo.path()).await?;
    let created = api
        .post(
            &format!("/api/v2/project/{slug}/pipeline"),
            serde_json::json!({}),
        )
        .await?;
    let id = created["id"].as_str().context("a pipeline id")?.to_string();
    api.wait_pipeline(&id).await?;
    let project_id = api.get(&format!("/api/v2/project/{slug}")).await?["id"]
        .as_str()
        .context("the project's id")?
        .to_string();
    let db = format!("sqlite://{}", circa._data.path().join("circa.db").display());
    let t0 = Instant::now();
    seed(&db, &project_id, pipelines).await?;
    println!("w5_pipelines: {}", pipelines + 1);
    println!("w5_seed_time: {:.1} s", t0.elapsed().as_secs_f64());
    let rss_before = circa.rss_mib();
    load(
        &circa,
        "pipeline_list",
        &format!("/api/v2/project/{slug}/pipeline"),
    )
    .await?;
    load(
        &circa,
        "job_detail",
        &format!("/api/v2/project/{slug}/job/1"),
    )
    .await?;
    println!("w5_connections: {CONNECTIONS}");
    println!("w5_server_rss_idle: {rss_before:.1} MiB");
    println!("w5_server_peak_rss: {:.1} MiB", circa.peak_rss_mib());
    Ok(())
}
