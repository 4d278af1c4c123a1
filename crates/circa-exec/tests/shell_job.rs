//! Whole jobs on the shell executor: every built-in step, `when`, halting, timeouts,
//! background steps, the environment and masking.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use circa_config::yaml::{Limits, load};
use circa_exec::agent::AgentDir;
use circa_exec::events::{EventKind, Recorder, Reporter, StepStatus};
use circa_exec::job::{JobContext, JobOutcome, Vcs, run_job};
use circa_exec::shell::ShellExecutor;
use circa_model::{JobSpec, JobStatus};

static RUN: AtomicU32 = AtomicU32::new(0);

struct Harness {
    dir: tempfile::TempDir,
}

impl Harness {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn ctx(&self, config: &str, job: &str) -> JobContext {
        let root = load(config, &Limits::default()).root.unwrap();
        let spec = JobSpec::from_processed(&root, job).unwrap();
        let n = RUN.fetch_add(1, Ordering::SeqCst);
        let run_id = format!("test-{}-{n}", std::process::id());
        let mut ctx = JobContext::standalone(spec, self.path(), &run_id).unwrap();
        ctx.vcs = Vcs {
            branch: Some("main".into()),
            sha1: "0123456789abcdef0123456789abcdef01234567".into(),
            repository_url: "https://example.com/acme/app.git".into(),
            project_username: "acme".into(),
            project_reponame: "app".into(),
            username: "dev".into(),
            ..Vcs::default()
        };
        ctx.ids.workflow_id = "wf-1".into();
        ctx.ids.build_num = 7;
        ctx
    }

    async fn run(&self, ctx: &JobContext) -> (JobOutcome, Arc<Recorder>) {
        let recorder = Arc::new(Recorder::new());
        let reporter = Reporter::new(recorder.clone(), ctx.job_name.clone(), ctx.node);
        let mut ex = ShellExecutor::new(self.path().join("jobs").join(&ctx.run_id), false);
        let outcome = run_job(&mut ex, ctx, &reporter).await;
        (outcome, recorder)
    }
}

fn step_statuses(rec: &Recorder) -> Vec<(usize, StepStatus)> {
    rec.events()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::StepFinished { step, status, .. } => Some((step, status)),
            _ => None,
        })
        .collect()
}

fn job(steps: &str) -> String {
    format!(
        "jobs:\n  build:\n    machine: true\n    environment: {{JOB_VAR: job, SHARED: job}}\n    steps:\n{steps}"
    )
}

#[tokio::test]
async fn when_conditions_follow_a_failure() {
    let h = Harness::new();
    let ctx = h.ctx(
        &job(r#"      - run: echo first
      - run: exit 3
      - run: echo skipped-on-success
      - run: {command: echo always-ran, when: always}
      - run: {command: echo fail-ran, when: on_fail}
"#),
        "build",
    );
    let (out, rec) = h.run(&ctx).await;
    assert_eq!(out.status, JobStatus::Failed);
    assert_eq!(
        step_statuses(&rec),
        vec![
            (0, StepStatus::Success),
            (1, StepStatus::Failed),
            (3, StepStatus::Success),
            (4, StepStatus::Success)
        ]
    );
    let log = rec.output("build", 0);
    assert!(log.contains("always-ran") && log.contains("fail-ran"));
    assert!(!log.contains("skipped-on-success"));
}

#[tokio::test]
async fn bash_env_is_sourced_before_every_run() {
    let h = Harness::new();
    let ctx = h.ctx(
        &job(
            r#"      - run: echo 'export FROM_BASH_ENV=yes' >> "$BASH_ENV"
      - run: echo "value=$FROM_BASH_ENV"
      - run: {command: echo "sh-value=$FROM_BASH_ENV", shell: /bin/sh -e}
"#,
        ),
        "build",
    );
    let (out, rec) = h.run(&ctx).await;
    assert_eq!(out.status, JobStatus::Success, "{:?}", rec.events());
    let log = rec.output("build", 0);
    assert!(log.contains("value=yes"), "{log}");
    assert!(log.contains("sh-value=yes"), "{log}");
}

#[tokio::test]
async fn environment_precedence_matches_circleci() {
    let h = Harness::new();
    let mut ctx = h.ctx(
        &job(r#"      - run:
          environment: {SHARED: step}
          command: |
            echo "shared=$SHARED job=$JOB_VAR project=$PROJECT_ONLY ci=$CI circle=$CIRCLECI"
            echo "branch=$CIRCLE_BRANCH sha=$CIRCLE_SHA1 job_name=$CIRCLE_JOB build=$CIRCLE_BUILD_NUM"
            echo "node=$CIRCLE_NODE_INDEX/$CIRCLE_NODE_TOTAL wd=$CIRCLE_WORKING_DIRECTORY pwd=$(pwd)"
            echo "overridden=$CIRCLE_BRANCH_OVERRIDE_TEST ctx=$CTX"
"#),
        "build",
    );
    ctx.project_env.insert("PROJECT_ONLY".into(), "p".into());
    ctx.project_env.insert("SHARED".into(), "project".into());
    ctx.project_env.insert("CTX".into(), "project".into());
    ctx.context_env.insert("CTX".into(), "context".into());
    // A project variable cannot override a built-in.
    ctx.project_env.insert("CIRCLE_JOB".into(), "nope".into());
    let (out, rec) = h.run(&ctx).await;
    assert_eq!(out.status, JobStatus::Success);
    let log = rec.output("build", 0);
    assert!(
        log.contains("shared=step job=job project=p ci=true circle=true"),
        "{log}"
    );
    assert!(
        log.contains(
            "branch=main sha=0123456789abcdef0123456789abcdef01234567 job_name=build build=7"
        ),
        "{log}"
    );
    assert!(log.contains("ctx=context"), "{log}");
    let wd_line = log.lines().find(|l| l.starts_with("node=")).unwrap();
    assert!(wd_line.starts_with("node=0/1 wd=/"), "{wd_line}");
    let wd = wd_line
        .split("wd=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    assert!(wd.ends_with("/project"));
    assert!(wd_line.ends_with(&format!("pwd={wd}")), "{wd_line}");
}

#[tokio::test]
async fn secrets_are_masked_even_across_chunks() {
    let h = Harness::new();
    let mut ctx = h.ctx(
        &job(r#"      - run: |
          printf 'token is s3cr'; sleep 0.3; printf 'et-value!\n'
          echo "again: $MY_TOKEN"
"#),
        "build",
    );
    ctx.project_env
        .insert("MY_TOKEN".into(), "s3cret-value".into());
    ctx.secrets.push("s3cret-value".into());
    let (out, rec) = h.run(&ctx).await;
    assert_eq!(out.status, JobStatus::Success);
    let log = rec.output("build", 0);
    assert!(!log.contains("s3cret"), "{log}");
    assert!(log.contains("token is ********!"), "{log}");
    assert!(log.contains("again: ********"), "{log}");
}

#[tokio::test]
async fn no_output_timeout_ends_the_job_as_timedout() {
    let h = Harness::new();
    let ctx = h.ctx(
        &job(
            r#"      - run: {command: "echo start; sleep 30", no_output_timeout: 1s}
      - run: {command: echo never, when: always}
"#,
        ),
        "build",
    );
    let t0 = std::time::Instant::now();
    let (out, rec) = h.run(&ctx).await;
    assert!(t0.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(out.status, JobStatus::Timedout);
    assert_eq!(step_statuses(&rec), vec![(0, StepStatus::Timedout)]);
    assert!(out.message.unwrap().contains("no output"));
}

#[tokio::test]
async fn background_steps_run_alongside_later_steps() {
    let h = Harness::new();
    let ctx = h.ctx(
        &job(r#"      - run: {command: "echo bg-up > bg.txt; sleep 30", background: true, name: server}
      - run: for i in $(seq 1 50); do [ -f bg.txt ] && break; sleep 0.1; done; cat bg.txt
"#),
        "build",
    );
    let t0 = std::time::Instant::now();
    let (out, rec) = h.run(&ctx).await;
    assert_eq!(out.status, JobStatus::Success);
    assert!(t0.elapsed() < std::time::Duration::from_secs(20));
    assert!(rec.output("build", 0).contains("bg-up"));
}

#[tokio::test]
async fn halt_ends_the_job_successfully() {
    let h = Harness::new();
    let ctx = h.ctx(
        &job(r#"      - run: touch "$CIRCLE_INTERNAL_TASK_DATA/halt"
      - run: exit 1
"#),
        "build",
    );
    let (out, rec) = h.run(&ctx).await;
    assert_eq!(out.status, JobStatus::Success);
    assert_eq!(step_statuses(&rec), vec![(0, StepStatus::Success)]);
}

#[tokio::test]
async fn caches_are_saved_and_restored_by_prefix_most_recent_first() {
    let h = Harness::new();
    let save = |content: &str, key: &str| {
        job(&format!(
            r#"      - run: mkdir -p deps && echo {content} > deps/lib.txt
      - save_cache: {{key: '{key}', paths: [deps]}}
"#
        ))
    };
    let (o1, _) = h
        .run(&h.ctx(&save("one", "deps-v1-{{ .Branch }}-a"), "build"))
        .await;
    assert_eq!(o1.status, JobStatus::Success);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let (o2, _) = h
        .run(&h.ctx(&save("two", "deps-v1-{{ .Branch }}-b"), "build"))
        .await;
    assert_eq!(o2.status, JobStatus::Success);
    // Immutable keys: saving the same key again keeps the first content.
    let (o3, rec3) = h
        .run(&h.ctx(&save("three", "deps-v1-{{ .Branch }}-b"), "build"))
        .await;
    assert_eq!(o3.status, JobStatus::Success);
    assert!(format!("{:?}", rec3.events()).contains("cache already exists"));

    let restore = job(
        r#"      - restore_cache: {keys: ['deps-v9-nothing', 'deps-v1-{{ .Branch }}-']}
      - run: cat deps/lib.txt
"#,
    );
    let (out, rec) = h.run(&h.ctx(&restore, "build")).await;
    assert_eq!(out.status, JobStatus::Success, "{:?}", rec.events());
    assert!(rec.output("build", 0).contains("two"));

    let miss = job("      - restore_cache: {key: nothing-here}\n      - run: test ! -e deps\n");
    let (out, rec) = h.run(&h.ctx(&miss, "build")).await;
    assert_eq!(out.status, JobStatus::Success);
    assert!(format!("{:?}", rec.events()).contains("No cache is found"));
}

#[tokio::test]
async fn workspace_flows_across_three_jobs() {
    let h = Harness::new();
    let config = r#"
jobs:
  a:
    machine: true
    steps:
      - run: mkdir -p out && echo from-a > out/a.txt
      - persist_to_workspace: {root: out, paths: [a.txt]}
  b:
    machine: true
    steps:
      - attach_workspace: {at: ws}
      - run: cat ws/a.txt && echo from-b > ws/b.txt
      - persist_to_workspace: {root: ws, paths: ["*.txt"]}
  c:
    machine: true
    steps:
      - attach_workspace: {at: /tmp/IGNORED}
"#;
    let (oa, _) = h.run(&h.ctx(config, "a")).await;
    assert_eq!(oa.status, JobStatus::Success);
    let mut b = h.ctx(config, "b");
    b.upstream = vec!["a".into()];
    let (ob, rb) = h.run(&b).await;
    assert_eq!(ob.status, JobStatus::Success, "{:?}", rb.events());
    assert!(rb.output("b", 0).contains("from-a"));
    let config_c = config.replace("/tmp/IGNORED", "w");
    let mut c = h.ctx(&config_c, "c");
    c.spec.steps.push(
        JobSpec::from_processed(
            &load(
                "jobs:\n  x:\n    machine: true\n    steps:\n      - run: cat w/a.txt w/b.txt\n",
                &Limits::default(),
            )
            .root
            .unwrap(),
            "x",
        )
        .unwrap()
        .steps
        .remove(0),
    );
    c.upstream = vec!["a".into(), "b".into()];
    let (oc, rc) = h.run(&c).await;
    assert_eq!(oc.status, JobStatus::Success, "{:?}", rc.events());
    let log = rc.output("c", 0);
    assert!(log.contains("from-a") && log.contains("from-b"), "{log}");
}

#[tokio::test]
async fn artifacts_and_test_results_are_stored() {
    let h = Harness::new();
    let corpus = corpus_junit();
    let ctx = h.ctx(
        &job(&format!(
            r#"      - run: mkdir -p reports out/sub && echo hello > out/sub/x.txt && cp {corpus}/*.xml reports/
      - run: exit 1
      - store_artifacts: {{path: out, destination: build-output}}
      - store_test_results: {{path: reports}}
"#,
            corpus = corpus.display()
        )),
        "build",
    );
    let (out, rec) = h.run(&ctx).await;
    assert_eq!(out.status, JobStatus::Failed);
    assert_eq!(out.artifacts, vec!["build-output/sub/x.txt".to_string()]);
    assert_eq!(
        std::fs::read_to_string(h.path().join("artifacts/build/build-output/sub/x.txt")).unwrap(),
        "hello\n"
    );
    let (tests, _failures) = out.tests.unwrap();
    assert!(tests > 0);
    let events = format!("{:?}", rec.events());
    // The corrupt report is named, the others are counted.
    assert!(events.contains("not a JUnit XML report"), "{events}");
}

#[tokio::test]
async fn checkout_clones_the_repository_at_the_commit() {
    let h = Harness::new();
    let repo = h.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(&repo)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("README"), "hi").unwrap();
    git(&["add", "."]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-qm",
        "first",
    ]);
    let sha = git(&["rev-parse", "HEAD"]);
    let mut ctx = h.ctx(
        &job("      - checkout\n      - run: cat README && git rev-parse HEAD && git rev-parse --abbrev-ref HEAD\n"),
        "build",
    );
    ctx.vcs.sha1 = sha.clone();
    ctx.vcs.repo_dir = Some(repo.clone());
    let (out, rec) = h.run(&ctx).await;
    assert_eq!(out.status, JobStatus::Success, "{:?}", rec.events());
    let log = rec.output("build", 0);
    assert!(
        log.contains("hi") && log.contains(&sha) && log.contains("main"),
        "{log}"
    );
}

#[tokio::test]
async fn checkout_fetches_from_the_repository_url_without_a_local_repository() {
    let h = Harness::new();
    let repo = h.path().join("remote");
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(&repo)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let commit = |text: &str| {
        std::fs::write(repo.join("README"), text).unwrap();
        git(&["add", "."]);
        git(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            text,
        ]);
        git(&["rev-parse", "HEAD"])
    };
    git(&["init", "-q", "-b", "main"]);
    let first = commit("first");
    commit("second");
    let mut ctx = h.ctx(
        &job("      - checkout\n      - run: cat README && git rev-parse HEAD && git rev-parse --abbrev-ref HEAD\n"),
        "build",
    );
    // An older commit than the branch head, from a URL rather than a local folder.
    ctx.vcs.sha1 = first.clone();
    ctx.vcs.repository_url = format!("file://{}", repo.display());
    ctx.vcs.repo_dir = None;
    let (out, rec) = h.run(&ctx).await;
    assert_eq!(out.status, JobStatus::Success, "{:?}", rec.events());
    let log = rec.output("build", 0);
    assert!(
        log.contains("first")
            && !log.contains("second")
            && log.contains(&first)
            && log.contains("main"),
        "{log}"
    );

    // A repository that cannot be reached fails the step with git's reason.
    let mut ctx = h.ctx(&job("      - checkout\n"), "build");
    ctx.vcs.repository_url = format!("file://{}", h.path().join("missing").display());
    let (out, rec) = h.run(&ctx).await;
    assert_eq!(out.status, JobStatus::Failed);
    assert!(format!("{:?}", rec.events()).contains("checkout: git fetch failed"));
}

#[tokio::test]
async fn cancel_stops_a_running_step() {
    let h = Harness::new();
    let ctx = h.ctx(&job("      - run: sleep 30\n"), "build");
    let cancel = ctx.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        cancel.cancel();
    });
    let t0 = std::time::Instant::now();
    let (out, _) = h.run(&ctx).await;
    assert_eq!(out.status, JobStatus::Canceled);
    assert!(t0.elapsed() < std::time::Duration::from_secs(10));
}

fn staged_agent(dir: &Path) -> AgentDir {
    AgentDir::stage(
        &dir.join("agent"),
        Path::new(env!("CARGO_BIN_EXE_circa-agent")),
    )
    .unwrap()
}

#[tokio::test]
async fn parallel_nodes_split_tests_exactly_once() {
    let h = Harness::new();
    let agent = staged_agent(h.path());
    let config = r#"
jobs:
  build:
    machine: true
    parallelism: 3
    steps:
      - run: |
          mkdir -p tests/unit tests/e2e
          for i in 1 2 3 4 5 6 7 8 9 10 11; do echo "def test(): pass" > tests/unit/test_$i.py; done
          echo x > tests/e2e/test_flow.py
      - run: |
          circleci tests glob "tests/**/*.py" | circleci tests split --split-by=name > mine.txt
          sed 's/^/MINE /' mine.txt
"#;
    let mut seen: Vec<String> = Vec::new();
    for node in 0..3 {
        let mut ctx = h.ctx(config, "build");
        ctx.node = node;
        ctx.agent = agent.clone();
        let (out, rec) = h.run(&ctx).await;
        assert_eq!(out.status, JobStatus::Success, "{:?}", rec.events());
        let log = rec.output("build", node);
        let mine: Vec<String> = log
            .lines()
            .filter_map(|l| l.strip_prefix("MINE "))
            .map(str::to_string)
            .collect();
        assert!(!mine.is_empty(), "node {node} got nothing: {log}");
        seen.extend(mine);
    }
    seen.sort();
    let mut expected: Vec<String> = (1..=11)
        .map(|i| format!("tests/unit/test_{i}.py"))
        .collect();
    expected.push("tests/e2e/test_flow.py".to_string());
    expected.sort();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn a_job_can_add_a_value_to_mask() {
    let h = Harness::new();
    let mut ctx = h.ctx(
        &job(r#"      - run: |
          TOKEN=generated-$$-token
          circleci env mask "$TOKEN"
          echo "the token is $TOKEN"
      - run: echo "later generated-$PPID" ; cat /dev/null
"#),
        "build",
    );
    ctx.agent = staged_agent(h.path());
    let (out, rec) = h.run(&ctx).await;
    assert_eq!(out.status, JobStatus::Success, "{:?}", rec.events());
    let log = rec.output("build", 0);
    assert!(log.contains("the token is ********"), "{log}");
    assert!(!log.contains("-token"), "{log}");
}

/// A zstd tar whose one entry is named `name` raw (the builder would refuse `..`).
fn hostile_archive(name: &str) -> Vec<u8> {
    let data = b"pwned";
    let mut header = tar::Header::new_old();
    header.as_mut_bytes()[..name.len()].copy_from_slice(name.as_bytes());
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o644);
    header.set_size(data.len() as u64);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, &data[..]).unwrap();
    zstd::encode_all(&builder.into_inner().unwrap()[..], 3).unwrap()
}

#[tokio::test]
async fn a_hostile_cache_archive_is_refused_and_writes_nothing_outside() {
    let h = Harness::new();
    let ctx = h.ctx(&job("      - restore_cache: {key: evil}\n"), "build");
    ctx.stores
        .caches
        .save(
            "evil-1",
            &hostile_archive("../../../../escaped-cache.txt")[..],
        )
        .unwrap();
    let (out, rec) = h.run(&ctx).await;
    assert_eq!(out.status, JobStatus::Failed, "{:?}", rec.events());
    assert!(out.message.unwrap().contains("evil-1"));
    let found = walk(h.path())
        .into_iter()
        .find(|p| p.ends_with("escaped-cache.txt"));
    assert_eq!(found, None);
    assert!(!Path::new("/escaped-cache.txt").exists());
}

#[tokio::test]
async fn a_hostile_workspace_layer_is_refused_and_writes_nothing_outside() {
    let h = Harness::new();
    let mut ctx = h.ctx(&job("      - attach_workspace: {at: ws}\n"), "build");
    ctx.upstream = vec!["evil".into()];
    // Persist a real layer for job `evil`, then replace its contents with a hostile archive.
    let src = h.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), "x").unwrap();
    let layer = ctx
        .stores
        .workspaces
        .persist("wf-1", "evil", &src, &["f".to_string()])
        .unwrap();
    std::fs::write(&layer.path, hostile_archive("../../escaped-layer.txt")).unwrap();
    let (out, rec) = h.run(&ctx).await;
    assert_eq!(out.status, JobStatus::Failed, "{:?}", rec.events());
    let found = walk(h.path())
        .into_iter()
        .find(|p| p.ends_with("escaped-layer.txt"));
    assert_eq!(found, None);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}

fn corpus_junit() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/junit");
    assert!(p.is_dir(), "the corpus is expected at {}", p.display());
    p
}
