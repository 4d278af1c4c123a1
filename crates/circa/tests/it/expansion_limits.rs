//! A config that doubles a string at every level of nested commands is refused at once, with a
//! located diagnostic, wherever it is compiled: by `circa config validate` under a 1 GiB
//! address-space limit, and by a `circa server` process through the compile route, an API
//! trigger and a push, while the server stays small and keeps answering.
//!
//! Times are printed; the asserted bound is generous (a debug build on a shared machine), since
//! the property is that the compile stops long before it could run away.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::server_harness::{Api, Repo, ServerProc, github_push};

/// The generous bound on one refusal.
const TIME_BOUND: Duration = Duration::from_secs(5);

/// The most the server's resident memory may reach meanwhile.
const RSS_BOUND_KIB: u64 = 200 * 1024;

/// Commands `c0` … `c{levels - 1}` each pass `s` on doubled; `c0` gets 8 bytes. The string
/// `c19` builds (on line 82) is the first over 4 MiB.
fn doubling_config(levels: usize) -> String {
    let mut text = String::from("version: 2.1\ncommands:\n");
    for i in 0..levels {
        let next = i + 1;
        text.push_str(&format!(
            "  c{i}:\n    parameters: {{s: {{type: string}}}}\n    steps:\n      - c{next}: {{s: \"<< parameters.s >><< parameters.s >>\"}}\n"
        ));
    }
    text.push_str(&format!(
        "  c{levels}:\n    parameters: {{s: {{type: string}}}}\n    steps: [{{run: \"<< parameters.s >>\"}}]\n"
    ));
    text.push_str("jobs:\n  t:\n    docker: [{image: x}]\n    steps: [{c0: {s: abcdefgh}}]\n");
    text.push_str("workflows:\n  w:\n    jobs: [t]\n");
    text
}

/// Where the refusal points (line 82, the string c19 builds) and what it says.
const REFUSED_AT: &str = ":82:18: error: this value of command `c19` would be larger than 4194304 bytes, the limit on one interpolated value";

#[test]
fn validate_refuses_a_doubling_config_under_a_1_gib_address_space() {
    let dir = tempfile::tempdir().unwrap();
    for levels in [30, 60] {
        let path = dir.path().join(format!("doubling-{levels}.yml"));
        std::fs::write(&path, doubling_config(levels)).unwrap();
        let started = Instant::now();
        let out = Command::new("prlimit")
            .arg(format!("--as={}", 1024 * 1024 * 1024))
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_circa"))
            .args(["config", "validate"])
            .arg(&path)
            .env("CIRCA_ORB_DIR", dir.path())
            .env("NO_COLOR", "1")
            .output()
            .expect("prlimit runs circa");
        let took = started.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr);
        println!("{levels} levels: exit {:?} in {took:?}", out.status.code());
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        let expected = format!("{}{REFUSED_AT}", path.display());
        assert!(stderr.contains(&expected), "{expected} not in {stderr}");
        assert!(took < TIME_BOUND, "{levels} levels took {took:?}");
    }
}

/// The server's resident memory in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// What a watcher saw while the compiles ran.
struct Watch {
    stop: Arc<AtomicBool>,
    max_rss: Arc<AtomicU64>,
    polls: tokio::task::JoinHandle<(u32, Duration)>,
}

/// Polls `/healthz` and the server's RSS every 20 ms until stopped; every poll must answer 200.
fn watch(url: &str, pid: u32) -> Watch {
    let stop = Arc::new(AtomicBool::new(false));
    let max_rss = Arc::new(AtomicU64::new(rss_kib(pid)));
    let (flag, most) = (stop.clone(), max_rss.clone());
    let health = format!("{url}/healthz");
    let polls = tokio::spawn(async move {
        let http = reqwest::Client::new();
        let (mut answered, mut slowest) = (0u32, Duration::ZERO);
        while !flag.load(Ordering::SeqCst) {
            most.fetch_max(rss_kib(pid), Ordering::SeqCst);
            let asked = Instant::now();
            let status = http.get(&health).send().await.map(|r| r.status().as_u16());
            assert_eq!(status.ok(), Some(200), "/healthz stopped answering");
            answered += 1;
            slowest = slowest.max(asked.elapsed());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (answered, slowest)
    });
    Watch {
        stop,
        max_rss,
        polls,
    }
}

/// Posts `config` to the compile route; checks the refusal and returns the time it took.
async fn compile_refused(api: &Api, config: String) -> Duration {
    let started = Instant::now();
    let (status, body) = api
        .post(
            "/api/v2/compile-config-with-defaults",
            json!({ "config_yaml": config }),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["valid"], false, "{body}");
    assert_eq!(body["output-yaml"], "", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(&format!(".circleci/config.yml{REFUSED_AT}")),
        "{message}"
    );
    took
}

/// The errors of an errored pipeline, after checking it has no workflows.
async fn errored(api: &Api, id: &str) -> String {
    let (_, pipeline) = api.get(&format!("/api/v2/pipeline/{id}")).await;
    assert_eq!(pipeline["state"], "errored", "{pipeline}");
    assert!(api.workflows(id).await.is_empty());
    pipeline["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_refuses_doubling_configs_and_stays_small_and_answering() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), 30);
    let api = server.client();
    let watcher = watch(&server.url, server.pid());

    // Four compiles at once through the route: more than the server runs together.
    let posted: Vec<_> = [30, 60, 30, 60]
        .into_iter()
        .map(|levels| {
            let api = api.clone();
            tokio::spawn(
                async move { (levels, compile_refused(&api, doubling_config(levels)).await) },
            )
        })
        .collect();
    for p in posted {
        let (levels, took) = p.await.unwrap();
        println!("compile route, {levels} levels: refused in {took:?}");
        assert!(took < TIME_BOUND, "{levels} levels took {took:?}");
    }

    // An API trigger of a branch holding the 30-level config, then a push of the 60-level one.
    let repo = Repo::new(&doubling_config(30));
    let project = api
        .add_project("gh/acme/doubling", repo.path(), json!({}))
        .await;
    let started = Instant::now();
    let id = api.trigger("gh/acme/doubling", json!({})).await;
    println!("trigger: answered in {:?}", started.elapsed());
    let message = errored(&api, &id).await;
    assert!(message.contains(REFUSED_AT), "{message}");

    let sha = repo.commit(&doubling_config(60), "sixty levels");
    let secret = project["webhook"]["secret"].as_str().unwrap();
    let hook = format!("/hooks/{}", project["id"].as_str().unwrap());
    let body = github_push(repo.path(), "refs/heads/main", &sha, "sixty levels");
    let started = Instant::now();
    let status = api.github_hook(&hook, "push", secret, body).await;
    println!("push: answered {status} in {:?}", started.elapsed());
    assert!((200..300).contains(&status), "webhook answered {status}");
    let pipelines = pushed_pipelines(&api, &sha).await;
    assert_eq!(pipelines.len(), 1, "{pipelines:?}");
    let message = errored(&api, pipelines[0]["id"].as_str().unwrap()).await;
    assert!(message.contains(REFUSED_AT), "{message}");

    watcher.stop.store(true, Ordering::SeqCst);
    let (answered, slowest) = watcher.polls.await.unwrap();
    let max_rss = watcher.max_rss.load(Ordering::SeqCst);
    println!("/healthz answered {answered} times, slowest {slowest:?}; largest RSS {max_rss} KiB");
    assert!(answered > 0);
    assert!(
        max_rss > 0 && max_rss < RSS_BOUND_KIB,
        "RSS reached {max_rss} KiB"
    );
    assert_eq!(api.text("/healthz").await, "ok");
}

/// The pipelines of the doubling project built at `sha`.
async fn pushed_pipelines(api: &Api, sha: &str) -> Vec<Value> {
    let (_, body) = api.get("/api/v2/project/gh/acme/doubling/pipeline").await;
    body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p["vcs"]["revision"] == sha)
        .collect()
}
