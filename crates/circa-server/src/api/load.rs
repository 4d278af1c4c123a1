//! Loading what a route names, with 404 when it does not exist.

use circa_store::{Job, Pipeline, Project, Workflow};

use super::projects::normal_slug;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The project a `VCS/ORG/REPO` path names.
pub async fn project_at(state: &AppState, vcs: &str, org: &str, repo: &str) -> ApiResult<Project> {
    let slug = normal_slug(vcs, org, repo);
    state
        .store
        .project_by_slug(&slug)
        .await?
        .ok_or_else(|| ApiError::not_found("project"))
}

/// A job by its project's path and build number.
pub async fn job_at(
    state: &AppState,
    vcs: &str,
    org: &str,
    repo: &str,
    number: &str,
) -> ApiResult<(Job, Project)> {
    let project = project_at(state, vcs, org, repo).await?;
    let number: i64 = number
        .parse()
        .map_err(|_| ApiError::bad_request(format!("job number: {number:?} is not a number")))?;
    let job = state
        .store
        .job_by_number(&project.id, number)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    Ok((job, project))
}

/// A pipeline and its project.
pub async fn pipeline(state: &AppState, id: &str) -> ApiResult<(Pipeline, Project)> {
    let pipeline = state
        .store
        .pipeline(id)
        .await?
        .ok_or_else(|| ApiError::not_found("pipeline"))?;
    let project = state
        .store
        .project(&pipeline.project_id)
        .await?
        .ok_or_else(|| ApiError::not_found("pipeline"))?;
    Ok((pipeline, project))
}

/// A workflow with its pipeline and project.
pub async fn workflow(state: &AppState, id: &str) -> ApiResult<(Workflow, Pipeline, Project)> {
    let workflow = state
        .store
        .workflow(id)
        .await?
        .ok_or_else(|| ApiError::not_found("workflow"))?;
    let (pipeline, project) = pipeline(state, &workflow.pipeline_id).await?;
    Ok((workflow, pipeline, project))
}
