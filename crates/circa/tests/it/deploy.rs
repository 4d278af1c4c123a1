//! The files to deploy Circa, checked with the real tools: the container image built by
//! `scripts/stage-image.sh` and `docker build` answers `/healthz` under `docker run` (and its
//! git mirrors a repository), the Kubernetes base validates strictly after `kubectl kustomize`,
//! and `systemd-analyze verify` has nothing to say about the units.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::server_harness::Repo;

/// The repository's root.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(command: &mut Command) -> Output {
    let output = command.output().expect("the program runs");
    assert!(output.status.success(), "{command:?}: {output:?}");
    output
}

/// Whether a tool the test needs is there; when not, skipped with a note unless `require`
/// (a `CI_REQUIRE_*` variable) is set to 1, which fails the test instead.
fn available(tool: &str, works: bool, require: &str) -> bool {
    if !works {
        assert!(
            !std::env::var(require).is_ok_and(|v| v == "1"),
            "{require}=1 but {tool} is not available"
        );
        eprintln!("{tool}: skipped, the test passes without running");
    }
    works
}

fn docker_up() -> bool {
    Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// An image and a container removed when the test ends, however it ends.
struct Docker {
    image: String,
    container: Option<String>,
}

impl Drop for Docker {
    fn drop(&mut self) {
        if let Some(container) = &self.container {
            let _ = Command::new("docker")
                .args(["rm", "-f", container])
                .output();
        }
        let _ = Command::new("docker")
            .args(["rmi", "-f", &self.image])
            .output();
    }
}

/// GETs `/healthz` at `addr` (HOST:PORT) until it answers `ok`.
async fn healthy(addr: &str, within: Duration) -> bool {
    let url = format!("http://{addr}/healthz");
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(&url).await
            && r.status().is_success()
            && r.text().await.is_ok_and(|t| t == "ok")
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_image_runs_the_server_and_its_git() {
    if !available("docker", docker_up(), "CI_REQUIRE_DOCKER") {
        return;
    }
    let context = tempfile::tempdir().unwrap();
    let staged = context.path().join("context");
    run(Command::new(repo_root().join("scripts/stage-image.sh"))
        .arg(env!("CARGO_BIN_EXE_circa"))
        .arg(&staged));
    let mut docker = Docker {
        image: format!("circa-it/server:{}", std::process::id()),
        container: None,
    };
    run(Command::new("docker")
        .args(["build", "-q", "-t", &docker.image])
        .arg(&staged));
    let started = run(Command::new("docker")
        .args(["run", "-d", "-p", "127.0.0.1::8080", &docker.image])
        .args(["server", "--listen", "0.0.0.0:8080"]));
    let container = String::from_utf8(started.stdout)
        .unwrap()
        .trim()
        .to_string();
    docker.container = Some(container.clone());
    let port = run(Command::new("docker").args(["port", &container, "8080/tcp"]));
    let addr = String::from_utf8(port.stdout).unwrap();
    let addr = addr.lines().next().expect("a published port").trim();
    let logs = || {
        let out = Command::new("docker").args(["logs", &container]).output();
        out.map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
    };
    assert!(
        healthy(addr, Duration::from_secs(60)).await,
        "/healthz at {addr}: {:?}",
        logs()
    );
    let user =
        run(Command::new("docker").args(["inspect", "-f", "{{.Config.User}}", &docker.image]));
    assert_eq!(String::from_utf8_lossy(&user.stdout).trim(), "10001:10001");

    // The staged git mirrors a repository (local transport: git, its upload-pack and sh).
    let repo = Repo::new("version: 2.1\n");
    let meta = std::fs::metadata(repo.path()).unwrap();
    let mirrored = run(Command::new("docker")
        .args([
            "run",
            "--rm",
            "--user",
            &format!("{}:{}", meta.uid(), meta.gid()),
        ])
        .arg("-v")
        .arg(format!("{}:/repo:ro", repo.path().display()))
        .args(["--entrypoint", "/usr/bin/git", &docker.image])
        .args(["clone", "-q", "--mirror", "/repo", "/tmp/mirror"]));
    assert!(mirrored.stderr.is_empty(), "{mirrored:?}");
}

/// `kubernetes-validate`: `$CIRCA_TEST_KUBERNETES_VALIDATE`, else on PATH.
fn kubernetes_validate() -> Option<PathBuf> {
    let path = std::env::var_os("CIRCA_TEST_KUBERNETES_VALIDATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("kubernetes-validate"));
    let works = Command::new(&path)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    works.then_some(path)
}

#[test]
fn the_kubernetes_base_validates_strictly() {
    let tool = kubernetes_validate();
    let kubectl = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    let tools = tool.is_some() && kubectl;
    if !available(
        "kubectl and kubernetes-validate",
        tools,
        "CI_REQUIRE_KUBE_VALIDATE",
    ) {
        return;
    }
    let rendered = run(Command::new("kubectl")
        .arg("kustomize")
        .arg(repo_root().join("deploy/k8s")));
    let text = String::from_utf8(rendered.stdout).unwrap();
    for kind in [
        "kind: Deployment",
        "kind: Service",
        "kind: Ingress",
        "kind: HorizontalPodAutoscaler",
        "kind: PodDisruptionBudget",
        "kind: ConfigMap",
    ] {
        assert!(text.contains(kind), "{kind} missing");
    }
    // Secrets are referenced, never written into the base.
    assert!(!text.contains("kind: Secret"), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("circa.yaml");
    std::fs::write(&file, &text).unwrap();
    let checked = Command::new(tool.unwrap())
        .args(["--strict", "--quiet"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(checked.status.success(), "{checked:?}");
    assert!(
        checked.stdout.is_empty() && checked.stderr.is_empty(),
        "{checked:?}"
    );
}

#[test]
fn systemd_analyze_verify_has_nothing_to_say_about_the_units() {
    let works = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !available("systemd-analyze", works, "CI_REQUIRE_SYSTEMD_ANALYZE") {
        return;
    }
    // `verify` wants ExecStart's program to exist: the units are checked as written, with the
    // binary's path pointed at the one this test runs.
    let dir = tempfile::tempdir().unwrap();
    let mut units = Vec::new();
    for name in ["circa-server.service", "circa-runner.service"] {
        let text = std::fs::read_to_string(repo_root().join("deploy/systemd").join(name)).unwrap();
        assert!(text.contains("ExecStart=/usr/local/bin/circa "), "{name}");
        let text = text.replace("/usr/local/bin/circa", env!("CARGO_BIN_EXE_circa"));
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        units.push(path);
    }
    let checked = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(&units)
        .output()
        .unwrap();
    assert!(checked.status.success(), "{checked:?}");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&checked.stderr),
        String::from_utf8_lossy(&checked.stdout)
    );
    assert!(said.trim().is_empty(), "systemd-analyze verify: {said}");
}
