//! Runs one job or a whole workflow's job graph: jobs start as soon as what they require has
//! finished in a status they accept, up to `--jobs` nodes at once; approvals are given on the
//! command line or at a prompt; Ctrl-C cancels everything and cleans up.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::ExitCode;
use std::sync::Arc;

use circa_model::{JobSpec, JobStatus, PlannedWorkflow, WorkflowStatus, advance::workflow_status};
use serde_json::json;
use tokio::sync::{OnceCell, Semaphore};
use tokio_util::sync::CancellationToken;

use super::Session;
use super::output::{SummaryRow, summary_json, summary_table};
use super::run::{BuildNumbers, JobRun, Runner};

/// How approvals are given.
#[derive(Debug, Clone, Default)]
pub struct Approvals {
    /// `--approve NAME` (repeatable).
    pub names: Vec<String>,
    /// `--approve-all`.
    pub all: bool,
    /// Ask at the terminal for the others.
    pub prompt: bool,
}

/// The Docker Engine, connected when the first docker job needs it.
#[derive(Default)]
pub struct DockerSlot {
    client: OnceCell<Result<circa_exec::docker::DockerClient, String>>,
}

impl DockerSlot {
    /// A docker executor for `images`, or why there is none.
    pub async fn executor(
        &self,
        images: Vec<circa_model::DockerImage>,
        image_map: &BTreeMap<String, String>,
    ) -> Result<circa_exec::docker::DockerExecutor, String> {
        let client = self
            .client
            .get_or_init(|| async {
                circa_exec::docker::DockerClient::connect()
                    .await
                    .map_err(|e| e.to_string())
            })
            .await
            .clone()?;
        Ok(circa_exec::docker::DockerExecutor::new(
            client,
            images,
            circa_exec::docker::DockerOptions {
                image_map: image_map.clone(),
                ..circa_exec::docker::DockerOptions::default()
            },
        ))
    }
}

fn runner(session: Arc<Session>, slots: usize) -> anyhow::Result<Arc<Runner>> {
    let numbers = BuildNumbers::load(&session.data_dir);
    let caches = circa_exec::cache::CacheStore::new(session.data_dir.join("caches"))?;
    let workspaces =
        circa_exec::workspace::WorkspaceStore::new(session.data_dir.join("workspaces"))?;
    let runner = Arc::new(Runner {
        caches,
        workspaces,
        session,
        slots: Arc::new(Semaphore::new(slots)),
        cancel: CancellationToken::new(),
        numbers,
        docker: DockerSlot::default(),
    });
    let cancel = runner.cancel.clone();
    tokio::spawn(async move {
        if interrupted().await {
            eprintln!(
                "\ncanceling: stopping jobs and removing their containers (Ctrl-C again to quit at once)"
            );
            cancel.cancel();
            if interrupted().await {
                std::process::exit(130);
            }
        }
    });
    Ok(runner)
}

/// Waits for Ctrl-C (SIGINT) or SIGTERM; false if neither can be listened for.
async fn interrupted() -> bool {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return tokio::signal::ctrl_c().await.is_ok();
    };
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.is_ok(),
        r = term.recv() => r.is_some(),
    }
}

/// Runs one job (every node).
pub async fn run_single(
    session: Arc<Session>,
    spec: JobSpec,
    slots: usize,
) -> anyhow::Result<ExitCode> {
    let runner = runner(session.clone(), slots)?;
    let row = runner
        .run(JobRun {
            name: spec.name.clone(),
            spec,
            upstream: Vec::new(),
            workflow_id: format!("local-{}", session.pipeline_id),
        })
        .await;
    let ok = row.status == JobStatus::Success;
    finish(
        &session,
        &[row],
        if ok { "success" } else { "failed" },
        "Job",
    );
    Ok(exit(ok))
}

fn exit(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn finish(session: &Session, rows: &[SummaryRow], status: &str, title: &str) {
    if let Some(j) = &session.json {
        j.line(&summary_json(rows, status));
    } else if let Some(h) = &session.human {
        h.line(&summary_table(rows, &format!("{title}: {status}")));
    }
}

/// Every ancestor of `job` through `requires`.
fn ancestors(job: &str, requires: &HashMap<String, Vec<String>>) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut stack = vec![job.to_string()];
    while let Some(j) = stack.pop() {
        for r in requires.get(&j).into_iter().flatten() {
            if seen.insert(r.clone()) {
                stack.push(r.clone());
            }
        }
    }
    let mut out: Vec<String> = seen.into_iter().collect();
    out.sort();
    out
}

/// Runs a planned workflow.
pub async fn run(
    session: Arc<Session>,
    planned: PlannedWorkflow,
    slots: usize,
    approvals: Approvals,
) -> anyhow::Result<ExitCode> {
    for s in &planned.skipped {
        session.say(
            &format!("skipped {}: {}", s.name, s.reason),
            json!({"event": "job_skipped", "job": s.name, "reason": s.reason}),
        );
    }
    if !planned.runs {
        let why = planned.reason.clone().unwrap_or_default();
        session.say(
            &format!(
                "workflow `{}` does not run for this branch or tag: {why}",
                planned.name
            ),
            json!({"event": "workflow_skipped", "workflow": planned.name, "reason": why}),
        );
        return Ok(ExitCode::from(1));
    }
    let runner = runner(session.clone(), slots)?;
    let workflow_id = format!(
        "{}-{}",
        super::run::sanitize(&planned.name),
        session.pipeline_id
    );
    session.say(
        &format!("workflow {} ({} jobs)", planned.name, planned.jobs.len()),
        json!({"event": "workflow_started", "workflow": planned.name, "id": workflow_id, "jobs": planned.jobs.iter().map(|j| &j.name).collect::<Vec<_>>()}),
    );
    let requires: HashMap<String, Vec<String>> = planned
        .jobs
        .iter()
        .map(|j| {
            (
                j.name.clone(),
                j.requires.iter().map(|r| r.name.clone()).collect(),
            )
        })
        .collect();
    let mut status: BTreeMap<String, JobStatus> = BTreeMap::new();
    let mut rows: Vec<SummaryRow> = Vec::new();
    let mut running = tokio::task::JoinSet::new();
    let mut started: HashSet<String> = HashSet::new();
    loop {
        let mut progressed = false;
        for job in &planned.jobs {
            if started.contains(&job.name) {
                continue;
            }
            if job
                .requires
                .iter()
                .any(|r| status.get(&r.name).is_none_or(|s| !s.is_terminal()))
            {
                continue;
            }
            started.insert(job.name.clone());
            progressed = true;
            let accepted = job
                .requires
                .iter()
                .all(|r| status.get(&r.name).is_some_and(|s| r.accepts(*s)));
            if !accepted || runner.cancel.is_cancelled() {
                let st = if runner.cancel.is_cancelled() {
                    JobStatus::Canceled
                } else {
                    JobStatus::NotRun
                };
                status.insert(job.name.clone(), st);
                session.say(
                    &format!("{} {}: {}", "-", job.name, st.as_str()),
                    json!({"event": "job_status", "job": job.name, "status": st.as_str()}),
                );
                rows.push(plain_row(&job.name, st));
                continue;
            }
            if job.approval {
                let approved = approve(&session, &job.name, &approvals).await;
                let st = if approved {
                    JobStatus::Success
                } else {
                    JobStatus::OnHold
                };
                status.insert(job.name.clone(), st);
                session.say(
                    &format!(
                        "{} {}",
                        if approved {
                            "approved"
                        } else {
                            "on hold (not approved):"
                        },
                        job.name
                    ),
                    json!({"event": "approval", "job": job.name, "approved": approved}),
                );
                rows.push(plain_row(&job.name, st));
                continue;
            }
            let spec = match JobSpec::from_processed(&session.config, &job.job_key) {
                Ok(s) => s,
                Err(e) => {
                    status.insert(job.name.clone(), JobStatus::InfrastructureFail);
                    let mut row = plain_row(&job.name, JobStatus::InfrastructureFail);
                    row.message = Some(e.to_string());
                    rows.push(row);
                    continue;
                }
            };
            let run = JobRun {
                name: job.name.clone(),
                spec,
                upstream: ancestors(&job.name, &requires),
                workflow_id: workflow_id.clone(),
            };
            let r = Arc::clone(&runner);
            running.spawn(async move { r.run(run).await });
        }
        if progressed {
            continue;
        }
        match running.join_next().await {
            Some(Ok(row)) => {
                status.insert(row.job.clone(), row.status);
                rows.push(row);
            }
            Some(Err(e)) => anyhow::bail!("a job task failed: {e}"),
            None => break,
        }
    }
    // Jobs behind an approval that was not given stay blocked.
    for job in &planned.jobs {
        if !status.contains_key(&job.name) {
            status.insert(job.name.clone(), JobStatus::Blocked);
            rows.push(plain_row(&job.name, JobStatus::Blocked));
        }
    }
    let order: HashMap<&str, usize> = planned
        .jobs
        .iter()
        .enumerate()
        .map(|(i, j)| (j.name.as_str(), i))
        .collect();
    rows.sort_by_key(|r| order.get(r.job.as_str()).copied().unwrap_or(usize::MAX));
    let statuses: Vec<JobStatus> = status.values().copied().collect();
    let wf = workflow_status(&statuses);
    let ok = wf == WorkflowStatus::Success && statuses.iter().all(|s| *s == JobStatus::Success);
    finish(
        &session,
        &rows,
        wf.as_str(),
        &format!("Workflow {}", planned.name),
    );
    Ok(exit(ok))
}

fn plain_row(job: &str, status: JobStatus) -> SummaryRow {
    SummaryRow {
        job: job.to_string(),
        status,
        nodes: 0,
        duration: std::time::Duration::ZERO,
        tests: None,
        message: None,
        artifacts: Vec::new(),
    }
}

async fn approve(session: &Session, name: &str, approvals: &Approvals) -> bool {
    if approvals.all || approvals.names.iter().any(|n| n == name) {
        return true;
    }
    if !approvals.prompt {
        session.say(
            &format!(
                "approval `{name}` is waiting; pass --approve {name} (or --approve-all) to give it"
            ),
            json!({"event": "approval_waiting", "job": name}),
        );
        return false;
    }
    let question = format!("Approve `{name}`? [y/N] ");
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut out = std::io::stdout();
        let _ = write!(out, "{question}");
        let _ = out.flush();
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).is_ok()
            && matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes")
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_are_transitive() {
        let mut r = HashMap::new();
        r.insert("c".to_string(), vec!["b".to_string()]);
        r.insert("b".to_string(), vec!["a".to_string()]);
        assert_eq!(ancestors("c", &r), vec!["a", "b"]);
        assert!(ancestors("a", &r).is_empty());
    }
}
