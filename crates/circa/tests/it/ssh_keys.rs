//! Projects' additional SSH keys, end to end on a real `circa server` and `circa runner`:
//! CircleCI's v1.1 `ssh-key` routes add (OpenSSH and PEM keys; encrypted ones refused), list
//! and delete keys, and no answer or stored byte holds a private key in clear; a job whose
//! `add_ssh_keys` installs the key reaches a real `sshd` that accepts only that key, and the
//! same job without the step is refused. Pull-request pipelines tell their jobs what CircleCI
//! tells them (`CIRCLE_PULL_REQUEST`, and `CIRCLE_PR_*` for forks only), build the pull
//! request's head commit, and a fork's pull request gets no SSH keys.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::checkout_keys::no_private_key_stored;
use crate::secrets::setup;
use crate::server_harness::{Api, Repo, ServerProc, github_pull_request};
use crate::sshd::Sshd;

const CONFIG: &str = "version: 2.1\njobs:\n  build: {machine: true, steps: [{run: echo hi}]}\n";

/// A key pair made by `ssh-keygen` in `dir`: (private key text, public key line, MD5
/// fingerprint without its prefix, SHA256 fingerprint).
fn keygen(dir: &Path, name: &str, args: &[&str]) -> (String, String, String, String) {
    let file = dir.join(name);
    let status = Command::new("ssh-keygen")
        .args(["-q", "-C", "circa-test", "-f"])
        .arg(&file)
        .args(args)
        .status()
        .unwrap();
    assert!(status.success());
    let print = |hash: &str| -> String {
        let out = Command::new("ssh-keygen")
            .args(["-l", "-E", hash, "-f"])
            .arg(&file)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        text.split_whitespace().nth(1).unwrap().to_string()
    };
    let public = std::fs::read_to_string(file.with_extension("pub")).unwrap();
    (
        std::fs::read_to_string(&file).unwrap(),
        public.trim().to_string(),
        print("md5").trim_start_matches("MD5:").to_string(),
        print("sha256"),
    )
}

/// Asserts an answer holds no private key.
fn no_private_key(body: &Value) {
    let text = body.to_string();
    assert!(!text.contains("PRIVATE KEY"), "{text}");
}

fn route(slug: &str) -> String {
    format!("/api/v1.1/project/{slug}/ssh-key")
}

async fn listed(api: &Api, slug: &str) -> Vec<Value> {
    let (status, body) = api.get(&route(slug)).await;
    assert_eq!(status, 200, "{body}");
    no_private_key(&body);
    body.as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_keys_are_added_listed_and_deleted_as_circleci_does() {
    if !Sshd::available() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), 30);
    let api = server.client();
    let repo = Repo::new(CONFIG);
    let slug = "gh/acme/sshkeys";
    api.add_project(slug, repo.path(), json!({})).await;
    let keys = tempfile::tempdir().unwrap();
    let ed = keygen(keys.path(), "ed", &["-t", "ed25519", "-N", ""]);
    let rsa = keygen(
        keys.path(),
        "rsa",
        &["-t", "rsa", "-b", "2048", "-m", "PEM", "-N", ""],
    );
    let ecdsa = keygen(keys.path(), "ec", &["-t", "ecdsa", "-N", ""]);
    let locked = keygen(
        keys.path(),
        "locked",
        &["-t", "ed25519", "-N", "passphrase"],
    );
    assert!(rsa.0.starts_with("-----BEGIN RSA PRIVATE KEY-----"));

    // Added for a host, or for every host; the answer names the fingerprints ssh-keygen prints
    // and the public key, never the private one. CircleCI clients send a fingerprint too.
    for (hostname, key) in [
        ("git.example.com", &ed),
        ("", &rsa),
        ("deploy.example.com", &ecdsa),
    ] {
        let (status, body) = api
            .post(
                &route(slug),
                json!({ "hostname": hostname, "private_key": key.0, "fingerprint": "ignored" }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        no_private_key(&body);
        assert_eq!(body["hostname"], hostname);
        assert_eq!(body["fingerprint"], key.2);
        assert_eq!(body["sha256_fingerprint"], key.3);
        let public: Vec<&str> = key.1.split_whitespace().take(2).collect();
        assert!(
            body["public_key"]
                .as_str()
                .unwrap()
                .starts_with(&public.join(" ")),
            "{body}"
        );
    }
    // Refusals name the field.
    for (body, field) in [
        (
            json!({ "hostname": "h", "private_key": locked.0 }),
            "private_key",
        ),
        (
            json!({ "hostname": "h", "private_key": locked.1 }),
            "private_key",
        ),
        (json!({ "hostname": "h" }), "private_key"),
        (
            json!({ "hostname": "a\nHost *", "private_key": ed.0 }),
            "hostname",
        ),
    ] {
        let (status, answer) = api.post(&route(slug), body).await;
        assert_eq!(status, 400, "{answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.starts_with(field), "{message}");
        no_private_key(&answer);
    }
    let (status, body) = api
        .post(
            &route(slug),
            json!({ "hostname": "git.example.com", "private_key": ed.0 }),
        )
        .await;
    assert_eq!(status, 409, "{body}");

    let all = listed(&api, slug).await;
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(all[0]["hostname"], "git.example.com");

    // Deleted with a JSON body (as CircleCI's clients send it) or the query; SHA256 works too.
    let (status, body) = api
        .call(
            "DELETE",
            &route(slug),
            json!({ "fingerprint": ed.2, "hostname": "git.example.com" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"], "ok");
    let sha = ecdsa
        .3
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace(':', "%3A");
    let status = api
        .delete(&format!(
            "{}?fingerprint={sha}&hostname=deploy.example.com",
            route(slug)
        ))
        .await;
    assert_eq!(status, 200);
    let status = api
        .delete(&format!("{}?fingerprint={sha}", route(slug)))
        .await;
    assert_eq!(status, 404);
    let (status, body) = api.call("DELETE", &route(slug), json!({})).await;
    assert_eq!(status, 400, "{body}");
    let left = listed(&api, slug).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["fingerprint"], rsa.2);

    // The same through the command line: the key read from a file, never an argument.
    let cli = |args: &[&str]| -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_circa"))
            .args(args)
            .env("CIRCA_URL", &server.url)
            .env("CIRCA_TOKEN", &server.token)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{args:?}: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    let file = keys.path().join("ed").display().to_string();
    let added = cli(&[
        "project",
        "ssh-key",
        "add",
        slug,
        "--hostname",
        "cli.example.com",
        "--private-key-file",
        &file,
    ]);
    assert!(
        added.contains(&ed.2) && added.contains("cli.example.com"),
        "{added}"
    );
    let all = cli(&["project", "ssh-key", "list", slug]);
    assert!(
        all.contains(&format!("{}  cli.example.com  ssh-ed25519 ", ed.2)),
        "{all}"
    );
    assert!(all.contains(&format!("{}  *  ssh-rsa ", rsa.2)), "{all}");
    assert!(!all.contains("PRIVATE KEY"), "{all}");
    cli(&[
        "project",
        "ssh-key",
        "remove",
        slug,
        &ed.3,
        "--hostname",
        "cli.example.com",
    ]);
    assert_eq!(listed(&api, slug).await.len(), 1);
    no_private_key_stored(data.path());
}

/// The status of job `name` once `pipeline` finished, and its log followed by its message.
async fn job_result(api: &Api, pipeline: &str, name: &str) -> (String, String) {
    let workflows = api.finished(pipeline, Duration::from_secs(90)).await;
    let workflow = workflows[0]["id"].as_str().unwrap();
    let job = api.job(workflow, name).await;
    let id = job["id"].as_str().unwrap();
    let mut log = api.job_log(id).await;
    let (_, details) = api.get(&format!("/api/circa/jobs/{id}")).await;
    log.push_str(details["message"].as_str().unwrap_or_default());
    (job["status"].as_str().unwrap().to_string(), log)
}

/// A job reaching the sshd at `url` with git over SSH, trusting the server as a config
/// does with `ssh-keyscan`; `add` is the `add_ssh_keys` step, if any.
fn reach_job(add: &str, url: &str, known: &str) -> String {
    format!(
        r#"    machine: true
    environment:
      URL: "{url}"
      KNOWN: "{known}"
    steps:
{add}      - run: |
          mkdir -p ~/.ssh && chmod 700 ~/.ssh && touch ~/.ssh/config
          echo "$KNOWN" >> ~/.ssh/known_hosts
          export GIT_SSH_COMMAND="${{GIT_SSH_COMMAND:-ssh -F $HOME/.ssh/config -o UserKnownHostsFile=$HOME/.ssh/known_hosts}} -o BatchMode=yes"
          ls -l ~/.ssh
          git ls-remote "$URL"
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_ssh_keys_lets_a_job_reach_the_host_that_only_that_key_opens() {
    if !Sshd::available() {
        return;
    }
    let keys = tempfile::tempdir().unwrap();
    let (private, public, md5, _) = keygen(keys.path(), "deploy", &["-t", "ed25519", "-N", ""]);
    let sshd = Sshd::start(&[public.as_str()]);
    let served = Repo::new(CONFIG);
    let url = sshd.serve(served.path(), "x.git");
    let known = sshd.known_hosts_line();
    let config = format!(
        "version: 2.1\njobs:\n  with-key:\n{}  without-key:\n{}workflows:\n  main:\n    jobs: [with-key, without-key]\n",
        reach_job(
            &format!("      - add_ssh_keys:\n          fingerprints: [\"{md5}\"]\n"),
            &url,
            &known
        ),
        reach_job("", &url, &known),
    );
    let p = setup().await;
    let repo = Repo::new(&config);
    let slug = "gh/acme/reach";
    p.api.add_project(slug, repo.path(), json!({})).await;
    let (status, body) = p
        .api
        .post(
            &route(slug),
            json!({ "hostname": "127.0.0.1", "private_key": private }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let pipeline = p.api.trigger(slug, json!({ "branch": "main" })).await;

    let (status, log) = job_result(&p.api, &pipeline, "with-key").await;
    assert_eq!(status, "success", "{log}\n{}", sshd.log());
    assert!(log.contains("refs/heads/main"), "{log}");
    let file = format!("id_rsa_{}", md5.replace(':', ""));
    assert!(
        log.lines()
            .any(|l| l.contains(&file) && l.trim_start().starts_with("-rw-------")),
        "{file} is private: {log}"
    );
    assert!(!log.contains("PRIVATE KEY"), "{log}");
    let (status, log) = job_result(&p.api, &pipeline, "without-key").await;
    assert_eq!(status, "failed", "{log}");
    assert!(!log.contains("refs/heads/main"), "{log}");
    // The server was trusted; only the key was missing.
    assert!(log.contains("Permission denied (publickey)"), "{log}");
    no_private_key_stored(&p.server.data);
}

const PR_CONFIG: &str = r#"version: 2.1
jobs:
  show:
    machine: true
    steps:
      - checkout
      - run: |
          echo "PR=${CIRCLE_PULL_REQUEST-unset} PRS=${CIRCLE_PULL_REQUESTS-unset}"
          echo "N=${CIRCLE_PR_NUMBER-unset} U=${CIRCLE_PR_USERNAME-unset} R=${CIRCLE_PR_REPONAME-unset}"
          echo "SHA=$CIRCLE_SHA1 HEAD=$(git rev-parse HEAD)"
  keys:
    machine: true
    steps:
      - add_ssh_keys:
          fingerprints: ["MD5_HERE"]
      - run: echo installed
workflows:
  main:
    jobs: [show, keys]
"#;

/// Sends GitHub's `pull_request` payload for `repo`'s commit `sha` (from a fork or not) and
/// returns the pipeline it started.
async fn pull_request(api: &Api, project: &Value, repo: &Repo, sha: &str, fork: bool) -> String {
    let p = github_pull_request(api, project, repo.path(), sha, |p| {
        if fork {
            p["pull_request"]["head"]["repo"]["name"] = json!("forked-world");
            p["pull_request"]["head"]["repo"]["full_name"] = json!("someone/forked-world");
            p["pull_request"]["user"]["login"] = json!("someone");
        } else {
            let base = p["pull_request"]["base"]["repo"].clone();
            p["pull_request"]["head"]["repo"] = base;
        }
    })
    .await;
    let (_, list) = api
        .get(&format!(
            "/api/v2/project/gh/acme/prs{}/pipeline",
            if fork { "-fork" } else { "" }
        ))
        .await;
    assert_eq!(p["pull_request"]["head"]["sha"], json!(sha));
    list["items"][0]["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_request_jobs_see_circleci_variables_and_forks_get_no_ssh_keys() {
    if !Sshd::available() {
        return;
    }
    let keys = tempfile::tempdir().unwrap();
    let (private, _, md5, _) = keygen(keys.path(), "k", &["-t", "ed25519", "-N", ""]);
    let config = PR_CONFIG.replace("MD5_HERE", &md5);
    let p = setup().await;
    let pr_url = "https://github.com/Codertocat/Hello-World/pull/2";
    for fork in [true, false] {
        let repo = Repo::new(&config);
        repo.git(&["checkout", "-q", "-b", "feature"]);
        let sha = repo.commit(&format!("{config}\n# change\n"), "a change");
        let slug = if fork {
            "gh/acme/prs-fork"
        } else {
            "gh/acme/prs"
        };
        let project = p.api.add_project(slug, repo.path(), json!({})).await;
        let (status, body) = p
            .api
            .post(
                &route(slug),
                json!({ "hostname": "", "private_key": private }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let pipeline = pull_request(&p.api, &project, &repo, &sha, fork).await;

        let (status, log) = job_result(&p.api, &pipeline, "show").await;
        assert_eq!(status, "success", "{log}");
        assert!(log.contains(&format!("PR={pr_url} PRS={pr_url}")), "{log}");
        if fork {
            assert!(log.contains("N=2 U=someone R=forked-world"), "{log}");
        } else {
            assert!(log.contains("N=unset U=unset R=unset"), "{log}");
        }
        assert!(
            log.contains(&format!("SHA={sha} HEAD={sha}")),
            "the PR's head commit: {log}"
        );

        let (status, log) = job_result(&p.api, &pipeline, "keys").await;
        if fork {
            assert_eq!(status, "failed", "{log}");
            assert!(log.contains(&format!("fingerprint {md5}")), "{log}");
        } else {
            assert_eq!(status, "success", "{log}");
            assert!(log.contains("installed"), "{log}");
        }
    }
}
