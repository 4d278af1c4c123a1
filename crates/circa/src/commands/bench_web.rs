//! `circa bench web`: how long the web UI's pages take with a large history (issue 7 wants
//! ≤ 50 ms each with 10,000 pipelines stored).
//!
//! A fresh data folder gets one project with N pipelines (one three-job workflow each, most
//! on `main`, the rest on twenty feature branches, spread over the last 30 days, one in seven
//! failed), written through the store as `circa up` would keep them. Then `circa server` runs
//! on that folder as a child process, the admin signs in through the sign-in form, and each
//! page is fetched repeatedly over one kept-alive connection: the projects list, the
//! project's pipelines (first page, a deep page, one branch), a pipeline and a job. Every
//! figure prints as `name: value unit`; the times are request to last byte on loopback, so
//! they bound the server's time from above.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use circa_model::{JobStatus, WorkflowStatus};
use circa_store::{
    CreatedPipeline, JobChange, NewJob, NewPipeline, NewProject, NewWorkflow, PipelineState,
    PipelineTrigger, ProjectSettings, Store, StoredRequirement, WorkflowUpdate,
};

/// The slug of the seeded project.
const SLUG: &str = "gh/bench/web";
/// Jobs per workflow (a chain: build → test → deploy).
const JOBS: [&str; 3] = ["build", "test", "deploy"];
/// The target: a page in at most this many milliseconds.
pub const TARGET_MS: f64 = 50.0;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The workflow of pipeline `i`: three jobs, each requiring the one before.
fn workflow(i: usize) -> NewWorkflow {
    let jobs = JOBS
        .iter()
        .enumerate()
        .map(|(k, name)| NewJob {
            name: (*name).to_string(),
            job_key: (*name).to_string(),
            status: if k == 0 {
                JobStatus::Queued
            } else {
                JobStatus::Blocked
            },
            approval: false,
            requires: (k > 0)
                .then(|| StoredRequirement {
                    name: JOBS[k - 1].to_string(),
                    statuses: vec![JobStatus::Success],
                })
                .into_iter()
                .collect(),
            contexts: Vec::new(),
            spec: Some(serde_json::json!({ "name": name, "pipeline": i })),
            resource_class: "default".into(),
            parallelism: 1,
            copied_from: None,
        })
        .collect();
    NewWorkflow {
        name: "main".into(),
        status: WorkflowStatus::Running,
        setup: false,
        rerun_of: None,
        jobs,
    }
}

/// Stores `count` finished pipelines in a new project, oldest first.
async fn seed(store: &dyn Store, count: usize) -> anyhow::Result<()> {
    let project = store
        .create_project(
            NewProject {
                slug: SLUG.into(),
                repo_url: "/nonexistent/bench-web".into(),
                default_branch: "main".into(),
                webhook_secret: "bench".into(),
                settings: ProjectSettings::default(),
            },
            now_ms(),
        )
        .await?;
    let end = now_ms();
    // Spread over 29 days, so the 30-day chart holds every one.
    let step = 29 * 24 * 3600 * 1000 / count.max(1) as i64;
    for i in 0..count {
        let created = end - (count - i) as i64 * step;
        let branch = if i % 5 < 3 {
            "main".to_string()
        } else {
            format!("feature-{}", i % 20)
        };
        let CreatedPipeline {
            workflows, jobs, ..
        } = store
            .create_pipeline(
                NewPipeline {
                    project_id: project.id.clone(),
                    state: PipelineState::Created,
                    trigger: PipelineTrigger {
                        kind: circa_store::TriggerKind::Webhook,
                        actor: "bench".into(),
                        branch: Some(branch),
                        tag: None,
                        revision: format!("{i:040x}"),
                        subject: Some(format!("change number {i}")),
                        pull_request: None,
                        parameters: serde_json::Map::new(),
                        schedule: None,
                        from_fork: false,
                        fork_pull_request: None,
                    },
                    errors: Vec::new(),
                    config_source: Some("version: 2.1\n".into()),
                    config_compiled: Some("version: 2\n".into()),
                    continuation_key_hash: None,
                    continuation_deadline: None,
                },
                vec![workflow(i)],
                created,
            )
            .await?;
        let wf = workflows.first().context("the seeded workflow")?;
        let failed = i % 7 == 3;
        let change = |from: JobStatus, to: JobStatus| {
            jobs.iter()
                .enumerate()
                .map(|(k, j)| JobChange {
                    job_id: j.id.clone(),
                    from: if from == JobStatus::Queued && k > 0 {
                        JobStatus::Blocked
                    } else {
                        from
                    },
                    to: if failed && k == 2 && to == JobStatus::Success {
                        JobStatus::Failed
                    } else {
                        to
                    },
                    message: None,
                    actor: None,
                })
                .collect::<Vec<_>>()
        };
        store
            .update_workflow(WorkflowUpdate {
                version: None,
                workflow_id: wf.id.clone(),
                changes: change(JobStatus::Queued, JobStatus::Running),
                new_tasks: Vec::new(),
                status: WorkflowStatus::Running,
                now: created + 2_000,
            })
            .await?;
        store
            .update_workflow(WorkflowUpdate {
                version: None,
                workflow_id: wf.id.clone(),
                changes: change(JobStatus::Running, JobStatus::Success),
                new_tasks: Vec::new(),
                status: if failed {
                    WorkflowStatus::Failed
                } else {
                    WorkflowStatus::Success
                },
                now: created + 2_000 + 45_000 + (i as i64 % 60) * 1_000,
            })
            .await?;
    }
    Ok(())
}

/// A `circa server` child process on a data folder.
struct ServerChild {
    child: Child,
    url: String,
}

impl ServerChild {
    fn start(data: &Path) -> anyhow::Result<ServerChild> {
        let exe = std::env::current_exe().context("finding the circa binary")?;
        let mut child = Command::new(exe)
            .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .env("CIRCA_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting circa server")?;
        let stdout = child.stdout.take().context("circa's output")?;
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let line = lines
                .next()
                .context("circa server stopped before it listened")?
                .context("reading circa's output")?;
            if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://")) {
                break url.to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Ok(ServerChild { child, url })
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of `name="csrf" value="…"` in a page.
fn csrf_of(page: &str) -> anyhow::Result<String> {
    let marker = "name=\"csrf\" value=\"";
    let at = page.find(marker).context("a form with a CSRF token")?;
    let rest = &page[at + marker.len()..];
    Ok(rest[..rest.find('"').context("the token's end")?].to_string())
}

/// The `name=value` of a `Set-Cookie` header named `name`.
fn cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|pair| pair.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

/// Percent-encodes a form value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Signs the admin in; the session cookie (`circa_session=…`).
async fn sign_in(http: &reqwest::Client, url: &str, password: &str) -> anyhow::Result<String> {
    let form = http.get(format!("{url}/login")).send().await?;
    let login_cookie = cookie(&form, "circa_login").context("the sign-in form's cookie")?;
    let csrf = csrf_of(&form.text().await?)?;
    let r = http
        .post(format!("{url}/login"))
        .header("cookie", login_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf={}&login=admin&password={}&next=%2F",
            encode(&csrf),
            encode(password)
        ))
        .send()
        .await?;
    cookie(&r, "circa_session").with_context(|| format!("signing in answered {}", r.status()))
}

/// Fetches `path` `runs` times (after two unmeasured fetches); sorted times in ms.
async fn time_page(
    http: &reqwest::Client,
    url: &str,
    session: &str,
    path: &str,
    runs: usize,
) -> anyhow::Result<Vec<f64>> {
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs + 2 {
        let started = Instant::now();
        let r = http
            .get(format!("{url}{path}"))
            .header("cookie", session)
            .send()
            .await?;
        let status = r.status();
        let body = r.bytes().await?;
        let took = started.elapsed().as_secs_f64() * 1000.0;
        if !status.is_success() {
            bail!("{path} answered {status}");
        }
        if body.is_empty() {
            bail!("{path} answered an empty page");
        }
        if i >= 2 {
            times.push(took);
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    Ok(times)
}

/// Seeds `pipelines`, starts the server and times each page `runs` times. Fails when a page's
/// p50 is over [`TARGET_MS`].
pub fn web(pipelines: usize, runs: usize) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let data = tempfile::tempdir()?;
        let seeding = Instant::now();
        {
            let db = data.path().join("circa.db");
            let store = circa_store::connect(&format!("sqlite://{}", db.display())).await?;
            seed(store.as_ref(), pipelines).await?;
        }
        println!("web_pipelines: {pipelines}");
        println!("web_seed_time: {:.1} s", seeding.elapsed().as_secs_f64());
        let server = ServerChild::start(data.path())?;
        let password = std::fs::read_to_string(data.path().join("admin.password"))
            .context("the admin's password")?
            .trim()
            .to_string();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()?;
        let session = sign_in(&http, &server.url, &password).await?;
        let newest = pipelines as i64;
        let last_job = newest * JOBS.len() as i64;
        let pages = [
            ("projects", "/".to_string()),
            ("pipelines_first", format!("/projects/{SLUG}")),
            ("pipelines_deep", format!("/projects/{SLUG}?before=40")),
            (
                "pipelines_branch",
                format!("/projects/{SLUG}?branch=feature-3"),
            ),
            (
                "pipeline",
                format!("/projects/{SLUG}/pipelines/{}", newest / 2),
            ),
            ("job", format!("/projects/{SLUG}/jobs/{}", last_job / 2)),
            ("settings", format!("/projects/{SLUG}/settings")),
        ];
        let mut over = Vec::new();
        for (name, path) in &pages {
            let times = time_page(&http, &server.url, &session, path, runs).await?;
            let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
            println!("web_{name}_p50: {p50:.2} ms");
            println!("web_{name}_p99: {p99:.2} ms");
            if p50 > TARGET_MS {
                over.push(*name);
            }
        }
        println!("web_target: {TARGET_MS:.0} ms");
        println!("web_pages_over_target: {}", over.len());
        if !over.is_empty() {
            eprintln!("pages over {TARGET_MS} ms (p50): {}", over.join(", "));
            return Ok(ExitCode::FAILURE);
        }
        Ok(ExitCode::SUCCESS)
    })
}
