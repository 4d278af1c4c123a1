//! Workflows and jobs as they run: reads, and the update a settle writes (see `settle`).

use async_trait::async_trait;

use super::{Backend, inserts, settle};
use crate::ids::{JobId, PipelineId, ProjectId, WorkflowId};
use crate::records::{Job, Workflow, WorkflowUpdate};
use crate::sql::columns::{job_columns, workflow_columns};
use crate::sql::rows::{JobRow, JobWorkflowRow, WorkflowRow, decode_all};
use crate::store::{StoreResult, WorkflowStore};

#[async_trait]
impl WorkflowStore for Backend {
    async fn workflow(&self, id: &WorkflowId) -> StoreResult<Option<Workflow>> {
        sqlx::query_as::<_, WorkflowRow>(concat!(
            "SELECT ",
            workflow_columns!(),
            " FROM workflows WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *self.reader().await?)
        .await?
        .map(WorkflowRow::decode)
        .transpose()
    }

    async fn workflows_of_pipeline(&self, pipeline_id: &PipelineId) -> StoreResult<Vec<Workflow>> {
        let rows = sqlx::query_as::<_, WorkflowRow>(concat!(
            "SELECT ",
            workflow_columns!(),
            " FROM workflows WHERE pipeline_id = $1 ORDER BY ord"
        ))
        .bind(pipeline_id)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        decode_all(rows, WorkflowRow::decode)
    }

    async fn active_workflows_on_branch(
        &self,
        project_id: &ProjectId,
        branch: &str,
    ) -> StoreResult<Vec<Workflow>> {
        // `stopped_at` is set exactly when the status is final.
        let rows = sqlx::query_as::<_, WorkflowRow>(concat!(
            "SELECT ",
            workflow_columns!(),
            " FROM workflows WHERE stopped_at IS NULL AND pipeline_id IN \
             (SELECT id FROM pipelines WHERE project_id = $1 AND branch = $2) ORDER BY ord"
        ))
        .bind(project_id)
        .bind(branch)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        decode_all(rows, WorkflowRow::decode)
    }

    async fn job(&self, id: &JobId) -> StoreResult<Option<Job>> {
        inserts::read_job(&mut *self.reader().await?, id).await
    }

    async fn job_by_number(&self, project_id: &ProjectId, number: i64) -> StoreResult<Option<Job>> {
        // A rerun's copies share their source's number; the source comes first.
        sqlx::query_as::<_, JobRow>(concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs WHERE project_id = $1 AND number = $2 ORDER BY ord LIMIT 1"
        ))
        .bind(project_id)
        .bind(number)
        .fetch_optional(&mut *self.reader().await?)
        .await?
        .map(JobRow::decode)
        .transpose()
    }

    async fn job_by_number_with_workflow(
        &self,
        project_id: &ProjectId,
        number: i64,
    ) -> StoreResult<Option<(Job, Option<String>)>> {
        // As `job_by_number`, with the workflow's name read in the same statement.
        sqlx::query_as::<_, JobWorkflowRow>(concat!(
            "SELECT j.*, (SELECT w.name FROM workflows w WHERE w.id = j.workflow_id) \
             AS workflow_name FROM (SELECT ",
            job_columns!(),
            " FROM jobs WHERE project_id = $1 AND number = $2 ORDER BY ord LIMIT 1) j"
        ))
        .bind(project_id)
        .bind(number)
        .fetch_optional(&mut *self.reader().await?)
        .await?
        .map(JobWorkflowRow::decode)
        .transpose()
    }

    async fn jobs_of_workflow(&self, workflow_id: &WorkflowId) -> StoreResult<Vec<Job>> {
        let rows = sqlx::query_as::<_, JobRow>(concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs WHERE workflow_id = $1 ORDER BY ord"
        ))
        .bind(workflow_id)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        decode_all(rows, JobRow::decode)
    }

    async fn update_workflow(&self, update: WorkflowUpdate) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        if !settle::apply(&mut tx, &update).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }
}
