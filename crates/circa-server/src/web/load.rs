//! Loading what a page's path names: 404 when it does not exist or the signed-in user may not
//! see its project, so a page tells nothing about other people's projects.

use circa_store::{Job, Pipeline, Project, Task, Workflow};

use super::error::{WebError, WebResult};
use super::session::Viewer;
use crate::state::AppState;

/// The `VCS/ORG/REPO` of a page's path, with the VCS part canonical (see [`crate::slugs`]).
pub fn slug(vcs: &str, org: &str, repo: &str) -> String {
    crate::slugs::normal_slug(vcs, org, repo)
}

/// A project by its slug.
pub async fn project_at(
    state: &AppState,
    viewer: &Viewer,
    (vcs, org, repo): (&str, &str, &str),
) -> WebResult<Project> {
    let project = crate::slugs::project_by_slug(state.store.as_ref(), &slug(vcs, org, repo))
        .await?
        .ok_or_else(|| WebError::not_found("project"))?;
    viewer.visible(state, project).await
}

/// A project by id.
pub async fn project(state: &AppState, viewer: &Viewer, id: &str) -> WebResult<Project> {
    let project = state
        .store
        .project(id)
        .await?
        .ok_or_else(|| WebError::not_found("project"))?;
    viewer.visible(state, project).await
}

fn number(text: &str, what: &str) -> WebResult<i64> {
    text.parse()
        .map_err(|_| WebError::bad_request(format!("{what} number: {text:?} is not a number")))
}

/// A pipeline by its project's slug and number.
pub async fn pipeline_at(
    state: &AppState,
    viewer: &Viewer,
    path: (&str, &str, &str),
    n: &str,
) -> WebResult<(Pipeline, Project)> {
    let project = project_at(state, viewer, path).await?;
    let pipeline = state
        .store
        .pipeline_by_number(&project.id, number(n, "pipeline")?)
        .await?
        .ok_or_else(|| WebError::not_found("pipeline"))?;
    Ok((pipeline, project))
}

/// A job by its project's slug and build number.
pub async fn job_at(
    state: &AppState,
    viewer: &Viewer,
    path: (&str, &str, &str),
    n: &str,
) -> WebResult<(Job, Project)> {
    let project = project_at(state, viewer, path).await?;
    let job = state
        .store
        .job_by_number(&project.id, number(n, "job")?)
        .await?
        .ok_or_else(|| WebError::not_found("job"))?;
    Ok((job, project))
}

/// A job by id, and its project.
pub async fn job(state: &AppState, viewer: &Viewer, id: &str) -> WebResult<(Job, Project)> {
    let job = state
        .store
        .job(id)
        .await?
        .ok_or_else(|| WebError::not_found("job"))?;
    let project = project(state, viewer, &job.project_id)
        .await
        .map_err(|_| WebError::not_found("job"))?;
    Ok((job, project))
}

/// A task by id, with its job.
pub async fn task(state: &AppState, viewer: &Viewer, id: &str) -> WebResult<(Task, Job)> {
    let task = state
        .store
        .task(id)
        .await?
        .ok_or_else(|| WebError::not_found("task"))?;
    let (job, _) = job(state, viewer, &task.job_id)
        .await
        .map_err(|_| WebError::not_found("task"))?;
    Ok((task, job))
}

/// A workflow by id, with its project.
pub async fn workflow(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
) -> WebResult<(Workflow, Project)> {
    let workflow = state
        .store
        .workflow(id)
        .await?
        .ok_or_else(|| WebError::not_found("workflow"))?;
    let project = project(state, viewer, &workflow.project_id)
        .await
        .map_err(|_| WebError::not_found("workflow"))?;
    Ok((workflow, project))
}

/// A pipeline by id, with its project.
pub async fn pipeline(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
) -> WebResult<(Pipeline, Project)> {
    let pipeline = state
        .store
        .pipeline(id)
        .await?
        .ok_or_else(|| WebError::not_found("pipeline"))?;
    let project = project(state, viewer, &pipeline.project_id)
        .await
        .map_err(|_| WebError::not_found("pipeline"))?;
    Ok((pipeline, project))
}
