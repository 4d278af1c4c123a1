//! `circa up` / `circa server` on a port that is taken: one clear line, a non-zero exit, and
//! no half-made data folder (one that did not exist is not left behind; one that did is left as
//! it was).

use std::net::TcpListener;
use std::path::Path;
use std::process::Output;

fn start(command: &str, listen: &str, data: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_circa"))
        .args([command, "--listen", listen, "--data-dir"])
        .arg(data)
        .env("CIRCA_LOG", "info")
        .env("NO_COLOR", "1")
        .env_remove("CIRCA_CONFIG")
        .env_remove("CIRCA_DATABASE_URL")
        .output()
        .unwrap()
}

/// The files under `dir`, sorted, as paths relative to it.
fn files(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

#[test]
fn a_taken_port_is_one_clear_line_and_leaves_no_data_folder() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    let root = tempfile::tempdir().unwrap();
    for command in ["up", "server"] {
        let fresh = root.path().join(format!("{command}-new/data"));
        let out = start(command, &listen, &fresh);
        assert_ne!(out.status.code(), Some(0), "{command}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("error: cannot listen on {listen}: address already in use\n"),
            "{command}"
        );
        assert!(out.stdout.is_empty(), "{command}: {:?}", out.stdout);
        assert!(
            !root.path().join(format!("{command}-new")).exists(),
            "{command} left a data folder behind"
        );

        let existing = root.path().join(format!("{command}-old"));
        std::fs::create_dir_all(&existing).unwrap();
        std::fs::write(existing.join("notes.txt"), "mine").unwrap();
        let out = start(command, &listen, &existing);
        assert_ne!(out.status.code(), Some(0), "{command}");
        assert_eq!(files(&existing), ["notes.txt"], "{command}");
        assert_eq!(
            std::fs::read_to_string(existing.join("notes.txt")).unwrap(),
            "mine"
        );
    }
}
