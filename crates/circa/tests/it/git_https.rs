//! Private repositories over HTTPS with a token, end to end: Debian's `lighttpd` serving
//! `git http-backend` behind basic authentication, a real server and runner. Without a token
//! the pipeline errors saying what to give; with the project's token the mirror fetch and the
//! job's `checkout` succeed. The token is then looked for everywhere it must not be: job
//! output, the server's log, every file of the data folders, API answers, and the argument
//! lists of every process sampled while the fetches ran.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::git_ssh::{CONFIG, add_remote_project, errored, green, push};
use crate::server_harness::{Repo, RunnerProc, ServerProc};
use crate::sshd::bare_copy;

const SLUG: &str = "gh/acme/private-https";
const LIGHTTPD: &str = "/usr/sbin/lighttpd";

/// A `lighttpd` serving bare repositories under its folder through `git http-backend`, to one
/// user and password (basic authentication).
struct Lighttpd {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Lighttpd {
    /// Whether it can run here; panics when `CI_REQUIRE_LIGHTTPD=1` and it cannot.
    fn available() -> bool {
        let found = Path::new(LIGHTTPD).exists() && http_backend().exists();
        if !found && std::env::var("CI_REQUIRE_LIGHTTPD").is_ok_and(|v| v == "1") {
            panic!("CI_REQUIRE_LIGHTTPD=1 but lighttpd or git-http-backend is missing");
        }
        found
    }

    fn start(user: &str, password: &str) -> Lighttpd {
        let dir = tempfile::Builder::new()
            .prefix("circa-lighttpd-")
            .tempdir()
            .unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("repos")).unwrap();
        std::fs::write(root.join("users"), format!("{user}:{password}\n")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = root.join("lighttpd.conf");
        std::fs::write(
            &config,
            format!(
                r#"server.document-root = "{root}"
server.port = {port}
server.bind = "127.0.0.1"
server.modules = ("mod_auth", "mod_authn_file", "mod_alias", "mod_setenv", "mod_cgi")
server.errorlog = "{root}/error.log"
alias.url = ( "/git" => "{backend}" )
$HTTP["url"] =~ "^/git" {{
  cgi.assign = ( "" => "" )
  setenv.add-environment = ( "GIT_PROJECT_ROOT" => "{root}/repos", "GIT_HTTP_EXPORT_ALL" => "" )
}}
auth.backend = "plain"
auth.backend.plain.userfile = "{root}/users"
auth.require = ( "/git" => ( "method" => "basic", "realm" => "git", "require" => "valid-user" ) )
"#,
                root = root.display(),
                backend = http_backend().display(),
            ),
        )
        .unwrap();
        let child = Command::new(LIGHTTPD)
            .arg("-D")
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "lighttpd did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Lighttpd { child, dir, port }
    }

    /// Makes a bare copy of `source` named `name`; its URL.
    fn serve(&self, source: &Path, name: &str) -> String {
        bare_copy(source, &self.dir.path().join("repos").join(name));
        format!("http://127.0.0.1:{}/git/{name}", self.port)
    }
}

impl Drop for Lighttpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `git http-backend`, where this machine's git keeps its programs.
fn http_backend() -> PathBuf {
    let out = Command::new("git").arg("--exec-path").output().unwrap();
    Path::new(String::from_utf8_lossy(&out.stdout).trim()).join("git-http-backend")
}

/// Reads every process's argument list until stopped: the lists holding `needle`, and how
/// many lists naming git were seen.
fn sample_argv(
    needle: String,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(Vec<String>, usize)> {
    std::thread::spawn(move || {
        let (mut found, mut gits) = (Vec::new(), 0);
        while !stop.load(Ordering::Relaxed) {
            for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                let Ok(argv) = std::fs::read(entry.path().join("cmdline")) else {
                    continue;
                };
                let argv = String::from_utf8_lossy(&argv).replace('\0', " ");
                if argv.contains(&needle) {
                    found.push(argv);
                } else if argv.starts_with("git") || argv.contains("askpass") {
                    gits += 1;
                }
            }
        }
        (found, gits)
    })
}

/// The files under `dir` whose bytes hold `needle`.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            found.extend(files_holding(&path, needle));
        } else if kind.is_file()
            && std::fs::read(&path).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
        {
            found.push(path);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_repository_is_fetched_with_the_project_token_which_appears_nowhere() {
    if !Lighttpd::available() {
        return;
    }
    let token = format!("circa-tok-{}", uuid_like());
    let http = Lighttpd::start("x-access-token", &token);
    let repo = Repo::new(CONFIG);
    let url = http.serve(repo.path(), "app.git");
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let server_log = logs.path().join("server.log");
    let server = ServerProc::start_logged(
        data.path(),
        30,
        &[("CIRCA_LOG", "debug")],
        &[],
        Some(&server_log),
    );
    let api = server.client();
    let runner_dir = tempfile::tempdir().unwrap();
    let runner_token = api.runner_token("default").await;
    let _runner = RunnerProc::start(&server.url, &runner_token, runner_dir.path(), 1);
    let project = add_remote_project(&api, SLUG, &url).await;
    let sha = repo.git(&["rev-parse", "HEAD"]);
    let token_path = format!("/api/circa/projects/{SLUG}/repo-token");

    // Without a token: the pipeline errors, saying what to give.
    let pipeline = push(&project, repo.path(), &sha, "h-1").await;
    let message = errored(&api, &pipeline).await;
    assert!(
        message.contains("the repository asked for credentials; give the project a token with"),
        "{message}"
    );
    let (status, none) = api.get(&token_path).await;
    assert_eq!(
        (status, none),
        (200, json!({ "token_set": false, "user": null }))
    );

    // With it: green, checkout included, while every process's arguments are sampled.
    let (status, set) = api
        .http_put(
            &token_path,
            json!({ "token": token, "user": "x-access-token" }),
        )
        .await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set, json!({ "token_set": true, "user": "x-access-token" }));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_argv(token.clone(), stop.clone());
    let pipeline = push(&project, repo.path(), &sha, "h-2").await;
    let log = green(&api, &pipeline).await;
    stop.store(true, Ordering::Relaxed);
    let (in_argv, gits) = sampler.join().unwrap();
    assert_eq!(
        in_argv,
        Vec::<String>::new(),
        "the token in an argument list"
    );
    assert!(gits > 0, "no git process was sampled");
    assert!(log.contains("checked-out-subject=first commit"), "{log}");

    // The token is nowhere: job output, API answers, the server's log, the data folders.
    assert!(!log.contains(&token));
    let workflows = api.workflows(&pipeline).await;
    let job = api.job(workflows[0]["id"].as_str().unwrap(), "build").await;
    for path in [
        token_path.clone(),
        format!("/api/v2/project/{SLUG}"),
        format!("/api/v2/pipeline/{pipeline}"),
        format!("/api/circa/jobs/{}", job["id"].as_str().unwrap()),
        format!("/api/v2/project/{SLUG}/envvar"),
    ] {
        let (_, answer) = api.get(&path).await;
        assert!(!answer.to_string().contains(&token), "{path}: {answer}");
    }
    // A token is required to set one; an admin removes it.
    let (status, refused) = api.http_put(&token_path, json!({ "token": " " })).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["message"].as_str().unwrap().starts_with("token: "));
    let (status, removed) = api.call("DELETE", &token_path, json!({})).await;
    assert_eq!(
        (status, removed),
        (200, json!({ "token_set": false, "user": null }))
    );
    drop(server);
    let server_text = std::fs::read_to_string(&server_log).unwrap();
    assert!(
        !server_text.is_empty(),
        "the server logged nothing at debug level"
    );
    assert!(
        !server_text.contains(&token),
        "the token in the server's log"
    );
    for dir in [data.path(), runner_dir.path()] {
        assert_eq!(files_holding(dir, token.as_bytes()), Vec::<PathBuf>::new());
    }
}

/// A value no other test run shares.
fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{nanos:x}{:x}", std::process::id())
}
