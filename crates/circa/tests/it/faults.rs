//! Faults under a running server, with real parts: a real PostgreSQL stopped and started again
//! under a `circa server` and a `circa runner`, and a local blob store that refuses writes.
//! Callers get 503 (never 404) while the database is away, with no database or IO text in any
//! answer; the same server serves and dispatches again once the database is back; a job whose
//! logs cannot be stored ends with a clear error while the server stays up.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::pg_proc::Postgres;
use crate::server_harness::{Api, Repo, RunnerProc, ServerProc};
use crate::web_security::WebClient;

const LONG: Duration = Duration::from_secs(40);

/// A job that runs long enough for the database to go away and come back under it.
const SLOW: &str = r#"
version: 2.1
jobs:
  slow:
    machine: true
    steps:
      - run: echo begun && sleep 6 && echo ended
workflows:
  main:
    jobs: [slow]
"#;

/// A job that ends at once.
const QUICK: &str = r#"
version: 2.1
jobs:
  quick:
    machine: true
    steps:
      - run: echo quick output
workflows:
  main:
    jobs: [quick]
"#;

/// Text of the layers below that must never reach an answer.
const INTERNAL_TEXT: [&str; 7] = [
    "sqlx",
    "connection refused",
    "permission denied",
    "os error",
    "pool",
    "not a directory",
    "database:",
];

/// One answer the test received.
struct Answer {
    what: String,
    status: u16,
    content_type: String,
    retry_after: Option<String>,
    body: String,
}

/// Every answer of a fault run, kept to be checked for internal text at the end.
#[derive(Default)]
struct Answers(Vec<Answer>);

impl Answers {
    /// `GET path` with `auth` (a bearer token or a cookie header), recorded.
    async fn get(&mut self, url: &str, path: &str, auth: &Auth) -> &Answer {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let request = http.get(format!("{url}{path}"));
        let request = match auth {
            Auth::Token(token) => request.bearer_auth(token),
            Auth::Cookie(cookie) => request.header("cookie", cookie),
            Auth::None => request,
        };
        let response = request.send().await.unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        let answer = Answer {
            what: format!("GET {path}"),
            status: response.status().as_u16(),
            content_type: header("content-type").unwrap_or_default(),
            retry_after: header("retry-after"),
            body: String::new(),
        };
        let body = response.text().await.unwrap_or_default();
        self.0.push(Answer { body, ..answer });
        self.0.last().unwrap()
    }

    /// Keeps an answer read elsewhere.
    fn keep(&mut self, what: &str, body: &Value) {
        self.0.push(Answer {
            what: what.to_string(),
            status: 0,
            content_type: String::new(),
            retry_after: None,
            body: body.to_string(),
        });
    }

    /// No answer carries database or IO error text.
    fn assert_no_internal_text(&self) {
        assert!(!self.0.is_empty());
        for answer in &self.0 {
            let body = answer.body.to_lowercase();
            for text in INTERNAL_TEXT {
                assert!(
                    !body.contains(text),
                    "{} answered {} with {text:?}: {}",
                    answer.what,
                    answer.status,
                    answer.body
                );
            }
        }
    }
}

/// How a request authenticates.
enum Auth {
    Token(String),
    Cookie(String),
    None,
}

/// A server (on `options`), a runner, a project on `config`, and a signed-in page session.
struct Setup {
    server: ServerProc,
    api: Api,
    runner: RunnerProc,
    cookie: String,
    _repo: Repo,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

async fn setup(config: &str, options: &[&str]) -> Setup {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start_with(data.path(), 30, &[], options);
    let api = server.client();
    let runner_dir = tempfile::tempdir().unwrap();
    let token = api.runner_token("default").await;
    let runner = RunnerProc::start(&server.url, &token, runner_dir.path(), 1);
    let repo = Repo::new(config);
    api.add_project("gh/acme/app", repo.path(), json!({})).await;
    let password = std::fs::read_to_string(data.path().join("admin.password")).unwrap();
    let mut web = WebClient::new(&server.url);
    web.sign_in("admin", password.trim()).await;
    Setup {
        cookie: web.cookie_header(),
        server,
        api,
        runner,
        _repo: repo,
        _dirs: (data, runner_dir),
    }
}

/// The pipeline's only job once it has `status` (`None`: any finished status).
async fn job_when(api: &Api, pipeline: &str, status: Option<&str>) -> Value {
    api.until(LONG, "the job's status", || async {
        let workflows = api.workflows(pipeline).await;
        let workflow = workflows.first()?["id"].as_str()?.to_string();
        let job = api.jobs(&workflow).await.into_iter().next()?;
        let now = job["status"].as_str()?;
        let wanted = match status {
            Some(s) => now == s,
            None => now.parse::<circa_model::JobStatus>().ok()?.is_terminal(),
        };
        wanted.then_some(job)
    })
    .await
}

/// A v1.1 job's output of its last step, read through the step's `output_url`.
async fn last_step_output(answers: &mut Answers, url: &str, token: &Auth, number: u64) -> String {
    let path = format!("/api/v1.1/project/gh/acme/app/{number}");
    let build = answers.get(url, &path, token).await;
    assert_eq!(build.status, 200, "{}", build.body);
    let build: Value = serde_json::from_str(&build.body).unwrap();
    let steps = build["steps"].as_array().cloned().unwrap_or_default();
    let output_url = steps
        .last()
        .and_then(|s| s["actions"][0]["output_url"].as_str())
        .unwrap_or_else(|| panic!("a step with an output URL: {build}"))
        .to_string();
    let path = output_url.trim_start_matches(url).to_string();
    let output = answers.get(url, &path, token).await;
    assert_eq!(output.status, 200, "{}", output.body);
    output.body.clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_outage_is_503_never_404_and_the_server_recovers_without_a_restart() {
    let Some(mut pg) = Postgres::start() else {
        return;
    };
    let url = pg.url();
    let mut s = setup(SLOW, &["--database-url", &url]).await;
    let (api, base) = (s.api.clone(), s.server.url.clone());
    let token = Auth::Token(api.token.clone());
    let cookie = Auth::Cookie(s.cookie.clone());
    let mut answers = Answers::default();
    let pipeline = api.trigger("gh/acme/app", json!({})).await;
    let job = job_when(&api, &pipeline, Some("running")).await;

    pg.stop();
    let started = Instant::now();
    let api_paths = [
        format!("/api/v2/pipeline/{pipeline}"),
        "/api/v2/project/gh/acme/app/pipeline".to_string(),
        "/api/v1.1/project/gh/acme/app/1".to_string(),
        format!("/api/circa/jobs/{}", job["id"].as_str().unwrap()),
    ];
    for path in &api_paths {
        let answer = answers.get(&base, path, &token).await;
        assert_eq!(answer.status, 503, "{path}: {}", answer.body);
        assert!(
            answer.content_type.starts_with("application/json"),
            "{path}"
        );
        assert_eq!(answer.retry_after.as_deref(), Some("5"), "{path}");
        assert!(
            answer.body.contains("temporarily unavailable"),
            "{}",
            answer.body
        );
    }
    for path in ["/projects/gh/acme/app", "/projects/gh/acme/app/jobs/1"] {
        let answer = answers.get(&base, path, &cookie).await;
        assert_eq!(answer.status, 503, "{path}: {}", answer.body);
        assert!(answer.content_type.starts_with("text/html"), "{path}");
        assert!(!answer.body.contains("not found"), "{}", answer.body);
    }
    assert_eq!(answers.get(&base, "/readyz", &Auth::None).await.status, 503);
    assert_eq!(
        answers.get(&base, "/healthz", &Auth::None).await.status,
        200
    );
    // The job ends while the database is away: its runner keeps its end until it lands.
    let away = Duration::from_secs(8).saturating_sub(started.elapsed());
    tokio::time::sleep(away).await;
    assert!(
        s.runner.is_running(),
        "the runner backs off, it does not stop"
    );

    pg.restart();
    api.until(LONG, "/readyz to answer 200", || async {
        let status = reqwest::get(format!("{base}/readyz")).await.ok()?.status();
        (status == 200).then_some(())
    })
    .await;
    let answer = answers
        .get(&base, &format!("/api/v2/pipeline/{pipeline}"), &token)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = answers.get(&base, "/projects/gh/acme/app", &cookie).await;
    assert_eq!(answer.status, 200, "the page is served again");
    let ended = job_when(&api, &pipeline, None).await;
    assert_eq!(
        ended["status"], "success",
        "the job's end was stored: {ended}"
    );
    let output = last_step_output(&mut answers, &base, &token, 1).await;
    assert!(
        output.contains("begun") && output.contains("ended"),
        "{output}"
    );
    // The same runner takes new work from the same server.
    let next = api.trigger("gh/acme/app", json!({})).await;
    let second = job_when(&api, &next, None).await;
    assert_eq!(second["status"], "success", "{second}");
    // A damaged table: requests that read it fail inside (500 with a request id), and the
    // readiness check, which reads what requests read, says so.
    pg.sql("ALTER TABLE pipelines RENAME TO pipelines_away");
    let answer = answers
        .get(&base, &format!("/api/v2/pipeline/{next}"), &token)
        .await;
    assert_eq!(answer.status, 500, "{}", answer.body);
    let body: Value = serde_json::from_str(&answer.body).unwrap();
    assert!(
        body["request_id"].as_str().is_some_and(|id| !id.is_empty()),
        "{body}"
    );
    assert_eq!(answers.get(&base, "/readyz", &Auth::None).await.status, 503);
    pg.sql("ALTER TABLE pipelines_away RENAME TO pipelines");
    assert_eq!(answers.get(&base, "/readyz", &Auth::None).await.status, 200);
    answers.keep("the jobs", &json!([ended, second]));
    answers.assert_no_internal_text();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blob_store_that_refuses_writes_fails_the_job_with_a_clear_error() {
    let mut s = setup(QUICK, &[]).await;
    let (api, base) = (s.api.clone(), s.server.url.clone());
    let token = Auth::Token(api.token.clone());
    let mut answers = Answers::default();
    let blobs = s.server.data.join("blobs");
    refuse_writes(&blobs);

    let pipeline = api.trigger("gh/acme/app", json!({})).await;
    let job = job_when(&api, &pipeline, None).await;
    assert_eq!(job["status"], "infrastructure_fail", "{job}");
    let details = answers
        .get(
            &base,
            &format!("/api/circa/jobs/{}", job["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(details.status, 200, "{}", details.body);
    let details: Value = serde_json::from_str(&details.body).unwrap();
    let message = details["message"].as_str().unwrap_or_default();
    assert!(message.contains("logs could not be written"), "{details}");
    // What the job wrote is still readable, from the stored events.
    let output = last_step_output(&mut answers, &base, &token, 1).await;
    assert!(output.contains("quick output"), "{output}");
    let healthz = answers.get(&base, "/healthz", &Auth::None).await;
    assert_eq!(healthz.status, 200, "the server stays up");
    assert!(s.runner.is_running());

    allow_writes(&blobs);
    let next = api.trigger("gh/acme/app", json!({})).await;
    let second = job_when(&api, &next, None).await;
    assert_eq!(second["status"], "success", "{second}");
    answers.keep("the jobs", &json!([job, second]));
    answers.assert_no_internal_text();
}

/// Makes the local blob store refuse writes: a read-only folder, or, as root (whom folder
/// modes do not stop), a file where the folder was.
fn refuse_writes(blobs: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    if is_root() {
        std::fs::rename(blobs, blobs.with_extension("away")).unwrap();
        std::fs::write(blobs, b"not a folder").unwrap();
    } else {
        std::fs::set_permissions(blobs, std::fs::Permissions::from_mode(0o555)).unwrap();
    }
}

/// Undoes [`refuse_writes`].
fn allow_writes(blobs: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    if is_root() {
        std::fs::remove_file(blobs).unwrap();
        std::fs::rename(blobs.with_extension("away"), blobs).unwrap();
    } else {
        std::fs::set_permissions(blobs, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_answer_in_the_paths_kind_and_pages_carry_security_headers() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), 30);
    let api = server.client();
    let http = reqwest::Client::new();
    let get = |path: String, id: &'static str| {
        let request = http.get(format!("{}{path}", server.url));
        request
            .header("x-request-id", id)
            .bearer_auth(&api.token)
            .send()
    };
    // A URI too long: 414 with a body, JSON on API paths, a page elsewhere.
    let long = "x".repeat(9 * 1024);
    let r = get(format!("/api/v2/pipeline/{long}"), "").await.unwrap();
    assert_eq!(r.status(), 414);
    let body: Value = r.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("URI"), "{body}");
    let r = get(format!("/projects/{long}"), "").await.unwrap();
    assert_eq!(r.status(), 414);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(r.text().await.unwrap().contains("414"));
    // A page's error is an HTML page with the page headers; an API's is JSON; both carry the
    // request's id, the caller's when it is sane, else a new one.
    let r = get("/no/such/page".into(), "trace-42").await.unwrap();
    assert_eq!(r.status(), 404);
    let headers = r.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(headers["x-request-id"], "trace-42");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
    let r = get("/login".into(), "").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    let r = get("/api/v2/pipeline/none".into(), "bad id with spaces")
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    // A parameter over the limit is refused, naming it, before anything is stored.
    let repo = Repo::new(QUICK);
    api.add_project("gh/acme/app", repo.path(), json!({})).await;
    let huge = json!({ "parameters": { "target": "x".repeat(8 * 1024 * 1024 - 100) } });
    let (status, body) = api.post("/api/v2/project/gh/acme/app/pipeline", huge).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("parameters.target: "),
        "{body}"
    );
    let long = json!({ "parameters": { "target": "x".repeat(513) } });
    let (status, _) = api.post("/api/v2/project/gh/acme/app/pipeline", long).await;
    assert_eq!(status, 400);
    let (status, list) = api.get("/api/v2/project/gh/acme/app/pipeline").await;
    assert_eq!(status, 200);
    assert_eq!(list["items"], json!([]), "no pipeline was stored");
}
