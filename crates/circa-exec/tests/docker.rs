//! The docker executor against the real Docker Engine, with the local test images of
//! `scripts/test-images.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Once};

use circa_exec::agent::AgentDir;
use circa_exec::docker::{
    DockerClient, DockerExecutor, DockerOptions, list_run_containers, measure_overhead,
    remove_run_containers,
};
use circa_exec::events::{Recorder, Reporter};
use circa_exec::executor::{ExecError, ExecRequest, Executor, StartRequest, Started};
use circa_model::task::DockerImage;
use tempfile::TempDir;

const BUSYBOX: &str = "circa-test/busybox:latest";
const BASH: &str = "circa-test/bash:latest";
/// busybox with `ENTRYPOINT ["/bin/false"]` and `CMD ["never"]`: a container that runs either
/// exits at once.
const EXITS: &str = "circa-test/exits:latest";

static IMAGES: Once = Once::new();

/// Builds the test images once per test process.
fn images() {
    IMAGES.call_once(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/test-images.sh");
        let status = Command::new("sh").arg(script).status().unwrap();
        assert!(status.success(), "{script} failed");
        let present = Command::new("docker")
            .args(["image", "inspect", EXITS])
            .output()
            .unwrap();
        if !present.status.success() {
            let out = Command::new("docker")
                .args(["create", BUSYBOX])
                .output()
                .unwrap();
            assert!(out.status.success());
            let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
            let committed = Command::new("docker")
                .args([
                    "commit",
                    "--change",
                    r#"ENTRYPOINT ["/bin/false"]"#,
                    "--change",
                    r#"CMD ["never"]"#,
                    &id,
                    EXITS,
                ])
                .status()
                .unwrap();
            Command::new("docker").args(["rm", &id]).status().unwrap();
            assert!(committed.success());
        }
    });
}

async fn client() -> DockerClient {
    images();
    DockerClient::connect().await.expect("the Docker Engine")
}

fn image(reference: &str) -> DockerImage {
    DockerImage {
        image: reference.to_owned(),
        ..Default::default()
    }
}

/// A run id unique to the test and the process.
fn run_id(test: &str) -> String {
    format!("t{}-{test}", std::process::id())
}

/// Removes the containers of a run when a test ends early (a failed assertion), so a failing
/// test leaves nothing running.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let out = Command::new("docker")
            .args([
                "ps",
                "-aq",
                "--filter",
                &format!("label=circa.run={}", self.0),
            ])
            .output();
        if let Ok(out) = out {
            for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("docker").args(["rm", "-f", id]).output();
            }
        }
    }
}

struct Job {
    _cleanup: Cleanup,
    executor: DockerExecutor,
    started: Started,
    task: TempDir,
    run_id: String,
    recorder: Arc<Recorder>,
}

fn request(run_id: &str, task: &Path) -> StartRequest {
    StartRequest {
        run_id: run_id.to_owned(),
        working_directory: "~/project".to_owned(),
        needs_docker: false,
        secrets_env: BTreeMap::new(),
        agent: AgentDir::at(task.join("no-agent-here")),
        task_dir_host: task.to_path_buf(),
    }
}

async fn try_start(
    client: &DockerClient,
    test: &str,
    images: Vec<DockerImage>,
    adjust: impl FnOnce(&mut StartRequest),
) -> (
    DockerExecutor,
    Result<Started, ExecError>,
    TempDir,
    String,
    Arc<Recorder>,
) {
    let task = tempfile::tempdir().unwrap();
    let run_id = run_id(test);
    let mut req = request(&run_id, task.path());
    adjust(&mut req);
    let recorder = Arc::new(Recorder::new());
    let reporter = Reporter::new(recorder.clone(), test, 0);
    let mut executor = DockerExecutor::new(client.clone(), images, DockerOptions::default());
    let started = executor.start(&req, &reporter).await;
    (executor, started, task, run_id, recorder)
}

async fn start(client: &DockerClient, test: &str, images: Vec<DockerImage>) -> Job {
    start_with(client, test, images, |_| {}).await
}

async fn start_with(
    client: &DockerClient,
    test: &str,
    images: Vec<DockerImage>,
    adjust: impl FnOnce(&mut StartRequest),
) -> Job {
    let (mut executor, started, task, run_id, recorder) =
        try_start(client, test, images, adjust).await;
    match started {
        Ok(started) => Job {
            _cleanup: Cleanup(run_id.clone()),
            executor,
            started,
            task,
            run_id,
            recorder,
        },
        Err(e) => {
            executor.stop().await.unwrap();
            panic!("start failed: {e}");
        }
    }
}

impl Job {
    /// Runs `script` with `sh -c` in the working directory; its output and exit code.
    async fn sh(&self, script: &str) -> (String, i64) {
        self.sh_env(script, BTreeMap::new()).await
    }

    async fn sh_env(&self, script: &str, mut env: BTreeMap<String, String>) -> (String, i64) {
        env.insert("PATH".to_owned(), self.started.path.clone());
        let mut running = self
            .executor
            .exec(ExecRequest {
                argv: vec!["/bin/sh".into(), "-c".into(), script.into()],
                env,
                workdir: self.started.working_directory.clone(),
            })
            .await
            .unwrap();
        assert!(running.kill.is_none());
        let mut out = Vec::new();
        while let Some(chunk) = running.output.recv().await {
            out.extend_from_slice(&chunk);
        }
        let code = running.exit.await.unwrap();
        (String::from_utf8(out).unwrap(), code)
    }

    /// Stops the job and checks that nothing labelled with its run id is left.
    async fn stop(mut self, client: &DockerClient) {
        self.executor.stop().await.unwrap();
        self.executor.stop().await.unwrap();
        assert_gone(client, &self.run_id).await;
        drop(self.task);
        drop(self.recorder);
    }
}

async fn assert_gone(client: &DockerClient, run_id: &str) {
    assert_eq!(
        list_run_containers(client, run_id).await.unwrap(),
        Vec::<String>::new()
    );
    let out = Command::new("docker")
        .args([
            "ps",
            "-a",
            "-q",
            "--filter",
            &format!("label=circa.run={run_id}"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busybox_runs_commands_with_output_exit_code_env_and_workdir() {
    let client = client().await;
    let job = start(&client, "basic", vec![image(BUSYBOX)]).await;
    assert_eq!(job.started.home, "/root");
    assert_eq!(job.started.working_directory, "/root/project");
    assert_eq!(job.started.task_dir, "/.circa-task");
    assert!(!job.started.has_bash);
    assert_eq!(
        job.started.path,
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    );
    assert_eq!(job.started.description, format!("docker: {BUSYBOX}"));

    let (out, code) = job.sh("echo hi; echo err >&2; exit 3").await;
    assert_eq!(code, 3);
    assert!(out.contains("hi\n"), "{out:?}");
    assert!(out.contains("err\n"), "{out:?}");

    let env = BTreeMap::from([("GREETING".to_owned(), "hello there".to_owned())]);
    let (out, code) = job.sh_env("echo \"$GREETING\"; pwd; id -u", env).await;
    assert_eq!(code, 0);
    assert_eq!(out, "hello there\n/root/project\n0\n");

    // Output keeps its order, however much there is.
    let (out, code) = job.sh("seq 1 20000").await;
    assert_eq!(code, 0);
    let expected: String = (1..=20000).map(|i| format!("{i}\n")).collect();
    assert_eq!(out, expected);

    assert!(job.executor.host_path("/root").is_none());
    job.stop(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bash_is_found_when_the_image_has_it() {
    let client = client().await;
    let job = start(&client, "bash", vec![image(BASH)]).await;
    assert!(job.started.has_bash);
    let (out, code) = job.sh("/bin/bash -c 'echo $BASH_VERSION' | cut -c1").await;
    assert_eq!(code, 0);
    assert!(out.trim().chars().all(|c| c.is_ascii_digit()) && !out.trim().is_empty());
    job.stop(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_user_runs_the_commands() {
    let client = client().await;
    let mut primary = image(BUSYBOX);
    primary.user = Some("circleci".to_owned());
    let job = start(&client, "user", vec![primary]).await;
    assert_eq!(job.started.home, "/home/circleci");
    assert_eq!(job.started.working_directory, "/home/circleci/project");
    let (out, code) = job.sh("id -u; id -un; stat -c %u .; echo $HOME").await;
    assert_eq!(code, 0);
    assert_eq!(out, "3434\ncircleci\n3434\n/home/circleci\n");

    // The task folder is usable by the user.
    fs::write(job.task.path().join("script"), "echo from-task\n").unwrap();
    let (out, code) = job
        .sh("sh /.circa-task/script && echo x > /.circa-task/halt && echo ok")
        .await;
    assert_eq!((out.as_str(), code), ("from-task\nok\n", 0));
    assert_eq!(
        fs::read_to_string(job.task.path().join("halt")).unwrap(),
        "x\n"
    );

    // What is copied in belongs to the user.
    let src = tempfile::tempdir().unwrap();
    fs::create_dir(src.path().join("d")).unwrap();
    fs::write(src.path().join("d/f"), "x").unwrap();
    job.executor
        .copy_in(src.path(), "/home/circleci/project/in")
        .await
        .unwrap();
    let (out, code) = job
        .sh("stat -c %u in in/d in/d/f && echo more >> in/d/f && cat in/d/f")
        .await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, "3434\n3434\n3434\nxmore\n");
    job.stop(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_answer_at_localhost_and_by_name() {
    let client = client().await;
    let mut primary = image(BUSYBOX);
    primary.name = Some("main".to_owned());
    let mut service = image(BUSYBOX);
    service.name = Some("web".to_owned());
    service.environment = BTreeMap::from([("SERVICE_ONLY".to_owned(), "svc-value".to_owned())]);
    service.command = Some(vec![
        "sh".into(),
        "-c".into(),
        "mkdir -p /www && echo \"service says $SERVICE_ONLY\" > /www/index.html && \
         exec httpd -f -p 8000 -h /www"
            .into(),
    ]);
    let job = start(&client, "services", vec![primary, service]).await;
    assert_eq!(
        job.started.description,
        format!("docker: {BUSYBOX} (+1 service)")
    );
    let fetch = |host: &str| {
        format!(
            "for i in $(seq 100); do wget -qO- http://{host}:8000/ 2>/dev/null && exit 0; sleep 0.1; done; exit 1"
        )
    };
    let (out, code) = job.sh(&fetch("localhost")).await;
    assert_eq!((out.as_str(), code), ("service says svc-value\n", 0));
    let (out, code) = job.sh(&fetch("web")).await;
    assert_eq!((out.as_str(), code), ("service says svc-value\n", 0));
    let (out, code) = job.sh(&fetch("main")).await;
    assert_eq!((out.as_str(), code), ("service says svc-value\n", 0));
    // The service's environment is its own.
    let (out, _) = job.sh("echo \"${SERVICE_ONLY:-unset}\"").await;
    assert_eq!(out, "unset\n");
    assert_eq!(job.executor.container_ids().len(), 2);
    job.stop(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_primary_ignores_the_image_entrypoint_and_cmd_unless_configured() {
    let client = client().await;
    // ENTRYPOINT /bin/false would end the container at once.
    let job = start(&client, "cmd", vec![image(EXITS)]).await;
    let (out, code) = job.sh("echo alive").await;
    assert_eq!((out.as_str(), code), ("alive\n", 0));
    job.stop(&client).await;

    // A configured entrypoint and command are honoured.
    let mut primary = image(EXITS);
    primary.entrypoint = Some(vec!["/bin/sh".into(), "-c".into()]);
    primary.command = Some(vec!["echo configured > /tmp/marker; exec sleep 600".into()]);
    let job = start(&client, "cmd-configured", vec![primary]).await;
    let (out, code) = job.sh("cat /tmp/marker").await;
    assert_eq!((out.as_str(), code), ("configured\n", 0));
    job.stop(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_task_folder_is_shared_with_the_host() {
    let client = client().await;
    let job = start(&client, "taskdir", vec![image(BUSYBOX)]).await;
    fs::write(job.task.path().join("from-host"), "host text\n").unwrap();
    let (out, code) = job
        .sh("cat /.circa-task/from-host && echo container text > /.circa-task/from-container")
        .await;
    assert_eq!((out.as_str(), code), ("host text\n", 0));
    assert_eq!(
        fs::read_to_string(job.task.path().join("from-container")).unwrap(),
        "container text\n"
    );
    job.stop(&client).await;
}

fn read_tree(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let meta = fs::symlink_metadata(&path).unwrap();
            let what = if meta.file_type().is_symlink() {
                format!("link -> {}", fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                stack.push(path.clone());
                "dir".to_owned()
            } else {
                let exec = meta.permissions().mode() & 0o111 != 0;
                format!("file exec={exec} {}", fs::read_to_string(&path).unwrap())
            };
            out.insert(rel, what);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trees_are_copied_out_and_in() {
    let client = client().await;
    let job = start(&client, "copy", vec![image(BUSYBOX)]).await;
    let (out, code) = job
        .sh(
            "mkdir -p /w/sub/deep /w/.hidden && cd /w && echo a > sub/deep/a.txt && \
             echo b > top.txt && ln -s top.txt link && ln -s sub dirlink && \
             printf '#!/bin/sh\\necho ran\\n' > run.sh && chmod +x run.sh && \
             echo 1 > sub/r1.xml && echo 2 > sub/r2.xml && echo 3 > sub/deep/n.xml && \
             echo h > .hidden/h.xml && echo sp > 'sub/with space.xml'",
        )
        .await;
    assert_eq!(code, 0, "{out}");

    // A plain path keeps its place under the root.
    let plain = tempfile::tempdir().unwrap();
    let copied = job
        .executor
        .copy_out(
            "/w",
            &["sub/deep/a.txt".into(), "link".into()],
            plain.path(),
        )
        .await
        .unwrap();
    assert_eq!(copied.matched, vec!["sub/deep/a.txt", "link"]);
    assert!(copied.missing.is_empty());
    assert_eq!(
        read_tree(plain.path()),
        BTreeMap::from([
            ("sub".into(), "dir".into()),
            ("sub/deep".into(), "dir".into()),
            ("sub/deep/a.txt".into(), "file exec=false a\n".into()),
            ("link".into(), "link -> top.txt".into()),
        ])
    );

    // Globs match one level, dotfiles included; a missing path is reported, not an error.
    let globbed = tempfile::tempdir().unwrap();
    let copied = job
        .executor
        .copy_out(
            "/w",
            &[
                "sub/*.xml".into(),
                "*/h.xml".into(),
                "nope".into(),
                "nope*/x".into(),
            ],
            globbed.path(),
        )
        .await
        .unwrap();
    assert_eq!(
        copied.matched,
        vec![
            "sub/r1.xml",
            "sub/r2.xml",
            "sub/with space.xml",
            ".hidden/h.xml"
        ]
    );
    assert_eq!(copied.missing, vec!["nope", "nope*/x"]);
    assert_eq!(
        read_tree(globbed.path()),
        BTreeMap::from([
            ("sub".into(), "dir".into()),
            ("sub/r1.xml".into(), "file exec=false 1\n".into()),
            ("sub/r2.xml".into(), "file exec=false 2\n".into()),
            ("sub/with space.xml".into(), "file exec=false sp\n".into()),
            (".hidden".into(), "dir".into()),
            (".hidden/h.xml".into(), "file exec=false h\n".into()),
        ])
    );

    // `.` is the whole root.
    let whole = tempfile::tempdir().unwrap();
    let copied = job
        .executor
        .copy_out("/w", &[".".into()], whole.path())
        .await
        .unwrap();
    assert_eq!(copied.matched, vec!["."]);
    let tree = read_tree(whole.path());
    assert_eq!(tree["run.sh"], "file exec=true #!/bin/sh\necho ran\n");
    assert_eq!(tree["link"], "link -> top.txt");
    assert_eq!(tree["dirlink"], "link -> sub");
    assert_eq!(tree["sub/deep/n.xml"], "file exec=false 3\n");
    assert_eq!(tree.len(), 13, "{tree:#?}");

    // A root that does not exist has nothing.
    let none = tempfile::tempdir().unwrap();
    let copied = job
        .executor
        .copy_out(
            "/nonexistent",
            &[".".into(), "*".into(), "a".into()],
            none.path(),
        )
        .await
        .unwrap();
    assert!(copied.matched.is_empty());
    assert_eq!(copied.missing, vec![".", "*", "a"]);

    // `..` is refused.
    assert!(
        job.executor
            .copy_out("/w", &["../etc".into()], none.path())
            .await
            .is_err()
    );

    // Round trip: in, then out again, unchanged.
    job.executor
        .copy_in(whole.path(), "/copied/in")
        .await
        .unwrap();
    let (out, code) = job
        .sh("cd /copied/in && ./run.sh && readlink link && cat dirlink/r1.xml")
        .await;
    assert_eq!((out.as_str(), code), ("ran\ntop.txt\n1\n", 0));
    let back = tempfile::tempdir().unwrap();
    job.executor
        .copy_out("/copied/in", &[".".into()], back.path())
        .await
        .unwrap();
    assert_eq!(read_tree(back.path()), tree);

    // Copying in merges with what is there.
    let more = tempfile::tempdir().unwrap();
    fs::write(more.path().join("extra"), "e").unwrap();
    job.executor
        .copy_in(more.path(), "/copied/in")
        .await
        .unwrap();
    let (out, _) = job.sh("cat /copied/in/extra /copied/in/top.txt").await;
    assert_eq!(out, "eb\n");
    job.stop(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_image_is_named_and_leaves_nothing_behind() {
    let client = client().await;
    let (mut executor, started, _task, run_id, _) = try_start(
        &client,
        "missing",
        vec![image("circa-test/does-not-exist:1")],
        |_| {},
    )
    .await;
    let err = started.unwrap_err();
    assert!(
        matches!(&err, ExecError::ImageUnavailable { image, .. } if image == "circa-test/does-not-exist:1"),
        "{err:?}"
    );
    assert!(err.to_string().contains("circa-test/does-not-exist:1"));
    executor.stop().await.unwrap();
    assert_gone(&client, &run_id).await;

    // A missing service image: the same, before any container is made.
    let (mut executor, started, _task, run_id, _) = try_start(
        &client,
        "missing-service",
        vec![image(BUSYBOX), image("circa-test/does-not-exist:1")],
        |_| {},
    )
    .await;
    assert!(matches!(started, Err(ExecError::ImageUnavailable { .. })));
    executor.stop().await.unwrap();
    assert_gone(&client, &run_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_map_replaces_references() {
    let client = client().await;
    let task = tempfile::tempdir().unwrap();
    let run_id = run_id("map");
    let options = DockerOptions {
        image_map: BTreeMap::from([("cimg/base:2024.01".to_owned(), BASH.to_owned())]),
        ..Default::default()
    };
    let mut executor =
        DockerExecutor::new(client.clone(), vec![image("cimg/base:2024.01")], options);
    let reporter = Reporter::new(Arc::new(Recorder::new()), "map", 0);
    let started = executor
        .start(&request(&run_id, task.path()), &reporter)
        .await;
    executor.stop().await.unwrap();
    let started = started.unwrap();
    assert!(started.has_bash);
    assert_eq!(started.description, format!("docker: {BASH}"));
    assert_gone(&client, &run_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_cleans_up_after_a_start_that_failed_half_way() {
    let client = client().await;
    // The service is created, then cannot start: its user does not exist.
    let mut service = image(BUSYBOX);
    service.user = Some("nobody-here".to_owned());
    let (mut executor, started, _task, run_id, _) =
        try_start(&client, "half", vec![image(BUSYBOX), service], |_| {}).await;
    let err = started.unwrap_err();
    assert!(matches!(err, ExecError::Docker(_)), "{err:?}");
    assert_eq!(executor.container_ids().len(), 2);
    assert_eq!(
        list_run_containers(&client, &run_id).await.unwrap().len(),
        2
    );
    executor.stop().await.unwrap();
    executor.stop().await.unwrap();
    assert_gone(&client, &run_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_of_an_interrupted_run_are_removed_by_label() {
    let client = client().await;
    let job = start(&client, "interrupted", vec![image(BUSYBOX), image(BUSYBOX)]).await;
    let run_id = job.run_id.clone();
    // The job is dropped without stop (as after Ctrl-C).
    drop(job);
    assert_eq!(
        list_run_containers(&client, &run_id).await.unwrap().len(),
        2
    );
    assert_eq!(remove_run_containers(&client, &run_id).await.unwrap(), 2);
    assert_gone(&client, &run_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_engine_suggests_the_shell_executor() {
    let err = DockerClient::connect_to("unix:///nonexistent/docker.sock")
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExecError::DockerUnavailable { .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("unix:///nonexistent/docker.sock"),
        "{message}"
    );
    assert!(message.contains("--executor shell"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_remote_docker_mounts_the_engine_socket() {
    let client = client().await;
    let job = start_with(&client, "socket", vec![image(BUSYBOX)], |r| {
        r.needs_docker = true
    })
    .await;
    let (out, code) = job.sh("test -S /var/run/docker.sock && echo socket").await;
    assert_eq!((out.as_str(), code), ("socket\n", 0));
    job.stop(&client).await;

    let job = start(&client, "no-socket", vec![image(BUSYBOX)]).await;
    let (_, code) = job.sh("test -S /var/run/docker.sock").await;
    assert_eq!(code, 1);
    job.stop(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_staged_agent_is_mounted_and_first_on_path() {
    let client = client().await;
    let agent_root = tempfile::tempdir().unwrap();
    let agent = AgentDir::at(agent_root.path());
    let bin = agent.container_mount().join("bin");
    fs::create_dir_all(&bin).unwrap();
    fs::write(bin.join("circleci"), "#!/bin/sh\necho agent \"$@\"\n").unwrap();
    fs::set_permissions(bin.join("circleci"), fs::Permissions::from_mode(0o755)).unwrap();
    let job = start_with(&client, "agent", vec![image(BUSYBOX)], |r| {
        r.agent = agent.clone();
    })
    .await;
    assert!(
        job.started
            .path
            .starts_with("/.circa-agent/bin:/usr/local/sbin")
    );
    let (out, code) = job
        .sh("circleci step halt && touch /.circa-agent/x 2>/dev/null || echo read-only")
        .await;
    assert_eq!((out.as_str(), code), ("agent step halt\nread-only\n", 0));
    job.stop(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overhead_is_measured() {
    let client = client().await;
    let overhead = measure_overhead(&client, BUSYBOX, 2).await.unwrap();
    assert_eq!(overhead.executor.len(), 2);
    assert_eq!(overhead.docker_run.len(), 2);
    assert!(overhead.executor_median() > std::time::Duration::ZERO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn working_directories_outside_home_are_created() {
    let client = client().await;
    let job = start_with(&client, "workdir", vec![image(BUSYBOX)], |r| {
        r.working_directory = "~/../srv/./app/".to_owned();
    })
    .await;
    assert_eq!(job.started.working_directory, "/srv/app");
    let (out, code) = job.sh("pwd").await;
    assert_eq!((out.as_str(), code), ("/srv/app\n", 0));
    job.stop(&client).await;

    let job = start_with(&client, "workdir-abs", vec![image(BUSYBOX)], |r| {
        r.working_directory = "/deep/er/app".to_owned();
    })
    .await;
    assert_eq!(job.started.working_directory, "/deep/er/app");
    let (out, code) = job.sh("pwd").await;
    assert_eq!((out.as_str(), code), ("/deep/er/app\n", 0));
    let mut executor = job.executor;
    executor.stop().await.unwrap();
    let err = executor
        .exec(ExecRequest {
            argv: vec!["true".into()],
            env: BTreeMap::new(),
            workdir: "/".into(),
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not started"), "{err}");
    assert_gone(&client, &job.run_id).await;
}
