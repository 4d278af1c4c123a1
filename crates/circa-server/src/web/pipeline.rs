//! A pipeline's page: its trigger, each workflow as a graph with its actions, diagnostics of an
//! errored pipeline; and its config page (source and processed).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use circa_model::JobStatus;
use circa_store::{Job, PipelineId, PipelineState, WorkflowId};

use super::error::WebResult;
use super::graph::{self, Graph};
use super::load;
use super::projects::worst_workflow;
use super::session::Viewer;
use super::view::{Nav, duration, short_sha, span, time};
use crate::state::AppState;

/// A job's row under the graph.
struct JobRow {
    name: String,
    status: String,
    took: String,
    href: Option<String>,
    waiting: Option<String>,
}

/// A workflow and what may be done with it.
struct WorkflowView {
    id: WorkflowId,
    name: String,
    status: String,
    took: String,
    rerun_of: bool,
    can_cancel: bool,
    can_rerun: bool,
    can_rerun_failed: bool,
    approvals: Vec<(String, String)>,
    graph: Graph,
    jobs: Vec<JobRow>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pipeline.html")]
struct PipelinePage {
    nav: Nav,
    slug: String,
    id: PipelineId,
    number: i64,
    state: String,
    reference: String,
    sha: String,
    subject: String,
    actor: String,
    kind: circa_store::TriggerKind,
    created: String,
    errors: Vec<(circa_store::PipelineErrorKind, String)>,
    workflows: Vec<WorkflowView>,
}

/// The second line of a job's box.
fn detail(job: &Job) -> String {
    if job.approval {
        return match job.status {
            JobStatus::OnHold => "needs approval".into(),
            JobStatus::Success => match &job.actor {
                Some(a) => format!("approved by {a}"),
                None => "approved".into(),
            },
            s => s.as_str().into(),
        };
    }
    match (job.started_at, job.stopped_at) {
        (Some(a), Some(b)) => format!("{} · {}", job.status.as_str(), duration(b - a)),
        _ => job.status.as_str().to_string(),
    }
}

/// `GET /projects/{vcs}/{org}/{repo}/pipelines/{number}`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((vcs, org, repo, number)): Path<(String, String, String, String)>,
) -> WebResult<impl IntoResponse> {
    let (pipeline, project) =
        load::pipeline_at(&state, &viewer, (&vcs, &org, &repo), &number).await?;
    let slug = project.slug.clone();
    let job_href = |j: &Job| j.number.map(|n| format!("/projects/{slug}/jobs/{n}"));
    let mut workflows = Vec::new();
    let stored = state.store.workflows_of_pipeline(&pipeline.id).await?;
    // The header's status: the workflows' together (the pipeline's own state only says
    // `created` once they exist), or the pipeline's state before they do.
    let statuses: Vec<&str> = stored.iter().map(|w| w.status.as_str()).collect();
    let status = if pipeline.state == PipelineState::Errored || statuses.is_empty() {
        pipeline.state.as_str().to_string()
    } else {
        worst_workflow(&statuses).to_string()
    };
    for w in &stored {
        let jobs = state.store.jobs_of_workflow(&w.id).await?;
        let mut rows = Vec::new();
        for j in &jobs {
            rows.push(JobRow {
                name: j.name.clone(),
                status: j.status.as_str().to_string(),
                took: span(j.started_at, j.stopped_at),
                href: job_href(j),
                waiting: crate::queue_reason::why_waiting(&state, j).await?,
            });
        }
        let terminal = w.status.is_terminal();
        workflows.push(WorkflowView {
            approvals: jobs
                .iter()
                .filter(|j| j.approval && j.status == JobStatus::OnHold)
                .filter_map(|j| j.approval_request_id.clone().map(|id| (j.name.clone(), id)))
                .collect(),
            graph: graph::layout(&jobs, detail, job_href),
            jobs: rows,
            id: w.id.clone(),
            name: w.name.clone(),
            status: w.status.as_str().to_string(),
            took: span(Some(w.created_at), w.stopped_at),
            rerun_of: w.rerun_of.is_some(),
            can_cancel: !terminal,
            can_rerun: terminal,
            can_rerun_failed: terminal && w.status != circa_model::WorkflowStatus::Success,
        });
    }
    let reference = match (&pipeline.trigger.branch, &pipeline.trigger.tag) {
        (_, Some(tag)) => format!("tag {tag}"),
        (Some(b), None) => b.clone(),
        (None, None) => String::new(),
    };
    Ok(PipelinePage {
        nav: Nav::of(&viewer),
        slug,
        id: pipeline.id.clone(),
        number: pipeline.number,
        state: status,
        reference,
        sha: short_sha(&pipeline.trigger.revision),
        subject: pipeline.trigger.subject.clone().unwrap_or_default(),
        actor: pipeline.trigger.actor.clone(),
        kind: pipeline.trigger.kind,
        created: time(pipeline.created_at),
        errors: pipeline
            .errors
            .iter()
            .map(|e| (e.kind, e.message.clone()))
            .collect(),
        workflows,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "config.html")]
struct ConfigPage {
    nav: Nav,
    slug: String,
    number: i64,
    errored: bool,
    errors: Vec<(circa_store::PipelineErrorKind, String)>,
    source: Vec<String>,
    compiled: Vec<String>,
}

/// `GET /projects/{vcs}/{org}/{repo}/pipelines/{number}/config`.
pub async fn config(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((vcs, org, repo, number)): Path<(String, String, String, String)>,
) -> WebResult<impl IntoResponse> {
    let (pipeline, project) =
        load::pipeline_at(&state, &viewer, (&vcs, &org, &repo), &number).await?;
    let lines = |t: &Option<String>| {
        t.as_deref()
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    };
    Ok(ConfigPage {
        nav: Nav::of(&viewer),
        slug: project.slug.clone(),
        number: pipeline.number,
        errored: pipeline.state == PipelineState::Errored,
        errors: pipeline
            .errors
            .iter()
            .map(|e| (e.kind, e.message.clone()))
            .collect(),
        source: lines(&pipeline.config_source),
        compiled: lines(&pipeline.config_compiled),
    })
}
