//! Prometheus metrics end to end: a real server and runner run jobs; `/metrics` is checked by
//! `promtool check metrics`, its values against what ran, its access rules (the metrics
//! token, never an API token; a listener of its own served open), and Debian's `prometheus`
//! scrapes two servers and answers a query for the queue depth.
//!
//! Without `promtool` and `prometheus` (Debian's `prometheus` package) the tests that need
//! them print a note and pass, unless `CI_REQUIRE_PROMETHEUS=1`.

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use circa_model::protocol::RUNNER_API_PREFIX;
use serde_json::{Value, json};

use crate::server_harness::{Api, Repo, RunnerProc, ServerProc};

const LONG: Duration = Duration::from_secs(60);

/// The metrics token the tests give the server.
const METRICS_TOKEN: &str = "circa-metrics-test-token-4f1c";

/// Three jobs on the runner's class, and one for a class no runner serves.
const CONFIG: &str = r#"
version: 2.1
jobs:
  quick:
    machine: true
    steps:
      - run: echo quick
  stuck:
    machine: true
    resource_class: acme/lonely
    steps:
      - run: echo never
workflows:
  main:
    jobs:
      - quick
      - quick: { name: quick-2, requires: [quick] }
      - quick: { name: quick-3, requires: [quick] }
  waiting:
    jobs: [stuck]
"#;

/// Whether `promtool` and `prometheus` are there; when not, the test is skipped with a note,
/// unless `CI_REQUIRE_PROMETHEUS=1`, which fails it.
pub(crate) fn prometheus_available() -> bool {
    let works = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let found = works("promtool") && works("prometheus");
    if !found {
        assert!(
            !std::env::var("CI_REQUIRE_PROMETHEUS").is_ok_and(|v| v == "1"),
            "CI_REQUIRE_PROMETHEUS=1 but promtool or prometheus is missing"
        );
        eprintln!("prometheus: skipped, the test passes without running");
    }
    found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server with the metrics token (kept in `token_file`), a runner of class `default`, and
/// a project on a repository with [`CONFIG`].
struct Setup {
    server: ServerProc,
    api: Api,
    /// The metrics token's file.
    token_file: std::path::PathBuf,
    _runner: RunnerProc,
    _repo: Repo,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

async fn setup() -> Setup {
    let data = tempfile::tempdir().unwrap();
    let secrets = tempfile::tempdir().unwrap();
    let token_file = secrets.path().join("metrics.token");
    std::fs::write(&token_file, format!("{METRICS_TOKEN}\n")).unwrap();
    let options = ["--metrics-token-file", token_file.to_str().unwrap()];
    let server = ServerProc::start_with(data.path(), 30, &[], &options);
    let api = server.client();
    let token = api.runner_token("default").await;
    let runner_dir = secrets.path().join("runner");
    let runner = RunnerProc::start(&server.url, &token, &runner_dir, 4);
    let repo = Repo::new(CONFIG);
    api.add_project("gh/acme/metrics", repo.path(), json!({}))
        .await;
    Setup {
        server,
        api,
        token_file,
        _runner: runner,
        _repo: repo,
        _dirs: (data, secrets),
    }
}

/// `GET url` with an `Authorization` header when given → (status, body).
async fn get(url: &str, authorization: Option<&str>) -> (u16, String) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap())
}

/// The metrics of the server at `url`, scraped with the metrics token.
async fn scrape(url: &str) -> String {
    let bearer = format!("Bearer {METRICS_TOKEN}");
    let (status, text) = get(&format!("{url}/metrics"), Some(&bearer)).await;
    assert_eq!(status, 200, "{text}");
    text
}

/// The value of the sample `series` (name and labels, as rendered), if there is one.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

/// Triggers a pipeline and waits for its `main` workflow to succeed; the pipeline's id.
async fn run_main(api: &Api) -> String {
    let pipeline = api
        .trigger("gh/acme/metrics", json!({ "branch": "main" }))
        .await;
    api.until(LONG, "workflow main to succeed", || async {
        let workflows = api.workflows(&pipeline).await;
        workflows
            .iter()
            .any(|w| w["name"] == "main" && w["status"] == "success")
            .then_some(())
    })
    .await;
    pipeline
}

/// `promtool check metrics` on `text`: no problem reported.
pub(crate) fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success() && output.stdout.is_empty() && output.stderr.is_empty(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_ran_and_pass_promtool() {
    if !prometheus_available() {
        return;
    }
    let s = setup().await;
    let pipeline = run_main(&s.api).await;
    let text = s
        .api
        .until(LONG, "the finished jobs and the queued one", || async {
            let text = scrape(&s.server.url).await;
            let done = sample(&text, "circa_jobs_finished_total{status=\"success\"}") == Some(3.0)
                && sample(&text, "circa_queue_depth{resource_class=\"acme/lonely\"}") == Some(1.0);
            done.then_some(text)
        })
        .await;
    promtool_check(&text);
    assert_eq!(
        sample(&text, "circa_jobs_started_total"),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "circa_jobs_finished_total{status=\"failed\"}"),
        Some(0.0)
    );
    // Only `quick` requires nothing among the jobs that started.
    assert_eq!(
        sample(&text, "circa_trigger_to_start_seconds_count"),
        Some(1.0)
    );
    let age = sample(
        &text,
        "circa_queue_oldest_age_seconds{resource_class=\"acme/lonely\"}",
    );
    assert!(age.is_some_and(|a| a >= 0.0), "{text}");
    assert_eq!(
        sample(&text, "circa_runners_connected{resource_class=\"default\"}"),
        Some(1.0)
    );
    assert!(sample(&text, "circa_database_connections_open").is_some_and(|n| n >= 1.0));
    // No project reports statuses to a forge: nothing waits in the outbox.
    assert_eq!(sample(&text, "circa_forge_outbox_backlog"), Some(0.0));
    assert!(sample(&text, "process_resident_memory_bytes").is_some_and(|n| n > 0.0));
    assert!(sample(&text, "process_start_time_seconds").is_some_and(|n| n > 1.6e9));
    // Latency by route template: ids never become labels.
    assert!(
        text.contains("route=\"/api/v2/pipeline/{id}/workflow\""),
        "{text}"
    );
    let claims = format!("route=\"{RUNNER_API_PREFIX}/claims\"");
    assert!(text.contains(&claims), "{text}");
    let http_lines = text
        .lines()
        .filter(|l| l.starts_with("circa_http_request_duration_seconds"));
    for line in http_lines {
        assert!(
            !line.contains(&pipeline) && !line.contains("gh/acme/metrics"),
            "{line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_metrics_token_may_scrape_the_main_listener() {
    let s = setup().await;
    let url = format!("{}/metrics", s.server.url);
    let runner_token = s.api.runner_token("default").await;
    let refused = [
        None,
        Some("Bearer not-the-metrics-token".to_string()),
        Some(format!("Bearer {}", s.api.token)),
        Some(format!("Bearer {runner_token}")),
        Some(format!("Basic {METRICS_TOKEN}")),
    ];
    for authorization in refused {
        let (status, body) = get(&url, authorization.as_deref()).await;
        assert_eq!(status, 401, "{authorization:?}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert!(
            body["message"].as_str().unwrap().contains("metrics"),
            "{body}"
        );
    }
    // An API token sent as CircleCI clients send it is no metrics token either.
    let answer = reqwest::Client::new()
        .get(&url)
        .header("Circle-Token", &s.api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 401);
    // The runner's class has a queue, empty.
    s.api
        .until(LONG, "the runner's empty queue", || async {
            let text = scrape(&s.server.url).await;
            let empty = sample(&text, "circa_queue_depth{resource_class=\"default\"}");
            (empty == Some(0.0)).then_some(())
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metrics_listener_serves_open_and_the_main_one_not_at_all() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let server = ServerProc::start_with(data.path(), 30, &[], &["--metrics-listen", &listen]);
    let (status, body) = get(&format!("{}/metrics", server.url), None).await;
    assert_eq!(status, 404, "{body}");
    let admin = format!("Bearer {}", server.token);
    let (status, _) = get(&format!("{}/metrics", server.url), Some(&admin)).await;
    assert_eq!(status, 404);
    let (status, text) = get(&format!("http://{listen}/metrics"), None).await;
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("# TYPE process_cpu_seconds_total counter"),
        "{text}"
    );
    // The metrics listener serves nothing else.
    let (status, _) = get(&format!("http://{listen}/api/v2/me"), Some(&admin)).await;
    assert_eq!(status, 404);
}

/// A `prometheus` server, stopped when dropped.
pub(crate) struct Prometheus {
    child: Child,
    url: String,
}

impl Prometheus {
    /// Starts one with `config` in `dir` (its data and log there too).
    pub(crate) fn start(dir: &Path, config: &str) -> Prometheus {
        let config_file = dir.join("prometheus.yml");
        std::fs::write(&config_file, config).unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus starts");
        Prometheus {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The samples a query answers now (none while it does not answer yet).
    pub(crate) async fn query(&self, query: &str) -> Vec<Value> {
        let url = format!("{}/api/v1/query?query={}", self.url, encode(query));
        let Ok(answer) = reqwest::Client::new().get(url).send().await else {
            return Vec::new();
        };
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// `text` percent-encoded for a query string.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_two_servers_and_answers_the_queue_depth() {
    if !prometheus_available() {
        return;
    }
    let s = setup().await;
    s.api
        .trigger("gh/acme/metrics", json!({ "branch": "main" }))
        .await;
    let open_data = tempfile::tempdir().unwrap();
    let open_listen = format!("127.0.0.1:{}", free_port());
    let _open = ServerProc::start_with(
        open_data.path(),
        30,
        &[],
        &["--metrics-listen", &open_listen],
    );
    let with_token = s.server.url.trim_start_matches("http://");
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
         scrape_configs:\n\
         \x20 - job_name: circa-token\n\
         \x20   authorization:\n\
         \x20     type: Bearer\n\
         \x20     credentials_file: {}\n\
         \x20   static_configs:\n\
         \x20     - targets: ['{with_token}']\n\
         \x20 - job_name: circa-open\n\
         \x20   static_configs:\n\
         \x20     - targets: ['{open_listen}']\n",
        s.token_file.display()
    );
    let prometheus = Prometheus::start(dir.path(), &config);
    let samples = s
        .api
        .until(LONG, "prometheus to answer circa_queue_depth", || async {
            let samples = prometheus.query("circa_queue_depth").await;
            let lonely = samples
                .iter()
                .any(|s| s["metric"]["resource_class"] == "acme/lonely" && s["value"][1] == "1");
            lonely.then_some(samples)
        })
        .await;
    assert!(
        samples.iter().all(|s| s["metric"]["job"] == "circa-token"),
        "{samples:?}"
    );
    for job in ["circa-token", "circa-open"] {
        s.api
            .until(LONG, "both servers to be up in prometheus", || async {
                let up = prometheus.query(&format!("up{{job=\"{job}\"}}")).await;
                up.iter().any(|s| s["value"][1] == "1").then_some(())
            })
            .await;
    }
    let started = prometheus
        .query("circa_process_start_time_seconds or process_start_time_seconds")
        .await;
    assert_eq!(started.len(), 2, "{started:?}");
}
