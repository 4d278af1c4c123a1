//! Loading what a route names, for the API and the pages alike: 404 when it does not exist
//! or the user may not see its project (so nobody learns about other people's projects, as
//! CircleCI answers). A store that fails is its own error (503 or 500, see `crate::error`),
//! never a 404: an outage must not tell callers that their project is gone.

use axum::http::StatusCode;
use circa_store::{
    Job, JobId, Pipeline, PipelineId, Project, ProjectId, Task, TaskId, User, Workflow, WorkflowId,
};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Whether `user` may see `project`: admins see every project, others their projects.
pub async fn can_see(state: &AppState, user: &User, project: &Project) -> ApiResult<bool> {
    Ok(user.admin || state.store.is_project_member(&project.id, &user.id).await?)
}

/// The project, or 404 when `user` may not see it.
pub async fn visible(state: &AppState, user: &User, project: Project) -> ApiResult<Project> {
    if can_see(state, user, &project).await? {
        Ok(project)
    } else {
        Err(ApiError::not_found("project"))
    }
}

/// A 404 of what holds the thing becomes a 404 of the thing; other errors stay as they are.
fn as_missing(what: &'static str) -> impl FnOnce(ApiError) -> ApiError {
    move |e| {
        if e.status() == StatusCode::NOT_FOUND {
            ApiError::not_found(what)
        } else {
            e
        }
    }
}

/// A number in a path (`what` names it in the 400).
pub fn number(text: &str, what: &str) -> ApiResult<i64> {
    text.parse()
        .map_err(|_| ApiError::bad_request(format!("{what} number: {text:?} is not a number")))
}

/// A project by slug.
pub async fn project_by_slug(state: &AppState, user: &User, slug: &str) -> ApiResult<Project> {
    let project = crate::slugs::project_by_slug(state.store.as_ref(), slug).await?;
    visible(
        state,
        user,
        project.ok_or_else(|| ApiError::not_found("project"))?,
    )
    .await
}

/// A project by id.
pub async fn project(state: &AppState, user: &User, id: &ProjectId) -> ApiResult<Project> {
    let project = state.store.project(id).await?;
    visible(
        state,
        user,
        project.ok_or_else(|| ApiError::not_found("project"))?,
    )
    .await
}

/// The project of `what`, found by id: a project that is gone or hidden is a 404 of `what`.
async fn project_of(
    state: &AppState,
    user: &User,
    project_id: &ProjectId,
    what: &'static str,
) -> ApiResult<Project> {
    project(state, user, project_id)
        .await
        .map_err(as_missing(what))
}

/// A job by id, and its project.
pub async fn job(state: &AppState, user: &User, id: &JobId) -> ApiResult<(Job, Project)> {
    let job = state.store.job(id).await?;
    let job = job.ok_or_else(|| ApiError::not_found("job"))?;
    let project = project_of(state, user, &job.project_id, "job").await?;
    Ok((job, project))
}

/// A task by id, with its job.
pub async fn task(state: &AppState, user: &User, id: &TaskId) -> ApiResult<(Task, Job)> {
    let task = state.store.task(id).await?;
    let task = task.ok_or_else(|| ApiError::not_found("task"))?;
    let (job, _) = job(state, user, &task.job_id)
        .await
        .map_err(as_missing("task"))?;
    Ok((task, job))
}

/// A pipeline by id, and its project.
pub async fn pipeline(
    state: &AppState,
    user: &User,
    id: &PipelineId,
) -> ApiResult<(Pipeline, Project)> {
    let pipeline = state.store.pipeline(id).await?;
    let pipeline = pipeline.ok_or_else(|| ApiError::not_found("pipeline"))?;
    let project = project_of(state, user, &pipeline.project_id, "pipeline").await?;
    Ok((pipeline, project))
}

/// A workflow by id, and its project.
pub async fn workflow(
    state: &AppState,
    user: &User,
    id: &WorkflowId,
) -> ApiResult<(Workflow, Project)> {
    let workflow = state.store.workflow(id).await?;
    let workflow = workflow.ok_or_else(|| ApiError::not_found("workflow"))?;
    let project = project_of(state, user, &workflow.project_id, "workflow").await?;
    Ok((workflow, project))
}

/// A pipeline of `project` by number.
pub async fn pipeline_by_number(
    state: &AppState,
    project: &Project,
    n: &str,
) -> ApiResult<Pipeline> {
    let number = number(n, "pipeline")?;
    let pipeline = state.store.pipeline_by_number(&project.id, number).await?;
    pipeline.ok_or_else(|| ApiError::not_found("pipeline"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_404_becomes_a_404_of_the_thing() {
        let hidden = as_missing("job")(ApiError::not_found("project"));
        assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
        assert_eq!(hidden.message(), "job not found");
        let outage = ApiError::Unavailable {
            cause: "pool timed out".into(),
        };
        let outage = as_missing("job")(outage);
        assert_eq!(outage.status(), StatusCode::SERVICE_UNAVAILABLE);
        let fault = as_missing("job")(ApiError::internal("corrupt row"));
        assert_eq!(fault.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let refused = as_missing("job")(ApiError::forbidden("no"));
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }
}
