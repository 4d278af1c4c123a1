//! Graceful shutdown end to end: a runner told to stop finishes its job and claims no more; a
//! server told to stop drains (readiness, live streams) and a job running across its restart
//! still succeeds with every log line once; a rolling restart fails no job and no API call.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::server::job_printing;
use crate::server_harness::{Api, Repo, RunnerProc, ServerProc};

const LONG: Duration = Duration::from_secs(90);

/// The grace period the tests give servers (the default is 50 s).
const GRACE_SECS: u64 = 10;

/// A server (lease 30 s, a short grace period) and the admin's client.
fn server(data: &std::path::Path) -> (ServerProc, Api) {
    let grace = GRACE_SECS.to_string();
    let server = ServerProc::start_with(data, 30, &[], &["--shutdown-grace-secs", &grace]);
    let api = server.client();
    (server, api)
}

/// A server, a shell runner and a project whose repository holds a config (bind every field
/// when taking it apart: what is not bound is dropped, and its process stopped, at once).
struct Rig {
    server: ServerProc,
    api: Api,
    runner: RunnerProc,
    _repo: Repo,
    _dirs: [tempfile::TempDir; 2],
}

/// A [`Rig`]: project `slug` on `config`, a runner with `slots` slots and more `options`.
async fn rig(config: &str, slug: &str, slots: u32, options: &[&str]) -> Rig {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let (server, api) = server(dirs[0].path());
    let token = api.runner_token("default").await;
    let runner = RunnerProc::start_with(&api.url, &token, dirs[1].path(), slots, options);
    let repo = Repo::new(config);
    api.add_project(slug, repo.path(), json!({})).await;
    Rig {
        server,
        api,
        runner,
        _repo: repo,
        _dirs: dirs,
    }
}

/// Runs blocking `f` (waiting for a process) without holding up the runtime's other tasks.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

const SLOW: &str = r#"
version: 2.1
jobs:
  slow: { machine: true, steps: [ { run: "echo started; sleep 5; echo done" } ] }
workflows:
  main: { jobs: [ slow ] }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_told_to_stop_finishes_its_job_claims_no_more_and_exits_0() {
    let Rig {
        api,
        mut runner,
        server: _server,
        _repo,
        _dirs,
    } = rig(SLOW, "gh/acme/drain", 1, &[]).await;
    let first = api.trigger("gh/acme/drain", json!({})).await;
    job_printing(&api, &first, "started").await;
    let second = api.trigger("gh/acme/drain", json!({})).await;
    let queued = first_job(&api, &second).await;
    assert_eq!(queued["status"], "queued", "{queued}");

    runner.send_term();
    let workflows = api.finished(&first, LONG).await;
    assert_eq!(workflows[0]["status"], "success", "{workflows:?}");
    let exit = blocking(|| runner.wait_exit(Duration::from_secs(30)));
    assert_eq!(exit.map(|e| e.code()), Some(Some(0)), "the runner exits 0");
    // The slot the first job freed took nothing: the second job is still queued.
    let after = first_job(&api, &second).await;
    assert_eq!(after["status"], "queued", "{after}");
}

const SLEEPER: &str = r#"
version: 2.1
jobs:
  sleeper: { machine: true, steps: [ { run: "echo started; sleep 120" } ] }
workflows:
  main: { jobs: [ sleeper ] }
"#;

/// A rig whose runner (with `options`) runs a two-minute job; that job's pipeline.
async fn runner_in_a_long_job(options: &[&str]) -> (Rig, String) {
    let rig = rig(SLEEPER, "gh/acme/long", 1, options).await;
    let id = rig.api.trigger("gh/acme/long", json!({})).await;
    job_printing(&rig.api, &id, "started").await;
    (rig, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_cancels_a_draining_runners_job_and_it_exits() {
    let (
        Rig {
            api,
            mut runner,
            server: _server,
            _repo,
            _dirs,
        },
        id,
    ) = runner_in_a_long_job(&[]).await;
    runner.send_term();
    // Still draining: the job goes on.
    assert_eq!(blocking(|| runner.wait_exit(Duration::from_secs(2))), None);
    runner.send_term();
    let exit = blocking(|| runner.wait_exit(Duration::from_secs(30)));
    assert_eq!(exit.map(|e| e.code()), Some(Some(0)), "the runner exits 0");
    let job = first_job(&api, &id).await;
    assert_ne!(job["status"], "success", "{job}");
    assert_ne!(job["status"], "running", "{job}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_timeout_cancels_the_jobs_still_running_then() {
    let (
        Rig {
            api,
            mut runner,
            server: _server,
            _repo,
            _dirs,
        },
        id,
    ) = runner_in_a_long_job(&["--drain-timeout-secs", "1"]).await;
    runner.send_term();
    let exit = blocking(|| runner.wait_exit(Duration::from_secs(30)));
    assert_eq!(exit.map(|e| e.code()), Some(Some(0)), "the runner exits 0");
    let job = first_job(&api, &id).await;
    assert_ne!(job["status"], "success", "{job}");
    assert_ne!(job["status"], "running", "{job}");
}

/// The first job of a pipeline's first workflow, once there is one.
async fn first_job(api: &Api, pipeline: &str) -> Value {
    api.until(LONG, "the pipeline's first job", || async {
        let wf = api.workflows(pipeline).await.into_iter().next()?;
        api.jobs(wf["id"].as_str()?).await.into_iter().next()
    })
    .await
}

const TALKER: &str = r#"
version: 2.1
jobs:
  talker:
    machine: true
    steps:
      - run: for i in $(seq 1 80); do echo "line $i"; sleep 0.1; done
workflows:
  main: { jobs: [ talker ] }
"#;

/// One SSE event as the test reads it.
#[derive(Debug, Default)]
pub(crate) struct SseEvent {
    /// `id:`.
    pub(crate) id: Option<u64>,
    /// `event:`.
    pub(crate) name: Option<String>,
    /// `data:`.
    pub(crate) data: String,
}

/// Splits SSE bytes into events (fields `id`, `event`, `data`; comments skipped).
#[derive(Default)]
pub(crate) struct SseReader {
    line: Vec<u8>,
    event: SseEvent,
}

impl SseReader {
    /// The events `bytes` completes.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut done = Vec::new();
        for &b in bytes {
            if b != b'\n' {
                self.line.push(b);
                continue;
            }
            let line = String::from_utf8(std::mem::take(&mut self.line)).unwrap();
            let line = line.trim_end_matches('\r');
            if line.is_empty() {
                let event = std::mem::take(&mut self.event);
                if event.id.is_some() || event.name.is_some() || !event.data.is_empty() {
                    done.push(event);
                }
            } else if let Some(v) = line.strip_prefix("id:") {
                self.event.id = v.trim().parse().ok();
            } else if let Some(v) = line.strip_prefix("event:") {
                self.event.name = Some(v.trim().to_string());
            } else if let Some(v) = line.strip_prefix("data:") {
                self.event.data.push_str(v.strip_prefix(' ').unwrap_or(v));
            }
        }
        done
    }
}

/// What a follower of a task's live events saw.
#[derive(Debug, Default)]
struct Followed {
    /// Sequence numbers, in order.
    ids: Vec<u64>,
    /// The text of every output event, in order.
    output: String,
    /// How many times the server ended the stream for its shutdown.
    shutdowns: u32,
}

/// Follows a task's live events as an EventSource does: when the server ends the stream for
/// its shutdown, it connects again a second later (retrying while it cannot connect) with
/// `Last-Event-ID`; it stops when the stream ends without one (the task ended). `ended` is
/// told of each shutdown event.
async fn follow(api: Api, task: String, ended: tokio::sync::mpsc::UnboundedSender<()>) -> Followed {
    let http = reqwest::Client::new();
    let url = format!("{}/api/circa/tasks/{task}/live", api.url);
    let mut seen = Followed::default();
    let deadline = Instant::now() + LONG;
    loop {
        assert!(Instant::now() < deadline, "following took too long");
        let mut request = http.get(&url).bearer_auth(&api.token);
        if let Some(last) = seen.ids.last() {
            request = request.header("Last-Event-ID", last.to_string());
        }
        // As an EventSource does, any failure to connect is tried again.
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        assert_eq!(response.status(), 200);
        let (mut reader, mut shut_down) = (SseReader::default(), false);
        while let Some(chunk) = response.chunk().await.unwrap() {
            for event in reader.push(&chunk) {
                if event.name.as_deref() == Some("shutdown") {
                    shut_down = true;
                    seen.shutdowns += 1;
                    let _ = ended.send(());
                    continue;
                }
                seen.ids.extend(event.id);
                let body: Value = serde_json::from_str(&event.data).unwrap();
                if body["event"] == "output" {
                    seen.output.push_str(body["text"].as_str().unwrap());
                }
            }
        }
        if !shut_down {
            return seen;
        }
        // The shutdown event's `retry:`, as an EventSource honours it.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Polls `/readyz` until it answers 503; whether it did within `within`.
async fn readyz_goes_503(url: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(format!("{url}/readyz")).await
            && r.status() == 503
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_running_across_a_drained_server_restart_succeeds_and_its_follower_sees_every_line_once()
 {
    let Rig {
        mut server,
        api,
        runner: _runner,
        _repo,
        _dirs,
    } = rig(TALKER, "gh/acme/restart", 1, &[]).await;
    let id = api.trigger("gh/acme/restart", json!({})).await;
    let (_, job_id) = job_printing(&api, &id, "line 5\n").await;
    let (_, details) = api.get(&format!("/api/circa/jobs/{job_id}")).await;
    let task = details["tasks"][0]["id"].as_str().unwrap().to_string();
    let (ended_tx, mut ended) = tokio::sync::mpsc::unbounded_channel();
    let follower = tokio::spawn(follow(api.clone(), task, ended_tx));
    let number = details["number"].as_u64().unwrap().to_string();
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_circa"))
        .args([
            "job",
            "log",
            &format!("gh/acme/restart/{number}"),
            "--follow",
        ])
        .env("CIRCA_URL", &api.url)
        .env("CIRCA_TOKEN", &api.token)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    job_printing(&api, &id, "line 15\n").await;

    let asked = Instant::now();
    server.send_term();
    assert!(
        readyz_goes_503(&api.url, Duration::from_secs(2)).await,
        "/readyz answers 503 while the server drains"
    );
    let ended_in = tokio::time::timeout(Duration::from_secs(5), ended.recv()).await;
    assert!(
        ended_in.is_ok(),
        "the live stream ends with a shutdown event"
    );
    let exited = blocking(|| server.wait_exit(Duration::from_secs(GRACE_SECS + 2)));
    assert!(exited, "the server exits within its grace period");
    assert!(asked.elapsed() < Duration::from_secs(GRACE_SECS + 2));

    blocking(|| server.restart());
    // A new client: the old one's connections were to the process that ended.
    let api = server.client();
    let workflows = api.finished(&id, LONG).await;
    assert_eq!(workflows[0]["status"], "success", "{workflows:?}");
    let seen = follower.await.unwrap();
    assert!(seen.shutdowns >= 1, "{seen:?}");
    let first = seen.ids[0];
    let contiguous: Vec<u64> = (first..first + seen.ids.len() as u64).collect();
    assert_eq!(seen.ids, contiguous, "every event once, in order");
    let lines: Vec<&str> = seen
        .output
        .lines()
        .filter(|l| l.starts_with("line "))
        .collect();
    let expected: Vec<String> = (1..=80).map(|i| format!("line {i}")).collect();
    assert_eq!(lines, expected, "the follower saw every line exactly once");
    // `circa job log --follow` resumed the same way, and ended with the job.
    let out = blocking(|| cli.wait_with_output().unwrap());
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("line ")).collect();
    assert_eq!(lines, expected, "job log --follow printed every line once");
}

const PAIR: &str = r#"
version: 2.1
jobs:
  step:
    machine: true
    parameters:
      n: { type: integer }
    steps:
      - run: sleep 0.3; echo "step << parameters.n >>"
workflows:
  main:
    jobs:
      - step: { name: first, n: 1 }
      - step: { name: second, n: 2, requires: [first] }
"#;

/// An API call that retries (for up to a minute) while the server refuses connections; its
/// status, body and how many times the connection was refused.
async fn retrying(
    http: &reqwest::Client,
    api: &Api,
    method: &str,
    path: &str,
) -> (u16, Value, u32) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut refused = 0;
    loop {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let request = http
            .request(method.clone(), format!("{}{path}", api.url))
            .bearer_auth(&api.token);
        let request = if method == reqwest::Method::POST {
            request.json(&json!({}))
        } else {
            request
        };
        match request.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                return (status, r.json().await.unwrap_or(Value::Null), refused);
            }
            // Connections refused while no server listens; and, as HTTP lets clients do
            // for idempotent requests, a read sent on a kept connection as the server closed it.
            Err(e)
                if (e.is_connect() || method == reqwest::Method::GET)
                    && Instant::now() < deadline =>
            {
                refused += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("{method} {path}: {e}"),
        }
    }
}

/// What the API calls of a rolling restart got.
struct Calls {
    /// The pipelines triggered.
    ids: Vec<String>,
    /// Every status answered.
    statuses: Vec<u16>,
    /// How many times a connection was refused (the server was down).
    refused: u32,
}

/// Triggers `count` pipelines one after another, reading each back.
async fn trigger_and_read(api: Api, slug: &'static str, count: usize) -> Calls {
    let http = reqwest::Client::new();
    let path = format!("/api/v2/project/{slug}/pipeline");
    let mut calls = Calls {
        ids: Vec::new(),
        statuses: Vec::new(),
        refused: 0,
    };
    for _ in 0..count {
        let (status, body, refused) = retrying(&http, &api, "POST", &path).await;
        calls.statuses.push(status);
        let id = body["id"].as_str().unwrap_or_default().to_string();
        let read = format!("/api/v2/pipeline/{id}");
        let (status, _, refused_too) = retrying(&http, &api, "GET", &read).await;
        calls.statuses.push(status);
        calls.refused += refused + refused_too;
        calls.ids.push(id);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    calls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_fails_no_job_and_answers_no_api_call_with_a_5xx() {
    let Rig {
        mut server,
        api,
        runner: _runner,
        _repo,
        _dirs,
    } = rig(PAIR, "gh/acme/rolling", 4, &[]).await;
    let calls = tokio::spawn(trigger_and_read(api.clone(), "gh/acme/rolling", 30));

    for _ in 0..2 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let exited = blocking(|| server.terminate(Duration::from_secs(GRACE_SECS + 2)));
        assert!(exited, "the server exits within its grace period");
        // Down for a moment, as between the old process and the new.
        tokio::time::sleep(Duration::from_secs(1)).await;
        blocking(|| server.restart());
    }
    let calls = calls.await.unwrap();
    let api = server.client();
    assert!(
        calls.refused > 0,
        "some calls came while the server was down"
    );
    let failed: Vec<&u16> = calls.statuses.iter().filter(|s| **s >= 500).collect();
    assert!(failed.is_empty(), "5xx answers: {failed:?}");
    assert!(
        calls.statuses.iter().all(|s| *s < 300),
        "{:?}",
        calls.statuses
    );
    assert_eq!(calls.ids.len(), 30);
    for id in &calls.ids {
        let workflows = api.finished(id, LONG).await;
        assert_eq!(
            workflows[0]["status"], "success",
            "pipeline {id}: {workflows:?}"
        );
    }
}

/// The number after the first `key` in `text` that follows `after` (digits only, a unit after
/// them ignored).
fn number_after(text: &str, after: &str, key: &str) -> u64 {
    let from = text.find(after).unwrap_or_else(|| panic!("no {after:?}"));
    let rest = &text[from..];
    let at = rest
        .find(key)
        .unwrap_or_else(|| panic!("no {key:?} after {after:?}"))
        + key.len();
    let digits: String = rest[at..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

#[test]
fn the_deploy_files_leave_room_for_the_default_grace_period() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap();
    let grace = circa_server::drain::DEFAULT_SHUTDOWN_GRACE.as_secs();
    let pod = read("deploy/k8s/server-deployment.yaml");
    let pod_grace = number_after(&pod, "spec:", "terminationGracePeriodSeconds:");
    let pre_stop = number_after(&pod, "preStop:", "seconds:");
    assert!(
        pre_stop + grace <= pod_grace,
        "preStop {pre_stop} s + grace {grace} s > terminationGracePeriodSeconds {pod_grace} s"
    );
    let unit = read("deploy/systemd/circa-server.service");
    let stop_timeout = number_after(&unit, "[Service]", "TimeoutStopSec=");
    assert!(
        grace < stop_timeout,
        "grace {grace} s >= TimeoutStopSec {stop_timeout} s"
    );
    assert!(circa_server::drain::DEFAULT_SHUTDOWN_DELAY.as_secs() < grace);
}
