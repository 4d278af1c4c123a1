//! Loading what an API route names (see `crate::load`): 404 when it does not exist or the
//! caller may not see its project; a store that fails is 503 or 500, never 404.

use circa_store::{
    Job, JobId, Pipeline, PipelineId, Project, ProjectId, Task, TaskId, Workflow, WorkflowId,
};

use super::projects::normal_slug;
use crate::auth::Person;
use crate::error::{ApiError, ApiResult};
use crate::load;
use crate::state::AppState;

/// The project a `VCS/ORG/REPO` path names.
pub async fn project_at(
    state: &AppState,
    person: &Person,
    vcs: &str,
    org: &str,
    repo: &str,
) -> ApiResult<Project> {
    load::project_by_slug(state, &person.user, &normal_slug(vcs, org, repo)).await
}

/// A project by id.
pub async fn project(state: &AppState, person: &Person, id: &ProjectId) -> ApiResult<Project> {
    load::project(state, &person.user, id).await
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
    let number = load::number(number, "job")?;
    let (job, workflow_name) = state
        .store
        .job_by_number_with_workflow(&project.id, number)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    Ok((job, workflow_name, project))
}

/// A job by id, and its project.
pub async fn job(state: &AppState, person: &Person, id: &JobId) -> ApiResult<(Job, Project)> {
    load::job(state, &person.user, id).await
}

/// A task by id, with its job.
pub async fn task(state: &AppState, person: &Person, id: &TaskId) -> ApiResult<(Task, Job)> {
    load::task(state, &person.user, id).await
}

/// A pipeline and its project.
pub async fn pipeline(
    state: &AppState,
    person: &Person,
    id: &PipelineId,
) -> ApiResult<(Pipeline, Project)> {
    load::pipeline(state, &person.user, id).await
}

/// A workflow with its pipeline and project.
pub async fn workflow(
    state: &AppState,
    person: &Person,
    id: &WorkflowId,
) -> ApiResult<(Workflow, Pipeline, Project)> {
    let (workflow, project) = load::workflow(state, &person.user, id).await?;
    let pipeline = state
        .store
        .pipeline(&workflow.pipeline_id)
        .await?
        .ok_or_else(|| ApiError::not_found("workflow"))?;
    Ok((workflow, pipeline, project))
}
