//! `circa local execute` end to end through the binary, on the shell executor: a workflow
//! with a workspace across three jobs and an approval, caches across two runs, secrets from an
//! env file, the JSON event stream, exit codes and the errors for bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A git repository with `config` as its `.circleci/config.yml`, committed on `main`.
pub struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    pub fn new(config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".circleci")).unwrap();
        std::fs::write(dir.path().join(".circleci/config.yml"), config).unwrap();
        std::fs::write(dir.path().join(".gitignore"), ".circa/\n").unwrap();
        let repo = Self { dir };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["add", "."]);
        repo.git(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "init",
        ]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    fn git(&self, args: &[&str]) {
        let out = Command::new("git")
            .arg("-C")
            .arg(self.path())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs `circa local execute ARGS` in the repository.
    pub fn execute(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_circa"))
            .arg("local")
            .arg("execute")
            .args(args)
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env_remove("CIRCA_LOCAL_DIR")
            .output()
            .unwrap()
    }

    pub fn data(&self) -> PathBuf {
        self.path().join(".circa/local")
    }
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

const WORKFLOW: &str = r#"
version: 2.1
jobs:
  build:
    machine: true
    steps:
      - checkout
      - run: mkdir -p out && cat README > out/one.txt
      - persist_to_workspace: {root: out, paths: [one.txt]}
  test:
    machine: true
    steps:
      - attach_workspace: {at: ws}
      - run: echo two >> ws/one.txt && cp ws/one.txt ws/two.txt
      - persist_to_workspace: {root: ws, paths: [two.txt]}
      - run: mkdir -p report && echo "report $API_KEY" > report/r.txt
      - store_artifacts: {path: report}
  deploy:
    machine: true
    steps:
      - attach_workspace: {at: ws}
      - run: cat ws/one.txt ws/two.txt && echo "deploy with $API_KEY"
workflows:
  main:
    jobs:
      - build
      - test: {requires: [build]}
      - hold: {type: approval, requires: [test]}
      - deploy: {requires: [hold]}
"#;

#[test]
fn a_workflow_passes_its_workspace_through_three_jobs_and_an_approval() {
    let repo = Repo::new(WORKFLOW);
    std::fs::write(repo.path().join("README"), "from-readme\n").unwrap();
    repo.git(&["add", "README"]);
    repo.git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-qm",
        "readme",
    ]);
    let env_file = repo.path().join("secrets.env");
    std::fs::write(&env_file, "API_KEY=sup3r-s3cret-key\n").unwrap();

    // Without the approval the workflow stops on hold and exits 1.
    let out = repo.execute(&[
        "--workflow",
        "main",
        "--env-file",
        env_file.to_str().unwrap(),
    ]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("pass --approve hold"), "{log}");
    assert!(log.contains("Workflow main: on_hold"), "{log}");
    assert!(!log.contains("deploy with"), "{log}");

    let out = repo.execute(&[
        "--workflow",
        "main",
        "--approve",
        "hold",
        "--env-file",
        env_file.to_str().unwrap(),
    ]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains("deploy| from-readme\ndeploy| from-readme\ndeploy| two\n"),
        "{log}"
    );
    assert!(log.contains("deploy with ********"), "{log}");
    assert!(!log.contains("sup3r"), "{log}");
    assert!(log.contains("Workflow main: success"), "{log}");
    // The artifact is listed at the end and is on disk.
    let artifact = repo.data().join("artifacts/test/node-0/report/r.txt");
    assert!(log.contains(&artifact.display().to_string()), "{log}");
    assert!(
        std::fs::read_to_string(&artifact)
            .unwrap()
            .starts_with("report ")
    );
}

#[test]
fn caches_survive_between_runs_and_the_json_stream_says_so() {
    let repo = Repo::new(
        r#"
version: 2.1
jobs:
  build:
    machine: true
    steps:
      - restore_cache: {keys: ['deps-{{ .Branch }}-', 'deps-']}
      - run: test -f ~/deps/stamp && echo "restored $(cat ~/deps/stamp)" || (mkdir -p ~/deps && date +%s%N > ~/deps/stamp && echo fresh)
      - save_cache: {key: 'deps-{{ .Branch }}-{{ epoch }}', paths: [~/deps]}
"#,
    );
    let first = repo.execute(&["build"]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert!(text(&first).contains("fresh"));
    let second = repo.execute(&["build", "--json"]);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&second.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let output: String = events
        .iter()
        .filter(|e| e["event"] == "output")
        .map(|e| e["text"].as_str().unwrap().to_string())
        .collect();
    assert!(output.contains("restored "), "{output}");
    let last = events.last().unwrap();
    assert_eq!(last["event"], "summary");
    assert_eq!(last["status"], "success");
    assert_eq!(last["jobs"][0]["job"], "build");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "job_finished" && e["status"] == "success")
    );
}

#[test]
fn a_failing_job_exits_1_with_its_status() {
    let repo = Repo::new(
        "version: 2.1\njobs:\n  build:\n    machine: true\n    steps:\n      - run: exit 4\n",
    );
    let out = repo.execute(&["build"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("exited with code 4"), "{log}");
    assert!(log.contains("Job: failed"), "{log}");
}

#[test]
fn an_unknown_job_or_workflow_lists_what_there_is() {
    let repo = Repo::new(WORKFLOW);
    let out = repo.execute(&["nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains(
            "no job named `nope`; jobs under `jobs:` (run with --param for their parameters): \
             build, test, deploy; jobs as the workflows invoke them: build, test, deploy"
        ),
        "{}",
        text(&out)
    );
    let out = repo.execute(&["--workflow", "nightly"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no workflow named `nightly`; the config has: main"));
    let out = repo.execute(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("the config has jobs: build, test, deploy"));
}

#[test]
fn a_broken_config_is_refused_with_its_position() {
    let repo = Repo::new(
        "version: 2.1\njobs:\n  build:\n    machine: true\n    steps:\n      - run: {}\n",
    );
    let out = repo.execute(&["build"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains(".circleci/config.yml:6:"),
        "{}",
        text(&out)
    );
}

#[test]
fn filters_decide_whether_a_workflow_runs_for_the_branch() {
    let repo = Repo::new(
        r#"
version: 2.1
jobs:
  build: {machine: true, steps: [{run: echo built}]}
workflows:
  release:
    jobs:
      - build: {filters: {branches: {only: release}}}
"#,
    );
    let out = repo.execute(&["--workflow", "release"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("skipped build"), "{}", text(&out));
    let out = repo.execute(&["--workflow", "release", "--branch", "release"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("built"));
}

/// The README's example, run from the top of this checkout, twice: the second run restores the
/// first one's cache and splits tests by its timings; both cover every test exactly once.
#[test]
fn the_readme_example_runs() {
    let top = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data = tempfile::tempdir().unwrap();
    for run in 0..2 {
        let out = Command::new(env!("CARGO_BIN_EXE_circa"))
            .args(["local", "execute", "-c", "examples/local/config.yml"])
            .args(["--workflow", "demo", "--approve-all", "--data-dir"])
            .arg(data.path())
            .current_dir(&top)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let log = text(&out);
        assert_eq!(out.status.code(), Some(0), "{log}");
        assert!(log.contains("Workflow demo: success"), "{log}");
        if run == 1 {
            assert!(
                log.contains("dependencies restored from the cache"),
                "{log}"
            );
        }
        let mut tests: Vec<&str> = log
            .lines()
            .filter_map(|l| l.split(" runs: ").nth(1))
            .flat_map(str::split_whitespace)
            .collect();
        tests.sort();
        assert_eq!(
            tests,
            ["alpha", "beta", "delta", "epsilon", "gamma"]
                .map(|t| format!("tests/test_{t}.txt"))
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            "{log}"
        );
    }
}

const DOCKER_JOB: &str = r#"
version: 2.1
jobs:
  build:
    docker:
      - image: circa-test/busybox:latest
    steps:
      - run: echo container-started && sleep 60
"#;

fn test_images() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/test-images.sh");
        assert!(Command::new(script).status().unwrap().success());
    });
}

#[test]
fn docker_down_suggests_the_shell_executor() {
    let repo = Repo::new(DOCKER_JOB);
    let out = Command::new(env!("CARGO_BIN_EXE_circa"))
        .args(["local", "execute", "build"])
        .current_dir(repo.path())
        .env("NO_COLOR", "1")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("infrastructure_fail"), "{log}");
    assert!(log.contains("cannot reach the Docker Engine"), "{log}");
    assert!(log.contains("--executor shell"), "{log}");
}

#[test]
fn ctrl_c_removes_the_jobs_containers() {
    test_images();
    let repo = Repo::new(DOCKER_JOB);
    let mut child = Command::new(env!("CARGO_BIN_EXE_circa"))
        .args(["local", "execute", "build", "--json"])
        .current_dir(repo.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let child_id = child.id();
    // Wait for the step to run, then interrupt.
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
        assert!(n > 0, "circa ended before the step ran: {seen}");
        seen.push_str(&line);
        if line.contains("container-started") {
            break;
        }
    }
    let pid_hex = format!("{child_id:x}");
    let ours = || {
        let out = Command::new("docker")
            .args(["ps", "-a", "--filter", "label=circa.run"])
            .args(["--format", "{{.Label \"circa.run\"}}"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains(&format!("-{pid_hex}-build-")))
            .count()
    };
    assert_eq!(ours(), 1, "the job's container is running: {seen}");
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let summary = rest.lines().last().unwrap_or_default().to_string();
    assert!(summary.contains("\"canceled\""), "{rest}");
    assert_eq!(child.wait().unwrap().code(), Some(1));
    // No container of this process is left.
    assert_eq!(ours(), 0, "containers left behind");
}
