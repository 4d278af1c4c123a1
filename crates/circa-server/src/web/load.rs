//! Loading what a page's path names (see `crate::load`): 404 when it does not exist or the
//! signed-in user may not see its project, so a page tells nothing about other people's
//! projects; a store that fails is 503 or 500, never 404.

use circa_store::{Job, JobId, Pipeline, PipelineId, Project, Task, TaskId, Workflow, WorkflowId};

use super::error::{WebError, WebResult};
use super::session::Viewer;
use crate::load;
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
    Ok(load::project_by_slug(state, &viewer.user, &slug(vcs, org, repo)).await?)
}

/// A pipeline by its project's slug and number.
pub async fn pipeline_at(
    state: &AppState,
    viewer: &Viewer,
    path: (&str, &str, &str),
    n: &str,
) -> WebResult<(Pipeline, Project)> {
    let project = project_at(state, viewer, path).await?;
    let pipeline = load::pipeline_by_number(state, &project, n).await?;
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
        .job_by_number(&project.id, load::number(n, "job")?)
        .await?
        .ok_or_else(|| WebError::not_found("job"))?;
    Ok((job, project))
}

/// A job by id, and its project.
pub async fn job(state: &AppState, viewer: &Viewer, id: &JobId) -> WebResult<(Job, Project)> {
    Ok(load::job(state, &viewer.user, id).await?)
}

/// A task by id, with its job.
pub async fn task(state: &AppState, viewer: &Viewer, id: &TaskId) -> WebResult<(Task, Job)> {
    Ok(load::task(state, &viewer.user, id).await?)
}

/// A workflow by id, with its project.
pub async fn workflow(
    state: &AppState,
    viewer: &Viewer,
    id: &WorkflowId,
) -> WebResult<(Workflow, Project)> {
    Ok(load::workflow(state, &viewer.user, id).await?)
}

/// A pipeline by id, with its project.
pub async fn pipeline(
    state: &AppState,
    viewer: &Viewer,
    id: &PipelineId,
) -> WebResult<(Pipeline, Project)> {
    Ok(load::pipeline(state, &viewer.user, id).await?)
}
