//! The data folder: made readable by its owner only, and used by one server at a time.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use crate::server_harness::ServerProc;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Runs `circa ARGS` on `data` until it exits (at most 60 s): (exit code, stderr).
fn run_on(data: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_circa"))
        .args(args)
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("CIRCA_ORB_DIR", data.join("orbs"))
        .env("CIRCA_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("a second server on a used data folder kept running");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_folder_is_private_and_held_by_one_server() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let server = ServerProc::start(&data, 30);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("circa.db")), 0o600);

    for command in [&["server"][..], &["up", "--executor", "shell"][..]] {
        let (code, stderr) = run_on(&data, command);
        assert_eq!(code, Some(2), "{command:?}: {stderr}");
        let complaint = stderr
            .lines()
            .find(|l| l.contains("in use by another Circa server"))
            .unwrap_or_else(|| panic!("{command:?}: {stderr}"));
        assert!(
            complaint.contains(&data.display().to_string()),
            "{complaint}"
        );
    }
    // The first server still answers.
    let (status, _) = server.client().get("/api/circa/projects").await;
    assert_eq!(status, 200);
}
