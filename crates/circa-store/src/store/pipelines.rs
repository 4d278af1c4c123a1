//! Pipelines: creating and starting them with their workflows, their state, the config cache.

use async_trait::async_trait;

use super::StoreResult;
use crate::ids::{PipelineId, ProjectId};
use crate::records::{
    CreatedPipeline, Job, Millis, NewPipeline, NewWorkflow, Page, Pipeline, PipelineError,
    PipelineStart, PipelineState, Workflow,
};

/// Pipelines, from their creation to their start, and the configs read at commits.
#[async_trait]
pub trait PipelineStore: Send + Sync {
    /// Creates a pipeline with the next number of its project, and its workflows and jobs (jobs
    /// that are not approvals get the project's next build numbers, in order; a job copied by a
    /// rerun keeps its source's number and times). [`crate::StoreError::NotFound`] if there is
    /// no such project.
    async fn create_pipeline(
        &self,
        pipeline: NewPipeline,
        workflows: Vec<NewWorkflow>,
        now: Millis,
    ) -> StoreResult<CreatedPipeline>;
    /// Adds workflows to a pipeline (a rerun, a continuation); [`crate::StoreError::NotFound`]
    /// if there is no such pipeline.
    async fn add_workflows(
        &self,
        pipeline_id: &PipelineId,
        workflows: Vec<NewWorkflow>,
        now: Millis,
    ) -> StoreResult<(Vec<Workflow>, Vec<Job>)>;
    /// Starts a compiled pipeline in one transaction: records its processed config (and, for
    /// a setup config, the hash of its continuation key and the key's deadline), moves it to
    /// `start.state` with no errors when given, adds its workflows, and applies the updates
    /// `start.settle` makes of them. Returns the workflows and jobs as added (before those
    /// updates). [`crate::StoreError::NotFound`] if there is no such pipeline (and nothing
    /// changes); [`crate::StoreError::Conflict`] (and nothing changes) if an update of the
    /// settle no longer applies.
    async fn start_pipeline(
        &self,
        start: PipelineStart<'_>,
    ) -> StoreResult<(Vec<Workflow>, Vec<Job>)>;
    /// Sets a pipeline's state and errors; [`crate::StoreError::NotFound`] if there is no such
    /// pipeline.
    async fn set_pipeline_state(
        &self,
        pipeline_id: &PipelineId,
        state: PipelineState,
        errors: &[PipelineError],
        now: Millis,
    ) -> StoreResult<()>;
    /// Moves a `setup-pending` pipeline whose continuation deadline has not passed to `setup`,
    /// recording the continued config. True for the one caller that wins; false if the pipeline
    /// was already continued, is not a setup pipeline, or the deadline passed.
    async fn continue_pipeline(
        &self,
        pipeline_id: &PipelineId,
        config_source: &str,
        config_compiled: &str,
        now: Millis,
    ) -> StoreResult<bool>;
    /// A pipeline by id.
    async fn pipeline(&self, id: &PipelineId) -> StoreResult<Option<Pipeline>>;
    /// A pipeline by its project and number.
    async fn pipeline_by_number(
        &self,
        project_id: &ProjectId,
        number: i64,
    ) -> StoreResult<Option<Pipeline>>;
    /// A project's pipelines, newest first, optionally on one branch; `page.before` is a
    /// pipeline number, `page.limit` 0 means 20, and a page holds at most 100.
    async fn pipelines(
        &self,
        project_id: &ProjectId,
        branch: Option<&str>,
        page: Page,
    ) -> StoreResult<Vec<Pipeline>>;
    /// The config cached for a commit.
    async fn cached_config(&self, project_id: &ProjectId, sha: &str)
    -> StoreResult<Option<String>>;
    /// Caches the config read at a commit (replacing an older entry);
    /// [`crate::StoreError::NotFound`] if there is no such project.
    async fn cache_config(
        &self,
        project_id: &ProjectId,
        sha: &str,
        config: &str,
    ) -> StoreResult<()>;
}
