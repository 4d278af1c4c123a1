//! The staged in-job `circleci` command, run for real: on the host through the `host/bin`
//! scripts, and inside a busybox-static image (no C library at all) through the container
//! folder, with the Docker Engine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use circa_exec::agent::{self, AgentDir, HALT_FILE, MASK_FILE};

const IMAGE: &str = "circa-test/busybox:latest";

fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_circa-agent"))
}

/// A staged agent folder in a fresh temporary folder.
fn staged() -> (tempfile::TempDir, AgentDir) {
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentDir::stage(&dir.path().join("agent"), &exe()).unwrap();
    (dir, agent)
}

/// Runs `program args` with `stdin`, environment additions `env` and working folder `cwd`.
fn run(program: &Path, args: &[&str], env: &[(&str, &str)], cwd: &Path, stdin: &str) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .env_remove("CIRCLE_NODE_INDEX")
        .env_remove("CIRCLE_NODE_TOTAL")
        .env_remove("CIRCLE_INTERNAL_TASK_DATA")
        .envs(env.iter().copied())
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn layout_is_complete() {
    let (_dir, agent) = staged();
    for name in ["circleci", "circleci-agent"] {
        let script = std::fs::read_to_string(agent.host_bin().join(name)).unwrap();
        assert!(script.starts_with("#!/bin/sh\nexec '/"), "{script}");
        assert!(
            script.ends_with(&format!(" __agent {name} \"$@\"\n")),
            "{script}"
        );
    }
    let mount = agent.container_mount();
    assert!(mount.join("circa").is_file());
    for name in ["circleci", "circleci-agent", "circa-agent"] {
        let script = std::fs::read_to_string(mount.join("bin").join(name)).unwrap();
        assert!(script.contains("/.circa-agent/circa __agent"), "{script}");
        let mode = std::fs::metadata(mount.join("bin").join(name))
            .unwrap()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
    }
    if !cfg!(target_feature = "crt-static") {
        let lib = mount.join("lib");
        assert!(lib.join(agent::LOADER_ALIAS).is_file());
        let names: Vec<String> = std::fs::read_dir(&lib)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().any(|n| n.starts_with("libc.so")), "{names:?}");
        assert!(!names.iter().any(|n| n.contains(".tmp.")), "{names:?}");
        // The first word of container_command is the loader under its fixed name.
        let argv = agent::container_command(&["circleci"]);
        assert_eq!(
            argv[0],
            format!("{}/lib/{}", agent::CONTAINER_DIR, agent::LOADER_ALIAS)
        );
    }
}

#[test]
fn staging_again_reuses_the_files_and_is_safe_in_parallel() {
    let (dir, agent) = staged();
    let circa = agent.container_mount().join("circa");
    let before = std::fs::metadata(&circa).unwrap().ino();
    AgentDir::stage(&dir.path().join("agent"), &exe()).unwrap();
    assert_eq!(std::fs::metadata(&circa).unwrap().ino(), before);

    let root = dir.path().join("parallel");
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let root = root.clone();
            std::thread::spawn(move || AgentDir::stage(&root, &exe()).map(|_| ()))
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
    let out = run(
        &root.join("host/bin/circleci"),
        &["tests", "split"],
        &[],
        dir.path(),
        "x\n",
    );
    assert_eq!(text(&out.stdout), "x\n");
}

#[test]
fn missing_binary_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = AgentDir::stage(dir.path(), &dir.path().join("nope")).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    std::fs::write(dir.path().join("script"), "#!/bin/sh\n").unwrap();
    let err = AgentDir::stage(&dir.path().join("a"), &dir.path().join("script")).unwrap_err();
    assert!(matches!(err, agent::AgentError::Libraries(_)), "{err}");
}

#[test]
fn host_scripts_split_across_nodes_covering_every_item_once() {
    let (dir, agent) = staged();
    let items: Vec<String> = (0..17).map(|i| format!("spec/test_{i:02}.rb")).collect();
    let input = items.join("\n") + "\n";
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for index in 0..3 {
        let index = index.to_string();
        let out = run(
            Path::new("sh"),
            &["-c", "circleci tests split --split-by=name --show-counts"],
            &[
                (
                    "PATH",
                    &format!(
                        "{}:{}",
                        agent.host_bin().display(),
                        std::env::var("PATH").unwrap()
                    ),
                ),
                ("CIRCLE_NODE_TOTAL", "3"),
                ("CIRCLE_NODE_INDEX", &index),
            ],
            dir.path(),
            &input,
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("of 17 items"),
            "{}",
            text(&out.stderr)
        );
        let stdout = text(&out.stdout);
        let lines: Vec<&str> = stdout.lines().collect();
        assert!((5..=6).contains(&lines.len()), "{lines:?}");
        for line in lines {
            *seen.entry(line.to_owned()).or_default() += 1;
        }
    }
    assert_eq!(seen.len(), items.len());
    assert!(seen.values().all(|&n| n == 1), "{seen:?}");

    // The circleci-agent spelling, and a usage error.
    let task = dir.path().join("task");
    std::fs::create_dir(&task).unwrap();
    let out = run(
        &agent.host_bin().join("circleci-agent"),
        &["step", "halt"],
        &[("CIRCLE_INTERNAL_TASK_DATA", task.to_str().unwrap())],
        dir.path(),
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(task.join(HALT_FILE).is_file());
    let out = run(
        &agent.host_bin().join("circleci"),
        &["tests", "bogus"],
        &[],
        dir.path(),
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("Usage"), "{}", text(&out.stderr));
}

#[test]
fn tests_run_on_the_host_feeds_the_command() {
    let (dir, agent) = staged();
    let out = run(
        &agent.host_bin().join("circleci"),
        &[
            "tests",
            "run",
            "--command",
            "xargs echo got:",
            "--index=1",
            "--total=2",
        ],
        &[],
        dir.path(),
        "a b c d",
    );
    assert_eq!(text(&out.stdout), "got: b d\n", "{}", text(&out.stderr));
}

// ---- inside containers ------------------------------------------------------------------

/// Builds the test images once per process.
fn images() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/test-images.sh");
        let status = Command::new("sh").arg(&script).status().unwrap();
        assert!(status.success(), "{} failed", script.display());
    });
}

/// `docker run --rm` with the agent mounted, extra `docker run` options, then the command.
fn docker(agent: &AgentDir, options: &[&str], command: &[&str], stdin: &str) -> Output {
    images();
    let mount = format!(
        "{}:{}:ro",
        agent.container_mount().display(),
        agent::CONTAINER_DIR
    );
    let mut args = vec!["run", "--rm", "-i", "-v", &mount];
    args.extend_from_slice(options);
    args.push(IMAGE);
    args.extend_from_slice(command);
    run(Path::new("docker"), &args, &[], Path::new("/"), stdin)
}

#[test]
fn split_in_an_image_without_a_c_library() {
    let (_dir, agent) = staged();
    let out = docker(
        &agent,
        &["-e", "CIRCLE_NODE_TOTAL=2", "-e", "CIRCLE_NODE_INDEX=1"],
        &[
            "sh",
            "-c",
            r#"printf "a\nb\nc\nd\n" | /.circa-agent/bin/circleci tests split"#,
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "b\nd\n");

    // As a user other than the files' owner, with the agent's bin on PATH.
    let out = docker(
        &agent,
        &["--user", "3434:3434", "-e", "PATH=/.circa-agent/bin:/bin"],
        &[
            "sh",
            "-c",
            "echo 'x=$X' | X=1 circleci env subst && circleci-agent tests split --total 3 --index 2 --show-counts",
        ],
        "one two three four five six",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "x=1\none\ntwo\n");
    assert!(
        text(&out.stderr).contains("2 of 6 items"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn glob_halt_and_mask_in_a_container() {
    let (dir, agent) = staged();
    let work = dir.path().join("work");
    std::fs::create_dir_all(work.join("spec/models")).unwrap();
    std::fs::write(work.join("spec/a_spec.rb"), "").unwrap();
    std::fs::write(work.join("spec/models/b_spec.rb"), "").unwrap();
    std::fs::write(work.join("spec/helper.rb"), "").unwrap();
    let task = dir.path().join("task");
    std::fs::create_dir(&task).unwrap();
    let work_mount = format!("{}:/work", work.display());
    let task_mount = format!("{}:/task", task.display());
    let out = docker(
        &agent,
        &[
            "-v",
            &work_mount,
            "-v",
            &task_mount,
            "-w",
            "/work",
            "-e",
            "CIRCLE_INTERNAL_TASK_DATA=/task",
        ],
        &[
            "sh",
            "-c",
            "/.circa-agent/bin/circleci tests glob 'spec/**/*_spec.rb' \
             && /.circa-agent/bin/circleci env mask hunter22 \
             && /.circa-agent/bin/circleci step halt",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "spec/a_spec.rb\nspec/models/b_spec.rb\n");
    assert!(task.join(HALT_FILE).is_file());
    assert!(task.join(MASK_FILE).is_file());
    let (values, _) = agent::read_mask_values(&task, 0);
    assert_eq!(values, ["hunter22"]);
}

#[test]
fn container_command_runs_without_a_shell() {
    let (_dir, agent) = staged();
    let argv = agent::container_command(&["circleci", "tests", "glob", "/.circa-agent/bin/*"]);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let out = docker(&agent, &["--entrypoint", argv[0]], &argv[1..], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "/.circa-agent/bin/circa-agent\n/.circa-agent/bin/circleci\n/.circa-agent/bin/circleci-agent\n"
    );
}

#[test]
fn keepalive_stops_at_once_on_docker_stop() {
    let (_dir, agent) = staged();
    images();
    let name = format!("circa-agent-test-{}", std::process::id());
    let mount = format!(
        "{}:{}:ro",
        agent.container_mount().display(),
        agent::CONTAINER_DIR
    );
    let argv = agent::container_command(&["keepalive"]);
    let mut args = vec![
        "run",
        "-d",
        "--name",
        &name,
        "-v",
        &mount,
        "--entrypoint",
        &argv[0],
        IMAGE,
    ];
    args.extend(argv[1..].iter().map(String::as_str));
    let out = run(Path::new("docker"), &args, &[], Path::new("/"), "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    // An exec'd process that leaves an orphan behind, reaped by the keep-alive.
    let exec = run(
        Path::new("docker"),
        &["exec", &name, "sh", "-c", "sleep 0.1 & echo ok"],
        &[],
        Path::new("/"),
        "",
    );
    let started = std::time::Instant::now();
    let stop = run(
        Path::new("docker"),
        &["stop", "-t", "20", &name],
        &[],
        Path::new("/"),
        "",
    );
    let elapsed = started.elapsed();
    let inspect = run(
        Path::new("docker"),
        &["inspect", "-f", "{{.State.ExitCode}}", &name],
        &[],
        Path::new("/"),
        "",
    );
    let _ = run(
        Path::new("docker"),
        &["rm", "-f", &name],
        &[],
        Path::new("/"),
        "",
    );
    assert_eq!(text(&exec.stdout), "ok\n", "{}", text(&exec.stderr));
    assert!(stop.status.success(), "{}", text(&stop.stderr));
    assert!(elapsed.as_secs() < 10, "docker stop took {elapsed:?}");
    assert_eq!(text(&inspect.stdout).trim(), "0");
}
