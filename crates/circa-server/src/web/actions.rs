//! What the buttons do: approve a hold, cancel a workflow or a job, rerun a workflow from the
//! start or from failed. Each is a POST form with the session's CSRF token; each answers with
//! a redirect to the pipeline page.

use axum::extract::{Path, State};
use axum::response::Redirect;
use circa_store::{JobId, PipelineId, WorkflowId};
use serde::Deserialize;

use super::account::Empty;
use super::error::WebResult;
use super::load;
use super::session::CsrfForm;
use crate::orchestrator::actions;
use crate::state::AppState;

async fn pipeline_page(
    state: &AppState,
    pipeline_id: &PipelineId,
    slug: &str,
) -> WebResult<Redirect> {
    let number = state
        .store
        .pipeline(pipeline_id)
        .await?
        .map(|p| p.number)
        .unwrap_or_default();
    Ok(Redirect::to(&format!(
        "/projects/{slug}/pipelines/{number}"
    )))
}

/// `POST /ui/workflows/{id}/approve/{request_id}`.
pub async fn approve(
    State(state): State<AppState>,
    Path((id, request)): Path<(WorkflowId, String)>,
    CsrfForm(viewer, Empty {}): CsrfForm<Empty>,
) -> WebResult<Redirect> {
    let (workflow, project) = load::workflow(&state, &viewer, &id).await?;
    actions::approve(&state, &workflow.id, &request, &viewer.user.login).await?;
    pipeline_page(&state, &workflow.pipeline_id, &project.slug).await
}

/// `POST /ui/workflows/{id}/cancel`.
pub async fn cancel_workflow(
    State(state): State<AppState>,
    Path(id): Path<WorkflowId>,
    CsrfForm(viewer, Empty {}): CsrfForm<Empty>,
) -> WebResult<Redirect> {
    let (workflow, project) = load::workflow(&state, &viewer, &id).await?;
    actions::cancel_workflow(&state, &workflow.id).await?;
    pipeline_page(&state, &workflow.pipeline_id, &project.slug).await
}

/// The rerun form: from the start unless `from_failed` is set.
#[derive(Debug, Deserialize)]
pub struct RerunForm {
    #[serde(default)]
    from_failed: Option<String>,
}

/// `POST /ui/workflows/{id}/rerun`.
pub async fn rerun(
    State(state): State<AppState>,
    Path(id): Path<WorkflowId>,
    CsrfForm(viewer, form): CsrfForm<RerunForm>,
) -> WebResult<Redirect> {
    let (workflow, project) = load::workflow(&state, &viewer, &id).await?;
    let from_failed = form.from_failed.is_some_and(|v| v == "true" || v == "1");
    actions::rerun(&state, &workflow, from_failed, &[]).await?;
    pipeline_page(&state, &workflow.pipeline_id, &project.slug).await
}

/// `POST /ui/jobs/{id}/cancel`.
pub async fn cancel_job(
    State(state): State<AppState>,
    Path(id): Path<JobId>,
    CsrfForm(viewer, Empty {}): CsrfForm<Empty>,
) -> WebResult<Redirect> {
    let (job, project) = load::job(&state, &viewer, &id).await?;
    actions::cancel_job(&state, &job, &viewer.user.login).await?;
    Ok(Redirect::to(&format!(
        "/projects/{}/jobs/{}",
        project.slug,
        job.number.unwrap_or_default()
    )))
}
