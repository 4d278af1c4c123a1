//! `circa project add` checks the repository at once: a local path that is not a git
//! repository is refused and no project is made; a remote URL the server cannot fetch now is
//! added with a warning; paths are stored absolute and normalised.

use crate::server_harness::{Repo, ServerProc};
use serde_json::json;
use std::path::Path;
use std::process::{Command, Output};

const CONFIG: &str = "version: 2.1\njobs:\n  build: {machine: true, steps: [{run: echo hi}]}\n";

fn project_add(server: &ServerProc, dir: &Path, slug: &str, repo: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_circa"))
        .args(["project", "add", slug, "--repo", repo])
        .current_dir(dir)
        .env("CIRCA_URL", &server.url)
        .env("CIRCA_TOKEN", &server.token)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_add_checks_the_repository_at_once() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), 30);
    let api = server.client();
    let repo = Repo::new(CONFIG);
    let here = repo.path().canonicalize().unwrap();

    // A path that does not exist: refused, naming the absolute path; no project.
    let out = project_add(&server, &here, "gh/me/missing", "./nope");
    assert!(!out.status.success());
    let missing = format!(
        "repo: {}/nope does not exist on the server's machine",
        here.display()
    );
    assert!(stderr(&out).contains(&missing), "{}", stderr(&out));
    let (status, _) = api.get("/api/v2/project/gh/me/missing").await;
    assert_eq!(status, 404, "no project was made");

    // A folder that is not a git repository: refused with git's reason.
    let plain = tempfile::tempdir().unwrap();
    let out = project_add(&server, plain.path(), "gh/me/plain", ".");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is not a git repository (git: '")
            && stderr(&out).contains("does not appear to be a git repository)"),
        "{}",
        stderr(&out)
    );
    let (status, _) = api.get("/api/v2/project/gh/me/plain").await;
    assert_eq!(status, 404);

    // `.` is stored as the absolute path, without a trailing `/.`.
    let out = project_add(&server, &here, "gh/me/here", ".");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    // The project's deploy key, printed on a line of its own to paste into the forge.
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let (_, keys) = api.get("/api/v2/project/gh/me/here/checkout-key").await;
    let public_key = keys["items"][0]["public-key"].as_str().unwrap();
    assert!(public_key.starts_with("ssh-ed25519 "), "{keys}");
    assert!(stdout.lines().any(|l| l == public_key), "{stdout}");
    assert!(!stdout.contains("PRIVATE"), "{stdout}");
    let (status, project) = api.get("/api/v2/project/gh/me/here").await;
    assert_eq!(status, 200);
    assert_eq!(
        project["vcs_info"]["vcs_url"],
        json!(here.display().to_string())
    );
    let out = project_add(&server, &here.join(".circleci"), "gh/me/up", "../.");
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, project) = api.get("/api/v2/project/gh/me/up").await;
    assert_eq!(
        project["vcs_info"]["vcs_url"],
        json!(here.display().to_string())
    );

    // A remote URL that cannot be fetched now: added, with a warning.
    let url = "http://127.0.0.1:9/acme/app.git";
    let out = project_add(&server, &here, "gh/me/remote", url);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with(&format!(
            "warning: the server cannot fetch {url} now (git: "
        )),
        "{}",
        stderr(&out)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("added project gh/me/remote"));
    let (status, project) = api.get("/api/v2/project/gh/me/remote").await;
    assert_eq!(status, 200);
    assert_eq!(project["vcs_info"]["vcs_url"], url);

    // The API checks the same way: a relative path is refused, naming the field.
    let (status, body) = api
        .post(
            "/api/circa/projects",
            json!({ "slug": "gh/me/rel", "repo": "some/where" }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("repo: `some/where` is neither a git URL nor an absolute path"),
        "{body}"
    );
    let (status, body) = api
        .post(
            "/api/circa/projects",
            json!({ "slug": "gh/me/api", "repo": format!("{}/./", here.display()) }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["vcs_info"]["vcs_url"],
        json!(here.display().to_string())
    );
    assert_eq!(body["warnings"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_add_gives_known_hosts_and_a_repository_token_from_files() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), 30);
    let api = server.client();
    let files = tempfile::tempdir().unwrap();
    let line = "[git.example.com]:2222 ssh-ed25519 \
        AAAAC3NzaC1lZDI1NTE5AAAAINIRALENFJ7rqqsgW8q9aVFPAlUs+lwwMbWVKwJnQ36W";
    let hosts = files.path().join("known_hosts");
    std::fs::write(&hosts, format!("# forge\n{line}\n")).unwrap();
    let token = files.path().join("token");
    std::fs::write(&token, "tok-from-a-file-123\n").unwrap();
    let add = |slug: &str, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_circa"))
            .args([
                "project",
                "add",
                slug,
                "--repo",
                "https://127.0.0.1:9/acme/app.git",
            ])
            .args(extra)
            .env("CIRCA_URL", &server.url)
            .env("CIRCA_TOKEN", &server.token)
            .output()
            .unwrap()
    };
    let out = add(
        "gh/me/private",
        &[
            "--known-hosts-file",
            &hosts.display().to_string(),
            "--repo-token-file",
            &token.display().to_string(),
            "--repo-user",
            "x-token-auth",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        stdout.contains("repository token set (user x-token-auth)"),
        "{stdout}"
    );
    assert!(!stdout.contains("tok-from-a-file"), "{stdout}");
    let (_, known) = api
        .get("/api/circa/projects/gh/me/private/known-hosts")
        .await;
    assert_eq!(known, json!({ "known_hosts": format!("{line}\n") }));
    let (_, set) = api
        .get("/api/circa/projects/gh/me/private/repo-token")
        .await;
    assert_eq!(set, json!({ "token_set": true, "user": "x-token-auth" }));

    // A file that is not known_hosts: refused before anything is added.
    std::fs::write(&hosts, "not a known_hosts line\n").unwrap();
    let out = add(
        "gh/me/other",
        &["--known-hosts-file", &hosts.display().to_string()],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("line 1 is not a known_hosts entry"),
        "{}",
        stderr(&out)
    );
    let (status, _) = api.get("/api/v2/project/gh/me/other").await;
    assert_eq!(status, 404);
}
