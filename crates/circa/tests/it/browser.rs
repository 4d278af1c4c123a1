//! The web UI in a real browser: headless Chromium through `chromedriver` against a real
//! `circa server` and `circa runner`. Each test saves screenshots (see `web_harness::screenshots`).
//! Without Chromium the tests print a note and pass, unless `CI_REQUIRE_BROWSER=1`.

use std::time::{Duration, Instant};

use serde_json::json;
use thirtyfour::prelude::By;

use crate::server_harness::{Repo, github_push};
use crate::web_harness::{Site, browser};

const LONG: Duration = Duration::from_secs(60);

const SLOW: &str = r#"
version: 2.1
jobs:
  build:
    machine: true
    steps:
      - run:
          name: count slowly
          command: for i in 1 2 3 4 5 6 7 8; do echo "line $i"; sleep 0.5; done
  test:
    machine: true
    steps:
      - run: echo tested
workflows:
  main:
    jobs:
      - build
      - test: { requires: [build] }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_see_a_pushed_pipeline_and_its_log_grow_live() {
    let Some(b) = browser().await else { return };
    let site = Site::start().await;
    let repo = Repo::new("version: 2.1\njobs: {}\nworkflows: {}\n");
    b.sign_in(&site.server.url, "admin", &site.password).await;

    // The project is added through its form; its settings page shows the webhook.
    b.fill("#add-project #slug", "gh/acme/live").await;
    b.fill("#add-project #repo", repo.path().to_str().unwrap())
        .await;
    b.shot("project-add-form").await;
    b.click("#add-project button[type=submit]").await;
    b.until(
        LONG,
        "the new project's settings",
        "return document.title.startsWith('gh/acme/live settings')",
    )
    .await;
    let hook_url = b
        .eval("return document.getElementById('webhook-url').textContent")
        .await;
    let secret = b
        .eval("return document.getElementById('webhook-secret').textContent")
        .await;
    let hook_path = hook_url
        .as_str()
        .and_then(|u| u.strip_prefix(site.server.url.as_str()))
        .unwrap_or_else(|| panic!("webhook URL {hook_url} is not on {}", site.server.url))
        .to_string();
    let secret = secret.as_str().unwrap().to_string();
    b.shot("project-added").await;
    b.driver.goto(site.server.url.as_str()).await.unwrap();
    b.shot("projects").await;
    assert_eq!(
        b.eval("return document.querySelector('table.list a').textContent")
            .await,
        "gh/acme/live"
    );

    // A push: a new commit, then the forge's push webhook signed with the page's secret.
    let sha = repo.commit(SLOW, "count slowly");
    let body = github_push(repo.path(), "refs/heads/main", &sha, "count slowly");
    let status = site
        .api
        .github_hook(&hook_path, "push", &secret, body)
        .await;
    assert!(
        (200..300).contains(&status),
        "the webhook answered {status}"
    );
    b.driver
        .goto(format!("{}/projects/gh/acme/live", site.server.url))
        .await
        .unwrap();
    b.until_reloading(
        LONG,
        "the pipeline row",
        "return !!document.querySelector('#pipelines a')",
    )
    .await;
    b.click("#pipelines a").await;
    b.until(
        LONG,
        "the workflow graph",
        "return !!document.querySelector('svg.graph g.node')",
    )
    .await;
    b.until(
        LONG,
        "build to run",
        "return !!document.querySelector('g.node[data-status=running]')",
    )
    .await;
    assert_eq!(
        b.eval("return document.querySelector('h1 .status').textContent")
            .await,
        json!("running"),
        "the header shows the workflows' status"
    );
    b.shot("pipeline-running").await;
    b.click("svg.graph a").await;
    b.until(
        LONG,
        "the first lines live",
        "return (document.querySelector('pre.log')||{}).textContent?.includes('line 2') === true",
    )
    .await;
    let early = b
        .eval("return document.querySelector('pre.log').textContent")
        .await;
    assert!(
        !early.as_str().unwrap_or_default().contains("line 8"),
        "the log was already complete: {early}"
    );
    b.shot("job-live-log").await;
    b.until(
        LONG,
        "the log to grow to its last line",
        "return document.querySelector('pre.log').textContent.includes('line 8')",
    )
    .await;
    // When the job ends the page shows it finished, with the step recorded.
    b.until(
        LONG,
        "the job to succeed",
        "return document.getElementById('job-status')?.textContent === 'success'",
    )
    .await;
    b.driver
        .goto(format!(
            "{}/projects/gh/acme/live/pipelines/1",
            site.server.url
        ))
        .await
        .unwrap();
    b.until(
        LONG,
        "the workflow to succeed",
        "return document.querySelector('section.workflow')?.dataset.status === 'success'",
    )
    .await;
    b.shot("pipeline").await;
    b.finish().await;
}

const FAILS: &str = r#"
version: 2.1
jobs:
  build:
    machine: true
    steps:
      - run: echo "compiling"
      - run:
          name: run the tests
          command: |
            mkdir -p results
            printf '%s\n' '<testsuite name="unit" tests="3" failures="1">' \
              '<testcase classname="math" name="adds" time="0.4"/>' \
              '<testcase classname="math" name="divides" time="1.7"><failure message="expected 2, got 3">at divide.rs:7</failure></testcase>' \
              '<testcase classname="math" name="rounds" time="0.1"/>' '</testsuite>' > results/unit.xml
            echo "assertion failed: <script>window.pwned=1</script> expected 2"
            exit 3
      - run: echo "never"
      - store_test_results: { path: results }
  deploy:
    machine: true
    steps:
      - run: echo deployed
workflows:
  main:
    jobs:
      - build
      - deploy: { requires: [build] }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_job_opens_at_its_failing_step_and_reruns_from_failed() {
    let Some(b) = browser().await else { return };
    let site = Site::start().await;
    let repo = Repo::new(FAILS);
    site.api
        .add_project("gh/acme/fails", repo.path(), json!({}))
        .await;
    let pipeline = site
        .api
        .trigger("gh/acme/fails", json!({ "branch": "main" }))
        .await;
    site.api.finished(&pipeline, LONG).await;
    b.sign_in(&site.server.url, "admin", &site.password).await;
    b.driver
        .goto(format!("{}/projects/gh/acme/fails/jobs/1", site.server.url))
        .await
        .unwrap();
    let open = b
        .eval("return [...document.querySelectorAll('details.step[open] .stepname')].map(e => e.textContent)")
        .await;
    assert_eq!(open, json!(["run the tests"]));
    let log = b
        .eval("return document.querySelector('details.step[open] pre.log').textContent")
        .await;
    assert!(
        log.as_str()
            .unwrap()
            .contains("assertion failed: <script>window.pwned=1</script> expected 2"),
        "{log}"
    );
    assert_eq!(
        b.eval("return window.pwned === undefined").await,
        json!(true)
    );
    assert_eq!(
        b.eval("return document.querySelectorAll('pre.log script').length")
            .await,
        json!(0)
    );
    // Its test results: the failure first, with its message; the slowest tests after.
    assert_eq!(
        b.eval("return [...document.querySelectorAll('#tests .test-failures .testname')].map(e => e.textContent)")
            .await,
        json!(["math.divides"])
    );
    assert_eq!(
        b.eval("return document.querySelector('#tests .test-message').textContent")
            .await,
        json!("expected 2, got 3")
    );
    assert_eq!(
        b.eval("return [...document.querySelectorAll('#tests .test-slowest tbody td:first-child')].map(e => e.textContent)")
            .await,
        json!(["math.divides", "math.adds", "math.rounds"])
    );
    b.shot("job-failed").await;

    b.driver
        .goto(format!(
            "{}/projects/gh/acme/fails/pipelines/1",
            site.server.url
        ))
        .await
        .unwrap();
    b.click("button.rerun-failed").await;
    b.until(
        LONG,
        "the rerun workflow",
        "return document.querySelectorAll('section.workflow').length === 2",
    )
    .await;
    b.until(
        LONG,
        "the rerun to fail again at build",
        "return document.querySelectorAll('section.workflow')[1].dataset.status === 'failed'",
    )
    .await;
    b.shot("pipeline-rerun-from-failed").await;
    b.finish().await;
}

const HOLD: &str = r#"
version: 2.1
jobs:
  build:
    machine: true
    steps:
      - run: echo built
  deploy:
    machine: true
    steps:
      - run: sleep 2 && echo deployed
workflows:
  main:
    jobs:
      - build
      - hold: { type: approval, requires: [build] }
      - deploy: { requires: [hold] }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approving_a_hold_starts_the_downstream_job() {
    let Some(b) = browser().await else { return };
    let site = Site::start().await;
    let repo = Repo::new(HOLD);
    site.api
        .add_project("gh/acme/hold", repo.path(), json!({}))
        .await;
    site.api
        .trigger("gh/acme/hold", json!({ "branch": "main" }))
        .await;
    b.sign_in(&site.server.url, "admin", &site.password).await;
    b.driver
        .goto(format!(
            "{}/projects/gh/acme/hold/pipelines/1",
            site.server.url
        ))
        .await
        .unwrap();
    b.until(
        LONG,
        "the approve button",
        "return !!document.querySelector('button.approve')",
    )
    .await;
    b.shot("pipeline-on-hold").await;
    b.click("button.approve").await;
    b.until(
        LONG,
        "deploy to start",
        "const n = [...document.querySelectorAll('g.node')].find(n => n.querySelector('title').textContent.startsWith('deploy:')); \
         return !!n && ['queued', 'running', 'success'].includes(n.dataset.status)",
    )
    .await;
    b.shot("pipeline-approved").await;
    b.until(
        LONG,
        "the workflow to succeed",
        "return document.querySelector('section.workflow')?.dataset.status === 'success'",
    )
    .await;
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200000_line_log_opens_in_under_two_seconds_and_follows_live() {
    let Some(b) = browser().await else { return };
    let site = Site::start().await;
    let flag = tempfile::tempdir().unwrap();
    let flag_file = flag.path().join("go");
    let config = format!(
        r#"
version: 2.1
jobs:
  big:
    machine: true
    steps:
      - run:
          name: a long log
          command: |
            seq -f "log line %g" 1 200000
            while [ ! -f {flag} ]; do sleep 0.1; done
            echo "followed after the flag"
workflows:
  main:
    jobs: [big]
"#,
        flag = flag_file.display()
    );
    let repo = Repo::new(&config);
    site.api
        .add_project("gh/acme/big", repo.path(), json!({}))
        .await;
    let pipeline = site
        .api
        .trigger("gh/acme/big", json!({ "branch": "main" }))
        .await;
    // Wait until the whole 200,000 lines are stored.
    let (_, wfs) = (0, site.api.workflows(&pipeline).await);
    let wf = wfs[0]["id"].as_str().unwrap().to_string();
    let job = site.api.job(&wf, "big").await;
    let job_id = job["id"].as_str().unwrap().to_string();
    site.api
        .until(LONG, "200,000 lines stored", || async {
            let (_, d) = site.api.get(&format!("/api/circa/jobs/{job_id}")).await;
            let task = d["tasks"][0]["id"].as_str()?.to_string();
            let text = site
                .api
                .text(&format!("/api/circa/tasks/{task}/steps/0/log"))
                .await;
            text.contains("log line 200000\n").then_some(())
        })
        .await;
    b.sign_in(&site.server.url, "admin", &site.password).await;
    let started = Instant::now();
    b.driver
        .goto(format!("{}/projects/gh/acme/big/jobs/1", site.server.url))
        .await
        .unwrap();
    b.until(
        Duration::from_secs(30),
        "the last line",
        "return !!document.querySelector('pre.log') && document.querySelector('pre.log').textContent.includes('log line 200000')",
    )
    .await;
    let opened = started.elapsed();
    // The page's own clock: from navigation start to now.
    let in_page = b.eval("return performance.now()").await;
    eprintln!(
        "200,000-line live log: shown in {} ms (test clock), {} ms since navigation (browser clock)",
        opened.as_millis(),
        in_page
    );
    b.shot("job-200000-lines").await;
    assert!(
        opened < Duration::from_secs(2),
        "the 200,000-line log took {opened:?} to open"
    );
    std::fs::write(&flag_file, "").unwrap();
    b.until(
        LONG,
        "a new line followed live",
        "return document.querySelector('pre.log').textContent.includes('followed after the flag')",
    )
    .await;
    b.finish().await;
}

const ECHO_SECRET: &str = r#"
version: 2.1
jobs:
  build:
    machine: true
    steps:
      - run: echo "token is $DEPLOY_TOKEN"
      - run: echo "build url $CIRCLE_BUILD_URL"
workflows:
  main:
    jobs: [build]
"#;

/// Types into a field found by id, replacing what it holds.
async fn fill(b: &crate::web_harness::Browser, id: &str, text: &str) {
    let field = b.driver.find(By::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_an_env_var_and_see_it_masked() {
    let Some(b) = browser().await else { return };
    let site = Site::start().await;
    let repo = Repo::new(ECHO_SECRET);
    site.api
        .add_project("gh/acme/env", repo.path(), json!({}))
        .await;
    b.sign_in(&site.server.url, "admin", &site.password).await;
    let settings = format!("{}/projects/gh/acme/env/settings", site.server.url);
    let masked_cell = "return (document.querySelector('tr[data-var=DEPLOY_TOKEN] td.masked')?.textContent.trim() ?? '')";

    // Set the variable through the form.
    b.driver.goto(&settings).await.unwrap();
    fill(&b, "var-name", "DEPLOY_TOKEN").await;
    fill(&b, "var-value", "first-secret-A1B2").await;
    b.click("#env-vars form:not(.inline) button[type=submit]")
        .await;
    b.until(
        LONG,
        "the variable listed",
        "return !!document.querySelector('tr[data-var=DEPLOY_TOKEN]')",
    )
    .await;
    assert_eq!(b.eval(masked_cell).await, json!("xxxxA1B2"));
    let source = b.driver.source().await.unwrap();
    assert!(
        !source.contains("first-secret"),
        "the value is in the page source"
    );
    assert_eq!(
        b.eval("return document.getElementById('var-value').value")
            .await,
        json!(""),
        "the value field is empty again"
    );
    b.shot("env-var-masked").await;

    // The API agrees, and a job gets the value but its log shows it masked.
    let (_, vars) = site.api.get("/api/v2/project/gh/acme/env/envvar").await;
    assert_eq!(vars["items"][0]["value"], "xxxxA1B2");
    let pipeline = site
        .api
        .trigger("gh/acme/env", json!({ "branch": "main" }))
        .await;
    let workflows = site.api.finished(&pipeline, LONG).await;
    assert_eq!(workflows[0]["status"], "success", "{workflows:?}");
    b.driver
        .goto(format!("{}/projects/gh/acme/env/jobs/1", site.server.url))
        .await
        .unwrap();
    let log = b
        .eval(
            "return [...document.querySelectorAll('pre.log')].map(e => e.textContent).join('\\n')",
        )
        .await;
    assert!(
        log.as_str().unwrap().contains("token is ********"),
        "the job's log masks the value: {log}"
    );
    assert!(!b.driver.source().await.unwrap().contains("first-secret"));
    // CIRCLE_BUILD_URL is this page.
    let here = b.driver.current_url().await.unwrap().to_string();
    assert!(
        log.as_str().unwrap().contains(&format!("build url {here}")),
        "{here} in {log}"
    );

    // Change it: the new value's mask replaces the old one.
    b.driver.goto(&settings).await.unwrap();
    fill(&b, "var-name", "DEPLOY_TOKEN").await;
    fill(&b, "var-value", "second-secret-Z9Y8").await;
    b.click("#env-vars form:not(.inline) button[type=submit]")
        .await;
    b.until(
        LONG,
        "the new mask",
        &format!("{masked_cell} === 'xxxxZ9Y8'"),
    )
    .await;
    assert_eq!(
        b.eval("return document.querySelectorAll('tr[data-var]').length")
            .await,
        json!(1),
        "replaced, not added"
    );
    let source = b.driver.source().await.unwrap();
    assert!(!source.contains("second-secret") && !source.contains("first-secret"));
    b.shot("env-var-changed").await;

    // Delete it.
    b.click("tr[data-var=DEPLOY_TOKEN] button.cancel").await;
    b.until(
        LONG,
        "the variable gone",
        "return !document.querySelector('tr[data-var=DEPLOY_TOKEN]') && document.title.includes('settings')",
    )
    .await;
    let (_, vars) = site.api.get("/api/v2/project/gh/acme/env/envvar").await;
    assert_eq!(vars["items"], json!([]));

    // Checkout keys: the project's deploy key is shown as the API shows it; a new one is made
    // and deleted through the forms; no private half is ever in the page.
    let (_, keys) = site
        .api
        .get("/api/v2/project/gh/acme/env/checkout-key")
        .await;
    let first = keys["items"][0]["public-key"].as_str().unwrap().to_string();
    b.driver.goto(&settings).await.unwrap();
    let shown = "return [...document.querySelectorAll('#checkout-keys code.public-key')].map(e => e.textContent.trim())";
    assert_eq!(b.eval(shown).await, json!([first]));
    b.click("#make-key button").await;
    b.until(
        LONG,
        "a second checkout key",
        "return document.querySelectorAll('#checkout-keys tr[data-key]').length === 2",
    )
    .await;
    b.shot("checkout-keys").await;
    let (_, keys) = site
        .api
        .get("/api/v2/project/gh/acme/env/checkout-key")
        .await;
    let newest = keys["items"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(keys["items"].as_array().unwrap().len(), 2, "{keys}");
    let source = b.driver.source().await.unwrap();
    assert!(!source.contains("PRIVATE KEY") && !source.contains("b3BlbnNzaC1rZXktdjE"));
    b.click(&format!("tr[data-key='{newest}'] button.cancel"))
        .await;
    b.until(
        LONG,
        "the new key deleted",
        "return document.querySelectorAll('#checkout-keys tr[data-key]').length === 1",
    )
    .await;
    assert_eq!(b.eval(shown).await, json!([first]));

    // Repository access: a token set through its write-only form is sealed, never shown; host
    // keys are checked line by line before they replace the recorded ones.
    b.driver.goto(&settings).await.unwrap();
    fill(&b, "token-user", "oauth2").await;
    fill(&b, "token-value", "glpat-web-form-token-7Q").await;
    b.click("#token-form button").await;
    b.until(
        LONG,
        "the token set",
        "return document.getElementById('token-state')?.textContent.includes('oauth2')",
    )
    .await;
    assert!(
        !b.driver
            .source()
            .await
            .unwrap()
            .contains("glpat-web-form-token")
    );
    let (_, token) = site
        .api
        .get("/api/circa/projects/gh/acme/env/repo-token")
        .await;
    assert_eq!(token, json!({ "token_set": true, "user": "oauth2" }));
    fill(&b, "known-hosts", "not a host key").await;
    b.click("#known-hosts-form button").await;
    b.until(
        LONG,
        "the bad line refused",
        "return document.body.textContent.includes('line 1')",
    )
    .await;
    let line = "git.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
    b.driver.goto(&settings).await.unwrap();
    fill(&b, "known-hosts", line).await;
    b.click("#known-hosts-form button").await;
    b.until(
        LONG,
        "the host key saved",
        &format!("return document.getElementById('known-hosts')?.value.trim() === '{line}'"),
    )
    .await;
    b.shot("repository-access").await;
    b.click("#remove-token").await;
    b.until(
        LONG,
        "the token removed",
        "return document.getElementById('token-state')?.textContent.includes('No token')",
    )
    .await;

    // A context: created, given a variable (masked too) and a restriction.
    b.driver
        .goto(format!("{}/settings/contexts", site.server.url))
        .await
        .unwrap();
    fill(&b, "cname", "deploy").await;
    b.click("form[action='/settings/contexts'] button").await;
    b.until(
        LONG,
        "the context's page",
        "return document.title.startsWith('Context deploy')",
    )
    .await;
    fill(&b, "var-name", "CLOUD_KEY").await;
    fill(&b, "var-value", "context-secret-Q7R6").await;
    b.click("#env-vars form:not(.inline) button[type=submit]")
        .await;
    b.until(
        LONG,
        "the context's variable",
        "return document.querySelector('tr[data-var=CLOUD_KEY] td.masked')?.textContent.trim() === 'xxxxQ7R6'",
    )
    .await;
    fill(&b, "rvalue", "pipeline.git.branch == \"main\"").await;
    b.driver
        .find(By::Css("#rkind option[value=expression]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.click("#restrictions form:not(.inline) button").await;
    b.until(
        LONG,
        "the restriction",
        "return [...document.querySelectorAll('#restrictions td code')].some(c => c.textContent === 'pipeline.git.branch == \"main\"')",
    )
    .await;
    assert!(!b.driver.source().await.unwrap().contains("context-secret"));
    b.shot("context").await;
    b.finish().await;
}
