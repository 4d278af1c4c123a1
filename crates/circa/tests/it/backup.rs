//! `circa admin backup` while a real server runs a pipeline, and `circa admin restore` into a
//! new data folder: a server started on it shows every pipeline, the finished job's log and
//! artifact, and its secrets still open in a job. Then PostgreSQL's procedure from the README
//! (`pg_dump -Fc`, `pg_restore`) with a server on each side.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::server_harness::{Api, Repo, RunnerProc, ServerProc};

const CONFIG: &str = r#"
version: 2.1
parameters:
  pause: { type: integer, default: 0 }
jobs:
  build:
    machine: true
    steps:
      - run:
          name: digest and report
          command: |
            echo "digest $(printf '%s' "$SECRET_VALUE" | sha256sum | cut -c1-64)"
            mkdir -p out && echo "the report of $CIRCLE_BUILD_NUM" > out/report.txt
            sleep << pipeline.parameters.pause >>
      - store_artifacts: { path: out/report.txt }
workflows:
  main:
    jobs: [build]
"#;

const SLUG: &str = "gh/acme/kept";

fn circa(args: &[&str], data: &Path) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_circa"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("CIRCA_LOG", "warn")
        .output()
        .expect("circa runs");
    assert!(output.status.success(), "circa {args:?}: {output:?}");
    output
}

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The only job of a pipeline's only workflow.
async fn build_job(api: &Api, pipeline: &str) -> Value {
    let wfs = api.workflows(pipeline).await;
    let wf = wfs[0]["id"].as_str().unwrap();
    api.job(wf, "build").await
}

/// The text of a job's `out/report.txt` artifact.
async fn report(api: &Api, job_number: u64) -> String {
    let (status, list) = api
        .get(&format!("/api/v2/project/{SLUG}/{job_number}/artifacts"))
        .await;
    assert_eq!(status, 200, "{list}");
    let item = &list["items"][0];
    assert_eq!(item["path"], "out/report.txt", "{list}");
    let url = item["url"].as_str().unwrap();
    api.text(url.strip_prefix(&api.url).unwrap()).await
}

/// Triggers a pipeline and waits for it; its build job, which must have succeeded.
async fn run_to_end(api: &Api, pause: u32) -> (String, Value) {
    let id = api
        .trigger(
            SLUG,
            json!({ "branch": "main", "parameters": { "pause": pause } }),
        )
        .await;
    api.finished(&id, Duration::from_secs(60)).await;
    let job = build_job(api, &id).await;
    assert_eq!(job["status"], "success", "{job}");
    (id, job)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_during_a_run_restores_pipelines_logs_artifacts_and_secrets() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let mut server = ServerProc::start(&data, 30);
    let api = server.client();
    let runner_token = api.runner_token("default").await;
    let runner_dir = tempfile::tempdir().unwrap();
    let mut runner = RunnerProc::start(&server.url, &runner_token, runner_dir.path(), 2);
    let repo = Repo::new(CONFIG);
    api.add_project(SLUG, repo.path(), json!({})).await;
    let secret = format!("kept-{}", uuid::Uuid::new_v4().simple());
    let (status, var) = api
        .post(
            &format!("/api/v2/project/{SLUG}/envvar"),
            json!({ "name": "SECRET_VALUE", "value": secret }),
        )
        .await;
    assert_eq!(status, 201, "{var}");
    let digest = format!("digest {}", sha256(&secret));

    let (finished, job) = run_to_end(&api, 0).await;
    let job_id = job["id"].as_str().unwrap().to_string();
    let job_number = job["job_number"].as_u64().unwrap();
    let log = api.job_log(&job_id).await;
    assert!(log.contains(&digest), "{log}");
    let artifact = report(&api, job_number).await;

    // A pipeline whose job sleeps: the backup is taken while it runs.
    let running = api
        .trigger(
            SLUG,
            json!({ "branch": "main", "parameters": { "pause": 60 } }),
        )
        .await;
    api.until(Duration::from_secs(30), "the job to run", || async {
        (build_job(&api, &running).await["status"] == "running").then_some(())
    })
    .await;
    let dir = root.path().join("backup");
    let out = circa(
        &["admin", "backup", dir.to_str().unwrap(), "--with-keys"],
        &data,
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("WARNING"));
    // Without --with-keys the key file stays out, loudly.
    let keyless = root.path().join("keyless");
    let out = circa(&["admin", "backup", keyless.to_str().unwrap()], &data);
    let warning = String::from_utf8_lossy(&out.stderr);
    let key_path = data.join("secret.keys");
    assert!(warning.contains("WARNING"), "{warning}");
    assert!(warning.contains(key_path.to_str().unwrap()), "{warning}");
    assert!(!keyless.join("secret.keys").exists());
    assert!(dir.join("secret.keys").exists());
    server.kill();
    runner.kill();

    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["counts"]["pipelines"], 2, "{manifest}");
    assert!(
        manifest["blobs"]["files"].as_u64().unwrap() >= 2,
        "{manifest}"
    );

    let fresh = root.path().join("restored");
    circa(&["admin", "restore", dir.to_str().unwrap()], &fresh);
    let server = ServerProc::start(&fresh, 30);
    let api = server.client();
    let listed: Vec<String> = api
        .all_items(&format!("/api/v2/project/{SLUG}/pipeline"))
        .await
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        listed.contains(&finished) && listed.contains(&running),
        "{listed:?}"
    );
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(api.job_log(&job_id).await, log);
    assert_eq!(report(&api, job_number).await, artifact);
    let (_, shown) = api
        .get(&format!("/api/v2/project/{SLUG}/envvar/SECRET_VALUE"))
        .await;
    assert_eq!(shown["value"], var["value"], "{shown}");

    // The secret still opens: a job on the restored server sees the same value.
    let runner_dir = tempfile::tempdir().unwrap();
    let _runner = RunnerProc::start(&server.url, &runner_token, runner_dir.path(), 2);
    let (_, job) = run_to_end(&api, 0).await;
    let log = api.job_log(job["id"].as_str().unwrap()).await;
    assert!(log.contains(&digest), "{log}");

    // A second restore into the now used folder is refused.
    let again = Command::new(env!("CARGO_BIN_EXE_circa"))
        .args(["admin", "restore", dir.to_str().unwrap(), "--data-dir"])
        .arg(&fresh)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_or_newer_backup_is_refused_before_anything_is_written() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let mut server = ServerProc::start(&data, 30);
    server.kill();
    let dir = root.path().join("backup");
    circa(&["admin", "backup", dir.to_str().unwrap()], &data);
    let refused = |what: &str| {
        let target = root.path().join(format!("restored-{what}"));
        let out = Command::new(env!("CARGO_BIN_EXE_circa"))
            .args(["admin", "restore", dir.to_str().unwrap(), "--data-dir"])
            .arg(&target)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{what}: {out:?}");
        assert!(!target.exists(), "{what}: the data folder was made");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let manifest_path = dir.join("manifest.json");
    let original = std::fs::read(&manifest_path).unwrap();
    let mut manifest: Value = serde_json::from_slice(&original).unwrap();
    manifest["schema_version"] = json!(99_999_999_999_i64);
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    assert!(refused("newer").contains("newer Circa"));
    std::fs::write(&manifest_path, &original).unwrap();
    let db = dir.join("circa.db");
    let mut bytes = std::fs::read(&db).unwrap();
    bytes[200] ^= 1;
    std::fs::write(&db, bytes).unwrap();
    assert!(refused("damaged").contains("does not match"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_is_backed_up_with_pg_dump_and_restored_with_pg_restore() {
    let Some(pg) = crate::pg_proc::Postgres::start() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let url = pg.url();
    let mut server = ServerProc::start_with(
        &root.path().join("data"),
        30,
        &[],
        &["--database-url", &url],
    );
    let api = server.client();
    let repo = Repo::new(CONFIG);
    api.add_project(SLUG, repo.path(), json!({})).await;
    let pipeline = api.trigger(SLUG, json!({ "branch": "main" })).await;

    let dump = root.path().join("circa.dump");
    let port = pg.port.to_string();
    let connection = ["-h", "127.0.0.1", "-p", &port, "-U", "postgres"];
    let run = |program: &str, args: &[&str]| {
        let out = Command::new(pg.program(program))
            .args(connection)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{program}: {out:?}");
    };
    // Online: pg_dump reads one snapshot while the server keeps writing.
    run(
        "pg_dump",
        &["-Fc", "-d", "postgres", "-f", dump.to_str().unwrap()],
    );
    server.kill();
    pg.sql("CREATE DATABASE restored");
    run(
        "pg_restore",
        &["--no-owner", "-d", "restored", dump.to_str().unwrap()],
    );
    let restored_url = format!("postgres://postgres@127.0.0.1:{port}/restored");
    let server = ServerProc::start_with(
        &root.path().join("data2"),
        30,
        &[],
        &["--database-url", &restored_url],
    );
    let api = server.client();
    let (status, project) = api.get(&format!("/api/v2/project/{SLUG}")).await;
    assert_eq!(status, 200, "{project}");
    let (status, shown) = api.get(&format!("/api/v2/pipeline/{pipeline}")).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(api.workflows(&pipeline).await.len(), 1);
}
