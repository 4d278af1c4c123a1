//! The runner against a small in-memory server speaking the runner API: a task runs end to
//! end (layers, checkout, events, uploads, completion) through failed requests, a cancel
//! reaches a running job, and a refused token stops the runner.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use circa_model::JobSpec;
use circa_model::JobStatus;
use circa_model::protocol::{
    ClaimRequest, ClaimedTasks, CompleteRequest, EventAck, EventBatch, HeartbeatReply,
    HeartbeatRequest, TaskAssignment, TaskEvent, TaskEventKind, TaskIds, TaskVcs,
};
use circa_runner::{CancellationToken, RunnerConfig, RunnerError};
use tokio::sync::Notify;

const RUNNER_TOKEN: &str = "runner-secret";
const TASK_TOKEN: &str = "task-secret";

#[derive(Default)]
struct Recorded {
    queue: Vec<TaskAssignment>,
    /// Events stored, in order.
    events: Vec<TaskEvent>,
    /// Events received out of order (a gap) — must stay empty.
    gaps: Vec<u64>,
    event_posts: u32,
    /// How the next events POSTs fail, in order.
    failures: Vec<Failure>,
    cancel: bool,
    heartbeats: u32,
    complete: Option<CompleteRequest>,
    completed_at: Option<Instant>,
    uploads: BTreeMap<String, Vec<u8>>,
    layers: BTreeMap<String, Vec<u8>>,
    bad_tokens: u32,
    /// Keep only the length of output text (for the throughput test).
    count_only: bool,
    output_bytes: u64,
}

/// A deliberately failed events POST.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Failure {
    /// 503 without storing anything.
    Refuse,
    /// The events are stored, but the answer is a 503 (as if it were lost).
    LoseAnswer,
}

#[derive(Default)]
struct Server {
    rec: Mutex<Recorded>,
    changed: Notify,
}

type Shared = Arc<Server>;

impl Server {
    fn with<T>(&self, f: impl FnOnce(&mut Recorded) -> T) -> T {
        let out = f(&mut self.rec.lock().unwrap());
        self.changed.notify_waiters();
        out
    }

    async fn wait_for(&self, what: &str, limit: Duration, mut done: impl FnMut(&Recorded) -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            let notified = self.changed.notified();
            if done(&self.rec.lock().unwrap()) {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!("timed out waiting for {what}");
            }
            let _ = tokio::time::timeout(left.min(Duration::from_millis(100)), notified).await;
        }
    }
}

fn bearer(headers: &HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string()
}

fn task_auth(s: &Server, headers: &HeaderMap) -> Result<(), StatusCode> {
    if bearer(headers) == TASK_TOKEN {
        Ok(())
    } else {
        s.with(|r| r.bad_tokens += 1);
        Err(StatusCode::UNAUTHORIZED)
    }
}

async fn claims(
    State(s): State<Shared>,
    headers: HeaderMap,
    Json(req): Json<ClaimRequest>,
) -> Response {
    if bearer(&headers) != RUNNER_TOKEN {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    assert_eq!(req.runner, "test-runner");
    assert!(req.max_tasks >= 1, "a claim asks for at least one task");
    let tasks: Vec<TaskAssignment> = s.with(|r| {
        let mut taken = Vec::new();
        while taken.len() < req.max_tasks as usize {
            match r.queue.pop() {
                Some(task) => taken.push(task),
                None => break,
            }
        }
        taken
    });
    if !tasks.is_empty() {
        return Json(ClaimedTasks { tasks }).into_response();
    }
    // Held as long as asked: stopping the runner must not wait for it.
    tokio::time::sleep(Duration::from_millis(req.wait_ms)).await;
    StatusCode::NO_CONTENT.into_response()
}

async fn heartbeat(
    State(s): State<Shared>,
    headers: HeaderMap,
    Json(req): Json<HeartbeatRequest>,
) -> Response {
    if let Err(status) = task_auth(&s, &headers) {
        return status.into_response();
    }
    s.with(|r| r.heartbeats += 1);
    let deadline = Instant::now() + Duration::from_millis(req.hold_ms);
    loop {
        let notified = s.changed.notified();
        if s.rec.lock().unwrap().cancel {
            break;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let _ = tokio::time::timeout(left, notified).await;
    }
    let cancel = s.rec.lock().unwrap().cancel;
    Json(HeartbeatReply {
        cancel,
        lease_ms: 3000,
    })
    .into_response()
}

async fn events(
    State(s): State<Shared>,
    headers: HeaderMap,
    Json(batch): Json<EventBatch>,
) -> Response {
    if let Err(status) = task_auth(&s, &headers) {
        return status.into_response();
    }
    let fail = s.with(|r| {
        r.event_posts += 1;
        (!r.failures.is_empty()).then(|| r.failures.remove(0))
    });
    if fail == Some(Failure::Refuse) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let acked = s.with(|r| {
        for mut e in batch.events {
            let expected = r.events.len() as u64 + 1;
            if let (true, TaskEventKind::Output { text, .. }) = (r.count_only, &mut e.kind) {
                if e.seq == expected {
                    r.output_bytes += text.len() as u64;
                }
                *text = String::new();
            }
            if e.seq == expected {
                r.events.push(e);
            } else if e.seq > expected {
                r.gaps.push(e.seq);
            }
        }
        r.events.len() as u64
    });
    if fail == Some(Failure::LoseAnswer) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    Json(EventAck { acked }).into_response()
}

async fn upload(
    State(s): State<Shared>,
    headers: HeaderMap,
    UrlPath((_id, kind, path)): UrlPath<(String, String, String)>,
    body: Bytes,
) -> Response {
    if let Err(status) = task_auth(&s, &headers) {
        return status.into_response();
    }
    s.with(|r| r.uploads.insert(format!("{kind}/{path}"), body.to_vec()));
    StatusCode::NO_CONTENT.into_response()
}

async fn upload_layer(
    State(s): State<Shared>,
    headers: HeaderMap,
    UrlPath((id, name)): UrlPath<(String, String)>,
    body: Bytes,
) -> Response {
    upload(
        State(s),
        headers,
        UrlPath((id, "workspace".to_string(), name)),
        body,
    )
    .await
}

async fn layer(
    State(s): State<Shared>,
    headers: HeaderMap,
    UrlPath((_id, name)): UrlPath<(String, String)>,
) -> Response {
    if let Err(status) = task_auth(&s, &headers) {
        return status.into_response();
    }
    match s.rec.lock().unwrap().layers.get(&name) {
        Some(bytes) => bytes.clone().into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn complete(
    State(s): State<Shared>,
    headers: HeaderMap,
    Json(req): Json<CompleteRequest>,
) -> Response {
    if let Err(status) = task_auth(&s, &headers) {
        return status.into_response();
    }
    s.with(|r| {
        r.complete = Some(req);
        r.completed_at = Some(Instant::now());
    });
    StatusCode::NO_CONTENT.into_response()
}

/// Starts the server; returns its base URL.
async fn serve(server: Shared) -> String {
    let app = Router::new()
        .route("/api/runner/v1/claims", post(claims))
        .route("/api/runner/v1/tasks/{id}/heartbeat", post(heartbeat))
        .route("/api/runner/v1/tasks/{id}/events", post(events))
        .route("/api/runner/v1/tasks/{id}/complete", post(complete))
        .route(
            "/api/runner/v1/tasks/{id}/workspace/{name}",
            get(layer).put(upload_layer),
        )
        .route("/api/runner/v1/tasks/{id}/{kind}/{*path}", put(upload))
        .with_state(server);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn spec(steps: &str) -> JobSpec {
    let text = format!("jobs:\n  build:\n    machine: true\n    steps:\n{steps}");
    let root = circa_config::yaml::load(&text, &circa_config::yaml::Limits::default())
        .root
        .unwrap();
    JobSpec::from_processed(&root, "build").unwrap()
}

fn assignment(spec: JobSpec) -> TaskAssignment {
    TaskAssignment {
        task_id: "task 1".into(),
        task_token: TASK_TOKEN.into(),
        lease_ms: 3000,
        spec,
        job_name: "build".into(),
        node: 0,
        vcs: TaskVcs {
            branch: Some("main".into()),
            sha1: "0".repeat(40),
            ..TaskVcs::default()
        },
        ids: TaskIds {
            workflow_id: "wf-1".into(),
            build_num: 1,
            ..TaskIds::default()
        },
        project_env: BTreeMap::new(),
        context_env: BTreeMap::new(),
        extra_env: BTreeMap::new(),
        secrets: Vec::new(),
        ssh_keys: Vec::new(),
        upstream: Vec::new(),
        workspace_layers: Vec::new(),
        step_log_limit: 1 << 20,
        git_access: None,
    }
}

struct Runner {
    shutdown: CancellationToken,
    handle: tokio::task::JoinHandle<Result<(), RunnerError>>,
    data: PathBuf,
}

fn start(url: &str, token: &str, data: &Path) -> Runner {
    start_with(url, token, data, |_| {})
}

fn start_with(
    url: &str,
    token: &str,
    data: &Path,
    adjust: impl FnOnce(&mut RunnerConfig),
) -> Runner {
    let mut config = RunnerConfig::new(url, token, data.to_path_buf());
    config.name = "test-runner".into();
    config.claim_wait = Duration::from_secs(20);
    // No in-job `circleci` command: staging it is not what these tests are about.
    config.agent_exe = Some(data.join("no-such-binary"));
    adjust(&mut config);
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn(circa_runner::run(config, shutdown.clone()));
    Runner {
        shutdown,
        handle,
        data: data.to_path_buf(),
    }
}

impl Runner {
    /// Stops the runner; it must return promptly, without error, and leave no task behind.
    async fn stop(self) {
        let t0 = Instant::now();
        self.shutdown.cancel();
        let result = tokio::time::timeout(Duration::from_secs(2), self.handle)
            .await
            .expect("the runner stops promptly")
            .unwrap();
        result.unwrap();
        assert!(t0.elapsed() < Duration::from_secs(2));
        for dir in ["spool", "tasks"] {
            let left: Vec<_> = std::fs::read_dir(self.data.join(dir)).unwrap().collect();
            assert!(left.is_empty(), "{dir}: {left:?}");
        }
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A repository with one commit; returns its sha.
fn repository(dir: &Path) -> String {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q", "-b", "main"]);
    std::fs::write(dir.join("README"), "from the repository\n").unwrap();
    git(dir, &["add", "."]);
    git(
        dir,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "first",
        ],
    );
    git(dir, &["rev-parse", "HEAD"])
}

/// A workspace layer persisted by job `upstream` holding `upstream.txt`; returns its name
/// and bytes.
fn upstream_layer(dir: &Path) -> (String, Vec<u8>) {
    let root = dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("upstream.txt"), "from upstream\n").unwrap();
    let store = circa_exec::workspace::WorkspaceStore::new(dir.join("ws")).unwrap();
    let layer = store
        .persist("wf-1", "upstream", &root, &["upstream.txt".to_string()])
        .unwrap();
    let name = layer
        .path
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    (name, std::fs::read(&layer.path).unwrap())
}

fn output(events: &[TaskEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            TaskEventKind::Output { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_runs_end_to_end_through_failed_requests() {
    let dir = tempfile::tempdir().unwrap();
    let sha = repository(&dir.path().join("repo"));
    let (layer_name, layer_bytes) = upstream_layer(&dir.path().join("upstream"));
    let mut task = assignment(spec(
        r#"      - checkout
      - attach_workspace: {at: ws}
      - run: for i in 1 2 3; do echo "line $i"; done; cat README ws/upstream.txt; echo "key=$CIRCLE_CONTINUATION_KEY"
      - run: mkdir -p out && echo report > "out/my report.txt"
      - store_artifacts: {path: out}
      - run: mkdir -p results && echo '<testsuite name="s" tests="1"><testcase name="t" classname="c"/></testsuite>' > results/r.xml
      - store_test_results: {path: results}
      - persist_to_workspace: {root: ., paths: [out]}
"#,
    ));
    task.vcs.sha1 = sha;
    task.vcs.repository_url = dir.path().join("repo").display().to_string();
    task.upstream = vec!["upstream".into()];
    task.workspace_layers = vec![layer_name.clone()];
    task.extra_env
        .insert("CIRCLE_CONTINUATION_KEY".into(), "cont-123".into());
    let server = Arc::new(Server::default());
    server.with(|r| {
        r.queue.push(task);
        r.failures = vec![Failure::Refuse, Failure::LoseAnswer];
        r.layers.insert(layer_name.clone(), layer_bytes);
    });
    let url = serve(Arc::clone(&server)).await;
    let data = dir.path().join("data");
    let runner = start(&url, RUNNER_TOKEN, &data);

    server
        .wait_for("the task's completion", Duration::from_secs(60), |r| {
            r.complete.is_some()
        })
        .await;
    runner.stop().await;

    let rec = server.rec.lock().unwrap();
    let done = rec.complete.clone().unwrap();
    let log = output(&rec.events);
    assert_eq!(done.status, JobStatus::Success, "{:?} {log}", done.message);
    assert_eq!(done.last_seq, rec.events.len() as u64);
    assert!(rec.gaps.is_empty(), "{:?}", rec.gaps);
    assert_eq!(rec.bad_tokens, 0);
    // Both failed POSTs were sent again.
    assert!(rec.event_posts >= 3);
    assert!(rec.failures.is_empty());
    let seqs: Vec<u64> = rec.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=rec.events.len() as u64).collect::<Vec<_>>());
    assert_eq!(log.matches("line 1\nline 2\nline 3\n").count(), 1, "{log}");
    assert_eq!(log.matches("from the repository").count(), 1, "{log}");
    assert_eq!(log.matches("from upstream").count(), 1, "{log}");
    assert!(log.contains("key=cont-123"), "{log}");
    let finished: Vec<(u32, String)> = rec
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            TaskEventKind::StepFinished { step, status, .. } => Some((*step, status.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        finished,
        (0..8)
            .map(|i| (i, "success".to_string()))
            .collect::<Vec<_>>()
    );
    assert!(rec.events.iter().any(|e| matches!(
        e.kind,
        TaskEventKind::TestResults {
            tests: 1,
            failures: 0,
            ..
        }
    )));

    assert_eq!(
        rec.uploads
            .get("artifacts/out/my report.txt")
            .map(Vec::as_slice),
        Some(&b"report\n"[..]),
        "{:?}",
        rec.uploads.keys()
    );
    assert!(
        rec.uploads
            .keys()
            .any(|k| k.starts_with("test-results/") && k.ends_with(".xml"))
    );
    let hash = circa_exec::workspace::job_hash("build");
    let layers: Vec<&String> = rec
        .uploads
        .keys()
        .filter(|k| k.starts_with("workspace/"))
        .collect();
    assert_eq!(layers.len(), 1, "{layers:?}");
    assert!(layers[0].ends_with(&format!("-{hash}.tar.zst")));
    // The downloaded layer stays for later tasks of the workflow, not uploaded again.
    assert!(data.join("workspaces/wf-1").join(&layer_name).is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_from_a_heartbeat_stops_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let server = Arc::new(Server::default());
    server.with(|r| {
        r.queue
            .push(assignment(spec("      - run: echo started; sleep 30\n")))
    });
    let url = serve(Arc::clone(&server)).await;
    let runner = start(&url, RUNNER_TOKEN, &dir.path().join("data"));

    server
        .wait_for("the step's output", Duration::from_secs(30), |r| {
            output(&r.events).contains("started")
        })
        .await;
    let canceled_at = Instant::now();
    server.with(|r| r.cancel = true);
    server
        .wait_for("the task's completion", Duration::from_secs(10), |r| {
            r.complete.is_some()
        })
        .await;
    {
        let rec = server.rec.lock().unwrap();
        let took = rec.completed_at.unwrap() - canceled_at;
        assert!(took < Duration::from_secs(2), "{took:?}");
        let done = rec.complete.clone().unwrap();
        assert_eq!(done.status, JobStatus::Canceled, "{done:?}");
        assert_eq!(done.last_seq, rec.events.len() as u64);
        assert!(rec.events.iter().any(|e| matches!(
            &e.kind,
            TaskEventKind::StepFinished { status, .. } if status == "canceled"
        )));
    }
    runner.stop().await;
}

/// Builds the local test images (`scripts/test-images.sh`), as circa-exec's docker tests do.
fn test_images() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/test-images.sh");
    let out = std::process::Command::new(&script).output().unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_docker_runner_runs_docker_jobs_in_containers() {
    test_images();
    let dir = tempfile::tempdir().unwrap();
    let sha = repository(&dir.path().join("repo"));
    let text = r#"jobs:
  build:
    docker:
      - image: cimg/base:stable
    steps:
      - checkout
      - run: cat README; test -f /.dockerenv && echo in-a-container; echo made-inside > out.txt
      - store_artifacts: {path: out.txt}
"#;
    let root = circa_config::yaml::load(text, &circa_config::yaml::Limits::default())
        .root
        .unwrap();
    let mut task = assignment(JobSpec::from_processed(&root, "build").unwrap());
    task.vcs.sha1 = sha;
    task.vcs.repository_url = dir.path().join("repo").display().to_string();
    let server = Arc::new(Server::default());
    server.with(|r| r.queue.push(task));
    let url = serve(Arc::clone(&server)).await;
    let runner = start_with(&url, RUNNER_TOKEN, &dir.path().join("data"), |c| {
        c.executor = circa_runner::ExecutorKind::Docker;
        c.image_map = vec![("cimg/base:stable".into(), "circa-test/bash:latest".into())];
    });
    server
        .wait_for("the task's completion", Duration::from_secs(120), |r| {
            r.complete.is_some()
        })
        .await;
    runner.stop().await;
    let rec = server.rec.lock().unwrap();
    let log = output(&rec.events);
    let done = rec.complete.clone().unwrap();
    assert_eq!(done.status, JobStatus::Success, "{:?} {log}", done.message);
    assert!(
        log.contains("from the repository") && log.contains("in-a-container"),
        "{log}"
    );
    assert!(rec.events.iter().any(|e| matches!(
        &e.kind,
        TaskEventKind::EnvironmentReady { description } if description.contains("circa-test/bash")
    )));
    assert_eq!(
        rec.uploads.get("artifacts/out.txt").map(Vec::as_slice),
        Some(&b"made-inside\n"[..])
    );
}

#[tokio::test]
async fn a_refused_runner_token_stops_the_runner() {
    let dir = tempfile::tempdir().unwrap();
    let url = serve(Arc::new(Server::default())).await;
    let runner = start(&url, "wrong", &dir.path().join("data"));
    let result = tokio::time::timeout(Duration::from_secs(10), runner.handle)
        .await
        .unwrap()
        .unwrap();
    match result {
        Err(RunnerError::Unauthorized { status: 401, .. }) => {}
        other => panic!("{other:?}"),
    }
}
