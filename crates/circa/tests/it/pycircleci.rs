//! A client no one here wrote: PyPI's `pycircleci` (pinned in `.ci/run`), unchanged, drives a
//! real server through `tests/py/pycircleci_walk.py`. `CIRCA_TEST_PYCIRCLECI` names the Python
//! of a venv that has it; without it the test is skipped, unless `CI_REQUIRE_PYCIRCLECI=1`.

use std::process::Command;

use crate::api_fixture::Fixture;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pycircleci_drives_the_server_unchanged() {
    let Some(python) = std::env::var_os("CIRCA_TEST_PYCIRCLECI") else {
        assert!(
            std::env::var("CI_REQUIRE_PYCIRCLECI").as_deref() != Ok("1"),
            "CI_REQUIRE_PYCIRCLECI=1 but CIRCA_TEST_PYCIRCLECI is not set"
        );
        eprintln!("skipped: CIRCA_TEST_PYCIRCLECI is not set (see .ci/run)");
        return;
    };
    let f = Fixture::start().await;
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/pycircleci_walk.py");
    let openapi = crate::corpus().join("api/circleci-api-v2.openapi.json");
    let url = f.api.url.clone();
    let token = f.api.token.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .args([&url, &token])
            .arg(openapi)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("pycircleci walk:"), "{stdout}");
}
