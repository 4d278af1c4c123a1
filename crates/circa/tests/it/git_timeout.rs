//! A repository that never answers: every git run the server makes is time-limited and killed
//! with everything it started, and one such project holds up no other project's legacy
//! schedules at start.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::server_harness::{Repo, ServerProc};

/// A config with a legacy schedule on `main` that fires every two seconds.
const LEGACY: &str = r#"
version: 2.1
jobs:
  hello:
    machine: true
    steps:
      - run: echo hello
workflows:
  nightly:
    triggers:
      - schedule:
          cron: "*/2 * * * * *"
          filters:
            branches:
              only: [main]
    jobs: [hello]
"#;

/// A TCP server that takes connections and never says a word: its address.
pub fn silent_remote() -> String {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let held: Vec<_> = silent.incoming().collect();
        drop(held);
    });
    addr
}

/// The command lines of processes that name `needle`.
pub fn processes_naming(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle) {
            found.push(cmdline);
        }
    }
    found
}

/// Waits up to five seconds for no process to name `needle`; those still left.
async fn none_left(needle: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_naming(needle);
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_that_never_answers_is_given_up_on_and_holds_up_no_other_project() {
    let addr = silent_remote();
    let data = tempfile::tempdir().unwrap();
    let mut server =
        ServerProc::start_with_env(data.path(), 30, &[("CIRCA_GIT_TIMEOUT_SECS", "2")]);
    let api = server.client();
    // Read first at start: projects are read in slug order.
    let (status, body) = api
        .post(
            "/api/circa/projects",
            json!({ "slug": "gh/acme/aaa-hung", "repo": format!("git://{addr}/x"), "default_branch": "main" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert!(
        body["warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains("no answer within 2s")),
        "{body}"
    );
    let repo = Repo::new(LEGACY);
    api.add_project("gh/acme/bbb-legacy", repo.path(), json!({}))
        .await;

    // A trigger fails within the time limit, and leaves no git behind.
    let started = Instant::now();
    let (status, created) = api
        .post(
            "/api/v2/project/gh/acme/aaa-hung/pipeline",
            json!({ "branch": "main" }),
        )
        .await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(15), "took {took:?}: {created}");
    assert!(status < 500, "{status}: {created}");
    let (_, pipeline) = api
        .get(&format!(
            "/api/v2/pipeline/{}",
            created["id"].as_str().unwrap_or_default()
        ))
        .await;
    let errors = pipeline["errors"].to_string();
    assert!(errors.contains("did not finish within 2s"), "{pipeline}");
    assert_eq!(none_left(&addr).await, Vec::<String>::new());

    // At start, the hung project is read first; the other's schedule still fires.
    server.restart();
    let api = server.client();
    let scheduled = api
        .until(
            Duration::from_secs(60),
            "the legacy schedule to fire",
            || async {
                let (_, body) = api.get("/api/v2/project/gh/acme/bbb-legacy/pipeline").await;
                let items = body["items"].as_array().cloned().unwrap_or_default();
                items
                    .into_iter()
                    .find(|p: &Value| p["trigger"]["type"] == "scheduled_pipeline")
            },
        )
        .await;
    assert_eq!(scheduled["vcs"]["branch"], "main", "{scheduled}");
    assert_eq!(none_left(&addr).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stops_leaves_no_git_behind() {
    let addr = silent_remote();
    let data = tempfile::tempdir().unwrap();
    // The request waiting on git is in flight: it has the grace period, then git is killed.
    let grace = ["--shutdown-grace-secs", "5"];
    let mut server = ServerProc::start_with(data.path(), 30, &[], &grace);
    let api = server.client();
    let (status, body) = api
        .post(
            "/api/circa/projects",
            json!({ "slug": "gh/acme/hung", "repo": format!("git://{addr}/x"), "default_branch": "main" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // A trigger whose clone hangs (the time limit is ten minutes).
    let trigger = {
        let api = api.clone();
        tokio::spawn(async move {
            api.post(
                "/api/v2/project/gh/acme/hung/pipeline",
                json!({ "branch": "main" }),
            )
            .await
        })
    };
    api.until(Duration::from_secs(30), "git to run", || async {
        (!processes_naming(&addr).is_empty()).then_some(())
    })
    .await;
    assert!(
        server.terminate(Duration::from_secs(20)),
        "the server stopped on SIGTERM"
    );
    assert_eq!(none_left(&addr).await, Vec::<String>::new());
    trigger.abort();
}
