//! Workflows and their jobs: reads, and the all-or-nothing update a settle writes.

use async_trait::async_trait;

use super::StoreResult;
use crate::ids::{JobId, PipelineId, ProjectId, WorkflowId};
use crate::records::{Job, Workflow, WorkflowUpdate};

/// Workflows and jobs as they run.
#[async_trait]
pub trait WorkflowStore: Send + Sync {
    /// A workflow by id.
    async fn workflow(&self, id: &WorkflowId) -> StoreResult<Option<Workflow>>;
    /// A pipeline's workflows, in creation order.
    async fn workflows_of_pipeline(&self, pipeline_id: &PipelineId) -> StoreResult<Vec<Workflow>>;
    /// Workflows not yet finished in a project's pipelines on `branch`, oldest first.
    async fn active_workflows_on_branch(
        &self,
        project_id: &ProjectId,
        branch: &str,
    ) -> StoreResult<Vec<Workflow>>;
    /// A job by id.
    async fn job(&self, id: &JobId) -> StoreResult<Option<Job>>;
    /// A job by its project and build number.
    async fn job_by_number(&self, project_id: &ProjectId, number: i64) -> StoreResult<Option<Job>>;
    /// A job by its project and build number, with its workflow's name (none if the workflow
    /// is gone), in one query.
    async fn job_by_number_with_workflow(
        &self,
        project_id: &ProjectId,
        number: i64,
    ) -> StoreResult<Option<(Job, Option<String>)>>;
    /// A workflow's jobs, in creation order.
    async fn jobs_of_workflow(&self, workflow_id: &WorkflowId) -> StoreResult<Vec<Job>>;
    /// Applies job changes, queues tasks and sets the workflow's status, all or nothing. False
    /// (and nothing applied) when a job no longer had its `from` status. A job moving to
    /// `queued` gets `queued_at`, to `running` `started_at`, to a finished status `stopped_at`;
    /// the workflow gets `stopped_at` when its status is final (keeping the first stop time)
    /// and loses it when its status is not. [`crate::StoreError::NotFound`] if there is no
    /// such workflow.
    async fn update_workflow(&self, update: WorkflowUpdate) -> StoreResult<bool>;
}
