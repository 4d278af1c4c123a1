//! Private repositories over SSH, end to end: a real `sshd` serving a bare repository to the
//! keys in its `authorized_keys`, a real server and runner. The project's checkout key (read
//! from the API, as an admin adds it on the forge) fetches the server's mirror and the job's
//! `checkout`; the first fetch records the host key, a changed host key is refused until an
//! admin gives the new one, and a refused key is named in the pipeline's error.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::server_harness::{Api, Repo, RunnerProc, ServerProc, github_push, sign};
use crate::sshd::Sshd;

const SLUG: &str = "gh/acme/private";
const LONG: Duration = Duration::from_secs(120);

/// A job that checks out and shows what it checked out.
pub const CONFIG: &str = r#"
version: 2.1
jobs:
  build:
    machine: true
    steps:
      - checkout
      - run: test -f .circleci/config.yml && echo "checked-out-subject=$(git log -1 --format=%s)"
workflows:
  main:
    jobs: [build]
"#;

/// Adds a project whose repository is `url`; its JSON.
pub async fn add_remote_project(api: &Api, slug: &str, url: &str) -> Value {
    let (status, body) = api
        .post(
            "/api/circa/projects",
            json!({ "slug": slug, "repo": url, "default_branch": "main" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body
}

/// Delivers a signed GitHub push of `sha` on main (delivery id `delivery`); the pipeline's id.
pub async fn push(project: &Value, repo: &Path, sha: &str, delivery: &str) -> String {
    let body = github_push(repo, "refs/heads/main", sha, "push");
    let secret = project["webhook"]["secret"].as_str().unwrap();
    let answer = reqwest::Client::new()
        .post(project["webhook"]["url"].as_str().unwrap())
        .header("content-type", "application/json")
        .header("x-github-event", "push")
        .header("x-github-delivery", delivery)
        .header(
            "x-hub-signature-256",
            format!("sha256={}", sign(secret, &body)),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let answer: Value = answer.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 201, "{answer}");
    answer["pipeline"]["id"].as_str().unwrap().to_string()
}

/// The log of the pipeline's one job, which must have succeeded.
pub async fn green(api: &Api, pipeline: &str) -> String {
    let workflows = api.finished(pipeline, LONG).await;
    let workflow = workflows[0]["id"].as_str().unwrap();
    let job = api.job(workflow, "build").await;
    let log = api.job_log(job["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "success", "{job}\n{log}");
    assert!(log.contains("checked-out-subject="), "{log}");
    log
}

/// What the pipeline's one job, which must have failed, says: its details (with the failed
/// step's message) and its log.
pub async fn job_failed(api: &Api, pipeline: &str) -> String {
    let workflows = api.finished(pipeline, LONG).await;
    let workflow = workflows[0]["id"].as_str().unwrap();
    let job = api.job(workflow, "build").await;
    let id = job["id"].as_str().unwrap();
    let log = api.job_log(id).await;
    assert_eq!(job["status"], "failed", "{job}\n{log}");
    let (_, details) = api.get(&format!("/api/circa/jobs/{id}")).await;
    format!("{details}\n{log}")
}

/// The error of a pipeline that could not start.
pub async fn errored(api: &Api, pipeline: &str) -> String {
    let (status, body) = api.get(&format!("/api/v2/pipeline/{pipeline}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "errored", "{body}");
    assert!(api.workflows(pipeline).await.is_empty());
    body["errors"][0]["message"].as_str().unwrap().to_string()
}

/// The project's preferred checkout key: (public key line, SHA256 fingerprint).
async fn checkout_key(api: &Api) -> (String, String) {
    let (status, keys) = api
        .get(&format!("/api/v2/project/{SLUG}/checkout-key"))
        .await;
    assert_eq!(status, 200, "{keys}");
    let key = keys["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["preferred"] == true)
        .expect("a preferred key");
    let public = key["public-key"].as_str().unwrap().to_string();
    (public.clone(), sha256_fingerprint(&public))
}

/// A public key's SHA256 fingerprint as `ssh-keygen -l` prints it.
fn sha256_fingerprint(public: &str) -> String {
    let mut child = Command::new("ssh-keygen")
        .args(["-l", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(public.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.split_whitespace().nth(1).unwrap().to_string()
}

/// Commits to the working repository and pushes to the served bare one; the new sha.
fn commit_and_publish(repo: &Repo, bare: &Path, message: &str) -> String {
    let sha = repo.commit(&format!("{CONFIG}# {message}\n"), message);
    repo.git(&["push", "-q", &bare.display().to_string(), "main"]);
    sha
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_over_ssh_uses_the_checkout_key_and_checks_the_host_key() {
    if !Sshd::available() {
        return;
    }
    let repo = Repo::new(CONFIG);
    let mut sshd = Sshd::start(&[]);
    let url = sshd.serve(repo.path(), "app.git");
    let bare = sshd.repos().join("app.git");
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), 30);
    let api = server.client();
    let runner_dir = tempfile::tempdir().unwrap();
    let token = api.runner_token("default").await;
    let _runner = RunnerProc::start(&server.url, &token, runner_dir.path(), 1);
    let project = add_remote_project(&api, SLUG, &url).await;
    let hosts = format!("/api/circa/projects/{SLUG}/known-hosts");

    // The key as the API shows it, added on the "forge": the push builds, checkout included.
    let (public, fingerprint) = checkout_key(&api).await;
    sshd.set_authorized_keys(&[&public]);
    let sha = repo.git(&["rev-parse", "HEAD"]);
    let pipeline = push(&project, repo.path(), &sha, "d-1").await;
    let log = green(&api, &pipeline).await;
    assert!(log.contains("checked-out-subject=first commit"), "{log}");
    // The first fetch recorded the host's key.
    let (status, recorded) = api.get(&hosts).await;
    assert_eq!(status, 200, "{recorded}");
    assert_eq!(
        recorded["known_hosts"].as_str().unwrap().trim(),
        sshd.known_hosts_line(),
        "{recorded}"
    );

    // The key deleted: the next fetch says the project has none.
    let md5 = project["checkout_key"]["fingerprint"].as_str().unwrap();
    let deleted = api
        .delete(&format!("/api/v2/project/{SLUG}/checkout-key/{md5}"))
        .await;
    assert_eq!(deleted, 200);
    let sha = commit_and_publish(&repo, &bare, "second");
    let pipeline = push(&project, repo.path(), &sha, "d-2").await;
    let message = errored(&api, &pipeline).await;
    assert!(message.contains("has no checkout key"), "{message}");
    // A new key the forge does not know: refused, and named.
    let (status, made) = api
        .post(
            &format!("/api/v2/project/{SLUG}/checkout-key"),
            json!({ "type": "deploy-key" }),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let (public, new_fingerprint) = checkout_key(&api).await;
    assert_ne!(new_fingerprint, fingerprint);
    let pipeline = push(&project, repo.path(), &sha, "d-3").await;
    let message = errored(&api, &pipeline).await;
    assert!(
        message.contains(&format!(
            "the forge refused checkout key {new_fingerprint} — add its public key as a deploy key"
        )),
        "{message}"
    );
    sshd.set_authorized_keys(&[&public]);
    let pipeline = push(&project, repo.path(), &sha, "d-4").await;
    green(&api, &pipeline).await;

    // The host key changes. The runner's checkout of a commit the mirror already has is
    // refused, and so is the server's next fetch, each saying why.
    sshd.change_host_key();
    let pipeline = push(&project, repo.path(), &sha, "d-5").await;
    let log = job_failed(&api, &pipeline).await;
    assert!(log.contains("host key of"), "{log}");
    assert!(log.contains("changed since it was recorded"), "{log}");
    let sha = commit_and_publish(&repo, &bare, "third");
    let pipeline = push(&project, repo.path(), &sha, "d-6").await;
    let message = errored(&api, &pipeline).await;
    assert!(
        message.contains(&format!("the SSH host key of {url} changed")),
        "{message}"
    );
    assert!(message.contains(&hosts), "{message}");
    // Still the old key on record: a refused fetch records nothing.
    let (_, still) = api.get(&hosts).await;
    assert_ne!(
        still["known_hosts"].as_str().unwrap().trim(),
        sshd.known_hosts_line()
    );

    // A line that is not an entry is refused, naming it; the new key given, it works again.
    let (status, refused) = api
        .http_put(
            &hosts,
            json!({ "known_hosts": format!("{}\nnot a key line\n", sshd.known_hosts_line()) }),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .starts_with("known_hosts: line 2 "),
        "{refused}"
    );
    let (status, replaced) = api
        .http_put(
            &hosts,
            json!({ "known_hosts": format!("# the forge\n{}\n", sshd.known_hosts_line()) }),
        )
        .await;
    assert_eq!(status, 200, "{replaced}");
    let pipeline = push(&project, repo.path(), &sha, "d-7").await;
    let log = green(&api, &pipeline).await;
    assert!(log.contains("checked-out-subject=third"), "{log}");
    drop(server);
}
