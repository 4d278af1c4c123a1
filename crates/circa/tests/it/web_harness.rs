//! For the web UI's tests: a server with a runner and the admin's password, a browser session
//! over HTTP (cookies kept by hand), and headless Chromium driven through Debian's
//! `chromedriver`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use thirtyfour::prelude::*;

use crate::server_harness::{Api, RunnerProc, ServerProc};

/// A server, its admin API client, a runner, and the admin's web password.
pub struct Site {
    /// The server.
    pub server: ServerProc,
    /// The admin's API client.
    pub api: Api,
    /// The admin's password (from `DATA/admin.password`).
    pub password: String,
    _runner: RunnerProc,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

impl Site {
    /// A server with a shell runner of resource class `default`.
    pub async fn start() -> Site {
        let data = tempfile::tempdir().unwrap();
        let server = ServerProc::start(data.path(), 30);
        let api = server.client();
        let runner_dir = tempfile::tempdir().unwrap();
        let token = api.runner_token("default").await;
        let runner = RunnerProc::start(&server.url, &token, runner_dir.path(), 2);
        let password = std::fs::read_to_string(data.path().join("admin.password"))
            .expect("the server wrote the admin password at first start")
            .trim()
            .to_string();
        Site {
            server,
            api,
            password,
            _runner: runner,
            _dirs: (data, runner_dir),
        }
    }
}

/// Where screenshots go: `$CIRCA_SCREENSHOTS`, else `target/screenshots` in the checkout.
pub fn screenshots() -> PathBuf {
    let dir = std::env::var_os("CIRCA_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `chromedriver` and a headless Chromium session.
pub struct Browser {
    /// The WebDriver session.
    pub driver: WebDriver,
    chromedriver: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts Chromium through `chromedriver`, or says why not and returns `None` (a failure
/// instead when `CI_REQUIRE_BROWSER=1`).
pub async fn browser() -> Option<Browser> {
    let chromedriver = which("chromedriver");
    let chromium = which("chromium");
    let (Some(chromedriver), Some(chromium)) = (chromedriver, chromium) else {
        let note = "chromium and chromium-driver are not installed: browser test skipped \
                    (apt-get install chromium chromium-driver)";
        assert!(
            std::env::var("CI_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "{note}"
        );
        eprintln!("note: {note}");
        return None;
    };
    let port = free_port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{url}/status")).await.is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not answer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(&chromium.display().to_string()).unwrap();
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
    ] {
        caps.add_arg(arg).unwrap();
    }
    let driver = WebDriver::new(&url, caps)
        .await
        .expect("a Chromium session");
    Some(Browser {
        driver,
        chromedriver: child,
    })
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

impl Browser {
    /// Ends the browser session.
    pub async fn finish(self) {
        let _ = self.driver.clone().quit().await;
    }

    /// Signs in on the sign-in page.
    pub async fn sign_in(&self, base: &str, login: &str, password: &str) {
        self.driver.goto(format!("{base}/login")).await.unwrap();
        self.driver
            .find(By::Id("login"))
            .await
            .unwrap()
            .send_keys(login)
            .await
            .unwrap();
        self.driver
            .find(By::Id("password"))
            .await
            .unwrap()
            .send_keys(password)
            .await
            .unwrap();
        self.driver
            .find(By::Css("button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        self.until(
            Duration::from_secs(10),
            "the projects page",
            "return document.title.startsWith('Projects')",
        )
        .await;
    }

    /// The value of a JavaScript expression (`return …`).
    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.driver
            .execute(script, Vec::new())
            .await
            .map(|r| r.json().clone())
            .unwrap_or(serde_json::Value::Null)
    }

    /// Waits until a script returns `true`.
    pub async fn until(&self, timeout: Duration, what: &str, script: &str) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.eval(script).await == serde_json::Value::Bool(true) {
                return;
            }
            if Instant::now() > deadline {
                self.shot(&format!("timeout-{}", what.replace(' ', "-")))
                    .await;
                panic!("timed out waiting for {what}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until a script returns `true`, reloading the page between tries.
    pub async fn until_reloading(&self, timeout: Duration, what: &str, script: &str) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.eval(script).await == serde_json::Value::Bool(true) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(300)).await;
            self.driver.refresh().await.unwrap();
        }
    }

    /// Saves a screenshot as `NAME.png` in the screenshot folder.
    pub async fn shot(&self, name: &str) -> PathBuf {
        let path = screenshots().join(format!("{name}.png"));
        let _ = self.driver.screenshot(&path).await;
        path
    }

    /// Types `text` into the (emptied) form field a CSS selector finds.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self
            .driver
            .find(By::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Clicks the element a CSS selector finds.
    pub async fn click(&self, css: &str) {
        self.driver
            .find(By::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap();
    }
}
