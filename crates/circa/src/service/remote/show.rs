//! `circa pipeline show ID|SLUG/NUMBER`: a pipeline, its workflows and jobs with status and
//! duration, and why anything waits or failed.

use std::process::ExitCode;

use circa_model::JobStatus;
use owo_colors::OwoColorize;
use serde::Serialize;

use super::diagnose::{self, Failure};
use super::fetch::Api;
use super::model::{JobKind, Pipeline, Workflow, WorkflowJob};
use super::refs::PipelineRef;
use super::screen::{self, Screen};

/// A job with what is known of why it waits or failed.
#[derive(Debug, Serialize)]
pub struct ShownJob {
    /// The job.
    #[serde(flatten)]
    pub job: WorkflowJob,
    /// How long it ran (or has run so far), in milliseconds.
    pub duration_ms: Option<u64>,
    /// Why it waits, while queued.
    pub waiting_reason: Option<String>,
    /// Why it failed.
    pub failure: Option<Failure>,
}

/// A workflow with its jobs.
#[derive(Debug, Serialize)]
pub struct ShownWorkflow {
    /// The workflow.
    #[serde(flatten)]
    pub workflow: Workflow,
    /// How long it ran (or has run so far), in milliseconds.
    pub duration_ms: Option<u64>,
    /// Its jobs.
    pub jobs: Vec<ShownJob>,
}

/// A pipeline with its workflows.
#[derive(Debug, Serialize)]
pub struct Shown {
    /// The pipeline.
    pub pipeline: Pipeline,
    /// Its workflows.
    pub workflows: Vec<ShownWorkflow>,
}

fn millis(d: Option<std::time::Duration>) -> Option<u64> {
    d.and_then(|d| u64::try_from(d.as_millis()).ok())
}

/// One job, with its waiting reason or failure read when it has one.
async fn shown_job(api: &Api<'_>, slug: &str, job: WorkflowJob) -> anyhow::Result<ShownJob> {
    let mut shown = ShownJob {
        duration_ms: millis(screen::elapsed(
            job.started_at.as_deref(),
            job.stopped_at.as_deref(),
        )),
        waiting_reason: None,
        failure: None,
        job,
    };
    let failed = shown.job.status.is_failure() || shown.job.status == JobStatus::Unauthorized;
    if shown.job.kind == JobKind::Build && (failed || shown.job.status == JobStatus::Queued) {
        let details = api.job_details(&shown.job.id).await?;
        if failed {
            shown.failure = Some(diagnose::failure(api, slug, &details).await?);
        }
        shown.waiting_reason = details.waiting_reason;
    }
    Ok(shown)
}

/// Reads the pipeline, its workflows and their jobs.
pub async fn shown(api: &Api<'_>, pipeline: &PipelineRef) -> anyhow::Result<Shown> {
    let pipeline = api.pipeline(pipeline).await?;
    let mut workflows = Vec::new();
    for workflow in api.workflows(&pipeline.id).await? {
        let mut jobs = Vec::new();
        for job in api.jobs(&workflow.id).await? {
            jobs.push(shown_job(api, &pipeline.project_slug, job).await?);
        }
        workflows.push(ShownWorkflow {
            duration_ms: millis(screen::elapsed(
                Some(&workflow.created_at),
                workflow.stopped_at.as_deref(),
            )),
            workflow,
            jobs,
        });
    }
    Ok(Shown {
        pipeline,
        workflows,
    })
}

fn took(ms: Option<u64>) -> String {
    ms.map(|ms| screen::duration(std::time::Duration::from_millis(ms)))
        .unwrap_or_default()
}

/// Prints a pipeline: for people, or as one JSON document. Exit 0 whatever its status.
pub async fn show(api: &Api<'_>, pipeline: &PipelineRef, json: bool) -> anyhow::Result<ExitCode> {
    let shown = shown(api, pipeline).await?;
    if json {
        screen::print_json(&shown)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = Screen::new();
    let p = &shown.pipeline;
    out.line(&format!(
        "pipeline {} of {} ({}), {}, created {}: {}",
        p.number.bold(),
        p.project_slug,
        p.id,
        p.git_ref(),
        screen::short_time(&p.created_at),
        p.state.as_str()
    ));
    if let Some(revision) = &p.vcs.revision {
        out.line(&format!("  commit {}", revision.dimmed()));
    }
    for error in &p.errors {
        out.line(&format!("  {}: {}", "error".red().bold(), error.message));
    }
    for w in &shown.workflows {
        out.line(&format!(
            "workflow {}: {} {}",
            w.workflow.name.bold(),
            screen::workflow_status(w.workflow.status),
            took(w.duration_ms).dimmed()
        ));
        let width = w.jobs.iter().map(|j| j.job.name.len()).max().unwrap_or(0);
        for j in &w.jobs {
            let number = j
                .job
                .job_number
                .map(|n| format!("#{n}"))
                .unwrap_or_default();
            let status = screen::job_status(j.job.status);
            // Padding by the plain word: colour codes have no width.
            let pad = " ".repeat(19usize.saturating_sub(j.job.status.as_str().len()));
            out.line(&format!(
                "  {:width$}  {:>6}  {status}{pad}  {}",
                j.job.name,
                number,
                took(j.duration_ms).dimmed()
            ));
            if let Some(reason) = &j.waiting_reason {
                out.line(&format!("    waiting: {}", reason.yellow()));
            }
            if let Some(failure) = &j.failure {
                for line in failure.lines("    ") {
                    out.line(&line);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
