//! Several `circa server` replicas sharing one PostgreSQL and one S3 bucket behind nginx
//! (`crate::cluster`), with runners that talk only to nginx: thousands of fan-out/fan-in
//! pipelines run each job exactly once (also when a replica is killed mid-run, and through a
//! rolling restart), a log follower sees every line once whichever replica it reaches, a
//! revoked token is refused by every replica at once, and Prometheus scrapes every replica.
//!
//! Every job appends its `CIRCLE_WORKFLOW_JOB_ID` to one file; the file is compared with the
//! API's job list. `CIRCA_TEST_REPLICAS_PIPELINES` runs fewer (or more) pipelines than the
//! 2,000 of the full run (a rolling restart runs a quarter of them).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::cluster::{Cluster, THREE_REPLICAS};
use crate::drain::SseReader;
use crate::metrics::{Prometheus, prometheus_available, promtool_check};
use crate::server_harness::{Api, Repo};

/// One cluster at a time: each has three replicas, four runners and PostgreSQL.
static ONE_CLUSTER_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Jobs of one pipeline of [`fan_config`].
const JOBS_PER_PIPELINE: usize = 5;

/// Lines the talker prints.
const TALKER_LINES: usize = 300;

/// Triggers in flight at once.
const TRIGGERS_IN_FLIGHT: usize = 16;

/// How many pipelines the full runs trigger (`CIRCA_TEST_REPLICAS_PIPELINES` overrides).
fn pipelines() -> usize {
    std::env::var("CIRCA_TEST_REPLICAS_PIPELINES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000)
}

/// A workflow `start` → `a`, `b`, `c` → `end`; every job appends its id to `record`.
fn fan_config(record: &Path) -> String {
    format!(
        r#"
version: 2.1
jobs:
  record:
    machine: true
    steps:
      - run: echo "$CIRCLE_WORKFLOW_JOB_ID" >> {}
workflows:
  fan:
    jobs:
      - record: {{ name: start }}
      - record: {{ name: a, requires: [start] }}
      - record: {{ name: b, requires: [start] }}
      - record: {{ name: c, requires: [start] }}
      - record: {{ name: end, requires: [a, b, c] }}
"#,
        record.display()
    )
}

/// One job printing `line 1` … `line 300`, `pause` seconds apart.
fn talker_config(pause: &str) -> String {
    format!(
        r#"
version: 2.1
jobs:
  talker:
    machine: true
    steps:
      - run: for i in $(seq 1 {TALKER_LINES}); do echo "line $i"; sleep {pause}; done
workflows:
  main: {{ jobs: [ talker ] }}
"#
    )
}

/// The projects of a run: `gh/acme/fan` (records job ids in `record`) and `gh/acme/talker`.
struct Projects {
    record: std::path::PathBuf,
    _repos: (Repo, Repo),
}

async fn projects(cluster: &Cluster, talker_pause: &str) -> Projects {
    let record = cluster.dir.path().join("jobs.txt");
    let fan = Repo::new(&fan_config(&record));
    let talker = Repo::new(&talker_config(talker_pause));
    let api = &cluster.api;
    api.add_project("gh/acme/fan", fan.path(), json!({})).await;
    api.add_project("gh/acme/talker", talker.path(), json!({}))
        .await;
    Projects {
        record,
        _repos: (fan, talker),
    }
}

/// A cluster of [`THREE_REPLICAS`] with the [`projects`] (the talker pausing `talker_pause`
/// seconds between lines) and the admin's client through nginx; `None` when the cluster
/// cannot run here (see `crate::cluster`).
async fn set_up(talker_pause: &str) -> Option<(Cluster, Projects, Api)> {
    let t0 = Instant::now();
    let cluster = Cluster::start(THREE_REPLICAS).await?;
    let projects = projects(&cluster, talker_pause).await;
    let api = cluster.api.clone();
    eprintln!("setup: {:.1} s", t0.elapsed().as_secs_f64());
    Some((cluster, projects, api))
}

/// Triggers `count` fan pipelines through nginx, `TRIGGERS_IN_FLIGHT` at once; their ids
/// (each trigger must answer 201).
async fn trigger_fans(api: &Api, count: usize) -> Vec<String> {
    futures_util::stream::iter(0..count)
        .map(|_| api.trigger("gh/acme/fan", json!({})))
        .buffer_unordered(TRIGGERS_IN_FLIGHT)
        .collect()
        .await
}

/// The job ids in the record file, one per line.
fn recorded(record: &Path) -> Vec<String> {
    std::fs::read_to_string(record)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Waits until `expected` job ids are recorded, or until none was added for a minute;
/// prints the progress now and then.
async fn until_recorded(record: &Path, expected: usize, what: &str) {
    let t0 = Instant::now();
    let (mut last, mut last_change, mut last_print) = (0, Instant::now(), Instant::now());
    loop {
        let n = recorded(record).len();
        if n >= expected {
            eprintln!(
                "{what}: {n} jobs ran in {:.1} s",
                t0.elapsed().as_secs_f64()
            );
            return;
        }
        if n != last {
            (last, last_change) = (n, Instant::now());
        }
        if last_change.elapsed() > Duration::from_secs(60) {
            eprintln!("{what}: stalled at {n} of {expected} jobs");
            return;
        }
        if last_print.elapsed() > Duration::from_secs(15) {
            eprintln!(
                "{what}: {n} of {expected} jobs after {:.0} s",
                t0.elapsed().as_secs_f64()
            );
            last_print = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A GET through `api` answered 2xx, tried again (for a minute) while it is not.
async fn get_ok(api: &Api, path: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = api.get(path).await;
        if (200..300).contains(&status) {
            return body;
        }
        assert!(Instant::now() < deadline, "GET {path}: {status} {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What the API says of one pipeline: its workflows' statuses and its jobs (id, status).
struct Outcome {
    workflows: Vec<String>,
    jobs: Vec<(String, String)>,
}

/// Waits (up to `within`) for a pipeline's workflows to end; what they ended as.
async fn outcome(api: &Api, pipeline: &str, within: Duration) -> Outcome {
    let deadline = Instant::now() + within;
    let terminal = |w: &Value| {
        w["status"]
            .as_str()
            .and_then(|s| s.parse::<circa_model::WorkflowStatus>().ok())
            .is_some_and(|s| s.is_terminal())
    };
    let workflows = loop {
        let body = get_ok(api, &format!("/api/v2/pipeline/{pipeline}/workflow")).await;
        let items = body["items"].as_array().cloned().unwrap_or_default();
        if (!items.is_empty() && items.iter().all(terminal)) || Instant::now() > deadline {
            break items;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let mut jobs = Vec::new();
    for w in &workflows {
        let id = w["id"].as_str().unwrap();
        let body = get_ok(api, &format!("/api/v2/workflow/{id}/job")).await;
        for job in body["items"].as_array().cloned().unwrap_or_default() {
            let id = job["id"].as_str().unwrap_or_default().to_string();
            jobs.push((id, job["status"].as_str().unwrap_or_default().to_string()));
        }
    }
    Outcome {
        workflows: workflows
            .iter()
            .map(|w| w["status"].as_str().unwrap_or_default().to_string())
            .collect(),
        jobs,
    }
}

/// Checks a run: every pipeline's workflow succeeded with its five jobs, and every job id of
/// the API is recorded exactly once (none missing, none twice, none unknown).
async fn check_run(api: &Api, ids: &[String], record: &Path, what: &str) {
    let t0 = Instant::now();
    let outcomes: Vec<Outcome> = futures_util::stream::iter(ids)
        .map(|id| outcome(api, id, Duration::from_secs(30)))
        .buffered(TRIGGERS_IN_FLIGHT)
        .collect()
        .await;
    eprintln!(
        "{what}: read {} pipelines back in {:.1} s",
        ids.len(),
        t0.elapsed().as_secs_f64()
    );
    let mut workflow_statuses: BTreeMap<String, usize> = BTreeMap::new();
    let mut job_statuses: BTreeMap<String, usize> = BTreeMap::new();
    let mut api_jobs = Vec::new();
    let mut odd_pipelines = 0;
    for o in &outcomes {
        if o.workflows.len() != 1 || o.jobs.len() != JOBS_PER_PIPELINE {
            odd_pipelines += 1;
        }
        for w in &o.workflows {
            *workflow_statuses.entry(w.clone()).or_default() += 1;
        }
        for (id, status) in &o.jobs {
            *job_statuses.entry(status.clone()).or_default() += 1;
            api_jobs.push(id.clone());
        }
    }
    let lines = recorded(record);
    let mut times: HashMap<&str, usize> = HashMap::new();
    for line in &lines {
        *times.entry(line.as_str()).or_default() += 1;
    }
    let twice: Vec<(&&str, &usize)> = times.iter().filter(|(_, n)| **n > 1).collect();
    let missing: Vec<&String> = api_jobs
        .iter()
        .filter(|id| !times.contains_key(id.as_str()))
        .collect();
    let known: std::collections::HashSet<&str> = api_jobs.iter().map(String::as_str).collect();
    let unknown: Vec<&&str> = times.keys().filter(|l| !known.contains(**l)).collect();
    eprintln!(
        "{what}: {} pipelines, workflows {workflow_statuses:?}, jobs {job_statuses:?}; \
         {} ids recorded, {} distinct, {} twice, {} missing, {} unknown",
        ids.len(),
        lines.len(),
        times.len(),
        twice.len(),
        missing.len(),
        unknown.len()
    );
    let sample = |v: &dyn std::fmt::Debug| format!("{v:?}").chars().take(400).collect::<String>();
    assert_eq!(
        odd_pipelines, 0,
        "{what}: pipelines without 1 workflow of 5 jobs"
    );
    assert_eq!(
        workflow_statuses.get("success").copied().unwrap_or(0),
        ids.len(),
        "{what}: every workflow succeeds: {workflow_statuses:?}"
    );
    assert_eq!(
        job_statuses.get("success").copied().unwrap_or(0),
        ids.len() * JOBS_PER_PIPELINE,
        "{what}: every job succeeds: {job_statuses:?}"
    );
    assert!(
        twice.is_empty(),
        "{what}: jobs that ran twice: {}",
        sample(&twice)
    );
    assert!(
        missing.is_empty(),
        "{what}: jobs that never ran: {}",
        sample(&missing)
    );
    assert!(
        unknown.is_empty(),
        "{what}: ids no job has: {}",
        sample(&unknown)
    );
    assert_eq!(lines.len(), ids.len() * JOBS_PER_PIPELINE);
}

/// What a follower of a task's live log saw.
#[derive(Debug, Default)]
struct Followed {
    /// Sequence numbers, in order.
    ids: Vec<u64>,
    /// The text of every output event, in order.
    output: String,
    /// Streams it opened.
    streams: u32,
    /// Streams that ended with a `shutdown` event.
    shutdowns: u32,
    /// Answers other than 200, and connections that failed.
    refused: Vec<String>,
    /// Whether it gave up before the step's end was seen.
    timed_out: bool,
}

/// The task of a pipeline's first job, once there is one (through `api`).
async fn first_task(api: &Api, pipeline: &str) -> String {
    api.until(Duration::from_secs(120), "the talker's task", || async {
        let wf = api.workflows(pipeline).await.into_iter().next()?;
        let job = api.jobs(wf["id"].as_str()?).await.into_iter().next()?;
        let (_, details) = api
            .get(&format!("/api/circa/jobs/{}", job["id"].as_str()?))
            .await;
        details["tasks"][0]["id"].as_str().map(str::to_string)
    })
    .await
}

/// Follows a task's live events as an EventSource does: whenever a stream ends before the
/// step's end was seen (a `shutdown` event, a replica gone, a stream closed), it connects again
/// with `Last-Event-ID`; it gives up after `within`.
async fn follow(api: Api, task: String, within: Duration) -> Followed {
    let http = reqwest::Client::new();
    let url = format!("{}/api/circa/tasks/{task}/live", api.url);
    let deadline = tokio::time::Instant::now() + within;
    let mut seen = Followed::default();
    let mut step_ended = false;
    while !step_ended {
        if tokio::time::Instant::now() > deadline {
            seen.timed_out = true;
            return seen;
        }
        let mut request = http.get(&url).bearer_auth(&api.token);
        if let Some(last) = seen.ids.last() {
            request = request.header("Last-Event-ID", last.to_string());
        }
        let mut response = match request.send().await {
            Ok(r) if r.status() == 200 => r,
            Ok(r) => {
                seen.refused.push(r.status().to_string());
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            Err(e) => {
                seen.refused.push(e.to_string());
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        seen.streams += 1;
        let mut reader = SseReader::default();
        let mut shut_down = false;
        loop {
            let chunk = match tokio::time::timeout_at(deadline, response.chunk()).await {
                Ok(Ok(Some(chunk))) => chunk,
                // Ended, or broken (a replica gone).
                Ok(_) => break,
                Err(_) => {
                    seen.timed_out = true;
                    return seen;
                }
            };
            for event in reader.push(&chunk) {
                if event.name.as_deref() == Some("shutdown") {
                    shut_down = true;
                    continue;
                }
                seen.ids.extend(event.id);
                let body: Value = serde_json::from_str(&event.data).unwrap();
                match body["event"].as_str() {
                    Some("output") => seen.output.push_str(body["text"].as_str().unwrap()),
                    Some("step_finished") => step_ended = true,
                    _ => {}
                }
            }
        }
        if shut_down {
            seen.shutdowns += 1;
            // The shutdown event's `retry:`, as an EventSource honours it.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    seen
}

/// Asserts a follower saw every event once, in order, and every line of the talker.
fn check_followed(seen: &Followed, what: &str) {
    let lines: Vec<&str> = seen
        .output
        .lines()
        .filter(|l| l.starts_with("line "))
        .collect();
    eprintln!(
        "{what}: the follower saw {} events, {} lines, over {} streams ({} ended by a \
         shutdown), {} refused, timed out: {}",
        seen.ids.len(),
        lines.len(),
        seen.streams,
        seen.shutdowns,
        seen.refused.len(),
        seen.timed_out
    );
    let last = seen.ids.last().copied().unwrap_or(0);
    assert!(
        !seen.timed_out,
        "{what}: the follower did not see the step end: {}",
        sequence_faults(&seen.ids, 1..=last)
    );
    let first = seen.ids.first().copied().unwrap_or(1);
    let contiguous: Vec<u64> = (first..first + seen.ids.len() as u64).collect();
    assert!(
        seen.ids == contiguous,
        "{what}: every event once, in order: {}",
        sequence_faults(&seen.ids, 1..=last)
    );
    let numbers: Vec<u64> = lines
        .iter()
        .filter_map(|l| l.trim_start_matches("line ").parse().ok())
        .collect();
    let expected = 1..=TALKER_LINES as u64;
    assert!(
        numbers == expected.clone().collect::<Vec<u64>>() && numbers.len() == lines.len(),
        "{what}: every line once, in order: {}",
        sequence_faults(&numbers, expected)
    );
}

/// What is wrong with `seen` against `expected` (every number once, in order): the numbers
/// missing, those seen twice, and where the order broke (at most ten of each).
fn sequence_faults(seen: &[u64], expected: std::ops::RangeInclusive<u64>) -> String {
    let mut times: BTreeMap<u64, usize> = BTreeMap::new();
    for n in seen {
        *times.entry(*n).or_default() += 1;
    }
    let missing: Vec<u64> = expected
        .filter(|n| !times.contains_key(n))
        .take(10)
        .collect();
    let twice: Vec<u64> = times
        .iter()
        .filter(|(_, t)| **t > 1)
        .map(|(n, _)| *n)
        .take(10)
        .collect();
    let disorder: Vec<(u64, u64)> = seen
        .windows(2)
        .filter(|w| w[1] <= w[0])
        .map(|w| (w[0], w[1]))
        .take(10)
        .collect();
    format!(
        "{} seen; missing {missing:?}; twice {twice:?}; out of order (before, after) {disorder:?}",
        seen.len()
    )
}

/// A token made now is refused by every replica within 100 ms of its revocation through
/// replica 2: each replica is polled straight (past nginx) until it answers 401.
async fn revoked_token_is_refused_everywhere(cluster: &Cluster) {
    let (status, made) = cluster
        .api
        .post(
            "/api/circa/tokens",
            json!({ "kind": "user", "name": "revoke-me" }),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let token = made["token"].as_str().unwrap().to_string();
    let token_id = made["id"].as_str().unwrap().to_string();
    let replicas: Vec<Api> = (0..cluster.replicas.len())
        .map(|i| cluster.direct(i).with_token(&token))
        .collect();
    for (i, api) in replicas.iter().enumerate() {
        for _ in 0..3 {
            let (status, me) = api.get("/api/v2/me").await;
            assert_eq!(
                status,
                200,
                "replica {}: the new token is accepted: {me}",
                i + 1
            );
        }
    }
    let stop = tokio_util::sync::CancellationToken::new();
    let pollers: Vec<_> = replicas
        .iter()
        .cloned()
        .map(|api| tokio::spawn(poll_until_refused(api, stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let status = cluster
        .direct(1)
        .delete(&format!("/api/circa/tokens/{token_id}"))
        .await;
    let revoked = Instant::now();
    assert_eq!(status, 204, "the revocation through replica 2");
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.cancel();
    let mut lags = Vec::new();
    for poller in pollers {
        let answers = poller.await.unwrap();
        lags.push(refused_after(&answers, revoked));
    }
    eprintln!("revocation: refused after (ms, per replica): {lags:?}");
    for (i, lag) in lags.iter().enumerate() {
        let lag = lag.unwrap_or_else(|| panic!("replica {} still accepts the token", i + 1));
        assert!(
            lag <= 100,
            "replica {} accepted the revoked token {lag} ms after the revocation",
            i + 1
        );
    }
}

/// Asks `/api/v2/me` again and again until `stop`; every answer (when it was received, status).
async fn poll_until_refused(
    api: Api,
    stop: tokio_util::sync::CancellationToken,
) -> Vec<(Instant, u16)> {
    let mut answers = Vec::new();
    while !stop.is_cancelled() {
        let (status, _) = api.get("/api/v2/me").await;
        answers.push((Instant::now(), status));
    }
    answers
}

/// How long after `revoked` (ms, 0 when before) a replica refused the token for good: the
/// last accepted answer's time, or `None` when it never refused.
fn refused_after(answers: &[(Instant, u16)], revoked: Instant) -> Option<u128> {
    if answers.last().is_none_or(|(_, status)| *status != 401) {
        return None;
    }
    let last_accepted = answers.iter().rev().find(|(_, status)| *status == 200);
    Some(last_accepted.map_or(0, |(at, _)| {
        at.saturating_duration_since(revoked).as_millis()
    }))
}

/// Prometheus scrapes every replica: `up` is 1 for each, and the queue depth has a series
/// per replica; `promtool check metrics` passes on each replica's output.
async fn prometheus_scrapes_every_replica(cluster: &Cluster, prometheus: &Prometheus) {
    let n = cluster.replicas.len();
    let up = cluster
        .api
        .until(
            Duration::from_secs(60),
            "every replica up in prometheus",
            || async {
                let up = prometheus.query("up{job=\"circa\"} == 1").await;
                (up.len() == n).then_some(up)
            },
        )
        .await;
    assert_eq!(up.len(), n, "{up:?}");
    let depth = cluster
        .api
        .until(
            Duration::from_secs(60),
            "a queue depth from every replica",
            || async {
                let depth = prometheus
                    .query("circa_queue_depth{resource_class=\"default\"}")
                    .await;
                let instances: std::collections::BTreeSet<String> = depth
                    .iter()
                    .map(|s| {
                        s["metric"]["instance"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string()
                    })
                    .collect();
                (instances.len() == n).then_some(depth)
            },
        )
        .await;
    assert!(
        depth.iter().all(|s| s["value"][1] == "0"),
        "the queue is empty after the run: {depth:?}"
    );
    for listen in &cluster.metrics {
        let text = reqwest::get(format!("http://{listen}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        promtool_check(&text);
    }
}

/// Prometheus scraping the replicas' metrics listeners every second.
fn prometheus_for(cluster: &Cluster, dir: &Path) -> Prometheus {
    let targets: Vec<String> = cluster.metrics.iter().map(|m| format!("'{m}'")).collect();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
         scrape_configs:\n\
         \x20 - job_name: circa\n\
         \x20   static_configs:\n\
         \x20     - targets: [{}]\n",
        targets.join(", ")
    );
    Prometheus::start(dir, &config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_run_every_job_once_stream_logs_revoke_at_once_and_are_scraped() {
    let _one = ONE_CLUSTER_AT_A_TIME.lock().await;
    let t0 = Instant::now();
    let Some((cluster, projects, api)) = set_up("0.05").await else {
        return;
    };
    let prometheus_dir = tempfile::tempdir().unwrap();
    let prometheus =
        prometheus_available().then(|| prometheus_for(&cluster, prometheus_dir.path()));

    let talker = api.trigger("gh/acme/talker", json!({})).await;
    let task = first_task(&api, &talker).await;
    let follower = tokio::spawn(follow(api.clone(), task, Duration::from_secs(600)));
    let n = pipelines();
    let t1 = Instant::now();
    let ids = trigger_fans(&api, n).await;
    eprintln!(
        "triggered {n} pipelines through nginx in {:.1} s",
        t1.elapsed().as_secs_f64()
    );
    until_recorded(&projects.record, n * JOBS_PER_PIPELINE, "run").await;
    eprintln!(
        "run: {:.1} s from the first trigger",
        t1.elapsed().as_secs_f64()
    );
    let followed = follower.await.unwrap();

    // Each property is checked even when another fails: the assertions of the run come last.
    let t2 = Instant::now();
    revoked_token_is_refused_everywhere(&cluster).await;
    eprintln!("revocation: {:.1} s", t2.elapsed().as_secs_f64());
    if let Some(prometheus) = &prometheus {
        let t3 = Instant::now();
        prometheus_scrapes_every_replica(&cluster, prometheus).await;
        eprintln!("prometheus: {:.1} s", t3.elapsed().as_secs_f64());
    }
    check_run(&api, &ids, &projects.record, "run").await;
    check_followed(&followed, "run");
    let talked = outcome(&api, &talker, Duration::from_secs(60)).await;
    assert_eq!(talked.workflows, ["success"]);
    eprintln!("total: {:.1} s", t0.elapsed().as_secs_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_killed_mid_run_loses_no_job_and_runs_none_twice() {
    let _one = ONE_CLUSTER_AT_A_TIME.lock().await;
    let t0 = Instant::now();
    let Some((mut cluster, projects, api)) = set_up("0.05").await else {
        return;
    };
    let n = pipelines();
    let expected = n * JOBS_PER_PIPELINE;
    let t1 = Instant::now();
    let ids = trigger_fans(&api, n).await;
    eprintln!(
        "triggered {n} pipelines through nginx in {:.1} s",
        t1.elapsed().as_secs_f64()
    );
    until_recorded(&projects.record, expected * 35 / 100, "before the kill").await;
    let done = recorded(&projects.record).len();
    let victim = cluster.replicas.len() - 1;
    tokio::task::block_in_place(|| cluster.replicas[victim].kill());
    eprintln!(
        "killed replica {} (SIGKILL) with {done} of {expected} jobs done ({:.0} %), at {:.1} s",
        victim + 1,
        done as f64 * 100.0 / expected as f64,
        t1.elapsed().as_secs_f64()
    );
    until_recorded(&projects.record, expected, "after the kill").await;
    eprintln!(
        "run: {:.1} s from the first trigger",
        t1.elapsed().as_secs_f64()
    );
    check_run(&api, &ids, &projects.record, "after the kill").await;
    eprintln!("total: {:.1} s", t0.elapsed().as_secs_f64());
}

/// Every API call of a rolling restart, as (what, status; 0 when nginx could not be reached).
type Calls = Vec<(String, u16)>;

/// A request through nginx; its status (0 when it failed) and JSON.
async fn call(
    http: &reqwest::Client,
    api: &Api,
    method: reqwest::Method,
    path: &str,
) -> (u16, Value) {
    let mut request = http
        .request(method.clone(), format!("{}{path}", api.url))
        .bearer_auth(&api.token);
    if method == reqwest::Method::POST {
        request = request.json(&json!({}));
    }
    match request.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.json().await.unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}

/// Triggers `count` fan pipelines (`TRIGGERS_IN_FLIGHT / 4` at once), reading each back; the
/// pipelines and every call.
/// A client that opens a connection per request: a connection kept open to nginx is closed
/// by nginx's reload (its old workers drop idle connections), and a request written into it
/// at that moment would be lost before it reached a replica.
fn fresh_connections() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

async fn trigger_and_read(api: Api, count: usize) -> (Vec<String>, Calls) {
    let http = fresh_connections();
    let answers: Vec<(Option<String>, Calls)> = futures_util::stream::iter(0..count)
        .map(|_| async {
            let mut calls = Calls::new();
            let path = "/api/v2/project/gh/acme/fan/pipeline";
            let (status, body) = call(&http, &api, reqwest::Method::POST, path).await;
            calls.push(("trigger".into(), status));
            let id = body["id"].as_str().map(str::to_string);
            if let Some(id) = &id {
                let (status, _) = call(
                    &http,
                    &api,
                    reqwest::Method::GET,
                    &format!("/api/v2/pipeline/{id}"),
                )
                .await;
                calls.push(("read".into(), status));
            }
            (id, calls)
        })
        .buffer_unordered(TRIGGERS_IN_FLIGHT / 4)
        .collect()
        .await;
    let mut ids = Vec::new();
    let mut calls = Calls::new();
    for (id, made) in answers {
        ids.extend(id);
        calls.extend(made);
    }
    (ids, calls)
}

/// Reads the pipeline list and `/api/v2/me` through nginx every 100 ms until `stop`.
async fn read_until(api: Api, stop: tokio_util::sync::CancellationToken) -> Calls {
    let http = fresh_connections();
    let mut calls = Calls::new();
    while !stop.is_cancelled() {
        for path in ["/api/v2/me", "/api/v2/project/gh/acme/fan/pipeline"] {
            let (status, _) = call(&http, &api, reqwest::Method::GET, path).await;
            calls.push((path.to_string(), status));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    calls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rolling_restart_of_the_replicas_fails_no_job_and_no_api_call() {
    let _one = ONE_CLUSTER_AT_A_TIME.lock().await;
    let t0 = Instant::now();
    let Some((mut cluster, projects, api)) = set_up("0.2").await else {
        return;
    };
    // The talker runs for about a minute: across every restart.
    let talker = api.trigger("gh/acme/talker", json!({})).await;
    let task = first_task(&api, &talker).await;
    let follower = tokio::spawn(follow(api.clone(), task, Duration::from_secs(600)));
    let n = pipelines() / 4;
    let t1 = Instant::now();
    let triggers = tokio::spawn(trigger_and_read(api.clone(), n));
    let stop = tokio_util::sync::CancellationToken::new();
    let reads = tokio::spawn(read_until(api.clone(), stop.clone()));
    for i in 0..cluster.replicas.len() {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let t = Instant::now();
        // As behind any proxy that does not check `/readyz`: out of the upstream first.
        tokio::task::block_in_place(|| cluster.set_down(Some(i)));
        let exited = tokio::task::block_in_place(|| cluster.restart_replica(i));
        assert!(exited, "replica {} exits within its grace period", i + 1);
        let direct = cluster.direct(i);
        direct
            .until(
                Duration::from_secs(30),
                "the replica to be ready",
                || async {
                    let ready = reqwest::get(format!("{}/readyz", direct.url)).await.ok()?;
                    (ready.status() == 200).then_some(())
                },
            )
            .await;
        tokio::task::block_in_place(|| cluster.set_down(None));
        eprintln!(
            "restarted replica {} in {:.1} s",
            i + 1,
            t.elapsed().as_secs_f64()
        );
    }
    let (ids, mut calls) = triggers.await.unwrap();
    stop.cancel();
    calls.extend(reads.await.unwrap());
    eprintln!(
        "rolling restart: {} pipelines triggered, {} API calls through nginx in {:.1} s",
        ids.len(),
        calls.len(),
        t1.elapsed().as_secs_f64()
    );
    let failed: Vec<&(String, u16)> = calls
        .iter()
        .filter(|(_, s)| !(200..300).contains(s))
        .collect();
    assert!(
        failed.is_empty(),
        "API calls that failed: {} of {}: {:?}",
        failed.len(),
        calls.len(),
        &failed[..failed.len().min(20)]
    );
    assert_eq!(ids.len(), n);
    until_recorded(&projects.record, n * JOBS_PER_PIPELINE, "rolling restart").await;
    check_run(&api, &ids, &projects.record, "rolling restart").await;
    check_followed(&follower.await.unwrap(), "rolling restart");
    eprintln!("total: {:.1} s", t0.elapsed().as_secs_f64());
}
