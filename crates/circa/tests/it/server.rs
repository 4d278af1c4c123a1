//! The server and its runners end to end: real `circa server` and `circa runner` processes, real
//! git repositories, webhooks replayed from the corpus.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::server_harness::{Api, Repo, RunnerProc, ServerProc, github_push, payload, sign};

const LONG: Duration = Duration::from_secs(60);

/// A server with a shell runner of class `default`, and the admin's API client.
pub(crate) struct Setup {
    pub(crate) server: ServerProc,
    pub(crate) api: Api,
    runner: Option<RunnerProc>,
    _runner_dir: tempfile::TempDir,
    _data: tempfile::TempDir,
}

/// Starts a server with a lease of `lease_secs` and a runner with `slots` slots.
pub(crate) async fn setup(lease_secs: u64, slots: u32) -> Setup {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), lease_secs);
    let api = server.client();
    let runner_dir = tempfile::tempdir().unwrap();
    let token = api.runner_token("default").await;
    let runner = RunnerProc::start(&server.url, &token, runner_dir.path(), slots);
    Setup {
        server,
        api,
        runner: Some(runner),
        _runner_dir: runner_dir,
        _data: data,
    }
}

const FAN: &str = r#"
version: 2.1
jobs:
  build:
    machine: true
    steps:
      - run: mkdir -p ws && echo built-by-build > ws/artifact.txt
      - persist_to_workspace:
          root: ws
          paths: [artifact.txt]
  test:
    machine: true
    parameters:
      n: { type: integer }
    steps:
      - run: echo "test << parameters.n >>"
  deploy:
    machine: true
    steps:
      - attach_workspace: { at: got }
      - run: cat got/artifact.txt
workflows:
  main:
    jobs:
      - build
      - test: { name: test-1, n: 1, requires: [build] }
      - test: { name: test-2, n: 2, requires: [build] }
      - test: { name: test-3, n: 3, requires: [build] }
      - deploy: { requires: [test-1, test-2, test-3] }
"#;

async fn pipelines_of(api: &Api, slug: &str) -> Vec<serde_json::Value> {
    let (_, body) = api.get(&format!("/api/v2/project/{slug}/pipeline")).await;
    body["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_push_runs_a_fan_out_fan_in_workflow_to_success() {
    let s = setup(30, 4).await;
    let repo = Repo::new(FAN);
    let sha = repo.git(&["rev-parse", "HEAD"]);
    let project = s
        .api
        .add_project("gh/acme/fan", repo.path(), json!({}))
        .await;
    let secret = project["webhook"]["secret"].as_str().unwrap();
    let path = format!("/hooks/{}", project["id"].as_str().unwrap());
    let body = github_push(repo.path(), "refs/heads/main", &sha, "add fan-out");
    let status = s.api.github_hook(&path, "push", secret, body).await;
    assert!((200..300).contains(&status), "webhook answered {status}");
    let pipelines = pipelines_of(&s.api, "gh/acme/fan").await;
    assert_eq!(pipelines.len(), 1);
    assert_eq!(pipelines[0]["vcs"]["revision"], sha.as_str());
    assert_eq!(pipelines[0]["trigger"]["type"], "webhook");
    let id = pipelines[0]["id"].as_str().unwrap();
    let workflows = s.api.finished(id, LONG).await;
    assert_eq!(workflows[0]["status"], "success", "{workflows:?}");
    let wf = workflows[0]["id"].as_str().unwrap();
    let jobs = s.api.jobs(wf).await;
    assert_eq!(jobs.len(), 5);
    assert!(jobs.iter().all(|j| j["status"] == "success"), "{jobs:?}");
    let deploy = s.api.job(wf, "deploy").await;
    let log = s.api.job_log(deploy["id"].as_str().unwrap()).await;
    assert!(log.contains("built-by-build"), "{log}");
    let test2 = s.api.job(wf, "test-2").await;
    assert!(
        s.api
            .job_log(test2["id"].as_str().unwrap())
            .await
            .contains("test 2")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_push_runs_only_tag_filtered_jobs() {
    let s = setup(30, 2).await;
    let repo = Repo::new(
        r#"
version: 2.1
jobs:
  job: { machine: true, parameters: { word: { type: string } }, steps: [ { run: "echo << parameters.word >>" } ] }
workflows:
  main:
    jobs:
      - job: { name: every-branch, word: branch }
      - job:
          name: release
          word: release
          filters: { tags: { only: /^v.*/ }, branches: { ignore: /.*/ } }
"#,
    );
    repo.git(&["tag", "v1.0.0"]);
    let sha = repo.git(&["rev-parse", "HEAD"]);
    let project = s
        .api
        .add_project("gl/acme/tags", repo.path(), json!({}))
        .await;
    let secret = project["webhook"]["secret"].as_str().unwrap().to_string();
    let mut p = payload("gitlab/tag-event.json");
    p["ref"] = json!("refs/tags/v1.0.0");
    p["after"] = json!(sha);
    p["checkout_sha"] = json!(sha);
    let body = serde_json::to_vec(&p).unwrap();
    let path = format!("/hooks/{}", project["id"].as_str().unwrap());
    let status = s
        .api
        .hook(
            &path,
            &[
                ("x-gitlab-event", "Tag Push Hook".into()),
                ("x-gitlab-token", secret),
            ],
            body,
        )
        .await;
    assert!((200..300).contains(&status), "webhook answered {status}");
    let pipelines = pipelines_of(&s.api, "gl/acme/tags").await;
    assert_eq!(pipelines.len(), 1);
    assert_eq!(pipelines[0]["vcs"]["tag"], "v1.0.0");
    let workflows = s
        .api
        .finished(pipelines[0]["id"].as_str().unwrap(), LONG)
        .await;
    assert_eq!(workflows[0]["status"], "success");
    let jobs = s.api.jobs(workflows[0]["id"].as_str().unwrap()).await;
    let names: Vec<&str> = jobs.iter().map(|j| j["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["release"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_holds_until_approved_then_the_rest_runs() {
    let s = setup(30, 2).await;
    let repo = Repo::new(
        r#"
version: 2.1
jobs:
  build: { machine: true, steps: [ { run: echo build } ] }
  deploy: { machine: true, steps: [ { run: echo deployed } ] }
workflows:
  main:
    jobs:
      - build
      - hold: { type: approval, requires: [build] }
      - deploy: { requires: [hold] }
"#,
    );
    s.api
        .add_project("gh/acme/hold", repo.path(), json!({}))
        .await;
    let id = s
        .api
        .trigger("gh/acme/hold", json!({ "branch": "main" }))
        .await;
    let wf = s
        .api
        .until(LONG, "the workflow to be on hold", || async {
            let wfs = s.api.workflows(&id).await;
            wfs.first()
                .filter(|w| w["status"] == "on_hold")
                .map(|w| w["id"].as_str().unwrap().to_string())
        })
        .await;
    let hold = s.api.job(&wf, "hold").await;
    assert_eq!(hold["status"], "on_hold");
    assert_eq!(hold["type"], "approval");
    assert_eq!(s.api.job(&wf, "deploy").await["status"], "blocked");
    let request = hold["approval_request_id"].as_str().unwrap();
    let (status, _) = s
        .api
        .post(
            &format!("/api/v2/workflow/{wf}/approve/{request}"),
            json!({}),
        )
        .await;
    assert_eq!(status, 202);
    let workflows = s.api.finished(&id, LONG).await;
    assert_eq!(workflows[0]["status"], "success");
    assert_eq!(s.api.job(&wf, "deploy").await["status"], "success");
    assert_eq!(s.api.job(&wf, "hold").await["status"], "success");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerun_from_failed_reruns_only_failed_jobs_and_their_dependents() {
    let s = setup(30, 2).await;
    let marker = tempfile::tempdir().unwrap();
    let flag = marker.path().join("second-time");
    let config = format!(
        r#"
version: 2.1
jobs:
  build: {{ machine: true, steps: [ {{ run: echo build }} ] }}
  other: {{ machine: true, steps: [ {{ run: echo other }} ] }}
  flaky:
    machine: true
    steps:
      - run: if [ -f {flag} ]; then echo passed; else touch {flag}; echo failing; exit 1; fi
  deploy: {{ machine: true, steps: [ {{ run: echo deploy }} ] }}
workflows:
  main:
    jobs:
      - build
      - other: {{ requires: [build] }}
      - flaky: {{ requires: [build] }}
      - deploy: {{ requires: [flaky, other] }}
"#,
        flag = flag.display()
    );
    let repo = Repo::new(&config);
    s.api
        .add_project("gh/acme/rerun", repo.path(), json!({}))
        .await;
    let id = s.api.trigger("gh/acme/rerun", json!({})).await;
    let workflows = s.api.finished(&id, LONG).await;
    assert_eq!(workflows[0]["status"], "failed");
    let first = workflows[0]["id"].as_str().unwrap().to_string();
    assert_eq!(s.api.job(&first, "flaky").await["status"], "failed");
    assert_eq!(s.api.job(&first, "deploy").await["status"], "not_run");
    let build_before = s.api.job(&first, "build").await;
    let (status, body) = s
        .api
        .post(
            &format!("/api/v2/workflow/{first}/rerun"),
            json!({ "from_failed": true }),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let second = body["workflow_id"].as_str().unwrap().to_string();
    let workflows = s.api.finished(&id, LONG).await;
    let rerun = workflows
        .iter()
        .find(|w| w["id"] == second.as_str())
        .unwrap();
    assert_eq!(rerun["status"], "success");
    let jobs = s.api.jobs(&second).await;
    let by = |name: &str| jobs.iter().find(|j| j["name"] == name).unwrap().clone();
    for name in ["build", "other"] {
        let job = by(name);
        assert_eq!(job["status"], "success");
        let (_, details) = s
            .api
            .get(&format!("/api/circa/jobs/{}", job["id"].as_str().unwrap()))
            .await;
        assert!(
            details["tasks"].as_array().unwrap().is_empty(),
            "{name} ran again: {details}"
        );
    }
    assert_ne!(by("build")["id"], build_before["id"]);
    for name in ["flaky", "deploy"] {
        let job = by(name);
        assert_eq!(job["status"], "success");
        let (_, details) = s
            .api
            .get(&format!("/api/circa/jobs/{}", job["id"].as_str().unwrap()))
            .await;
        assert_eq!(details["tasks"].as_array().unwrap().len(), 1, "{name}");
    }
}

const SLEEPER: &str = r#"
version: 2.1
jobs:
  sleeper: { machine: true, steps: [ { run: "echo started; sleep 60" } ] }
workflows:
  main: { jobs: [ sleeper ] }
"#;

/// Waits until the first job of a pipeline's first workflow has printed `text`; the workflow's
/// and the job's ids.
pub(crate) async fn job_printing(api: &Api, pipeline: &str, text: &str) -> (String, String) {
    api.until(LONG, &format!("the job to print {text:?}"), || async {
        let wf = api.workflows(pipeline).await.into_iter().next()?;
        let wf_id = wf["id"].as_str()?.to_string();
        let job = api.jobs(&wf_id).await.into_iter().next()?;
        let job_id = job["id"].as_str()?.to_string();
        partial_log(api, &job_id)
            .await
            .contains(text)
            .then_some((wf_id, job_id))
    })
    .await
}

async fn partial_log(api: &Api, job_id: &str) -> String {
    let (_, details) = api.get(&format!("/api/circa/jobs/{job_id}")).await;
    let task = details["tasks"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    api.text(&format!("/api/circa/tasks/{task}/steps/0/log"))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_a_running_job_within_two_seconds() {
    let s = setup(30, 1).await;
    let repo = Repo::new(SLEEPER);
    s.api
        .add_project("gh/acme/cancel", repo.path(), json!({}))
        .await;
    let id = s.api.trigger("gh/acme/cancel", json!({})).await;
    let (wf, job_id) = job_printing(&s.api, &id, "started").await;
    let asked = Instant::now();
    let (status, _) = s
        .api
        .post(&format!("/api/v2/workflow/{wf}/cancel"), json!({}))
        .await;
    assert_eq!(status, 202);
    s.api
        .until(Duration::from_secs(10), "the task to stop", || async {
            let (_, details) = s.api.get(&format!("/api/circa/jobs/{job_id}")).await;
            (details["tasks"][0]["state"] == "finished").then_some(())
        })
        .await;
    let took = asked.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "the job stopped after {took:?}"
    );
    let (_, details) = s.api.get(&format!("/api/circa/jobs/{job_id}")).await;
    assert_eq!(details["status"], "canceled");
    assert_eq!(details["tasks"][0]["result"], "canceled");
    let workflows = s.api.workflows(&id).await;
    assert_eq!(workflows[0]["status"], "canceled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_killed_mid_job_leaves_it_infrastructure_fail_within_its_lease() {
    let lease = 3;
    let mut s = setup(lease, 1).await;
    let repo = Repo::new(SLEEPER);
    s.api
        .add_project("gh/acme/lost", repo.path(), json!({}))
        .await;
    let id = s.api.trigger("gh/acme/lost", json!({})).await;
    let (_, job_id) = job_printing(&s.api, &id, "started").await;
    let killed = Instant::now();
    s.runner.take().unwrap().kill();
    s.api
        .until(
            Duration::from_secs(lease * 3),
            "the job to be declared lost",
            || async {
                let (_, details) = s.api.get(&format!("/api/circa/jobs/{job_id}")).await;
                (details["status"] == "infrastructure_fail").then_some(())
            },
        )
        .await;
    let took = killed.elapsed();
    assert!(
        took <= Duration::from_secs(lease + 2),
        "declared lost after {took:?} with a lease of {lease} s"
    );
    let (_, details) = s.api.get(&format!("/api/circa/jobs/{job_id}")).await;
    assert!(
        details["message"]
            .as_str()
            .unwrap_or_default()
            .contains("heartbeats"),
        "{details}"
    );
    assert_eq!(s.api.workflows(&id).await[0]["status"], "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restarted_mid_job_loses_and_duplicates_no_log_line() {
    let mut s = setup(30, 1).await;
    let repo = Repo::new(
        r#"
version: 2.1
jobs:
  talker:
    machine: true
    steps:
      - run: for i in $(seq 1 300); do echo "line $i"; sleep 0.02; done
workflows:
  main: { jobs: [ talker ] }
"#,
    );
    s.api
        .add_project("gh/acme/restart", repo.path(), json!({}))
        .await;
    let id = s.api.trigger("gh/acme/restart", json!({})).await;
    let job_id = job_printing(&s.api, &id, "line 20\n").await.1;
    s.server.restart();
    let workflows = s.api.finished(&id, LONG).await;
    assert_eq!(workflows[0]["status"], "success");
    let log = s.api.job_log(&job_id).await;
    let lines: Vec<&str> = log.lines().filter(|l| l.starts_with("line ")).collect();
    let expected: Vec<String> = (1..=300).map(|i| format!("line {i}")).collect();
    assert_eq!(lines, expected, "lost or duplicated lines");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_config_continues_once_and_refuses_a_second_continuation() {
    let s = setup(30, 2).await;
    let repo = Repo::new(
        r#"
version: 2.1
setup: true
jobs:
  generate:
    machine: true
    steps:
      - run: |
          base="${CIRCLE_BUILD_URL%%/projects/gh/*}"
          printf '{"continuation-key":"%s","configuration":"version: 2.1\\njobs:\\n  continued:\\n    machine: true\\n    steps:\\n      - run: echo continued-ran\\nworkflows:\\n  next:\\n    jobs: [continued]\\n"}' "$CIRCLE_CONTINUATION_KEY" > body.json
          first=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data @body.json "$base/api/v2/pipeline/continue")
          second=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data @body.json "$base/api/v2/pipeline/continue")
          echo "first=$first second=$second"
workflows:
  setup:
    jobs: [generate]
"#,
    );
    s.api
        .add_project("gh/acme/dynamic", repo.path(), json!({}))
        .await;
    let id = s.api.trigger("gh/acme/dynamic", json!({})).await;
    let workflows = s
        .api
        .until(LONG, "both workflows to finish", || async {
            let wfs = s.api.workflows(&id).await;
            let done = wfs.len() == 2
                && wfs
                    .iter()
                    .all(|w| w["status"] == "success" || w["status"] == "failed");
            done.then_some(wfs)
        })
        .await;
    let setup = workflows.iter().find(|w| w["name"] == "setup").unwrap();
    let next = workflows.iter().find(|w| w["name"] == "next").unwrap();
    assert_eq!(setup["status"], "success");
    assert_eq!(next["status"], "success");
    let generate = s.api.job(setup["id"].as_str().unwrap(), "generate").await;
    let log = s.api.job_log(generate["id"].as_str().unwrap()).await;
    assert!(log.contains("first=200 second=409"), "{log}");
    let continued = s.api.job(next["id"].as_str().unwrap(), "continued").await;
    assert!(
        s.api
            .job_log(continued["id"].as_str().unwrap())
            .await
            .contains("continued-ran")
    );
    let (_, pipeline) = s.api.get(&format!("/api/v2/pipeline/{id}")).await;
    assert_eq!(pipeline["state"], "setup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signatures_and_malformed_payloads_are_refused_without_a_pipeline() {
    let s = setup(30, 1).await;
    let repo = Repo::new(FAN);
    let sha = repo.git(&["rev-parse", "HEAD"]);
    let project = s
        .api
        .add_project("gh/acme/hooks", repo.path(), json!({}))
        .await;
    let secret = project["webhook"]["secret"].as_str().unwrap();
    let path = format!("/hooks/{}", project["id"].as_str().unwrap());
    let body = github_push(repo.path(), "refs/heads/main", &sha, "x");
    let wrong = sign("not-the-secret", &body);
    let status = s
        .api
        .hook(
            &path,
            &[
                ("x-github-event", "push".into()),
                ("x-hub-signature-256", format!("sha256={wrong}")),
            ],
            body.clone(),
        )
        .await;
    assert_eq!(status, 401);
    let status = s
        .api
        .hook(&path, &[("x-github-event", "push".into())], body)
        .await;
    assert_eq!(status, 401);
    let garbage = b"{ this is not json".to_vec();
    let status = s
        .api
        .hook(
            &path,
            &[
                ("x-github-event", "push".into()),
                (
                    "x-hub-signature-256",
                    format!("sha256={}", sign(secret, &garbage)),
                ),
            ],
            garbage,
        )
        .await;
    assert_eq!(status, 400);
    assert!(pipelines_of(&s.api, "gh/acme/hooks").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_error_gives_an_errored_pipeline_with_its_diagnostics() {
    let s = setup(30, 1).await;
    let repo = Repo::new(
        "version: 2.1\njobs:\n  build:\n    machine: true\n    steps:\n      - run: { command: [oops }\n",
    );
    s.api
        .add_project("gh/acme/broken", repo.path(), json!({}))
        .await;
    let id = s.api.trigger("gh/acme/broken", json!({})).await;
    let (_, pipeline) = s.api.get(&format!("/api/v2/pipeline/{id}")).await;
    assert_eq!(pipeline["state"], "errored", "{pipeline}");
    let errors = pipeline["errors"].as_array().unwrap();
    assert!(!errors.is_empty());
    let message = errors[0]["message"].as_str().unwrap();
    assert!(message.contains(".circleci/config.yml:6:"), "{message}");
    assert!(s.api.workflows(&id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_job_says_why_it_waits() {
    let s = setup(30, 1).await;
    let repo = Repo::new(
        "version: 2.1\njobs:\n  big:\n    machine: true\n    resource_class: big\n    steps: [ { run: echo hi } ]\nworkflows:\n  main: { jobs: [ big ] }\n",
    );
    s.api
        .add_project("gh/acme/big", repo.path(), json!({}))
        .await;
    let id = s.api.trigger("gh/acme/big", json!({})).await;
    let wf = s.api.workflows(&id).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let job = s.api.job(&wf, "big").await;
    assert_eq!(job["status"], "queued");
    let (_, details) = s
        .api
        .get(&format!("/api/circa/jobs/{}", job["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        details["waiting_reason"],
        "no runner with resource class `big` is connected"
    );
}

/// `POST {url}/api/runner/v1/{path}` with `token` and a JSON body, as a runner sends it.
async fn runner_post(
    url: &str,
    token: &str,
    path: &str,
    body: serde_json::Value,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{url}/api/runner/v1/{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_claim_takes_a_fan_out_at_once_with_a_token_per_task() {
    let s = setup(30, 1).await;
    let repo = Repo::new(
        "version: 2.1\njobs:\n  w:\n    machine: true\n    resource_class: wide\n    steps: [ { run: echo hi } ]\nworkflows:\n  main:\n    jobs:\n      - w: { name: a }\n      - w: { name: b }\n      - w: { name: c }\n",
    );
    s.api
        .add_project("gh/acme/wide", repo.path(), json!({}))
        .await;
    let runner = s.api.runner_token("wide").await;
    let http = reqwest::Client::new();
    let claims = |body: serde_json::Value| runner_post(&s.api.url, &runner, "claims", body);
    for bad in [0, 101] {
        let r = claims(json!({ "runner": "r", "wait_ms": 0, "max_tasks": bad })).await;
        assert_eq!(r.status(), 400);
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().contains("max_tasks"),
            "{body}"
        );
    }
    for bad in [String::new(), "x".repeat(65)] {
        let r =
            claims(json!({ "runner": "r", "wait_ms": 0, "max_tasks": 2, "claim_id": bad })).await;
        assert_eq!(r.status(), 400);
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().contains("claim_id"),
            "{body}"
        );
    }
    // Nothing queued yet: the wait runs out with no task.
    let r = claims(json!({ "runner": "r", "wait_ms": 50, "max_tasks": 5 })).await;
    assert_eq!(r.status(), 204);

    let id = s.api.trigger("gh/acme/wide", json!({})).await;
    let r = claims(json!({ "runner": "r", "wait_ms": 30000, "max_tasks": 5 })).await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    let tasks = body["tasks"].as_array().unwrap();
    let mut names: Vec<&str> = tasks
        .iter()
        .map(|t| t["job_name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["a", "b", "c"]);
    let wf = s.api.workflows(&id).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for name in ["a", "b", "c"] {
        assert_eq!(s.api.job(&wf, name).await["status"], "running");
    }
    // Each task's token reaches its own task only.
    let tokens: Vec<&str> = tasks
        .iter()
        .map(|t| t["task_token"].as_str().unwrap())
        .collect();
    assert_eq!(
        tokens
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        3
    );
    let heartbeat = |task: &str, token: &str| {
        http.post(format!(
            "{}/api/runner/v1/tasks/{task}/heartbeat",
            s.api.url
        ))
        .bearer_auth(token)
        .json(&json!({ "hold_ms": 0 }))
        .send()
    };
    for (i, task) in tasks.iter().enumerate() {
        let id = task["task_id"].as_str().unwrap();
        let own = heartbeat(id, tokens[i]).await.unwrap();
        assert_eq!(own.status(), 200, "task {id} with its own token");
        let other = heartbeat(id, tokens[(i + 1) % 3]).await.unwrap();
        assert!(
            matches!(other.status().as_u16(), 401 | 403 | 404),
            "task {id} with another task's token: {}",
            other.status()
        );
    }
    // All taken: the next batch finds nothing.
    let r = claims(json!({ "runner": "r", "wait_ms": 50, "max_tasks": 5 })).await;
    assert_eq!(r.status(), 204);
}

async fn grow_claim(url: &str, token: &str, id: &str, slots: u32) -> reqwest::Response {
    let body = json!({ "claim_id": id, "slots": slots });
    runner_post(url, token, "claims/grow", body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_claim_grows_to_take_a_wider_fan_out() {
    let s = setup(30, 1).await;
    let repo = Repo::new(
        "version: 2.1\njobs:\n  w:\n    machine: true\n    resource_class: grow\n    steps: [ { run: echo hi } ]\nworkflows:\n  main:\n    jobs:\n      - w: { name: a }\n      - w: { name: b }\n      - w: { name: c }\n",
    );
    s.api
        .add_project("gh/acme/grow", repo.path(), json!({}))
        .await;
    let runner = s.api.runner_token("grow").await;
    let other = s.api.runner_token("grow").await;
    let url = s.api.url.clone();
    let waiting = {
        let (url, runner) = (url.clone(), runner.clone());
        tokio::spawn(async move {
            let body = json!({ "runner": "r", "wait_ms": 30000, "max_tasks": 1, "claim_id": "c1" });
            runner_post(&url, &runner, "claims", body).await
        })
    };
    // The claim is registered once its request arrives.
    let deadline = Instant::now() + Duration::from_secs(10);
    let grown = loop {
        let r = grow_claim(&url, &runner, "c1", 2).await;
        if r.status() == 200 {
            break r.json::<serde_json::Value>().await.unwrap();
        }
        assert_eq!(r.status(), 404);
        assert!(Instant::now() < deadline, "the claim never waited");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(grown["max_tasks"], 3);
    // No token, a person's token, another runner token, an unknown claim, a bad number of
    // slots: refused, with a reason.
    let nobody = String::new();
    for (token, id, slots, status) in [
        (&nobody, "c1", 1, 401),
        (&s.api.token, "c1", 1, 403),
        (&other, "c1", 1, 404),
        (&runner, "c2", 1, 404),
        (&runner, "c1", 0, 400),
        (&runner, "c1", 101, 400),
    ] {
        let r = grow_claim(&url, token, id, slots).await;
        assert_eq!(r.status(), status, "{id} growing by {slots}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(body["message"].is_string(), "{body}");
    }
    s.api.trigger("gh/acme/grow", json!({})).await;
    let r = waiting.await.unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["tasks"].as_array().unwrap().len(), 3, "{body}");
    // Answered: the claim no longer grows.
    assert_eq!(grow_claim(&url, &runner, "c1", 1).await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_end_for_a_step_the_job_lacks_is_not_recorded() {
    let s = setup(30, 1).await;
    let repo = Repo::new(
        "version: 2.1\njobs:\n  w:\n    machine: true\n    resource_class: lone\n    steps: [ { run: echo hi } ]\nworkflows:\n  main:\n    jobs: [w]\n",
    );
    s.api
        .add_project("gh/acme/lone", repo.path(), json!({}))
        .await;
    let runner = s.api.runner_token("lone").await;
    let id = s.api.trigger("gh/acme/lone", json!({})).await;
    let r = runner_post(
        &s.api.url,
        &runner,
        "claims",
        json!({ "runner": "r", "wait_ms": 30000, "max_tasks": 1 }),
    )
    .await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    let task = &body["tasks"][0];
    let (task_id, token) = (
        task["task_id"].as_str().unwrap(),
        task["task_token"].as_str().unwrap(),
    );
    let events = json!({ "events": [
        { "seq": 1, "event": "step_started", "step": 0, "name": "Hi", "background": false },
        { "seq": 2, "event": "output", "step": 0, "text": "hi\n" },
        { "seq": 3, "event": "step_finished", "step": 0, "status": "success",
          "exit_code": 0, "duration_ms": 1, "message": null },
        { "seq": 4, "event": "step_started", "step": 7, "name": "Ghost", "background": false },
        { "seq": 5, "event": "step_finished", "step": 7, "status": "success",
          "exit_code": 0, "duration_ms": 1, "message": null },
    ]});
    let r = runner_post(
        &s.api.url,
        token,
        &format!("tasks/{task_id}/events"),
        events,
    )
    .await;
    assert_eq!(r.status(), 200);
    let ack: serde_json::Value = r.json().await.unwrap();
    assert_eq!(ack["acked"], 5);
    let complete = json!({ "status": "success", "message": null, "last_seq": 5 });
    let r = runner_post(
        &s.api.url,
        token,
        &format!("tasks/{task_id}/complete"),
        complete,
    )
    .await;
    assert_eq!(r.status(), 204);
    let wf = s.api.workflows(&id).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let job = s.api.job(&wf, "w").await;
    let (_, details) = s
        .api
        .get(&format!("/api/circa/jobs/{}", job["id"].as_str().unwrap()))
        .await;
    let steps = details["tasks"][0]["steps"].as_array().unwrap();
    let recorded: Vec<&str> = steps.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(recorded, ["Hi"], "{details}");
    assert_eq!(steps[0]["log_bytes"], 3);
}

/// The README's "Your first pipeline", as a newcomer types it: `circa up`, a new repository with
/// the README's config, `circa project add`, `circa pipeline trigger --wait`.
#[test]
fn the_readme_walk_through_ends_in_a_green_workflow() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let start = readme.find("<<'YAML'\n").expect("the README's config") + "<<'YAML'\n".len();
    let end = start + readme[start..].find("\nYAML\n").unwrap();
    let config = &readme[start..=end];
    let data = tempfile::tempdir().unwrap();
    let mut up = Command::new(env!("CARGO_BIN_EXE_circa"))
        .args([
            "up",
            "--listen",
            "127.0.0.1:0",
            "--executor",
            "shell",
            "--data-dir",
        ])
        .arg(data.path())
        .env("CIRCA_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut lines = BufReader::new(up.stdout.take().unwrap()).lines();
    let _up = Kill(up);
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("Circa is up at http://"), "{first}");
    let url = first.rsplit(' ').next().unwrap().to_string();
    std::thread::spawn(move || for _ in lines {});
    let repo = Repo::new(config);
    let circa = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_circa"))
            .args(args)
            .current_dir(repo.path())
            .env("CIRCA_URL", &url)
            .env("CIRCA_DATA_DIR", data.path())
            .output()
            .unwrap()
    };
    let added = circa(&["project", "add", "gh/me/hello", "--repo", "."]);
    assert!(added.status.success(), "{added:?}");
    assert!(String::from_utf8_lossy(&added.stdout).contains("/hooks/"));
    let run = circa(&["pipeline", "trigger", "gh/me/hello", "--wait"]);
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for line in [
        "job build: success",
        "job unit: success",
        "job lint: success",
        "workflow main: success",
    ] {
        assert!(out.contains(line), "{line:?} missing from:\n{out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallelism_runs_one_task_per_node_and_health_routes_answer() {
    let s = setup(30, 3).await;
    for route in ["/healthz", "/readyz"] {
        let (status, _) = s.api.get(route).await;
        assert_eq!(status, 200, "{route}");
    }
    let repo = Repo::new(
        r#"
version: 2.1
jobs:
  split:
    machine: true
    parallelism: 3
    steps:
      - run: echo "node $CIRCLE_NODE_INDEX of $CIRCLE_NODE_TOTAL"
workflows:
  main: { jobs: [ split ] }
"#,
    );
    s.api
        .add_project("gh/acme/par", repo.path(), json!({}))
        .await;
    let id = s.api.trigger("gh/acme/par", json!({})).await;
    let workflows = s.api.finished(&id, LONG).await;
    assert_eq!(workflows[0]["status"], "success");
    let job = s
        .api
        .job(workflows[0]["id"].as_str().unwrap(), "split")
        .await;
    let (_, details) = s
        .api
        .get(&format!("/api/circa/jobs/{}", job["id"].as_str().unwrap()))
        .await;
    let tasks = details["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 3);
    let mut seen = Vec::new();
    for task in tasks {
        assert_eq!(task["result"], "success");
        let log = s
            .api
            .text(&format!(
                "/api/circa/tasks/{}/steps/0/log",
                task["id"].as_str().unwrap()
            ))
            .await;
        seen.push(log.trim().to_string());
    }
    seen.sort();
    assert_eq!(seen, ["node 0 of 3", "node 1 of 3", "node 2 of 3"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_pipeline_on_a_branch_cancels_the_redundant_one_when_the_project_asks() {
    let s = setup(30, 2).await;
    let repo = Repo::new(SLEEPER);
    repo.git(&["checkout", "-q", "-b", "feature"]);
    s.api
        .add_project(
            "gh/acme/auto",
            repo.path(),
            json!({ "auto_cancel_redundant": true }),
        )
        .await;
    let first = s
        .api
        .trigger("gh/acme/auto", json!({ "branch": "feature" }))
        .await;
    let (_, job_id) = job_printing(&s.api, &first, "started").await;
    let second = s
        .api
        .trigger("gh/acme/auto", json!({ "branch": "feature" }))
        .await;
    s.api
        .until(
            Duration::from_secs(10),
            "the first workflow to be canceled",
            || async {
                let wfs = s.api.workflows(&first).await;
                (wfs[0]["status"] == "canceled").then_some(())
            },
        )
        .await;
    s.api
        .until(
            Duration::from_secs(10),
            "the first job's task to stop",
            || async {
                let (_, details) = s.api.get(&format!("/api/circa/jobs/{job_id}")).await;
                (details["tasks"][0]["state"] == "finished").then_some(())
            },
        )
        .await;
    let wfs = s.api.workflows(&second).await;
    assert_ne!(wfs[0]["status"], "canceled");
    let (status, _) = s
        .api
        .post(
            &format!("/api/v2/workflow/{}/cancel", wfs[0]["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(status, 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_task_is_queued_again_once_when_the_project_asks() {
    let lease = 3;
    let mut s = setup(lease, 1).await;
    let repo = Repo::new(SLEEPER);
    s.api
        .add_project(
            "gh/acme/requeue",
            repo.path(),
            json!({ "requeue_lost_tasks": true }),
        )
        .await;
    let id = s.api.trigger("gh/acme/requeue", json!({})).await;
    let job_id = job_printing(&s.api, &id, "started").await.1;
    s.runner.take().unwrap().kill();
    let (_, details) = s
        .api
        .until(
            Duration::from_secs(lease * 4),
            "the task to be queued again",
            || async {
                let (status, details) = s.api.get(&format!("/api/circa/jobs/{job_id}")).await;
                (details["tasks"][0]["state"] == "queued").then_some((status, details))
            },
        )
        .await;
    assert_eq!(details["status"], "running");
    assert_eq!(details["tasks"][0]["attempts"], 1);
    let token = s.api.runner_token("default").await;
    let dir = tempfile::tempdir().unwrap();
    let mut second = RunnerProc::start(&s.server.url, &token, dir.path(), 1);
    s.api
        .until(LONG, "the second attempt to start", || async {
            let (_, details) = s.api.get(&format!("/api/circa/jobs/{job_id}")).await;
            (details["tasks"][0]["attempts"] == 2).then_some(())
        })
        .await;
    second.kill();
    s.api
        .until(
            Duration::from_secs(lease * 4),
            "the job to be declared lost",
            || async {
                let (_, details) = s.api.get(&format!("/api/circa/jobs/{job_id}")).await;
                (details["status"] == "infrastructure_fail").then_some(())
            },
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wide_fan_out_with_a_slot_per_job_finishes() {
    let s = setup(30, 20).await;
    let mut config = String::from(
        "version: 2.1\njobs:\n  one: { machine: true, steps: [ { run: \"true\" } ] }\nworkflows:\n  fan:\n    jobs:\n      - one: { name: first }\n",
    );
    let mids: Vec<String> = (1..=20).map(|i| format!("mid-{i}")).collect();
    for m in &mids {
        config.push_str(&format!(
            "      - one: {{ name: {m}, requires: [first] }}\n"
        ));
    }
    config.push_str(&format!(
        "      - one: {{ name: last, requires: [{}] }}\n",
        mids.join(", ")
    ));
    let repo = Repo::new(&config);
    s.api
        .add_project("gh/acme/wide", repo.path(), json!({}))
        .await;
    for _ in 0..3 {
        let id = s.api.trigger("gh/acme/wide", json!({})).await;
        let workflows = s.api.finished(&id, LONG).await;
        assert_eq!(workflows[0]["status"], "success");
        let jobs = s.api.jobs(workflows[0]["id"].as_str().unwrap()).await;
        assert_eq!(jobs.len(), 22);
        assert!(jobs.iter().all(|j| j["status"] == "success"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_api_bodies_get_a_4xx_with_a_json_message() {
    let s = setup(30, 1).await;
    let http = reqwest::Client::new();
    let post = |path: &str, body: Vec<u8>| {
        http.post(format!("{}{path}", s.api.url))
            .bearer_auth(&s.api.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "/api/circa/projects",
            b"{ not json".to_vec(),
            400,
            "request body",
        ),
        (
            "/api/circa/projects",
            br#"{"slug": 3}"#.to_vec(),
            422,
            "slug",
        ),
        (
            "/api/circa/projects",
            br#"{"slug": "gh/a/b"}"#.to_vec(),
            422,
            "repo",
        ),
        (
            "/api/circa/projects",
            br#"{"slug": "a/b", "repo": "/x"}"#.to_vec(),
            400,
            "slug",
        ),
        (
            "/api/circa/projects",
            format!(r#"{{"slug": "{}"}}"#, "x".repeat(9 * 1024 * 1024)).into_bytes(),
            413,
            "",
        ),
        (
            "/api/v2/pipeline/continue",
            b"[]".to_vec(),
            422,
            "request body",
        ),
    ];
    for (path, body, status, words) in cases {
        let r = post(path, body).await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{path}");
        let body: serde_json::Value = r.json().await.expect("a JSON error body");
        let message = body["message"].as_str().expect("a message");
        assert!(message.contains(words), "{path}: {message}");
    }
    let repo = Repo::new(FAN);
    s.api
        .add_project("gh/acme/bodies", repo.path(), json!({}))
        .await;
    let r = post(
        "/api/v2/project/gh/acme/bodies/pipeline",
        b"{\"branch\": ".to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("line 1"),
        "{body}"
    );
    let r = post("/api/v2/project/gh/acme/bodies/pipeline", Vec::new())
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        201,
        "an empty body builds the default branch"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_sees_only_granted_projects_and_a_revoked_token_is_refused() {
    let s = setup(10, 1).await;
    let repo = Repo::new(FAN);
    s.api
        .add_project("gh/acme/app", repo.path(), json!({}))
        .await;
    let pipeline = s
        .api
        .trigger("gh/acme/app", json!({ "branch": "main" }))
        .await;

    let (code, _) = s
        .api
        .post("/api/circa/users", json!({ "login": "bob", "name": "Bob" }))
        .await;
    assert_eq!(code, 201);
    let (code, made) = s
        .api
        .post(
            "/api/circa/tokens",
            json!({ "kind": "user", "name": "bob's", "user": "bob" }),
        )
        .await;
    assert_eq!(code, 201, "{made}");
    let bob = s.api.with_token(made["token"].as_str().unwrap());

    // Not a member: the project and everything in it are "not found", and nothing leaks.
    let (code, body) = bob.get("/api/v2/project/gh/acme/app").await;
    assert_eq!(
        (code, body["message"].as_str()),
        (404, Some("project not found"))
    );
    let (code, body) = bob.get(&format!("/api/v2/pipeline/{pipeline}")).await;
    assert_eq!(code, 404);
    assert!(!body.to_string().contains("acme"), "{body}");
    let (code, body) = bob.get("/api/circa/projects").await;
    assert_eq!(
        (code, body["items"].as_array().map(Vec::len)),
        (200, Some(0))
    );
    // Not an admin: no users, no runner tokens.
    let (code, _) = bob
        .post("/api/circa/users", json!({ "login": "eve" }))
        .await;
    assert_eq!(code, 403);
    let (code, _) = bob
        .post(
            "/api/circa/tokens",
            json!({ "kind": "runner", "name": "r", "resource_class": "default" }),
        )
        .await;
    assert_eq!(code, 403);

    // Granted: the project and its pipeline are visible.
    let (code, _) = s
        .api
        .post(
            "/api/circa/projects/gh/acme/app/members",
            json!({ "login": "bob" }),
        )
        .await;
    assert_eq!(code, 204);
    let (code, body) = bob.get("/api/v2/project/gh/acme/app").await;
    assert_eq!((code, body["slug"].as_str()), (200, Some("gh/acme/app")));
    let (code, body) = bob.get(&format!("/api/v2/pipeline/{pipeline}")).await;
    assert_eq!((code, body["id"].as_str()), (200, Some(pipeline.as_str())));

    // Revoked: 401, wherever the token is presented.
    let id = made["id"].as_str().unwrap();
    assert_eq!(bob.delete(&format!("/api/circa/tokens/{id}")).await, 204);
    let (code, body) = bob.get("/api/v2/project/gh/acme/app").await;
    assert_eq!(code, 401, "{body}");
}
