//! A server with one project whose pipelines exercise every served API route: an approval,
//! artifacts, a JUnit report, a setup (dynamic config) pipeline and long jobs to cancel.

use std::time::Duration;

use serde_json::{Value, json};

use crate::server_harness::{Api, Repo, RunnerProc, ServerProc};

/// How long a run may take.
pub const LONG: Duration = Duration::from_secs(90);

/// The project's slug.
pub const SLUG: &str = "gh/acme/walk";

/// The main branch's config.
pub const CONFIG: &str = r#"
version: 2.1
jobs:
  build:
    machine: true
    steps:
      - run: mkdir -p out results/pytest && echo hello > out/hello.txt
      - run: >-
          printf '%s\n'
          '<testsuite name="unit" tests="2">'
          '<testcase classname="app.Test" name="passes" time="0.25" file="tests/test_app.py"/>'
          '<testcase classname="app.Test" name="fails" time="0.5"><failure message="boom">trace</failure></testcase>'
          '</testsuite>' > results/pytest/report.xml
      - store_artifacts: { path: out }
      - store_test_results: { path: results }
  deploy:
    machine: true
    steps:
      - run: echo deployed
workflows:
  main:
    jobs:
      - build
      - hold: { type: approval, requires: [build] }
      - deploy: { requires: [hold] }
"#;

/// The `slow` branch's config: two long jobs to cancel.
pub const SLOW: &str = r#"
version: 2.1
jobs:
  wait:
    machine: true
    steps:
      - run: sleep 120
workflows:
  slow:
    jobs:
      - wait: { name: one }
      - wait: { name: two }
"#;

/// The `setup` branch's config: a setup workflow that leaves its continuation key as an
/// artifact for the test to continue with.
pub const SETUP: &str = r#"
version: 2.1
setup: true
jobs:
  generate:
    machine: true
    steps:
      - run: mkdir -p key && printf '%s' "$CIRCLE_CONTINUATION_KEY" > key/key.txt
      - store_artifacts: { path: key }
workflows:
  setup:
    jobs: [generate]
"#;

/// The `matrix` branch's config: a job for a resource class no runner serves, to be claimed
/// by hand.
pub const MATRIX: &str = r#"
version: 2.1
jobs:
  held:
    machine: true
    resource_class: matrix
    steps:
      - run: "true"
workflows:
  matrix:
    jobs: [held]
"#;

/// The running server and what was made on it.
pub struct Fixture {
    _server: ServerProc,
    /// An admin client.
    pub api: Api,
    /// The project's repository.
    pub repo: Repo,
    _runner: RunnerProc,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

impl Fixture {
    /// A server, a runner and the project (no pipelines yet).
    pub async fn start() -> Fixture {
        let data = tempfile::tempdir().unwrap();
        let server = ServerProc::start(data.path(), 30);
        let api = server.client();
        let runner_dir = tempfile::tempdir().unwrap();
        let token = api.runner_token("default").await;
        let runner = RunnerProc::start(&server.url, &token, runner_dir.path(), 4);
        let repo = Repo::new(CONFIG);
        repo.git(&["checkout", "-q", "-b", "slow"]);
        repo.commit(SLOW, "slow jobs");
        repo.git(&["checkout", "-q", "-b", "setup", "main"]);
        repo.commit(SETUP, "setup config");
        repo.git(&["checkout", "-q", "-b", "matrix", "main"]);
        repo.commit(MATRIX, "a job for a class no runner serves");
        repo.git(&["checkout", "-q", "main"]);
        api.add_project(SLUG, repo.path(), json!({})).await;
        Fixture {
            _server: server,
            api,
            repo,
            _runner: runner,
            _dirs: (data, runner_dir),
        }
    }

    /// Waits for a job of `workflow` named `name` to have `status`; the job.
    pub async fn job_with_status(&self, workflow: &str, name: &str, status: &str) -> Value {
        self.api
            .until(LONG, &format!("{name} to be {status}"), || async {
                let jobs = self.api.jobs(workflow).await;
                jobs.into_iter()
                    .find(|j| j["name"] == name && j["status"] == status)
            })
            .await
    }

    /// The first workflow of a pipeline, once it exists.
    pub async fn first_workflow(&self, pipeline: &str) -> Value {
        self.api
            .until(LONG, "a workflow", || async {
                self.api.workflows(pipeline).await.into_iter().next()
            })
            .await
    }
}
