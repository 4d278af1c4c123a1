//! A real `circa server` and real `circa runner` processes on loopback, real git repositories in
//! temp folders, and an HTTP client for the API.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// A `circa server` process.
pub struct ServerProc {
    child: Option<Child>,
    /// Its data folder.
    pub data: PathBuf,
    /// Its URL.
    pub url: String,
    /// The admin token.
    pub token: String,
    lease_secs: u64,
    env: Vec<(String, String)>,
    /// More options of `circa server` (a database URL).
    options: Vec<String>,
    /// Where its standard error goes (appended), when not to the test's.
    stderr_log: Option<PathBuf>,
}

fn spawn_server(
    data: &Path,
    listen: &str,
    lease_secs: u64,
    env: &[(String, String)],
    options: &[String],
    stderr_log: Option<&Path>,
) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_circa"))
        .args(["server", "--listen", listen, "--data-dir"])
        .arg(data)
        .args(["--lease-secs", &lease_secs.to_string()])
        .args(options)
        .env("CIRCA_ORB_DIR", data.join("orbs"))
        .env("CIRCA_LOG", "warn")
        // Tests fire schedules every few seconds.
        .env("CIRCA_MIN_SCHEDULE_INTERVAL_SECS", "1")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(stderr_to(stderr_log))
        .spawn()
        .expect("circa server starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("the server prints its URL").unwrap();
    // The first line names the public URL when there is one; a port given is where it listens.
    let url = if listen.ends_with(":0") {
        first
            .rsplit(' ')
            .next()
            .expect("a URL at the end of the first line")
            .to_string()
    } else {
        format!("http://{listen}")
    };
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

/// A child's standard error: appended to `log` when given, else the test's.
fn stderr_to(log: Option<&Path>) -> Stdio {
    match log {
        Some(path) => Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .unwrap(),
        ),
        None => Stdio::inherit(),
    }
}

impl ServerProc {
    /// Starts a server on a free port with a lease of `lease_secs`.
    pub fn start(data: &Path, lease_secs: u64) -> ServerProc {
        ServerProc::start_with(data, lease_secs, &[], &[])
    }

    /// Starts a server on a free port with a lease of `lease_secs` and settings from `env`
    /// (`CIRCA_*` variables), kept across restarts.
    pub fn start_with_env(data: &Path, lease_secs: u64, env: &[(&str, &str)]) -> ServerProc {
        ServerProc::start_with(data, lease_secs, env, &[])
    }

    /// Starts a server on a free port with a lease of `lease_secs`, settings from `env` and
    /// more `options` (`--database-url …`), kept for restarts.
    pub fn start_with(
        data: &Path,
        lease_secs: u64,
        env: &[(&str, &str)],
        options: &[&str],
    ) -> ServerProc {
        ServerProc::start_logged(data, lease_secs, env, options, None)
    }

    /// [`ServerProc::start_with`], its standard error appended to `stderr_log` when given.
    pub fn start_logged(
        data: &Path,
        lease_secs: u64,
        env: &[(&str, &str)],
        options: &[&str],
        stderr_log: Option<&Path>,
    ) -> ServerProc {
        ServerProc::start_at("127.0.0.1:0", data, lease_secs, env, options, stderr_log)
    }

    /// [`ServerProc::start_logged`] listening at `listen` (`127.0.0.1:PORT`; port 0 picks a
    /// free one); its `url` is where it listens, whatever public URL it is given.
    pub fn start_at(
        listen: &str,
        data: &Path,
        lease_secs: u64,
        env: &[(&str, &str)],
        options: &[&str],
        stderr_log: Option<&Path>,
    ) -> ServerProc {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let options: Vec<String> = options.iter().map(|o| o.to_string()).collect();
        let (child, url) = spawn_server(data, listen, lease_secs, &env, &options, stderr_log);
        let mut server = ServerProc {
            child: Some(child),
            data: data.to_path_buf(),
            url,
            token: String::new(),
            lease_secs,
            env,
            options,
            stderr_log: stderr_log.map(Path::to_path_buf),
        };
        // On a panic from here on, dropping `server` stops the process.
        server.token = std::fs::read_to_string(data.join("admin.token"))
            .expect("the server wrote its admin token before saying it listens")
            .trim()
            .to_string();
        server
    }

    /// The server's process id (0 once it was killed).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Kills the server abruptly (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM (as a service manager stops it) and returns at once.
    pub fn send_term(&self) {
        if let Some(child) = &self.child {
            send_term(child);
        }
    }

    /// Waits up to `within` for the process to exit; whether it did (it is left running if
    /// not).
    pub fn wait_exit(&mut self, within: Duration) -> bool {
        let Some(child) = self.child.as_mut() else {
            return true;
        };
        let exited = wait_exit(child, within).is_some();
        if exited {
            self.child = None;
        }
        exited
    }

    /// Stops the server as a service manager does (SIGTERM) and waits up to `within` for it to
    /// exit; whether it did (it is killed if not).
    pub fn terminate(&mut self, within: Duration) -> bool {
        self.send_term();
        let exited = self.wait_exit(within);
        self.kill();
        exited
    }

    /// Starts it again on the same port and data folder.
    pub fn restart(&mut self) {
        self.kill();
        let listen = self.url.trim_start_matches("http://").to_string();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // The port may linger for a moment.
            if std::net::TcpListener::bind(&listen).is_ok() || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let (child, url) = spawn_server(
            &self.data,
            &listen,
            self.lease_secs,
            &self.env,
            &self.options,
            self.stderr_log.as_deref(),
        );
        assert_eq!(url, self.url);
        self.child = Some(child);
    }

    /// A client with the admin token.
    pub fn client(&self) -> Api {
        Api {
            url: self.url.clone(),
            token: self.token.clone(),
            http: reqwest::Client::new(),
        }
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `circa runner` process.
pub struct RunnerProc {
    child: Child,
}

impl RunnerProc {
    /// Starts a shell-executor runner.
    pub fn start(url: &str, token: &str, data: &Path, slots: u32) -> RunnerProc {
        RunnerProc::start_with(url, token, data, slots, &[])
    }

    /// Starts a shell-executor runner with more `options` (`--drain-timeout-secs 1`).
    pub fn start_with(
        url: &str,
        token: &str,
        data: &Path,
        slots: u32,
        options: &[&str],
    ) -> RunnerProc {
        RunnerProc::start_logged(url, token, data, slots, options, None)
    }

    /// [`RunnerProc::start_with`], its standard error appended to `stderr_log` when given.
    pub fn start_logged(
        url: &str,
        token: &str,
        data: &Path,
        slots: u32,
        options: &[&str],
        stderr_log: Option<&Path>,
    ) -> RunnerProc {
        let child = Command::new(env!("CARGO_BIN_EXE_circa"))
            .args([
                "runner",
                "--url",
                url,
                "--token",
                token,
                "--executor",
                "shell",
            ])
            .args(["--slots", &slots.to_string(), "--name", "test-runner"])
            .arg("--data-dir")
            .arg(data)
            .args(options)
            .env("CIRCA_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(stderr_to(stderr_log))
            .spawn()
            .expect("circa runner starts");
        RunnerProc { child }
    }

    /// Sends SIGTERM and returns at once.
    pub fn send_term(&self) {
        send_term(&self.child);
    }

    /// Waits up to `within` for the process to exit; its exit status if it did.
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        wait_exit(&mut self.child, within)
    }

    /// Whether the process still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills it abruptly (SIGKILL): no goodbye to the server.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RunnerProc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends SIGTERM to `child`.
fn send_term(child: &Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
}

/// Waits up to `within` for `child` to exit; its exit status if it did.
fn wait_exit(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The API, as a script would use it.
#[derive(Clone)]
pub struct Api {
    /// The server's URL.
    pub url: String,
    /// The token.
    pub token: String,
    http: reqwest::Client,
}

impl Api {
    /// The same server with another token.
    pub fn with_token(&self, token: &str) -> Api {
        Api {
            token: token.to_string(),
            ..self.clone()
        }
    }

    /// The same token and connection pool, to another URL (a replica, a proxy).
    pub fn at(&self, url: &str) -> Api {
        Api {
            url: url.to_string(),
            ..self.clone()
        }
    }

    /// A request to `path` with the token.
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token)
    }

    /// Sends a request → (status, JSON or null).
    async fn json_answer(request: reqwest::RequestBuilder) -> (u16, Value) {
        let r = request.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Any method with a JSON body → (status, JSON).
    pub async fn call(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        Self::json_answer(self.request(method, path).json(&body)).await
    }

    /// `DELETE` → status.
    pub async fn delete(&self, path: &str) -> u16 {
        let r = self.request(reqwest::Method::DELETE, path).send().await;
        r.unwrap().status().as_u16()
    }

    /// `GET` → (status, JSON).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        Self::json_answer(self.request(reqwest::Method::GET, path)).await
    }

    /// `GET` → text.
    pub async fn text(&self, path: &str) -> String {
        let r = self.request(reqwest::Method::GET, path).send().await;
        r.unwrap().text().await.unwrap()
    }

    /// `POST` JSON → (status, JSON).
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, body).await
    }

    /// `PUT` JSON → (status, JSON).
    pub async fn http_put(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("PUT", path, body).await
    }

    /// `POST` raw bytes with headers (a webhook) → status.
    pub async fn hook(&self, path: &str, headers: &[(&str, String)], body: Vec<u8>) -> u16 {
        let mut request = self
            .http
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body);
        for (k, v) in headers {
            request = request.header(*k, v);
        }
        request.send().await.unwrap().status().as_u16()
    }

    /// Delivers a GitHub webhook of `event` signed with `secret` → status.
    pub async fn github_hook(&self, path: &str, event: &str, secret: &str, body: Vec<u8>) -> u16 {
        let signature = format!("sha256={}", sign(secret, &body));
        self.hook(
            path,
            &[
                ("x-github-event", event.to_string()),
                ("x-hub-signature-256", signature),
            ],
            body,
        )
        .await
    }

    /// Creates a runner token for `class`.
    pub async fn runner_token(&self, class: &str) -> String {
        let (status, body) = self
            .post(
                "/api/circa/tokens",
                json!({ "kind": "runner", "name": "test", "resource_class": class }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["token"].as_str().unwrap().to_string()
    }

    /// Adds a project; its JSON (with `webhook.url`, `webhook.secret`).
    pub async fn add_project(&self, slug: &str, repo: &Path, settings: Value) -> Value {
        let (status, body) = self
            .post(
                "/api/circa/projects",
                json!({ "slug": slug, "repo": repo, "default_branch": "main", "settings": settings }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// Triggers a pipeline; its id.
    pub async fn trigger(&self, slug: &str, body: Value) -> String {
        let (status, created) = self
            .post(&format!("/api/v2/project/{slug}/pipeline"), body)
            .await;
        assert_eq!(status, 201, "{created}");
        created["id"].as_str().unwrap().to_string()
    }

    /// Every item of a paged list, following `next_page_token`.
    pub async fn all_items(&self, path: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = match &token {
                Some(t) => format!("{path}?page-token={t}"),
                None => path.to_string(),
            };
            let (_, body) = self.get(&page).await;
            items.extend(body["items"].as_array().cloned().unwrap_or_default());
            match body["next_page_token"].as_str() {
                Some(t) => token = Some(t.to_string()),
                None => return items,
            }
        }
    }

    /// A pipeline's workflows.
    pub async fn workflows(&self, pipeline: &str) -> Vec<Value> {
        self.all_items(&format!("/api/v2/pipeline/{pipeline}/workflow"))
            .await
    }

    /// A workflow's jobs.
    pub async fn jobs(&self, workflow: &str) -> Vec<Value> {
        self.all_items(&format!("/api/v2/workflow/{workflow}/job"))
            .await
    }

    /// Waits until `check` returns something, or panics after `timeout` with `what`.
    pub async fn until<T, F, Fut>(&self, timeout: Duration, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = check().await {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for a pipeline's workflows to finish; the workflows.
    pub async fn finished(&self, pipeline: &str, timeout: Duration) -> Vec<Value> {
        let finished = |w: &Value| {
            w["status"]
                .as_str()
                .and_then(|s| s.parse::<circa_model::WorkflowStatus>().ok())
                .is_some_and(|s| s.is_terminal())
        };
        self.until(timeout, "the workflows to finish", || async {
            let wfs = self.workflows(pipeline).await;
            let done = !wfs.is_empty() && wfs.iter().all(finished);
            done.then_some(wfs)
        })
        .await
    }

    /// A job by name in a workflow.
    pub async fn job(&self, workflow: &str, name: &str) -> Value {
        self.jobs(workflow)
            .await
            .into_iter()
            .find(|j| j["name"] == name)
            .unwrap_or_else(|| panic!("no job {name}"))
    }

    /// The whole log of a job's node 0: every step's output, in order.
    pub async fn job_log(&self, job_id: &str) -> String {
        let (_, details) = self.get(&format!("/api/circa/jobs/{job_id}")).await;
        let task = &details["tasks"][0];
        let task_id = task["id"].as_str().unwrap();
        let mut out = String::new();
        for step in task["steps"].as_array().cloned().unwrap_or_default() {
            let n = step["step"].as_u64().unwrap();
            out.push_str(
                &self
                    .text(&format!("/api/circa/tasks/{task_id}/steps/{n}/log"))
                    .await,
            );
        }
        out
    }
}

/// A git repository in a temp folder with a `.circleci/config.yml` committed on `main`.
pub struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    /// A repository whose first commit holds `config`.
    pub fn new(config: &str) -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().unwrap(),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.commit(config, "first commit");
        repo
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs git here.
    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Commits a new config; the commit's sha.
    pub fn commit(&self, config: &str, message: &str) -> String {
        let circleci = self.dir.path().join(".circleci");
        std::fs::create_dir_all(&circleci).unwrap();
        std::fs::write(circleci.join("config.yml"), config).unwrap();
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }
}

/// HMAC-SHA256 of `body` with `secret`, hex.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// A corpus webhook payload as JSON.
pub fn payload(path: &str) -> Value {
    let text = std::fs::read_to_string(crate::corpus().join("webhooks").join(path)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Points a GitHub push payload at `repo`'s commit `sha` on `git_ref`, with `message`.
pub fn github_push(repo: &Path, git_ref: &str, sha: &str, message: &str) -> Vec<u8> {
    let mut p = payload("github/push-with-new-branch.json");
    p["ref"] = json!(git_ref);
    p["after"] = json!(sha);
    p["deleted"] = json!(false);
    let url = repo.display().to_string();
    p["repository"]["clone_url"] = json!(url);
    p["repository"]["html_url"] = json!(url);
    p["head_commit"] =
        json!({ "id": sha, "message": message, "timestamp": "2026-11-24T00:00:00Z" });
    serde_json::to_vec(&p).unwrap()
}

/// Sends GitHub's `pull_request` (opened) webhook to `project` for `repo`'s commit `sha` on
/// branch `feature`, its head in a fork (`someone/fork`) unless `adjust` says otherwise, and
/// asserts it was accepted; the payload sent.
pub async fn github_pull_request(
    api: &Api,
    project: &Value,
    repo: &Path,
    sha: &str,
    adjust: impl FnOnce(&mut Value),
) -> Value {
    let mut p = payload("github/pull_request-opened.json");
    let url = repo.display().to_string();
    p["repository"]["clone_url"] = json!(url);
    p["repository"]["html_url"] = json!(url);
    p["pull_request"]["head"]["sha"] = json!(sha);
    p["pull_request"]["head"]["ref"] = json!("feature");
    p["pull_request"]["head"]["repo"]["id"] = json!(999_999_999u64);
    p["pull_request"]["head"]["repo"]["full_name"] = json!("someone/fork");
    adjust(&mut p);
    let body = serde_json::to_vec(&p).unwrap();
    let secret = project["webhook"]["secret"].as_str().unwrap();
    let status = api
        .hook(
            &format!("/hooks/{}", project["id"].as_str().unwrap()),
            &[
                ("x-github-event", "pull_request".into()),
                (
                    "x-hub-signature-256",
                    format!("sha256={}", sign(secret, &body)),
                ),
            ],
            body,
        )
        .await;
    assert!((200..300).contains(&status), "webhook answered {status}");
    p
}
