//! The client commands as a person types them: the real `circa` binary against a real
//! `circa server` with real runners — `pipeline trigger --wait` on a job that waits for a
//! missing resource class, on a failed step and on an image that cannot be pulled;
//! `pipeline list`, `pipeline show`, `job log` and `job log --follow` on a running job.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::server::{Setup, setup};
use crate::server_harness::{Repo, RunnerProc, ServerProc};

/// How long anything here may take.
const LONG: Duration = Duration::from_secs(60);

impl Setup {
    /// `circa ARGS` as a client of this server, its output read line by line.
    fn spawn(&self, args: &[&str]) -> Client {
        Client::spawn(&self.server, args)
    }

    /// `circa ARGS` to its end → (exit code, stdout, stderr).
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = client_command(&self.server, args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

fn client_command(server: &ServerProc, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_circa"));
    command
        .args(args)
        .env("CIRCA_URL", &server.url)
        .env("CIRCA_TOKEN", &server.token)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .stdin(Stdio::null());
    command
}

/// A running `circa` client whose stdout lines arrive on a channel.
struct Client {
    child: Child,
    lines: Receiver<String>,
    seen: String,
}

impl Client {
    fn spawn(server: &ServerProc, args: &[&str]) -> Client {
        let mut child = client_command(server, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if tx.send(line.unwrap_or_default()).is_err() {
                    return;
                }
            }
        });
        Client {
            child,
            lines,
            seen: String::new(),
        }
    }

    /// The first line seen so far, or read from now on, that contains `text`; panics with
    /// what was seen after `LONG`.
    fn wait_for(&mut self, text: &str) -> String {
        if let Some(line) = self.seen.lines().find(|l| l.contains(text)) {
            return line.to_string();
        }
        let deadline = Instant::now() + LONG;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no line with {text:?} within {LONG:?}; seen:\n{}",
                        self.seen
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("circa ended before printing {text:?}; seen:\n{}", self.seen)
                }
            }
        }
    }

    /// Waits for the process to end → (exit code, all stdout, stderr).
    fn finish(mut self) -> (i32, String, String) {
        let deadline = Instant::now() + LONG;
        loop {
            match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                }
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    if Instant::now() > deadline {
                        let _ = self.child.kill();
                        panic!("circa did not end within {LONG:?}; seen:\n{}", self.seen);
                    }
                }
            }
        }
        let status = self.child.wait().unwrap();
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (
            status.code().unwrap_or(-1),
            std::mem::take(&mut self.seen),
            stderr,
        )
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A file a job step waits for, in a folder of its own.
struct Gate(tempfile::TempDir);

impl Gate {
    fn new() -> Gate {
        Gate(tempfile::tempdir().unwrap())
    }

    /// A shell command that waits until the gate opens, then prints `after-go`.
    fn step(&self) -> String {
        format!(
            "while [ ! -f {go} ]; do sleep 0.1; done; echo after-go",
            go = self.0.path().join("go").display()
        )
    }

    /// Opens it.
    fn open(&self) {
        std::fs::write(self.0.path().join("go"), "go").unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_says_why_jobs_wait_and_again_when_the_reason_changes() {
    let s = setup(30, 2).await;
    let gate = Gate::new();
    let step = gate.step();
    let repo = Repo::new(&format!(
        r#"
version: 2.1
jobs:
  big:
    machine: true
    resource_class: big
    steps:
      - run: {step:?}
workflows:
  main:
    jobs:
      - big: {{ name: a }}
      - big: {{ name: b }}
"#
    ));
    s.api
        .add_project("gh/acme/waits", repo.path(), json!({}))
        .await;
    let mut wait = s.spawn(&["pipeline", "trigger", "gh/acme/waits", "--wait"]);
    let none = "waiting: no runner with resource class `big` is connected";
    wait.wait_for(&format!("job a: {none}"));
    wait.wait_for(&format!("job b: {none}"));
    // A runner of the class with one slot: one job runs, the other waits for its slot.
    let token = s.api.runner_token("big").await;
    let runner_dir = tempfile::tempdir().unwrap();
    let _big = RunnerProc::start(&s.server.url, &token, runner_dir.path(), 1);
    let changed = wait.wait_for("waiting: waiting for a free runner of resource class `big`");
    assert!(changed.contains("(1 connected, "), "{changed}");
    gate.open();
    let (code, out, err) = wait.finish();
    assert_eq!(code, 0, "{out}\n{err}");
    for line in ["job a: success", "job b: success", "workflow main: success"] {
        assert!(out.contains(line), "{line:?} missing from:\n{out}");
    }
    // A reason is said once per job, not on every look: the first for a and b, the second
    // for the job left waiting (again only if its count of tasks ahead changed).
    assert_eq!(out.matches(none).count(), 2, "{out}");
    let free = out.matches("waiting for a free runner").count();
    assert!((1..=2).contains(&free), "{out}");
    // The job that waited for its slot says when it runs.
    assert!(out.contains(": running"), "{out}");
    // Piped output is plain text.
    assert!(!out.contains('\x1b'), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_on_a_job_no_runner_takes_prints_the_reason_and_ends_when_it_is_cancelled() {
    let s = setup(30, 2).await;
    let repo = Repo::new(
        "version: 2.1\njobs:\n  big:\n    machine: true\n    resource_class: huge\n    steps: [ { run: echo never } ]\nworkflows:\n  main: { jobs: [ big ] }\n",
    );
    s.api
        .add_project("gh/acme/huge", repo.path(), json!({}))
        .await;
    let mut wait = s.spawn(&["pipeline", "trigger", "gh/acme/huge", "--wait"]);
    wait.wait_for("job big: waiting: no runner with resource class `huge` is connected");
    let (status, body) = s
        .api
        .post("/api/v2/project/gh/acme/huge/job/1/cancel", json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (code, out, err) = wait.finish();
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("job big: canceled"), "{out}");
    assert!(out.contains("workflow main: canceled"), "{out}");
    // Who cancelled it is information, not an error.
    let (_, job) = s.api.get("/api/v2/project/gh/acme/huge/job/1").await;
    assert_eq!(
        job["messages"],
        json!([{ "type": "info", "message": "canceled by admin", "reason": "canceled" }])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_on_a_failed_step_names_it_with_its_exit_code_last_lines_and_page() {
    let s = setup(30, 2).await;
    let repo = Repo::new(
        r#"
version: 2.1
jobs:
  bad:
    machine: true
    steps:
      - run: echo first
      - run:
          name: run tests
          command: for i in $(seq 1 30); do echo "line $i"; done; exit 3
workflows:
  main: { jobs: [ bad ] }
"#,
    );
    s.api
        .add_project("gh/acme/fails", repo.path(), json!({}))
        .await;
    let (code, out, err) = s.run(&["pipeline", "trigger", "gh/acme/fails", "--wait"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("job bad: failed"), "{out}");
    assert!(
        out.contains("failed step: run tests (step 1): exit code 3"),
        "{out}"
    );
    // The last 20 lines of the step's output, no more.
    assert!(out.contains("| line 11\n"), "{out}");
    assert!(out.contains("| line 30\n"), "{out}");
    assert!(!out.contains("| line 10\n"), "{out}");
    let url = format!("{}/projects/gh/acme/fails/jobs/1", s.server.url);
    assert!(out.contains(&url), "{url} missing from:\n{out}");
    assert!(out.contains("workflow main: failed"), "{out}");
    // The API says why as an error, not as information.
    let (_, job) = s.api.get("/api/v2/project/gh/acme/fails/job/1").await;
    assert_eq!(
        job["messages"],
        json!([{ "type": "error", "message": "exited with code 3", "reason": "failed" }])
    );
    // A config that cannot be used: the pipeline errors, and --wait prints its diagnostics.
    repo.git(&["checkout", "-q", "-b", "broken"]);
    repo.commit("version: 2.1\njobs: [\n", "break the config");
    let (code, out, err) = s.run(&[
        "pipeline",
        "trigger",
        "gh/acme/fails",
        "--branch",
        "broken",
        "--wait",
    ]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("): errored"), "{out}");
    assert!(
        err.starts_with("pipeline errored:\n.circleci/config.yml:"),
        "{err}"
    );
}

/// `circa runner --executor docker` for class `docker`.
struct DockerRunner(Child);

impl Drop for DockerRunner {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_on_an_image_that_cannot_be_pulled_gives_the_infrastructure_reason() {
    let s = setup(30, 2).await;
    let token = s.api.runner_token("docker").await;
    let runner_dir = tempfile::tempdir().unwrap();
    let _docker = DockerRunner(
        Command::new(env!("CARGO_BIN_EXE_circa"))
            .args(["runner", "--url", &s.server.url, "--token", &token])
            .args(["--executor", "docker", "--slots", "1", "--data-dir"])
            .arg(runner_dir.path())
            .env("CIRCA_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let repo = Repo::new(
        r#"
version: 2.1
jobs:
  pull:
    docker: [ { image: "circa-test/does-not-exist:1" } ]
    resource_class: docker
    steps: [ { run: echo never } ]
workflows:
  main: { jobs: [ pull ] }
"#,
    );
    s.api
        .add_project("gh/acme/pull", repo.path(), json!({}))
        .await;
    let (code, out, err) = s.run(&["pipeline", "trigger", "gh/acme/pull", "--wait"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("job pull: infrastructure_fail"), "{out}");
    let reason = out
        .lines()
        .find(|l| l.trim_start().starts_with("reason: "))
        .unwrap_or_else(|| panic!("no reason in:\n{out}"));
    assert!(reason.contains("circa-test/does-not-exist:1"), "{out}");
    assert!(
        out.contains(&format!("{}/projects/gh/acme/pull/jobs/1", s.server.url)),
        "{out}"
    );
    let (_, job) = s.api.get("/api/v2/project/gh/acme/pull/job/1").await;
    let message = &job["messages"][0];
    assert_eq!(message["type"], "error", "{job}");
    assert_eq!(message["reason"], "infrastructure_fail", "{job}");
    assert!(
        message["message"]
            .as_str()
            .unwrap()
            .contains("circa-test/does-not-exist:1"),
        "{job}"
    );
}

const TWO_BRANCHES_MAIN: &str = r#"
version: 2.1
jobs:
  build:
    machine: true
    steps: [ { run: echo built } ]
workflows:
  main: { jobs: [ build ] }
"#;

const TWO_BRANCHES_FEATURE: &str = r#"
version: 2.1
jobs:
  build:
    machine: true
    steps:
      - run:
          name: compile
          command: 'echo "error: it broke"; exit 2'
workflows:
  main: { jobs: [ build ] }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_list_and_show_in_text_and_json() {
    let s = setup(30, 2).await;
    let repo = Repo::new(TWO_BRANCHES_MAIN);
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.commit(TWO_BRANCHES_FEATURE, "break it");
    repo.git(&["checkout", "-q", "main"]);
    s.api
        .add_project("gh/acme/list", repo.path(), json!({}))
        .await;
    let first = s.api.trigger("gh/acme/list", json!({})).await;
    s.api.finished(&first, LONG).await;
    let second = s
        .api
        .trigger("gh/acme/list", json!({ "branch": "feature" }))
        .await;
    s.api.finished(&second, LONG).await;

    let (code, out, err) = s.run(&["pipeline", "list", "gh/acme/list"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    // Newest first: number, branch, created time, state, id, workflows.
    assert!(
        lines[0].trim_start().starts_with("2  branch feature"),
        "{out}"
    );
    assert!(
        lines[0].contains(&second) && lines[0].ends_with("main:failed"),
        "{out}"
    );
    assert!(lines[1].trim_start().starts_with("1  branch main"), "{out}");
    assert!(
        lines[1].contains("created") && lines[1].ends_with("main:success"),
        "{out}"
    );

    let (_, out, _) = s.run(&["pipeline", "list", "gh/acme/list", "--branch", "main"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains(&first), "{out}");
    // Without a slug: every project the token sees, with the project's slug.
    let (_, out, _) = s.run(&["pipeline", "list", "--branch", "feature"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("gh/acme/list  branch feature"), "{out}");
    let (_, out, _) = s.run(&["pipeline", "list", "--limit", "1"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    let (code, _, err) = s.run(&["pipeline", "list", "--limit", "201"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("201 is not in 1..=200"), "{err}");

    let (code, out, _) = s.run(&["pipeline", "list", "gh/acme/list", "--json"]);
    assert_eq!(code, 0);
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    assert_eq!(listed[0]["number"], 2);
    assert_eq!(listed[0]["id"], second);
    assert_eq!(listed[0]["vcs"]["branch"], "feature");
    assert_eq!(listed[0]["state"], "created");
    assert_eq!(listed[0]["workflows"][0]["name"], "main");
    assert_eq!(listed[0]["workflows"][0]["status"], "failed");
    assert!(listed[0]["created_at"].as_str().unwrap().ends_with('Z'));

    // Show by SLUG/NUMBER and by id.
    let (code, out, err) = s.run(&["pipeline", "show", "gh/acme/list/2"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!(
            "pipeline 2 of gh/acme/list ({second}), branch feature"
        )),
        "{out}"
    );
    assert!(out.contains("workflow main: failed"), "{out}");
    let job_line = out
        .lines()
        .find(|l| l.trim_start().starts_with("build"))
        .unwrap();
    assert!(
        job_line.contains("#2") && job_line.contains("failed"),
        "{out}"
    );
    assert!(
        out.contains("failed step: compile (step 0): exit code 2"),
        "{out}"
    );
    assert!(out.contains("| error: it broke"), "{out}");
    assert!(
        out.contains(&format!("{}/projects/gh/acme/list/jobs/2", s.server.url)),
        "{out}"
    );
    let (code, out, _) = s.run(&["pipeline", "show", &first, "--json"]);
    assert_eq!(code, 0);
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["pipeline"]["id"], first);
    let job = &shown["workflows"][0]["jobs"][0];
    assert_eq!(job["name"], "build");
    assert_eq!(job["status"], "success");
    assert_eq!(job["job_number"], 1);
    assert!(job["duration_ms"].is_u64(), "{job}");
    assert!(job["failure"].is_null(), "{job}");
    let (_, out, _) = s.run(&["pipeline", "show", &second, "--json"]);
    let shown: Value = serde_json::from_str(&out).unwrap();
    let failure = &shown["workflows"][0]["jobs"][0]["failure"];
    assert_eq!(failure["step"]["name"], "compile", "{failure}");
    assert_eq!(failure["step"]["exit_code"], 2, "{failure}");
    assert_eq!(
        failure["last_lines"],
        json!(["error: it broke"]),
        "{failure}"
    );

    // Bad names: what is wrong, with the exit code of an error (2).
    let (code, _, err) = s.run(&["pipeline", "show", "acme/list/2"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("\"acme/list/2\" is not a pipeline id or SLUG/NUMBER"),
        "{err}"
    );
    let (code, _, err) = s.run(&["pipeline", "show", "gh/acme/list/99"]);
    assert_eq!(code, 2);
    assert!(err.contains("404"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_log_prints_steps_and_follow_streams_a_running_job_to_its_end() {
    let s = setup(30, 2).await;
    let gate = Gate::new();
    let step = gate.step();
    let repo = Repo::new(&format!(
        r#"
version: 2.1
jobs:
  slow:
    machine: true
    steps:
      - run: echo before
      - run:
          name: gate
          command: echo started; {step}
      - run: echo third
  bad:
    machine: true
    steps:
      - run:
          name: breaks
          command: echo oops; exit 4
workflows:
  main: {{ jobs: [ slow, bad ] }}
"#
    ));
    s.api
        .add_project("gh/acme/logs", repo.path(), json!({}))
        .await;
    let pipeline = s.api.trigger("gh/acme/logs", json!({})).await;
    let workflow = s.api.workflows(&pipeline).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let slow = s.api.job(&workflow, "slow").await;
    let slow_ref = format!("gh/acme/logs/{}", slow["job_number"]);
    // Follow the job while its second step waits.
    let mut follow = s.spawn(&["job", "log", &slow_ref, "--follow"]);
    follow.wait_for("== gate (step 1)");
    follow.wait_for("started");
    let mut json_follow = s.spawn(&["job", "log", &slow_ref, "--follow", "--json"]);
    json_follow.wait_for("\"text\":\"started\\n\"");
    gate.open();
    let (code, out, err) = follow.finish();
    assert_eq!(code, 0, "{out}\n{err}");
    let order = [
        "== echo before (step 0)",
        "before",
        "-- success",
        "== gate (step 1)",
        "started",
        "after-go",
        "== echo third (step 2)",
        "third",
        &format!("job slow ({slow_ref}): success"),
    ];
    let mut at = 0;
    for text in order {
        let found = out[at..]
            .find(text)
            .unwrap_or_else(|| panic!("{text:?} missing or out of order in:\n{out}"));
        at += found + text.len();
    }
    let (code, out, _) = json_follow.finish();
    assert_eq!(code, 0, "{out}");
    let events: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let last = events.last().unwrap();
    assert_eq!(last["event"], "job_finished");
    assert_eq!(last["status"], "success");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "output" && e["text"] == "after-go\n")
    );

    // The finished job's log, whole, one step, and as JSON.
    let (code, out, _) = s.run(&["job", "log", &slow_ref]);
    assert_eq!(code, 0);
    assert!(
        out.contains("== gate (step 1)\nstarted\nafter-go\n-- success"),
        "{out}"
    );
    let (_, out, _) = s.run(&["job", "log", &slow_ref, "--step", "2"]);
    assert!(out.starts_with("== echo third (step 2)\nthird\n"), "{out}");
    assert!(!out.contains("before"), "{out}");
    let (code, _, err) = s.run(&["job", "log", &slow_ref, "--step", "7"]);
    assert_eq!(code, 2);
    assert!(
        err.contains(&format!("job {slow_ref} has no finished step 7")),
        "{err}"
    );
    for follow in [&[][..], &["--follow"][..]] {
        let args = [&["job", "log", &slow_ref, "--node", "1"][..], follow].concat();
        let (code, _, err) = s.run(&args);
        assert_eq!(code, 2);
        assert!(
            err.contains(&format!(
                "job {slow_ref} has no node 1 (it has 1, counted from 0)"
            )),
            "{err}"
        );
    }
    let (_, out, _) = s.run(&["job", "log", &slow_ref, "--json"]);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["job"]["status"], "success");
    assert_eq!(doc["steps"][1]["name"], "gate");
    assert_eq!(doc["steps"][1]["output"], "started\nafter-go\n");

    // Following a job that failed ends at once, with exit code 1.
    let bad = s.api.job(&workflow, "bad").await;
    let bad_ref = format!("gh/acme/logs/{}", bad["job_number"]);
    let (code, out, _) = s.run(&["job", "log", &bad_ref, "--follow"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("oops\n-- failed (exit code 4)"), "{out}");
    assert!(
        out.contains(&format!("job bad ({bad_ref}): failed")),
        "{out}"
    );
}
