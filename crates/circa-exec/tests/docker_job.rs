//! Whole jobs on the docker executor against the real Docker Engine, in the local test images
//! built by `scripts/test-images.sh`: default shells and `BASH_ENV`, service containers,
//! caches, workspaces, artifacts and test results through containers, `circleci tests split`
//! inside a container without a C library, timeouts, cancel, and a missing image.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Once};

use circa_config::yaml::{Limits, load};
use circa_exec::agent::AgentDir;
use circa_exec::docker::{DockerClient, DockerExecutor, DockerOptions};
use circa_exec::events::{Recorder, Reporter};
use circa_exec::job::{JobContext, JobOutcome, run_job};
use circa_model::{ExecutorSpec, JobSpec, JobStatus};

static IMAGES: Once = Once::new();
static RUN: AtomicU32 = AtomicU32::new(0);

fn images() {
    IMAGES.call_once(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/test-images.sh");
        let out = Command::new(&script).output().unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

struct Harness {
    dir: tempfile::TempDir,
    agent: AgentDir,
}

impl Harness {
    fn new() -> Self {
        images();
        let dir = tempfile::tempdir().unwrap();
        let agent = AgentDir::stage(
            &dir.path().join("agent"),
            Path::new(env!("CARGO_BIN_EXE_circa-agent")),
        )
        .unwrap();
        Self { dir, agent }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn ctx(&self, config: &str, job: &str) -> JobContext {
        let root = load(config, &Limits::default()).root.unwrap();
        let spec = JobSpec::from_processed(&root, job).unwrap();
        let n = RUN.fetch_add(1, Ordering::SeqCst);
        let run_id = format!("dockerjob-{}-{n}", std::process::id());
        let mut ctx = JobContext::standalone(spec, self.path(), &run_id).unwrap();
        ctx.vcs.branch = Some("main".into());
        ctx.vcs.sha1 = "0123456789abcdef0123456789abcdef01234567".into();
        ctx.ids.workflow_id = "wf-docker".into();
        ctx.ids.build_num = 3;
        ctx.agent = self.agent.clone();
        ctx
    }

    async fn run(&self, ctx: &JobContext) -> (JobOutcome, Arc<Recorder>) {
        let recorder = Arc::new(Recorder::new());
        let reporter = Reporter::new(recorder.clone(), ctx.job_name.clone(), ctx.node);
        let ExecutorSpec::Docker { images } = &ctx.spec.executor else {
            panic!("not a docker job");
        };
        let client = DockerClient::connect().await.unwrap();
        let mut ex = DockerExecutor::new(client, images.clone(), DockerOptions::default());
        let outcome = run_job(&mut ex, ctx, &reporter).await;
        (outcome, recorder)
    }
}

/// Containers of a run still present.
fn leftovers(run_id: &str) -> String {
    let out = Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label=circa.run={run_id}"),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn docker_job(image: &str, steps: &str) -> String {
    format!(
        "jobs:\n  build:\n    docker:\n      - image: {image}\n        environment: {{FROM_IMAGE: image, SHARED: image}}\n    environment: {{SHARED: job}}\n    steps:\n{steps}"
    )
}

#[tokio::test]
async fn busybox_runs_steps_with_sh_and_sources_bash_env() {
    let h = Harness::new();
    let ctx = h.ctx(
        &docker_job(
            "circa-test/busybox:latest",
            r#"      - run: echo "export FROM_BASH_ENV=yes" >> "$BASH_ENV"; test ! -e /bin/bash
      - run: echo "value=$FROM_BASH_ENV shared=$SHARED image=$FROM_IMAGE ci=$CI pwd=$(pwd) home=$HOME"
      - run: {command: exit 5, name: fails}
      - run: {command: echo on-fail-ran, when: on_fail}
"#,
        ),
        "build",
    );
    let (out, rec) = h.run(&ctx).await;
    let log = rec.output("build", 0);
    assert_eq!(out.status, JobStatus::Failed, "{log} {:?}", rec.events());
    assert!(
        log.contains("value=yes shared=job image=image ci=true pwd=/root/project home=/root"),
        "{log}"
    );
    assert!(log.contains("on-fail-ran"), "{log}");
    assert_eq!(leftovers(&ctx.run_id), "");
}

#[tokio::test]
async fn bash_is_the_default_shell_when_the_image_has_it() {
    let h = Harness::new();
    let ctx = h.ctx(
        &docker_job(
            "circa-test/bash:latest",
            r#"      - run: echo 'export GREETING=hello-from-bash-env' >> "$BASH_ENV"
      - run: echo "shell=$BASH_VERSION greeting=$GREETING"
      - run: {name: pipefail is on, command: "false | true"}
"#,
        ),
        "build",
    );
    let (out, rec) = h.run(&ctx).await;
    let log = rec.output("build", 0);
    // `-eo pipefail`: the pipeline fails because its first command does.
    assert_eq!(out.status, JobStatus::Failed, "{log}");
    assert_eq!(out.message.as_deref(), Some("exited with code 1"));
    assert!(log.contains("shell=5."), "{log}");
    assert!(log.contains("greeting=hello-from-bash-env"), "{log}");
}

#[tokio::test]
async fn a_service_container_is_reached_at_localhost_and_by_name() {
    let h = Harness::new();
    let config = r#"
jobs:
  build:
    docker:
      - image: circa-test/busybox:latest
      - image: circa-test/busybox:latest
        name: web
        environment: {PAGE: served-by-the-service}
        command: ["sh", "-c", "mkdir -p /www && echo $PAGE > /www/index.html && exec httpd -f -p 8000 -h /www"]
    steps:
      - run: |
          for i in $(seq 1 50); do wget -qO- http://localhost:8000/ && break; sleep 0.1; done
          wget -qO- http://web:8000/
          echo "page-in-primary=[$PAGE]"
"#;
    let ctx = h.ctx(config, "build");
    let (out, rec) = h.run(&ctx).await;
    let log = rec.output("build", 0);
    assert_eq!(out.status, JobStatus::Success, "{log} {:?}", rec.events());
    assert_eq!(log.matches("served-by-the-service").count(), 2, "{log}");
    assert!(log.contains("page-in-primary=[]"), "{log}");
    assert_eq!(leftovers(&ctx.run_id), "");
}

#[tokio::test]
async fn caches_workspaces_artifacts_and_test_results_go_through_containers() {
    let h = Harness::new();
    let junit = r#"<testsuite name="s"><testcase classname="c" name="ok" time="0.5"/><testcase classname="c" name="bad"><failure message="boom">trace</failure></testcase></testsuite>"#;
    let config = format!(
        r#"
jobs:
  first:
    docker: [{{image: "circa-test/busybox:latest"}}]
    steps:
      - run: mkdir -p ~/deps out reports && echo cached > ~/deps/lib && echo ws > out/w.txt && echo '{junit}' > reports/r.xml
      - save_cache: {{key: 'dk-{{{{ .Branch }}}}-1', paths: [~/deps]}}
      - persist_to_workspace: {{root: out, paths: ["*.txt"]}}
      - store_artifacts: {{path: out/w.txt, destination: w.txt}}
      - store_test_results: {{path: reports}}
  second:
    docker: [{{image: "circa-test/busybox:latest"}}]
    steps:
      - restore_cache: {{keys: ['dk-']}}
      - attach_workspace: {{at: /tmp/ws}}
      - run: cat ~/deps/lib /tmp/ws/w.txt
"#
    );
    let first = h.ctx(&config, "first");
    let (out, rec) = h.run(&first).await;
    assert_eq!(out.status, JobStatus::Success, "{:?}", rec.events());
    assert_eq!(out.artifacts, vec!["w.txt".to_string()]);
    assert_eq!(
        std::fs::read_to_string(h.path().join("artifacts/first/w.txt")).unwrap(),
        "ws\n"
    );
    assert_eq!(out.tests, Some((2, 1)));
    let mut second = h.ctx(&config, "second");
    second.upstream = vec!["first".into()];
    let (out, rec) = h.run(&second).await;
    assert_eq!(out.status, JobStatus::Success, "{:?}", rec.events());
    assert!(rec.output("second", 0).contains("cached\nws\n"));
}

#[tokio::test]
async fn tests_split_inside_a_container_without_a_c_library() {
    let h = Harness::new();
    let config = r#"
jobs:
  build:
    docker: [{image: "circa-test/busybox:latest"}]
    parallelism: 2
    steps:
      - run: |
          mkdir -p t && for i in 1 2 3 4 5; do touch t/test_$i.sh; done
          circleci tests glob "t/*.sh" | circleci tests split | sed 's/^/MINE /'
"#;
    let mut all = Vec::new();
    for node in 0..2 {
        let mut ctx = h.ctx(config, "build");
        ctx.node = node;
        let (out, rec) = h.run(&ctx).await;
        let log = rec.output("build", node);
        assert_eq!(out.status, JobStatus::Success, "{log}");
        all.extend(
            log.lines()
                .filter_map(|l| l.strip_prefix("MINE "))
                .map(str::to_string),
        );
    }
    all.sort();
    assert_eq!(
        all,
        (1..=5)
            .map(|i| format!("t/test_{i}.sh"))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn no_output_timeout_and_cancel_leave_no_container() {
    let h = Harness::new();
    let ctx = h.ctx(
        &docker_job(
            "circa-test/busybox:latest",
            "      - run: {command: 'echo start; sleep 60', no_output_timeout: 1s}\n",
        ),
        "build",
    );
    let (out, _) = h.run(&ctx).await;
    assert_eq!(out.status, JobStatus::Timedout);
    assert_eq!(leftovers(&ctx.run_id), "");

    let ctx = h.ctx(
        &docker_job("circa-test/busybox:latest", "      - run: sleep 60\n"),
        "build",
    );
    let cancel = ctx.cancel.clone();
    let run_id = ctx.run_id.clone();
    tokio::spawn(async move {
        for _ in 0..100 {
            if !leftovers(&run_id).is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        cancel.cancel();
    });
    let (out, _) = h.run(&ctx).await;
    assert_eq!(out.status, JobStatus::Canceled);
    assert_eq!(leftovers(&ctx.run_id), "");
}

#[tokio::test]
async fn a_missing_image_is_an_infrastructure_failure_naming_it() {
    let h = Harness::new();
    let ctx = h.ctx(
        &docker_job("circa-test/does-not-exist:1", "      - run: echo never\n"),
        "build",
    );
    let (out, _) = h.run(&ctx).await;
    assert_eq!(out.status, JobStatus::InfrastructureFail);
    let message = out.message.unwrap();
    assert!(message.contains("circa-test/does-not-exist:1"), "{message}");
    assert_eq!(leftovers(&ctx.run_id), "");
}

#[tokio::test]
async fn add_ssh_keys_installs_private_keys_and_appends_the_config_in_the_container() {
    let h = Harness::new();
    let mut ctx = h.ctx(
        &docker_job(
            "circa-test/busybox:latest",
            r#"      - run: mkdir -p ~/.ssh && printf 'Host old\n  User me' > ~/.ssh/config
      - add_ssh_keys:
          fingerprints: ["0a:1b"]
      - add_ssh_keys
      - run: |
          cd ~/.ssh
          echo "modes $(stat -c '%a %n' . id_rsa_0a1b id_rsa_2c3d config | tr '\n' ' ')"
          echo "key $(head -c 13 id_rsa_0a1b)"
          cat config
"#,
        ),
        "build",
    );
    let key = |hostname: &str, md5: &str| circa_model::protocol::SshKeyGrant {
        hostname: hostname.into(),
        fingerprint: md5.into(),
        sha256: format!("SHA256:{}", md5.replace(':', "")),
        private_key: format!("-----BEGIN KEY-----\n{md5}\n-----END KEY-----\n"),
    };
    ctx.ssh_keys = Some(vec![key("git.example.com", "0a:1b"), key("", "2c:3d")]);
    let (out, rec) = h.run(&ctx).await;
    let log = rec.output("build", 0);
    assert_eq!(out.status, JobStatus::Success, "{log} {:?}", rec.events());
    assert!(
        log.contains("modes 700 . 600 id_rsa_0a1b 600 id_rsa_2c3d 600 config"),
        "{log}"
    );
    assert!(log.contains("key -----BEGIN KE\n"), "{log}");
    assert!(
        log.contains(
            "Host old\n  User me\n\
             Host git.example.com\n  IdentitiesOnly no\n  IdentityFile /root/.ssh/id_rsa_0a1b\n\
             Host git.example.com\n  IdentitiesOnly no\n  IdentityFile /root/.ssh/id_rsa_0a1b\n\
             Host *\n  IdentitiesOnly no\n  IdentityFile /root/.ssh/id_rsa_2c3d\n"
        ),
        "{log}"
    );

    // A fingerprint the job was not given fails the step, naming it.
    let mut ctx = h.ctx(
        &docker_job(
            "circa-test/busybox:latest",
            "      - add_ssh_keys:\n          fingerprints: [\"ee:ff\"]\n",
        ),
        "build",
    );
    ctx.ssh_keys = Some(Vec::new());
    let (out, rec) = h.run(&ctx).await;
    assert_eq!(out.status, JobStatus::Failed, "{:?}", rec.events());
    assert!(
        out.message.as_deref().unwrap_or_default().contains("ee:ff")
            || format!("{:?}", rec.events()).contains("fingerprint ee:ff"),
        "{:?}",
        rec.events()
    );
}
