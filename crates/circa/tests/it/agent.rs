//! `circa __agent NAME ARGS...`: the hidden entry point of the in-job `circleci` command,
//! staged with the real `circa` binary and run through its host script.

use std::io::Write;
use std::process::{Command, Stdio};

use circa_exec::agent::AgentDir;

#[test]
fn staged_circa_splits_and_reports_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentDir::stage(
        dir.path(),
        std::path::Path::new(env!("CARGO_BIN_EXE_circa")),
    )
    .unwrap();
    let run = |args: &[&str], stdin: &str| {
        let mut child = Command::new(agent.host_bin().join("circleci"))
            .args(args)
            .env("CIRCLE_NODE_TOTAL", "2")
            .env("CIRCLE_NODE_INDEX", "1")
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
    };
    let out = run(&["tests", "split", "--split-by", "name"], "a\nb\nc\nd\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "b\nd\n");
    // Flags after the program name reach the agent, not circa's own parser.
    let out = run(&["--help"], "");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("circleci tests split"));
    let out = run(&["tests", "split", "--bogus"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown flag: --bogus"));
}
