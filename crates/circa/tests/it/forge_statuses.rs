//! Commit statuses end to end: a real server and runner, projects whose forge is a stand-in
//! (`forge_standin`) that checks every request against the forge's API description. Each
//! job's state arrives under CircleCI's context name with the job's page as its link, in order
//! per context; an outage (with a server restart in it) loses nothing; a rate limit is waited
//! out.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use circa_server::forge::ForgeKind;
use serde_json::{Value, json};

use crate::forge_standin::{Mode, StandIn, Status};
use crate::server_harness::{Api, Repo, RunnerProc, ServerProc};

/// How long a run may take.
const LONG: Duration = Duration::from_secs(120);

/// Two jobs that pass, one that fails, and an approval between them.
const CONFIG: &str = r#"
version: 2.1
jobs:
  build:
    machine: true
    steps:
      - run: "true"
  lint:
    machine: true
    steps:
      - run: exit 1
  deploy:
    machine: true
    steps:
      - run: "true"
workflows:
  main:
    jobs:
      - build
      - lint
      - hold: { type: approval, requires: [build] }
      - deploy: { requires: [hold] }
"#;

/// The same without the approval (for the outage, which runs to the end unattended).
const UNATTENDED: &str = r#"
version: 2.1
jobs:
  build:
    machine: true
    steps:
      - run: "true"
  lint:
    machine: true
    steps:
      - run: exit 1
  test:
    machine: true
    steps:
      - run: "true"
workflows:
  main:
    jobs:
      - build
      - lint
      - test: { requires: [build] }
"#;

/// The forge's words for success and failure.
fn words(kind: ForgeKind) -> (&'static str, &'static str) {
    match kind {
        ForgeKind::GitHub | ForgeKind::Gitea => ("success", "failure"),
        ForgeKind::GitLab => ("success", "failed"),
        ForgeKind::Bitbucket => ("SUCCESSFUL", "FAILED"),
    }
}

/// Whether a state word is final.
fn is_final(state: &str) -> bool {
    !matches!(state, "pending" | "running" | "INPROGRESS")
}

/// A stand-in forge, a server with a runner, and a project per forge kind of `kinds` on one
/// repository holding `config`, each reporting to the stand-in with the same token.
struct Setup {
    standin: StandIn,
    server: ServerProc,
    api: Api,
    repo: Repo,
    token: std::path::PathBuf,
    _runner: RunnerProc,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

impl Setup {
    async fn start(config: &str, kinds: &[ForgeKind]) -> Setup {
        let standin = StandIn::start().await;
        let data = tempfile::tempdir().unwrap();
        let server = ServerProc::start(data.path(), 30);
        let api = server.client();
        let runner_dir = tempfile::tempdir().unwrap();
        let runner_token = api.runner_token("default").await;
        let runner = RunnerProc::start(&server.url, &runner_token, runner_dir.path(), 4);
        let repo = Repo::new(config);
        let token = data.path().join("forge.token");
        std::fs::write(&token, "forge-secret-123\n").unwrap();
        let setup = Setup {
            standin,
            server,
            api,
            repo,
            token,
            _runner: runner,
            _dirs: (data, runner_dir),
        };
        for kind in kinds {
            let url = setup.standin.api_url(*kind);
            setup.add(
                &slug(*kind),
                &["--forge", kind.as_str(), "--forge-api", &url],
            );
        }
        setup
    }

    /// `circa project edit` with `args`.
    fn edit(&self, slug: &str, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_circa"))
            .args(["project", "edit", slug])
            .args(args)
            .env("CIRCA_URL", &self.server.url)
            .env("CIRCA_TOKEN", &self.server.token)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    }

    /// `circa project add` with forge options, the token from a file.
    fn add(&self, slug: &str, forge: &[&str]) {
        let out = Command::new(env!("CARGO_BIN_EXE_circa"))
            .args(["project", "add", slug, "--repo"])
            .arg(self.repo.path())
            .args(forge)
            .arg("--forge-token-file")
            .arg(&self.token)
            .env("CIRCA_URL", &self.server.url)
            .env("CIRCA_TOKEN", &self.server.token)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "project add {slug}: {out:?}");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(!said.contains("forge-secret"), "the token is never printed");
    }
}

/// The slug of the project reporting to `kind`.
fn slug(kind: ForgeKind) -> String {
    format!("gh/acme/{}", kind.as_str())
}

/// The statuses per context, in arrival order.
fn by_context(statuses: Vec<Status>) -> BTreeMap<String, Vec<Status>> {
    let mut map: BTreeMap<String, Vec<Status>> = BTreeMap::new();
    for s in statuses {
        map.entry(s.context.clone()).or_default().push(s);
    }
    map
}

/// Panics if a context got a state after its final one, or a pending after a running.
fn assert_in_order(kind: ForgeKind, contexts: &BTreeMap<String, Vec<Status>>) {
    for (context, seen) in contexts {
        let states: Vec<&str> = seen.iter().map(|s| s.state.as_str()).collect();
        if let Some(first_final) = states.iter().position(|s| is_final(s)) {
            assert_eq!(
                first_final,
                states.len() - 1,
                "{kind:?} {context}: a state after the final one: {states:?}"
            );
        }
        let running = |s: &Status| s.state == "running" || s.description.starts_with("Running");
        if let Some(r) = seen.iter().position(running) {
            assert!(
                seen[r..].iter().all(|s| s.state != "pending" || running(s)),
                "{kind:?} {context}: pending after running: {states:?}"
            );
        }
    }
}

/// Waits until `check` holds for what `kind` received.
async fn until_received(
    api: &Api,
    standin: &StandIn,
    kind: ForgeKind,
    what: &str,
    check: impl Fn(&BTreeMap<String, Vec<Status>>) -> bool,
) {
    api.until(LONG, &format!("{kind:?}: {what}"), || async {
        check(&by_context(standin.statuses(kind))).then_some(())
    })
    .await;
}

/// The last state of `context`, if any.
fn last<'a>(contexts: &'a BTreeMap<String, Vec<Status>>, context: &str) -> Option<&'a str> {
    contexts
        .get(context)
        .and_then(|s| s.last())
        .map(|s| s.state.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_forge_gets_every_jobs_state_under_circleci_context_names() {
    let setup = Setup::start(CONFIG, &ForgeKind::ALL).await;
    let Setup {
        standin,
        server,
        api,
        repo,
        ..
    } = &setup;
    let sha = repo.git(&["rev-parse", "HEAD"]);
    // A project with statuses off: nothing reaches its forge.
    let quiet_api = standin.api_url(ForgeKind::Gitea);
    setup.add(
        "gh/quiet/app",
        &[
            "--forge",
            "gitea",
            "--forge-api",
            &quiet_api,
            "--no-statuses",
        ],
    );
    let mut pipelines = Vec::new();
    for kind in ForgeKind::ALL {
        pipelines.push((
            kind,
            api.trigger(&slug(kind), json!({ "branch": "main" })).await,
        ));
    }
    let quiet = api
        .trigger("gh/quiet/app", json!({ "branch": "main" }))
        .await;

    // Each forge sees the approval waiting as pending, build passed and lint failed.
    for (kind, _) in &pipelines {
        let (ok, failed) = words(*kind);
        until_received(api, standin, *kind, "build, lint and the hold", |c| {
            last(c, "ci/circleci: build") == Some(ok)
                && last(c, "ci/circleci: lint") == Some(failed)
                && c.contains_key("ci/circleci: main/hold")
        })
        .await;
    }
    // Approving runs deploy: the hold succeeds, deploy passes.
    for (kind, pipeline) in &pipelines {
        let wf = api.workflows(pipeline).await[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let hold = api.job(&wf, "hold").await;
        let request = hold["approval_request_id"].as_str().unwrap();
        let (status, body) = api
            .post(
                &format!("/api/v2/workflow/{wf}/approve/{request}"),
                json!({}),
            )
            .await;
        assert_eq!(status, 202, "{kind:?}: {body}");
    }
    for (kind, pipeline) in &pipelines {
        let (ok, failed) = words(*kind);
        until_received(api, standin, *kind, "every final state", |c| {
            last(c, "ci/circleci: deploy") == Some(ok)
                && last(c, "ci/circleci: main/hold") == Some(ok)
        })
        .await;
        let contexts = by_context(standin.statuses(*kind));
        assert_in_order(*kind, &contexts);
        assert_eq!(
            contexts.keys().collect::<Vec<_>>(),
            [
                "ci/circleci: build",
                "ci/circleci: deploy",
                "ci/circleci: lint",
                "ci/circleci: main/hold"
            ],
            "{kind:?}"
        );
        assert_eq!(last(&contexts, "ci/circleci: lint"), Some(failed));
        let holds = &contexts["ci/circleci: main/hold"];
        assert!(
            !is_final(&holds[0].state),
            "{kind:?}: the hold was pending first: {holds:?}"
        );
        // Every status is on the commit built and links to the job's page.
        let wf = api.workflows(pipeline).await[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        for name in ["build", "lint", "deploy"] {
            let number = api.job(&wf, name).await["job_number"].as_i64().unwrap();
            let want = format!("{}/projects/{}/jobs/{number}", server.url, slug(*kind));
            for s in &contexts[&format!("ci/circleci: {name}")] {
                assert_eq!(s.target_url, want, "{kind:?} {name}");
                assert!(
                    s.path.contains(&sha),
                    "{kind:?}: {} is not on {sha}",
                    s.path
                );
            }
        }
        // Setting the forge with a token added the checkout key as a read-only deploy key.
        let (_, keys) = api
            .get(&format!("/api/v2/project/{}/checkout-key", slug(*kind)))
            .await;
        let public = keys["items"][0]["public-key"].as_str().unwrap();
        let added: Vec<Value> = standin
            .hits()
            .into_iter()
            .filter(|h| h.kind == *kind && h.request.path.contains("acme"))
            .filter(|h| h.checked.as_ref().is_ok_and(|t| t.contains("keys")))
            .map(|h| h.request.body)
            .collect();
        assert_eq!(added.len(), 1, "{kind:?}: {added:?}");
        assert_eq!(added[0]["key"], public, "{kind:?}");
        let read_only = match kind {
            ForgeKind::GitLab => added[0]["can_push"] == false,
            ForgeKind::Bitbucket => added[0]["label"].is_string(),
            _ => added[0]["read_only"] == true,
        };
        assert!(read_only, "{kind:?}: {}", added[0]);
        let (status, forge) = api
            .get(&format!("/api/circa/projects/{}/forge", slug(*kind)))
            .await;
        assert_eq!(status, 200, "{forge}");
        assert_eq!(forge["token_set"], true);
        assert_eq!(forge["last_error"], Value::Null, "{forge}");
        assert!(!forge.to_string().contains("forge-secret"));
    }
    let quiet_wf = api.workflows(&quiet).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    api.until(LONG, "the quiet project's jobs to finish", || async {
        let jobs = api.jobs(&quiet_wf).await;
        let done = |name: &str| {
            jobs.iter()
                .any(|j| j["name"] == name && (j["status"] == "success" || j["status"] == "failed"))
        };
        (done("build") && done("lint")).then_some(())
    })
    .await;
    // `circa project edit` turns statuses off, and refuses a wrong API root naming the field.
    assert!(
        setup
            .edit("gh/acme/github", &["--statuses", "off"])
            .status
            .success()
    );
    let (_, edited) = api.get("/api/circa/projects/gh/acme/github/forge").await;
    assert_eq!(edited["statuses"], false, "{edited}");
    assert_eq!(edited["kind"], "github", "the rest is kept: {edited}");
    let refused = setup.edit("gh/acme/github", &["--forge-api", "ftp://forge.example"]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("api_url"), "{said}");
    let (_, quiet_forge) = api.get("/api/circa/projects/gh/quiet/app/forge").await;
    assert_eq!(quiet_forge["statuses"], false, "{quiet_forge}");
    assert_eq!(quiet_forge["backlog"], 0, "statuses off: no row is written");
    standin.assert_all_fit();
    let quiet_hits = standin
        .hits()
        .into_iter()
        .filter(|h| h.request.path.contains("/quiet/") && h.request.path.contains("/statuses/"))
        .count();
    assert_eq!(quiet_hits, 0, "statuses off: nothing is sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_with_a_restart_in_it_loses_no_final_state() {
    let kinds = [ForgeKind::GitLab, ForgeKind::GitHub];
    let mut setup = Setup::start(UNATTENDED, &kinds).await;
    let standin = setup.standin.clone();
    let api = setup.api.clone();
    standin.set_mode(Mode::Down);
    let down_at = Instant::now();
    let mut pipelines = Vec::new();
    for kind in kinds {
        pipelines.push(api.trigger(&slug(kind), json!({ "branch": "main" })).await);
    }
    for pipeline in &pipelines {
        api.finished(pipeline, LONG).await;
    }
    // The forge's error is recorded while statuses wait.
    let forge_path = format!("/api/circa/projects/{}/forge", slug(ForgeKind::GitLab));
    let forge = api
        .until(LONG, "the outage to be recorded", || async {
            let (_, forge) = api.get(&forge_path).await;
            forge["last_error"].is_string().then_some(forge)
        })
        .await;
    assert!(
        forge["last_error"].as_str().unwrap().contains("503"),
        "{forge}"
    );
    assert!(forge["backlog"].as_u64().unwrap() > 0, "{forge}");
    setup.server.restart();
    let api = setup.server.client();
    let outage = Duration::from_secs(30);
    if let Some(rest) = outage.checked_sub(down_at.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    standin.set_mode(Mode::Up);
    for kind in kinds {
        let (ok, failed) = words(kind);
        until_received(
            &api,
            &standin,
            kind,
            "every final state after the outage",
            |c| {
                last(c, "ci/circleci: build") == Some(ok)
                    && last(c, "ci/circleci: test") == Some(ok)
                    && last(c, "ci/circleci: lint") == Some(failed)
            },
        )
        .await;
        let contexts = by_context(standin.statuses(kind));
        assert_in_order(kind, &contexts);
        // Delivered after the outage: only the newest state of each context was sent.
        for (context, seen) in &contexts {
            assert_eq!(seen.len(), 1, "{kind:?} {context}: {seen:?}");
        }
    }
    let forge = api
        .until(
            LONG,
            "the backlog to drain and the error to clear",
            || async {
                let (_, forge) = api.get(&forge_path).await;
                (forge["backlog"] == 0 && forge["last_error"].is_null()).then_some(forge)
            },
        )
        .await;
    assert_eq!(forge["statuses"], true);
    standin.assert_all_fit();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_is_waited_out() {
    let setup = Setup::start(UNATTENDED, &ForgeKind::ALL).await;
    let Setup { standin, api, .. } = &setup;
    for kind in ForgeKind::ALL {
        standin.limit_once(kind);
    }
    for kind in ForgeKind::ALL {
        api.trigger(&slug(kind), json!({ "branch": "main" })).await;
    }
    for kind in ForgeKind::ALL {
        let (ok, failed) = words(kind);
        until_received(
            api,
            standin,
            kind,
            "every final state after the limit",
            |c| {
                last(c, "ci/circleci: build") == Some(ok)
                    && last(c, "ci/circleci: test") == Some(ok)
                    && last(c, "ci/circleci: lint") == Some(failed)
            },
        )
        .await;
        assert_in_order(kind, &by_context(standin.statuses(kind)));
        // The limited context was sent again only after the reset (a second at least).
        let hits: Vec<_> = standin
            .hits()
            .into_iter()
            .filter(|h| h.kind == kind && h.request.path.contains("/statuses/"))
            .collect();
        let limited = hits
            .iter()
            .position(|h| h.answered == 403 || h.answered == 429)
            .unwrap();
        let context = Status::read(kind, &hits[limited].request).context;
        let again = hits[limited + 1..]
            .iter()
            .find(|h| Status::read(kind, &h.request).context == context)
            .expect("the limited context is sent again");
        let waited = again.at.duration_since(hits[limited].at);
        assert!(
            waited >= Duration::from_millis(900),
            "{kind:?} retried after {waited:?}"
        );
    }
    standin.assert_all_fit();
}
