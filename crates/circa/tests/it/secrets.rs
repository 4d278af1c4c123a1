//! Secrets end to end, on a real `circa server` and `circa runner`: project and context
//! variables reach the job (checked inside the job against a digest), are masked in every log
//! (plainly, base64-encoded and split across writes), and appear nowhere at rest — not in the
//! database, not in any file under the data folder, not in any API answer. Context
//! restrictions make jobs `unauthorized`; forked pull requests get no secrets; a key rotation
//! keeps every value readable.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use circa_store::prelude::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::server_harness::{Api, Repo, RunnerProc, ServerProc, github_pull_request};

/// A server and a runner with two slots, each in a folder of its own.
pub(crate) struct Setup {
    pub(crate) server: ServerProc,
    pub(crate) api: Api,
    _runner: RunnerProc,
    runner_dir: tempfile::TempDir,
    _data: tempfile::TempDir,
}

/// Starts a [`Setup`].
pub(crate) async fn setup() -> Setup {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), 30);
    let api = server.client();
    let runner_dir = tempfile::tempdir().unwrap();
    let token = api.runner_token("default").await;
    let runner = RunnerProc::start(&server.url, &token, runner_dir.path(), 2);
    Setup {
        server,
        api,
        _runner: runner,
        runner_dir,
        _data: data,
    }
}

/// A fresh value no test output could contain by chance.
fn fresh(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The forms of a secret that must appear nowhere: itself and its base64 encodings.
fn forms(secret: &str) -> Vec<String> {
    let e = base64::engine::general_purpose::STANDARD;
    vec![
        secret.to_string(),
        e.encode(secret),
        e.encode(format!("{secret}\n")),
    ]
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

fn assert_absent(haystack: &[u8], secrets: &[String], what: &str) {
    // The forms are ASCII, which a lossy conversion keeps byte for byte.
    let text = String::from_utf8_lossy(haystack);
    for secret in secrets {
        for form in forms(secret) {
            assert!(!text.contains(&form), "a secret ({form}) appears in {what}");
        }
    }
}

async fn status_of(api: &Api, pipeline: &str, job: &str) -> (String, Value) {
    let wfs = api.finished(pipeline, Duration::from_secs(60)).await;
    let wf = wfs[0]["id"].as_str().unwrap().to_string();
    let job = api.job(&wf, job).await;
    (job["status"].as_str().unwrap().to_string(), job)
}

const PRINTS: &str = r#"
version: 2.1
jobs:
  show:
    machine: true
    steps:
      - run:
          name: print the secrets every way
          command: |
            echo "plain: $PROJECT_SECRET and $CONTEXT_SECRET"
            printf '%s' "$PROJECT_SECRET" | base64
            printf '%s\n' "$CONTEXT_SECRET" | base64
            printf 'split: %s' "${PROJECT_SECRET:0:9}"; sleep 0.3; printf '%s\n' "${PROJECT_SECRET:9}"
            printf 'split: %s' "${CONTEXT_SECRET:0:5}"; sleep 0.3; printf '%s\n' "${CONTEXT_SECRET:5}"
      - run:
          name: check the values
          command: |
            p=$(printf '%s' "$PROJECT_SECRET" | sha256sum | cut -c1-64)
            c=$(printf '%s' "$CONTEXT_SECRET" | sha256sum | cut -c1-64)
            echo "digests ${p:0:12} ${c:0:12}"
            [ "$p" = "$EXPECT_PROJECT" ] && [ "$C_OVERRIDE" = "from-context" ] && [ "$c" = "$EXPECT_CONTEXT" ]
    environment:
      EXPECT_PROJECT: "<< pipeline.parameters.project >>"
      EXPECT_CONTEXT: "<< pipeline.parameters.context >>"
parameters:
  project: { type: string, default: "" }
  context: { type: string, default: "" }
workflows:
  main:
    jobs:
      - show: { context: [deploy] }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_reach_the_job_masked_and_appear_nowhere_at_rest() {
    let s = setup().await;
    let repo = Repo::new(PRINTS);
    s.api
        .add_project("gh/acme/vault", repo.path(), json!({}))
        .await;
    let project_secret = fresh("prj-");
    let context_secret = fresh("ctx-");
    let secrets = vec![project_secret.clone(), context_secret.clone()];

    let (status, var) = s
        .api
        .post(
            "/api/v2/project/gh/acme/vault/envvar",
            json!({ "name": "PROJECT_SECRET", "value": project_secret }),
        )
        .await;
    assert_eq!(status, 201, "{var}");
    let tail = &project_secret[project_secret.len() - 4..];
    assert_eq!(var["value"], format!("xxxx{tail}"));
    assert_eq!(var["name"], "PROJECT_SECRET");
    // A project variable below a context variable of the same name.
    s.api
        .post(
            "/api/v2/project/gh/acme/vault/envvar",
            json!({ "name": "C_OVERRIDE", "value": "from-project" }),
        )
        .await;
    let (status, context) = s
        .api
        .post(
            "/api/v2/context",
            json!({ "name": "deploy", "owner": { "slug": "gh/acme", "type": "organization" } }),
        )
        .await;
    assert_eq!(status, 200, "{context}");
    let context_id = context["id"].as_str().unwrap().to_string();
    for (name, value) in [
        ("CONTEXT_SECRET", context_secret.as_str()),
        ("C_OVERRIDE", "from-context"),
    ] {
        let r = s
            .api
            .http_put(
                &format!("/api/v2/context/{context_id}/environment-variable/{name}"),
                json!({ "value": value }),
            )
            .await;
        assert_eq!(r.0, 200, "{}", r.1);
        assert_eq!(r.1["variable"], name);
    }

    // The project's other secrets: an HTTPS token, a forge token (the forge is out of reach, so
    // adding the deploy key and sending statuses fail and record an error), an additional SSH
    // key; and the checkout key made with the project, whose private half is known only sealed.
    let repo_token = fresh("repo-");
    let forge_token = fresh("forge-");
    let ssh_private = crate::auth_matrix::MATRIX_SSH_KEY
        .lines()
        .nth(4)
        .unwrap()
        .to_string();
    let secrets = [
        secrets,
        vec![
            repo_token.clone(),
            forge_token.clone(),
            ssh_private,
            "OPENSSH PRIVATE KEY".to_string(),
        ],
    ]
    .concat();
    let (status, body) = s
        .api
        .http_put(
            "/api/circa/projects/gh/acme/vault/repo-token",
            json!({ "token": repo_token }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = s
        .api
        .http_put(
            "/api/circa/projects/gh/acme/vault/forge",
            json!({ "kind": "github", "api_url": "http://127.0.0.1:9", "token": forge_token }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = s
        .api
        .post(
            "/api/v1.1/project/gh/acme/vault/ssh-key",
            json!({ "hostname": "git.example.com", "private_key": crate::auth_matrix::MATRIX_SSH_KEY }),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    let pipeline = s
        .api
        .trigger(
            "gh/acme/vault",
            json!({ "branch": "main", "parameters": {
                "project": sha256(&project_secret), "context": sha256(&context_secret) } }),
        )
        .await;
    let (status, job) = status_of(&s.api, &pipeline, "show").await;
    let job_id = job["id"].as_str().unwrap();
    let log = s.api.job_log(job_id).await;
    assert_eq!(status, "success", "the job saw the right values: {log}");
    // The derived output shows the job had the values; the log has them masked.
    assert!(
        log.contains(&format!("digests {}", &sha256(&project_secret)[..12])),
        "{log}"
    );
    assert!(log.contains("plain: ******** and ********"), "{log}");
    assert!(log.contains("split: ********"), "{log}");
    assert_eq!(log.matches("********").count(), 6, "{log}");
    assert_absent(log.as_bytes(), &secrets, "the stored log");

    // Every API answer about it.
    let mut answers = Vec::new();
    for path in [
        "/api/v2/project/gh/acme/vault/envvar".to_string(),
        "/api/v2/project/gh/acme/vault/envvar/PROJECT_SECRET".to_string(),
        "/api/v2/context?owner-slug=gh/acme".to_string(),
        format!("/api/v2/context/{context_id}"),
        format!("/api/v2/context/{context_id}/environment-variable"),
        format!("/api/v2/pipeline/{pipeline}"),
        format!("/api/v2/pipeline/{pipeline}/config"),
        format!("/api/v2/pipeline/{pipeline}/workflow"),
        format!("/api/circa/jobs/{job_id}"),
        "/api/v2/project/gh/acme/vault/pipeline".to_string(),
        "/api/v2/project/gh/acme/vault/checkout-key".to_string(),
        "/api/v1.1/project/gh/acme/vault/ssh-key".to_string(),
        "/api/circa/projects/gh/acme/vault/repo-token".to_string(),
        "/api/circa/projects/gh/acme/vault/known-hosts".to_string(),
        "/api/circa/projects/gh/acme/vault/forge".to_string(),
    ] {
        let (code, body) = s.api.get(&path).await;
        assert_eq!(code, 200, "{path}: {body}");
        answers.push(body.to_string());
    }
    assert_absent(answers.join("\n").as_bytes(), &secrets, "API answers");
    let (_, forge) = s.api.get("/api/circa/projects/gh/acme/vault/forge").await;
    assert!(
        forge["last_error"].is_string(),
        "the unreachable forge's error is kept (without the token): {forge}"
    );

    // At rest: the database (with its WAL), blobs, mirrors — every file of the server — and
    // every file the runner kept.
    let mut checked = 0;
    for file in files(&s.server.data)
        .into_iter()
        .chain(files(s.runner_dir.path()))
    {
        if let Ok(bytes) = std::fs::read(&file) {
            assert_absent(&bytes, &secrets, &file.display().to_string());
            checked += 1;
        }
    }
    assert!(checked > 3, "the data folder holds the database and blobs");
    assert!(s.server.data.join("circa.db").is_file());

    // Values are never shown back; names are validated.
    let (code, body) = s
        .api
        .post(
            "/api/v2/project/gh/acme/vault/envvar",
            json!({ "name": "1BAD-NAME", "value": "x" }),
        )
        .await;
    assert_eq!(code, 400);
    assert!(body["message"].as_str().unwrap().contains("name"), "{body}");
    let (code, body) = s
        .api
        .post(
            "/api/v2/project/gh/acme/vault/envvar",
            json!({ "name": "A" }),
        )
        .await;
    assert!((400..500).contains(&code), "{body}");
    assert!(body["message"].is_string());
    let (code, _) = s.api.get("/api/v2/project/gh/acme/vault/envvar/NOPE").await;
    assert_eq!(code, 404);
}

const USES: &str = r#"
version: 2.1
jobs:
  use:
    machine: true
    steps:
      - run: '[ -n "$GUARDED" ] && echo "got a value of ${#GUARDED} characters"'
workflows:
  main:
    jobs:
      - use: { context: [guarded] }
"#;

/// Creates the context `guarded` with one variable; its id.
async fn guarded(api: &Api) -> String {
    let (_, context) = api
        .post("/api/v2/context", json!({ "name": "guarded" }))
        .await;
    let id = context["id"].as_str().unwrap().to_string();
    let (code, _) = api
        .http_put(
            &format!("/api/v2/context/{id}/environment-variable/GUARDED"),
            json!({ "value": fresh("g-") }),
        )
        .await;
    assert_eq!(code, 200);
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_restriction_makes_jobs_of_outsiders_unauthorized() {
    let s = setup().await;
    let repo = Repo::new(USES);
    s.api
        .add_project("gh/acme/guard", repo.path(), json!({}))
        .await;
    let id = guarded(&s.api).await;
    // bob may see the project but is not a deployer.
    let (code, _) = s
        .api
        .post("/api/circa/users", json!({ "login": "bob" }))
        .await;
    assert_eq!(code, 201);
    s.api
        .post(
            "/api/circa/projects/gh/acme/guard/members",
            json!({ "login": "bob" }),
        )
        .await;
    let (code, _) = s
        .api
        .post("/api/circa/groups", json!({ "name": "deployers" }))
        .await;
    assert_eq!(code, 201);
    let (code, r) = s
        .api
        .post(
            &format!("/api/v2/context/{id}/restrictions"),
            json!({ "restriction_type": "group", "restriction_value": "deployers" }),
        )
        .await;
    assert_eq!(code, 201, "{r}");
    assert_eq!(r["restriction_type"], "group");
    let (_, token) = s
        .api
        .post(
            "/api/circa/tokens",
            json!({ "kind": "user", "name": "bob", "user": "bob" }),
        )
        .await;
    let bob = s.api.with_token(token["token"].as_str().unwrap());
    // bob may not manage contexts.
    let (code, _) = bob.post("/api/v2/context", json!({ "name": "mine" })).await;
    assert_eq!(code, 403);

    let pipeline = bob
        .trigger("gh/acme/guard", json!({ "branch": "main" }))
        .await;
    let (status, job) = status_of(&s.api, &pipeline, "use").await;
    assert_eq!(status, "unauthorized", "{job}");
    let wfs = s.api.workflows(&pipeline).await;
    assert_eq!(wfs[0]["status"], "unauthorized");

    // In the group, bob's job runs.
    let (code, _) = s
        .api
        .post(
            "/api/circa/groups/deployers/members",
            json!({ "login": "bob" }),
        )
        .await;
    assert!((200..300).contains(&code));
    let pipeline = bob
        .trigger("gh/acme/guard", json!({ "branch": "main" }))
        .await;
    let (status, job) = status_of(&s.api, &pipeline, "use").await;
    assert_eq!(status, "success", "{job}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expression_restriction_allows_only_matching_pipelines() {
    let s = setup().await;
    let repo = Repo::new(USES);
    repo.git(&["branch", "dev"]);
    s.api
        .add_project("gh/acme/expr", repo.path(), json!({}))
        .await;
    let id = guarded(&s.api).await;
    let (code, body) = s
        .api
        .post(
            &format!("/api/v2/context/{id}/restrictions"),
            json!({ "restriction_type": "expression", "restriction_value": "pipeline.git.branch ==" }),
        )
        .await;
    assert_eq!(code, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("restriction_value")
    );
    let (code, _) = s
        .api
        .post(
            &format!("/api/v2/context/{id}/restrictions"),
            json!({ "restriction_type": "expression",
                    "restriction_value": "pipeline.git.branch == \"main\"" }),
        )
        .await;
    assert_eq!(code, 201);
    let (_, list) = s
        .api
        .get(&format!("/api/v2/context/{id}/restrictions"))
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    let on_dev = s
        .api
        .trigger("gh/acme/expr", json!({ "branch": "dev" }))
        .await;
    let (status, job) = status_of(&s.api, &on_dev, "use").await;
    assert_eq!(status, "unauthorized", "{job}");
    let on_main = s
        .api
        .trigger("gh/acme/expr", json!({ "branch": "main" }))
        .await;
    let (status, job) = status_of(&s.api, &on_main, "use").await;
    assert_eq!(status, "success", "{job}");

    // A job naming a context that does not exist is unauthorized too.
    repo.commit(&USES.replace("[guarded]", "[missing]"), "missing context");
    let missing = s
        .api
        .trigger("gh/acme/expr", json!({ "branch": "main" }))
        .await;
    let (status, _) = status_of(&s.api, &missing, "use").await;
    assert_eq!(status, "unauthorized");
}

const FORKED: &str = r#"
version: 2.1
jobs:
  build:
    machine: true
    steps:
      - run: '[ -z "${PROJECT_SECRET:-}" ] && echo "no secrets here"'
workflows:
  main:
    jobs:
      - build
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_request_from_a_fork_gets_no_secrets() {
    let s = setup().await;
    let repo = Repo::new(FORKED);
    repo.git(&["checkout", "-q", "-b", "feature"]);
    let sha = repo.commit(&format!("{FORKED}\n# change\n"), "a change from a fork");
    let project = s
        .api
        .add_project("gh/acme/forks", repo.path(), json!({}))
        .await;
    s.api
        .post(
            "/api/v2/project/gh/acme/forks/envvar",
            json!({ "name": "PROJECT_SECRET", "value": fresh("prj-") }),
        )
        .await;
    github_pull_request(&s.api, &project, repo.path(), &sha, |_| {}).await;
    let (_, list) = s.api.get("/api/v2/project/gh/acme/forks/pipeline").await;
    let pipeline = list["items"][0]["id"].as_str().unwrap().to_string();
    let (status, job) = status_of(&s.api, &pipeline, "build").await;
    let log = s.api.job_log(job["id"].as_str().unwrap()).await;
    assert_eq!(status, "success", "{log}");
    assert!(log.contains("no secrets here"), "{log}");
}

const CHECKS: &str = r#"
version: 2.1
parameters:
  want: { type: string, default: "" }
jobs:
  check:
    machine: true
    environment:
      WANT: "<< pipeline.parameters.want >>"
    steps:
      - add_ssh_keys
      - run: '[ "$(printf %s "$KEPT" | sha256sum | cut -c1-64)" = "$WANT" ]'
workflows:
  main:
    jobs:
      - check
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_key_keeps_every_value_readable() {
    let s = setup().await;
    let repo = Repo::new(CHECKS);
    s.api
        .add_project("gh/acme/keys", repo.path(), json!({}))
        .await;
    let kept = fresh("kept-");
    s.api
        .post(
            "/api/v2/project/gh/acme/keys/envvar",
            json!({ "name": "KEPT", "value": kept }),
        )
        .await;
    let (status, _) = s
        .api
        .http_put(
            "/api/circa/projects/gh/acme/keys/repo-token",
            json!({ "token": "kept-repo-token" }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, ssh_key) = s
        .api
        .post(
            "/api/v1.1/project/gh/acme/keys/ssh-key",
            json!({ "hostname": "", "private_key": crate::auth_matrix::MATRIX_SSH_KEY }),
        )
        .await;
    assert_eq!(status, 201, "{ssh_key}");
    let key_file = s.server.data.join("secret.keys");
    let before = std::fs::read_to_string(&key_file).unwrap();

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_circa"))
        .args([
            "admin",
            "rotate-key",
            "--url",
            &s.server.url,
            "--token",
            &s.api.token,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key_id = stdout
        .split_whitespace()
        .nth(2)
        .expect("the new key's id")
        .to_string();
    assert!(stdout.contains("1 value(s) sealed again"), "{stdout}");
    assert!(stdout.contains("retired key(s)"), "{stdout}");
    let after = std::fs::read_to_string(&key_file).unwrap();
    assert_ne!(before, after);
    assert_eq!(after.lines().filter(|l| !l.starts_with('#')).count(), 1);

    // The database holds only the new key's id.
    let store = circa_store::SqliteStore::open(&s.server.data.join("circa.db"))
        .await
        .unwrap();
    assert_eq!(store.env_var_key_ids().await.unwrap(), vec![key_id.clone()]);
    // The project's checkout key was sealed again too.
    let checkout_keys = store.all_checkout_keys().await.unwrap();
    assert_eq!(checkout_keys.len(), 1);
    assert_eq!(checkout_keys[0].private_key.key_id, key_id);
    // And the repository token.
    let tokens = store.all_repo_tokens().await.unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].1.token.key_id, key_id);
    // And the additional SSH key, which the job below still receives and installs.
    let ssh_keys = store.all_ssh_keys().await.unwrap();
    assert_eq!(ssh_keys.len(), 1);
    assert_eq!(ssh_keys[0].private_key.key_id, key_id);

    // The value still opens: masked in the API, right in the job.
    let (_, var) = s.api.get("/api/v2/project/gh/acme/keys/envvar/KEPT").await;
    assert_eq!(var["value"], format!("xxxx{}", &kept[kept.len() - 4..]));
    let pipeline = s
        .api
        .trigger(
            "gh/acme/keys",
            json!({ "branch": "main", "parameters": { "want": sha256(&kept) } }),
        )
        .await;
    // Its claim opened the SSH key too (the job runs `add_ssh_keys`): a key that no longer
    // opened would fail the claim.
    let (status, job) = status_of(&s.api, &pipeline, "check").await;
    assert_eq!(status, "success", "{job}");
}
