//! Loading what a route names, with 404 when it does not exist or the caller may not see its
//! project (CircleCI answers 404 then, so a token learns nothing about other projects).

use circa_store::{Job, Pipeline, Project, Task, Workflow};

use super::projects::normal_slug;
use crate::auth::Person;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The project a `VCS/ORG/REPO` path names.
pub async fn project_at(
    state: &AppState,
    person: &Person,
    vcs: &str,
    org: &str,
    repo: &str,
) -> ApiResult<Project> {
    let slug = normal_slug(vcs, org, repo);
    let project = crate::slugs::project_by_slug(state.store.as_ref(), &slug)
        .await?
        .ok_or_else(|| ApiError::not_found("project"))?;
    person.visible(state, project).await
}

/// A project by id.
pub async fn project(state: &AppState, person: &Person, id: &str) -> ApiResult<Project> {
    let project = state
        .store
        .project(id)
        .await?
        .ok_or_else(|| ApiError::not_found("project"))?;
    person.visible(state, project).await
}

/// A job by its project's path and build number.
pub async fn job_at(
    state: &AppState,
    person: &Person,
    path: (&str, &str, &str),
    number: &str,
) -> ApiResult<(Job, Project)> {
    let (job, _, project) = job_with_workflow_at(state, person, path, number).await?;
    Ok((job, project))
}

/// A job by its project's path and build number, with its workflow's name and its project
/// (one query for the job and the name).
pub async fn job_with_workflow_at(
    state: &AppState,
    person: &Person,
    (vcs, org, repo): (&str, &str, &str),
    number: &str,
) -> ApiResult<(Job, Option<String>, Project)> {
    let project = project_at(state, person, vcs, org, repo).await?;
    let number: i64 = number
        .parse()
        .map_err(|_| ApiError::bad_request(format!("job number: {number:?} is not a number")))?;
    let (job, workflow_name) = state
        .store
        .job_by_number_with_workflow(&project.id, number)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    Ok((job, workflow_name, project))
}

/// A job by id, and its project.
pub async fn job(state: &AppState, person: &Person, id: &str) -> ApiResult<(Job, Project)> {
    let job = state
        .store
        .job(id)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    let project = project(state, person, &job.project_id)
        .await
        .map_err(|_| ApiError::not_found("job"))?;
    Ok((job, project))
}

/// A task by id, with its job and project.
pub async fn task(state: &AppState, person: &Person, id: &str) -> ApiResult<(Task, Job)> {
    let task = state
        .store
        .task(id)
        .await?
        .ok_or_else(|| ApiError::not_found("task"))?;
    let (job, _) = job(state, person, &task.job_id)
        .await
        .map_err(|_| ApiError::not_found("task"))?;
    Ok((task, job))
}

/// A pipeline and its project.
pub async fn pipeline(
    state: &AppState,
    person: &Person,
    id: &str,
) -> ApiResult<(Pipeline, Project)> {
    let pipeline = state
        .store
        .pipeline(id)
        .await?
        .ok_or_else(|| ApiError::not_found("pipeline"))?;
    let project = project(state, person, &pipeline.project_id)
        .await
        .map_err(|_| ApiError::not_found("pipeline"))?;
    Ok((pipeline, project))
}

/// A workflow with its pipeline and project.
pub async fn workflow(
    state: &AppState,
    person: &Person,
    id: &str,
) -> ApiResult<(Workflow, Pipeline, Project)> {
    let workflow = state
        .store
        .workflow(id)
        .await?
        .ok_or_else(|| ApiError::not_found("workflow"))?;
    let (pipeline, project) = pipeline(state, person, &workflow.pipeline_id)
        .await
        .map_err(|_| ApiError::not_found("workflow"))?;
    Ok((workflow, pipeline, project))
}
