//! The web UI's defences over plain HTTP: every form refuses a missing or wrong CSRF token,
//! every page refuses a user without access to the project, and what people wrote (job names,
//! branch names, log lines, context names, restriction expressions) is shown as text, never as
//! markup; secret values are shown masked and never written back into a page.

use crate::auth_matrix::MATRIX_SSH_KEY;
use std::time::Duration;

use serde_json::json;

use crate::server_harness::Repo;
use crate::web_harness::Site;

const LONG: Duration = Duration::from_secs(60);

/// A browser without a browser: cookies kept by hand, no redirects followed.
pub(crate) struct WebClient {
    base: String,
    http: reqwest::Client,
    cookies: Vec<(String, String)>,
}

impl WebClient {
    pub(crate) fn new(base: &str) -> WebClient {
        WebClient {
            base: base.to_string(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Vec::new(),
        }
    }

    fn keep(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(name, _)| name != k);
            if !v.is_empty() {
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
    }

    pub(crate) fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn get(&mut self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(&r);
        let status = r.status().as_u16();
        (status, r.text().await.unwrap_or_default())
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode_form(form))
            .send()
            .await
            .unwrap();
        self.keep(&r);
        let status = r.status().as_u16();
        (status, r.text().await.unwrap_or_default())
    }

    /// Signs in; the session's CSRF token.
    pub(crate) async fn sign_in(&mut self, login: &str, password: &str) -> String {
        let (_, page) = self.get("/login").await;
        let csrf = csrf_of(&page);
        let (status, body) = self
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("login", login),
                    ("password", password),
                    ("next", "/"),
                ],
            )
            .await;
        assert_eq!(status, 303, "{body}");
        let (status, page) = self.get("/").await;
        assert_eq!(status, 200);
        csrf_of(&page)
    }
}

/// Whether `page` holds `text` HTML-escaped (as entities, named or numeric).
fn escaped(page: &str, text: &str) -> bool {
    let numeric = text
        .replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('\'', "&#39;")
        .replace('"', "&#34;");
    let named = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&#x27;")
        .replace('"', "&quot;");
    page.contains(&numeric) || page.contains(&named)
}

/// `application/x-www-form-urlencoded` of some fields.
fn encode_form(fields: &[(&str, &str)]) -> String {
    let enc = |t: &str| {
        t.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Every form of `forms` refuses a missing or a wrong CSRF token.
async fn refuse_without_csrf(client: &mut WebClient, forms: &[(String, Vec<(&str, &str)>)]) {
    for (path, fields) in forms {
        let (status, _) = client.post(path, fields).await;
        assert_eq!(status, 403, "{path} without a CSRF token");
        let mut wrong = fields.clone();
        wrong.push(("csrf", "0000"));
        let (status, _) = client.post(path, &wrong).await;
        assert_eq!(status, 403, "{path} with a wrong CSRF token");
    }
}

fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token");
    let rest = &page[at + 19..];
    rest[..rest.find('"').unwrap()].to_string()
}

const CONFIG: &str = r#"
version: 2.1
jobs:
  build:
    machine: true
    steps:
      - run: echo "<script>alert('log')</script>" && mkdir -p out && echo hi > out/a.txt
      - store_artifacts: { path: out }
      - run: |
          mkdir -p results/unit
          cat > results/unit/report.xml <<'XML'
          <testsuite name="unit" tests="2" failures="1">
            <testcase classname="suite" name="renders &lt;b&gt;" time="2.5">
              <failure message="&lt;script&gt;alert('test')&lt;/script&gt;">at line 7</failure>
            </testcase>
            <testcase classname="suite" name="passes" time="0.25"/>
          </testsuite>
          XML
      - store_test_results: { path: results }
  deploy:
    machine: true
    steps:
      - run: echo deployed
workflows:
  main:
    jobs:
      - build: { name: "build<script>alert('job')</script>" }
      - hold: { type: approval, requires: ["build<script>alert('job')</script>"] }
      - deploy: { requires: [hold] }
"#;

const BRANCH: &str = "evil<script>alert(1)</script>";

const CONTEXT: &str = "ctx<script>alert('ctx')</script>";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_need_the_csrf_token_pages_need_access_and_markup_stays_text() {
    let site = Site::start().await;
    let repo = Repo::new(CONFIG);
    repo.git(&["branch", BRANCH]);
    site.api
        .add_project("gh/acme/sec", repo.path(), json!({}))
        .await;
    let pipeline = site
        .api
        .trigger("gh/acme/sec", json!({ "branch": BRANCH }))
        .await;
    let wfs = site.api.workflows(&pipeline).await;
    let wf = wfs[0]["id"].as_str().unwrap().to_string();
    let hold = site
        .api
        .until(LONG, "the hold", || async {
            let job = site.api.job(&wf, "hold").await;
            (job["status"] == "on_hold").then_some(job)
        })
        .await;
    let request = hold["approval_request_id"]
        .as_str()
        .or(hold["id"].as_str())
        .unwrap()
        .to_string();
    let build = site
        .api
        .job(&wf, "build<script>alert('job')</script>")
        .await;
    let build_id = build["id"].as_str().unwrap().to_string();
    let (_, details) = site.api.get(&format!("/api/circa/jobs/{build_id}")).await;
    let task = details["tasks"][0]["id"].as_str().unwrap().to_string();

    let (status, context) = site
        .api
        .post("/api/v2/context", json!({ "name": CONTEXT }))
        .await;
    assert_eq!(status, 200, "{context}");
    let ctx = context["id"].as_str().unwrap().to_string();
    let (status, _) = site
        .api
        .http_put(
            &format!("/api/v2/context/{ctx}/environment-variable/CTX_VAR"),
            json!({ "value": "context-secret-1234" }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, restriction) = site
        .api
        .post(
            &format!("/api/v2/context/{ctx}/restrictions"),
            json!({
                "restriction_type": "expression",
                "restriction_value": "pipeline.git.branch == \"<script>alert('expr')</script>\"",
            }),
        )
        .await;
    assert_eq!(status, 201, "{restriction}");
    let restriction = restriction["id"].as_str().unwrap().to_string();
    let (status, _) = site
        .api
        .post(
            "/api/v2/project/gh/acme/sec/envvar",
            json!({ "name": "PROJECT_VAR", "value": "project-secret-5678" }),
        )
        .await;
    assert_eq!(status, 201);

    let (_, keys) = site
        .api
        .get("/api/v2/project/gh/acme/sec/checkout-key")
        .await;
    let sec_key = keys["items"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();

    let mut admin = WebClient::new(&site.server.url);
    // The sign-in form itself needs its token.
    let (status, _) = admin
        .post(
            "/login",
            &[("login", "admin"), ("password", &site.password)],
        )
        .await;
    assert_eq!(status, 403);
    let csrf = admin.sign_in("admin", &site.password).await;

    // Markup people wrote is shown as text.
    for path in [
        "/projects/gh/acme/sec".to_string(),
        "/projects/gh/acme/sec/pipelines/1".to_string(),
        "/projects/gh/acme/sec/jobs/1".to_string(),
    ] {
        let (status, page) = admin.get(&path).await;
        assert_eq!(status, 200, "{path}");
        for raw in [
            "<script>alert(1)</script>",
            "<script>alert('job')</script>",
            "<script>alert('log')</script>",
            "<script>alert('test')</script>",
            "renders <b>",
        ] {
            assert!(!page.contains(raw), "{path} holds raw markup {raw}");
        }
        assert!(
            escaped(&page, "<script>alert("),
            "{path} shows the escaped markup: {page}"
        );
    }
    for path in [
        "/settings/contexts".to_string(),
        format!("/settings/contexts/{ctx}"),
    ] {
        let (status, page) = admin.get(&path).await;
        assert_eq!(status, 200, "{path}");
        assert!(!page.contains("<script>alert("), "{path} holds raw markup");
        assert!(
            escaped(&page, CONTEXT),
            "{path} shows the context's name as text"
        );
    }
    let (_, context_page) = admin.get(&format!("/settings/contexts/{ctx}")).await;
    assert!(
        escaped(&context_page, "<script>alert('expr')</script>"),
        "the expression is shown as text"
    );
    // Values are shown masked, never whole.
    assert!(context_page.contains("xxxx1234"), "{context_page}");
    assert!(!context_page.contains("context-secret"));
    let (_, settings_page) = admin.get("/projects/gh/acme/sec/settings").await;
    assert!(settings_page.contains("xxxx5678"), "{settings_page}");
    assert!(!settings_page.contains("project-secret"));
    // A pipeline's header shows its workflows' status, not the pipeline's `created`.
    let (_, pipeline_page) = admin.get("/projects/gh/acme/sec/pipelines/1").await;
    assert!(
        pipeline_page.contains("<h1>Pipeline #1 <span class=\"status st-on_hold\">on_hold</span>"),
        "{pipeline_page}"
    );
    // The API's web_url is the job's page.
    let (_, api_job) = site.api.get("/api/v2/project/gh/acme/sec/job/1").await;
    let web_url = api_job["web_url"].as_str().unwrap();
    let path = web_url.strip_prefix(&site.server.url).unwrap();
    assert_eq!(path, "/projects/gh/acme/sec/jobs/1");
    let (status, _) = admin.get(path).await;
    assert_eq!(status, 200, "{web_url}");
    let (_, job_page) = admin.get("/projects/gh/acme/sec/jobs/1").await;
    assert!(
        escaped(&job_page, "<script>alert('log')</script>"),
        "the log line is shown as text: {job_page}"
    );
    // Test results: the failure first, its message as text, then the slowest tests.
    assert!(
        job_page.contains("2 tests, <span class=\"failed-count\">1 failed</span>, 0 skipped"),
        "{job_page}"
    );
    assert!(
        escaped(&job_page, "<script>alert('test')</script>"),
        "the test's message is shown as text: {job_page}"
    );
    assert!(escaped(&job_page, "suite.renders <b>"), "{job_page}");
    let failures = job_page.find("test-failures").unwrap();
    let slowest = job_page.find("test-slowest").unwrap();
    assert!(failures < slowest, "failures come first");
    let slow = &job_page[slowest..];
    let (renders, passes) = (
        slow.find("suite.renders").unwrap(),
        slow.find("suite.passes").unwrap(),
    );
    assert!(renders < passes, "the slowest test first");

    // Every form refuses a missing or a wrong token, and changes nothing.
    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/logout".into(), vec![]),
        (
            "/account/password".into(),
            vec![
                ("current", "x"),
                ("new", "0123456789"),
                ("confirm", "0123456789"),
            ],
        ),
        (format!("/ui/workflows/{wf}/approve/{request}"), vec![]),
        (format!("/ui/workflows/{wf}/cancel"), vec![]),
        (
            format!("/ui/workflows/{wf}/rerun"),
            vec![("from_failed", "true")],
        ),
        (format!("/ui/jobs/{build_id}/cancel"), vec![]),
        (
            "/projects/gh/acme/sec/settings".into(),
            vec![("repo", "/tmp/x"), ("default_branch", "x")],
        ),
        (
            "/settings/runners/tokens".into(),
            vec![("resource_class", "default")],
        ),
        (
            "/settings/users".into(),
            vec![("login", "mallory"), ("password", "0123456789")],
        ),
        (
            "/settings/users/grant".into(),
            vec![("login", "admin"), ("project", "gh/acme/sec")],
        ),
        ("/settings/tokens".into(), vec![("name", "stolen")]),
        ("/settings/tokens/nope/revoke".into(), vec![]),
        (
            "/projects/gh/acme/sec/settings/env-vars".into(),
            vec![("name", "PROJECT_VAR"), ("value", "stolen-value")],
        ),
        (
            "/projects/gh/acme/sec/settings/env-vars/PROJECT_VAR/delete".into(),
            vec![],
        ),
        (
            "/projects/gh/acme/sec/settings/checkout-keys".into(),
            vec![],
        ),
        (
            format!("/projects/gh/acme/sec/settings/checkout-keys/{sec_key}/delete"),
            vec![],
        ),
        (
            "/projects/gh/acme/sec/settings/known-hosts".into(),
            vec![("known_hosts", "")],
        ),
        (
            "/projects/gh/acme/sec/settings/repo-token".into(),
            vec![("token", "stolen-token")],
        ),
        (
            "/projects/gh/acme/sec/settings/repo-token/delete".into(),
            vec![],
        ),
        (
            "/projects/gh/acme/sec/settings/ssh-keys".into(),
            vec![
                ("hostname", "stolen.example.com"),
                ("private_key", MATRIX_SSH_KEY),
            ],
        ),
        (
            "/projects/gh/acme/sec/settings/ssh-keys/delete".into(),
            vec![("fingerprint", "SHA256:x"), ("hostname", "")],
        ),
        ("/settings/contexts".into(), vec![("name", "stolen")]),
        (format!("/settings/contexts/{ctx}/delete"), vec![]),
        (
            format!("/settings/contexts/{ctx}/env-vars"),
            vec![("name", "CTX_VAR"), ("value", "stolen-value")],
        ),
        (
            format!("/settings/contexts/{ctx}/env-vars/CTX_VAR/delete"),
            vec![],
        ),
        (
            format!("/settings/contexts/{ctx}/restrictions"),
            vec![("kind", "expression"), ("value", "true")],
        ),
        (
            format!("/settings/contexts/{ctx}/restrictions/{restriction}/delete"),
            vec![],
        ),
        (
            "/projects".into(),
            vec![("slug", "gh/acme/stolen"), ("repo", "/tmp/x")],
        ),
    ];
    refuse_without_csrf(&mut admin, &forms).await;
    assert_eq!(site.api.job(&wf, "hold").await["status"], "on_hold");
    let (status, _) = admin.get("/").await;
    assert_eq!(status, 200, "still signed in");
    let secrets_unchanged = || async {
        let (_, vars) = site.api.get("/api/v2/project/gh/acme/sec/envvar").await;
        assert_eq!(vars["items"].as_array().unwrap().len(), 1, "{vars}");
        assert_eq!(vars["items"][0]["value"], "xxxx5678");
        let (_, contexts) = site.api.get("/api/v2/context").await;
        assert_eq!(contexts["items"].as_array().unwrap().len(), 1, "{contexts}");
        let (_, vars) = site
            .api
            .get(&format!("/api/v2/context/{ctx}/environment-variable"))
            .await;
        assert_eq!(vars["items"].as_array().unwrap().len(), 1, "{vars}");
        let (_, restrictions) = site
            .api
            .get(&format!("/api/v2/context/{ctx}/restrictions"))
            .await;
        assert_eq!(restrictions["items"].as_array().unwrap().len(), 1);
    };
    secrets_unchanged().await;
    let no_stolen_project = || async {
        let (status, _) = site.api.get("/api/v2/project/gh/acme/stolen").await;
        assert_eq!(status, 404, "no project was added without a token");
    };
    no_stolen_project().await;
    let forge_forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            "/projects/gh/acme/sec/settings/forge".into(),
            vec![("kind", "gitea"), ("api_url", "http://127.0.0.1:9/api/v1")],
        ),
        ("/projects/gh/acme/sec/settings/forge/delete".into(), vec![]),
    ];
    refuse_without_csrf(&mut admin, &forge_forms).await;
    let (status, _) = site.api.get("/api/circa/projects/gh/acme/sec/forge").await;
    assert_eq!(status, 404, "no forge was set without a token");

    // The forge form: set with a token (sealed, never shown back), shown, removed.
    let forge_form = [
        ("csrf", csrf.as_str()),
        ("kind", "gitea"),
        ("api_url", "http://127.0.0.1:9/api/v1"),
        ("token", "web-forge-token-secret"),
        ("statuses", "1"),
    ];
    let (status, page) = admin
        .post("/projects/gh/acme/sec/settings/forge", &forge_form)
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(!page.contains("web-forge-token-secret"), "{page}");
    assert!(
        page.contains("deploy key:"),
        "the failed deploy key is shown: {page}"
    );
    let (_, page) = admin.get("/projects/gh/acme/sec/settings").await;
    assert!(page.contains("<dt>Token</dt><dd>set</dd>"), "{page}");
    assert!(!page.contains("web-forge-token-secret"));
    let (status, _) = admin
        .post(
            "/projects/gh/acme/sec/settings/forge",
            &[("csrf", &csrf), ("kind", "svn")],
        )
        .await;
    assert_eq!(status, 400, "a bad kind is refused");
    let (status, _) = admin
        .post(
            "/projects/gh/acme/sec/settings/forge/delete",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, 303);
    let (status, _) = site.api.get("/api/circa/projects/gh/acme/sec/forge").await;
    assert_eq!(status, 404, "the forge was removed");

    // The add-project form: a bad slug is refused with its field named, markup as text; a
    // good one adds the project and shows its settings.
    let repo_path = repo.path().display().to_string();
    let (status, body) = admin
        .post(
            "/projects",
            &[
                ("csrf", &csrf),
                ("slug", "gh/<script>alert('slug')</script>"),
                ("repo", "/tmp/x"),
                ("default_branch", "main"),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("slug:"), "{body}");
    assert!(!body.contains("<script>alert('slug')"), "{body}");
    let (status, body) = admin
        .post(
            "/projects",
            &[
                ("csrf", &csrf),
                ("slug", "gh/acme/added"),
                ("repo", &repo_path),
                ("default_branch", "trunk"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    let (status, added) = site.api.get("/api/v2/project/gh/acme/added").await;
    assert_eq!(status, 200, "{added}");
    let (_, settings) = admin.get("/projects/gh/acme/added/settings").await;
    assert!(settings.contains("value=\"trunk\""), "{settings}");
    let (status, body) = admin
        .post(
            "/projects",
            &[
                ("csrf", &csrf),
                ("slug", "gh/acme/added"),
                ("repo", &repo_path),
            ],
        )
        .await;
    assert_eq!(status, 409, "a slug is added once: {body}");

    // The forms check the repository as the API does: a missing folder adds nothing and
    // changes nothing; a remote URL the server cannot fetch now is added with a warning.
    let (status, body) = admin
        .post(
            "/projects",
            &[
                ("csrf", &csrf),
                ("slug", "gh/acme/nowhere"),
                ("repo", "/nonexistent/circa-repo"),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("repo: /nonexistent/circa-repo does not exist on the server"),
        "{body}"
    );
    let (status, _) = site.api.get("/api/v2/project/gh/acme/nowhere").await;
    assert_eq!(status, 404, "no project was added");
    let (status, body) = admin
        .post(
            "/projects/gh/acme/added/settings",
            &[
                ("csrf", &csrf),
                ("repo", "/nonexistent/circa-repo"),
                ("default_branch", "trunk"),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (_, added) = site.api.get("/api/v2/project/gh/acme/added").await;
    assert_eq!(added["vcs_info"]["vcs_url"], json!(repo_path));
    let (status, body) = admin
        .post(
            "/projects",
            &[
                ("csrf", &csrf),
                ("slug", "gh/acme/remote"),
                ("repo", "http://127.0.0.1:9/acme/remote.git"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("Warning: the server cannot fetch http://127.0.0.1:9/acme/remote.git now"),
        "{body}"
    );
    assert!(body.contains("Settings of gh/acme/remote"), "{body}");

    // A value sent through the form is never written back, not even when it is refused.
    let (status, body) = admin
        .post(
            "/projects/gh/acme/sec/settings/env-vars",
            &[
                ("csrf", &csrf),
                ("name", "1BAD"),
                ("value", "refused-value-0000"),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("1BAD") && !body.contains("refused-value"),
        "{body}"
    );
    let (status, body) = admin
        .post(
            "/projects/gh/acme/sec/settings/env-vars",
            &[
                ("csrf", &csrf),
                ("name", "FORM_VAR"),
                ("value", "form-value-9876"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    assert!(!body.contains("form-value"));
    let (_, page) = admin.get("/projects/gh/acme/sec/settings").await;
    assert!(
        page.contains("xxxx9876") && !page.contains("form-value"),
        "{page}"
    );
    let (status, _) = admin
        .post(
            "/projects/gh/acme/sec/settings/env-vars/FORM_VAR/delete",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, 303);

    // An SSH key through the form: refused ones name the field and are not written back; an
    // added one is listed by fingerprint only, and removed.
    let ssh_keys = "/projects/gh/acme/sec/settings/ssh-keys";
    let (status, body) = admin
        .post(
            ssh_keys,
            &[
                ("csrf", &csrf),
                ("hostname", "a b"),
                ("private_key", MATRIX_SSH_KEY),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("hostname") && !body.contains("PRIVATE KEY"),
        "{body}"
    );
    let (status, body) = admin
        .post(
            ssh_keys,
            &[
                ("csrf", &csrf),
                ("hostname", ""),
                ("private_key", "not-a-key-4242"),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("private_key") && !body.contains("not-a-key-4242"),
        "{body}"
    );
    let (status, _) = admin
        .post(
            ssh_keys,
            &[
                ("csrf", &csrf),
                ("hostname", "form.example.com"),
                ("private_key", MATRIX_SSH_KEY),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page) = admin.get("/projects/gh/acme/sec/settings").await;
    let (_, listed) = site.api.get("/api/v1.1/project/gh/acme/sec/ssh-key").await;
    let md5 = listed[0]["fingerprint"].as_str().unwrap();
    let sha256 = listed[0]["sha256_fingerprint"].as_str().unwrap();
    assert!(
        page.contains("form.example.com") && page.contains(md5) && !page.contains("PRIVATE KEY"),
        "{page}"
    );
    let (status, _) = admin
        .post(
            &format!("{ssh_keys}/delete"),
            &[
                ("csrf", &csrf),
                ("fingerprint", sha256),
                ("hostname", "form.example.com"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (_, listed) = site.api.get("/api/v1.1/project/gh/acme/sec/ssh-key").await;
    assert_eq!(listed, json!([]));

    // A user without the project sees none of it.
    let (status, body) = admin
        .post(
            "/settings/users",
            &[
                ("csrf", &csrf),
                ("login", "bob"),
                ("name", "Bob"),
                ("password", "bob-password-1"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut bob = WebClient::new(&site.server.url);
    let bob_csrf = bob.sign_in("bob", "bob-password-1").await;
    let (_, list) = bob.get("/").await;
    assert!(!list.contains("gh/acme/sec"));
    for path in [
        "/projects/gh/acme/sec".to_string(),
        "/projects/gh/acme/sec/settings".to_string(),
        "/projects/gh/acme/sec/pipelines/1".to_string(),
        "/projects/gh/acme/sec/pipelines/1/config".to_string(),
        "/projects/gh/acme/sec/jobs/1".to_string(),
        format!("/ui/tasks/{task}/steps/0/log"),
        format!("/ui/tasks/{task}/live"),
        format!("/ui/pipelines/{pipeline}/watch"),
        format!("/ui/artifacts/{build_id}/0/a.txt"),
        "/badge/gh/acme/sec.svg".to_string(),
    ] {
        let (status, _) = bob.get(&path).await;
        assert_eq!(status, 404, "{path} for a user without the project");
    }
    for (path, fields) in &forms[2..7] {
        let mut with = fields.clone();
        with.push(("csrf", &bob_csrf));
        let (status, _) = bob.post(path, &with).await;
        assert_eq!(status, 404, "{path} for a user without the project");
    }
    assert_eq!(site.api.job(&wf, "hold").await["status"], "on_hold");
    for (path, fields) in &forms[12..21] {
        let mut with = fields.clone();
        with.push(("csrf", &bob_csrf));
        let (status, _) = bob.post(path, &with).await;
        assert_eq!(status, 404, "{path} for a user without the project");
    }
    for (path, fields) in &forge_forms {
        let mut with = fields.clone();
        with.push(("csrf", &bob_csrf));
        let (status, _) = bob.post(path, &with).await;
        assert_eq!(status, 404, "{path} for a user without the project");
    }
    // Contexts are for admins only.
    for path in [
        "/settings/contexts".to_string(),
        format!("/settings/contexts/{ctx}"),
    ] {
        let (status, _) = bob.get(&path).await;
        assert_eq!(status, 403, "{path} for a user who is not an admin");
    }
    for (path, fields) in &forms[21..] {
        let mut with = fields.clone();
        with.push(("csrf", &bob_csrf));
        let (status, _) = bob.post(path, &with).await;
        assert_eq!(status, 403, "{path} for a user who is not an admin");
    }
    secrets_unchanged().await;
    no_stolen_project().await;

    // Signed out, pages send people to the sign-in page.
    let mut nobody = WebClient::new(&site.server.url);
    let (status, _) = nobody.get("/projects/gh/acme/sec").await;
    assert_eq!(status, 303);
    // Once granted, bob sees it.
    let (status, _) = admin
        .post(
            "/settings/users/grant",
            &[
                ("csrf", &csrf),
                ("login", "bob"),
                ("project", "gh/acme/sec"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = bob.get("/projects/gh/acme/sec/pipelines/1").await;
    assert_eq!(status, 200);
    let (status, _) = bob.get("/projects/gh/acme/sec/settings").await;
    assert_eq!(status, 403, "settings are for admins");
    for (path, fields) in &forms[12..21] {
        let mut with = fields.clone();
        with.push(("csrf", &bob_csrf));
        let (status, _) = bob.post(path, &with).await;
        assert_eq!(status, 403, "{path} for a member who is not an admin");
    }
    secrets_unchanged().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_variable_forms_refuse_a_value_with_a_nul_byte() {
    let site = Site::start().await;
    let repo = Repo::new("version: 2.1\njobs:\n  build: {machine: true, steps: [{run: echo}]}\n");
    site.api
        .add_project("gh/acme/nul", repo.path(), json!({}))
        .await;
    let (status, context) = site
        .api
        .post(
            "/api/v2/context",
            json!({ "name": "nul", "owner": { "slug": "gh/acme", "type": "organization" } }),
        )
        .await;
    assert_eq!(status, 200, "{context}");
    let ctx = context["id"].as_str().unwrap();
    let mut admin = WebClient::new(&site.server.url);
    let csrf = admin.sign_in("admin", &site.password).await;
    for path in [
        "/projects/gh/acme/nul/settings/env-vars".to_string(),
        format!("/settings/contexts/{ctx}/env-vars"),
    ] {
        let (status, body) = admin
            .post(
                &path,
                &[("csrf", &csrf), ("name", "WITH_NUL"), ("value", "a\0b")],
            )
            .await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            body.contains("value: contains a NUL byte"),
            "{path}: {body}"
        );
    }
    let (_, page) = admin.get("/projects/gh/acme/nul/settings").await;
    assert!(!page.contains("WITH_NUL"), "nothing was stored");
}
