//! Pipelines and the config cache. `start_pipeline` stores a trigger's processed config,
//! state, workflows and their first settle in one transaction.

use async_trait::async_trait;

use super::{Backend, inserts, missing_parent, settle};
use crate::error::StoreError;
use crate::ids::{PipelineId, ProjectId};
use crate::records::{
    CreatedPipeline, Job, Millis, NewPipeline, NewWorkflow, Page, Pipeline, PipelineError,
    PipelineStart, PipelineState, Workflow,
};
use crate::sql::codec::{new_id, to_json};
use crate::sql::columns::pipeline_columns;
use crate::sql::jobs::Parent;
use crate::sql::rows::{PipelineRow, decode_all};
use crate::store::{PipelineStore, StoreResult};

/// Page size when none is asked for, and the most a page holds.
const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;

/// A project's pipelines, newest first: one statement per case (on a branch or not, before a
/// number or not), so each is planned on its index (`pipelines_branch`, or the project's
/// unique numbers) and a deep page seeks rather than scans.
const fn page_sql(branch: bool, before: bool) -> &'static str {
    match (branch, before) {
        (false, false) => concat!(
            "SELECT ",
            pipeline_columns!(),
            " FROM pipelines WHERE project_id = $1 ORDER BY number DESC LIMIT CAST($2 AS BIGINT)"
        ),
        (false, true) => concat!(
            "SELECT ",
            pipeline_columns!(),
            " FROM pipelines WHERE project_id = $1 AND number < $2 \
             ORDER BY number DESC LIMIT CAST($3 AS BIGINT)"
        ),
        (true, false) => concat!(
            "SELECT ",
            pipeline_columns!(),
            " FROM pipelines WHERE project_id = $1 AND branch = $2 \
             ORDER BY number DESC LIMIT CAST($3 AS BIGINT)"
        ),
        (true, true) => concat!(
            "SELECT ",
            pipeline_columns!(),
            " FROM pipelines WHERE project_id = $1 AND branch = $2 AND number < $3 \
             ORDER BY number DESC LIMIT CAST($4 AS BIGINT)"
        ),
    }
}

#[async_trait]
impl PipelineStore for Backend {
    async fn create_pipeline(
        &self,
        new: NewPipeline,
        workflows: Vec<NewWorkflow>,
        now: Millis,
    ) -> StoreResult<CreatedPipeline> {
        let mut tx = self.begin().await?;
        // Numbers come from a counter on the project, bumped in this transaction: the row lock
        // (PostgreSQL) or the single writer (SQLite) keeps them unique and gapless.
        let number: Option<i64> = sqlx::query_scalar(
            "UPDATE projects SET pipeline_counter = pipeline_counter + 1 WHERE id = $1 \
             RETURNING pipeline_counter",
        )
        .bind(&new.project_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(number) = number else {
            tx.rollback().await?;
            return Err(StoreError::NotFound(format!("project {}", new.project_id)));
        };
        let pipeline = Pipeline {
            id: new_id(),
            project_id: new.project_id,
            number,
            state: new.state,
            trigger: new.trigger,
            errors: new.errors,
            config_source: new.config_source,
            config_compiled: new.config_compiled,
            continuation_key_hash: new.continuation_key_hash,
            continuation_deadline: new.continuation_deadline,
            created_at: now,
            updated_at: now,
        };
        sqlx::query(
            "INSERT INTO pipelines (id, project_id, number, state, trigger_json, branch, errors, \
             config_source, config_compiled, continuation_key_hash, continuation_deadline, \
             created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        )
        .bind(&pipeline.id)
        .bind(&pipeline.project_id)
        .bind(pipeline.number)
        .bind(pipeline.state.as_str())
        .bind(to_json(&pipeline.trigger, "pipeline trigger")?)
        .bind(&pipeline.trigger.branch)
        .bind(to_json(&pipeline.errors, "pipeline errors")?)
        .bind(&pipeline.config_source)
        .bind(&pipeline.config_compiled)
        .bind(&pipeline.continuation_key_hash)
        .bind(pipeline.continuation_deadline)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let parent = Parent {
            pipeline_id: &pipeline.id,
            project_id: &pipeline.project_id,
            now,
        };
        let (workflows, jobs) = inserts::workflows(&mut tx, &parent, workflows).await?;
        tx.commit().await?;
        Ok(CreatedPipeline {
            pipeline,
            workflows,
            jobs,
        })
    }

    async fn add_workflows(
        &self,
        pipeline_id: &PipelineId,
        workflows: Vec<NewWorkflow>,
        now: Millis,
    ) -> StoreResult<(Vec<Workflow>, Vec<Job>)> {
        let mut tx = self.begin().await?;
        let project_id: Option<ProjectId> =
            sqlx::query_scalar("SELECT project_id FROM pipelines WHERE id = $1")
                .bind(pipeline_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(project_id) = project_id else {
            tx.rollback().await?;
            return Err(StoreError::NotFound(format!("pipeline {pipeline_id}")));
        };
        let parent = Parent {
            pipeline_id,
            project_id: &project_id,
            now,
        };
        let added = inserts::workflows(&mut tx, &parent, workflows).await?;
        tx.commit().await?;
        Ok(added)
    }

    async fn start_pipeline(
        &self,
        start: PipelineStart<'_>,
    ) -> StoreResult<(Vec<Workflow>, Vec<Job>)> {
        let (hash, deadline) = start.continuation.unzip();
        let (state, errors) = match start.state {
            Some(state) => (
                Some(state.as_str()),
                Some(to_json(&[] as &[PipelineError], "pipeline errors")?),
            ),
            None => (None, None),
        };
        let mut tx = self.begin().await?;
        let project_id: Option<ProjectId> = sqlx::query_scalar(
            "UPDATE pipelines SET config_compiled = $2, continuation_key_hash = $3, \
             continuation_deadline = $4, state = COALESCE($5, state), \
             errors = COALESCE($6, errors), updated_at = $7 WHERE id = $1 RETURNING project_id",
        )
        .bind(start.pipeline_id)
        .bind(start.compiled)
        .bind(hash)
        .bind(deadline)
        .bind(state)
        .bind(errors)
        .bind(start.now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(project_id) = project_id else {
            tx.rollback().await?;
            return Err(StoreError::NotFound(format!(
                "pipeline {}",
                start.pipeline_id
            )));
        };
        let parent = Parent {
            pipeline_id: start.pipeline_id,
            project_id: &project_id,
            now: start.now,
        };
        let added = inserts::workflows(&mut tx, &parent, start.workflows).await?;
        if let Some(first_settle) = start.settle {
            for update in first_settle(&added.0, &added.1) {
                if !settle::apply(&mut tx, &update).await? {
                    tx.rollback().await?;
                    return Err(StoreError::Conflict(format!(
                        "the first settle of workflow {}",
                        update.workflow_id
                    )));
                }
            }
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn set_pipeline_state(
        &self,
        pipeline_id: &PipelineId,
        state: PipelineState,
        errors: &[PipelineError],
        now: Millis,
    ) -> StoreResult<()> {
        let changed = sqlx::query(
            "UPDATE pipelines SET state = $2, errors = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(pipeline_id)
        .bind(state.as_str())
        .bind(to_json(errors, "pipeline errors")?)
        .bind(now)
        .execute(&mut *self.writer().await?)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound(format!("pipeline {pipeline_id}")));
        }
        Ok(())
    }

    async fn continue_pipeline(
        &self,
        pipeline_id: &PipelineId,
        config_source: &str,
        config_compiled: &str,
        now: Millis,
    ) -> StoreResult<bool> {
        // One conditional UPDATE: of concurrent callers, exactly one sees a changed row.
        let changed = sqlx::query(
            "UPDATE pipelines SET state = 'setup', config_source = $2, config_compiled = $3, \
             updated_at = $4 \
             WHERE id = $1 AND state = 'setup-pending' AND continuation_deadline >= $4",
        )
        .bind(pipeline_id)
        .bind(config_source)
        .bind(config_compiled)
        .bind(now)
        .execute(&mut *self.writer().await?)
        .await?
        .rows_affected();
        Ok(changed > 0)
    }

    async fn pipeline(&self, id: &PipelineId) -> StoreResult<Option<Pipeline>> {
        sqlx::query_as::<_, PipelineRow>(concat!(
            "SELECT ",
            pipeline_columns!(),
            " FROM pipelines WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *self.reader().await?)
        .await?
        .map(PipelineRow::decode)
        .transpose()
    }

    async fn pipeline_by_number(
        &self,
        project_id: &ProjectId,
        number: i64,
    ) -> StoreResult<Option<Pipeline>> {
        sqlx::query_as::<_, PipelineRow>(concat!(
            "SELECT ",
            pipeline_columns!(),
            " FROM pipelines WHERE project_id = $1 AND number = $2"
        ))
        .bind(project_id)
        .bind(number)
        .fetch_optional(&mut *self.reader().await?)
        .await?
        .map(PipelineRow::decode)
        .transpose()
    }

    async fn pipelines(
        &self,
        project_id: &ProjectId,
        branch: Option<&str>,
        page: Page,
    ) -> StoreResult<Vec<Pipeline>> {
        let limit = match page.limit {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        };
        let sql = page_sql(branch.is_some(), page.before.is_some());
        let mut query = sqlx::query_as::<_, PipelineRow>(sql).bind(project_id);
        if let Some(branch) = branch {
            query = query.bind(branch);
        }
        if let Some(before) = page.before {
            query = query.bind(before);
        }
        let rows = query
            .bind(i64::from(limit))
            .fetch_all(&mut *self.reader().await?)
            .await?;
        decode_all(rows, PipelineRow::decode)
    }

    async fn cached_config(
        &self,
        project_id: &ProjectId,
        sha: &str,
    ) -> StoreResult<Option<String>> {
        let key = format!("{project_id}/{sha}");
        let generation = match self.caches().configs.get(&key) {
            Ok(config) => return Ok(Some(config)),
            Err(generation) => generation,
        };
        let found: Option<String> = sqlx::query_scalar(
            "SELECT config FROM config_cache WHERE project_id = $1 AND sha = $2",
        )
        .bind(project_id)
        .bind(sha)
        .fetch_optional(&mut *self.reader().await?)
        .await?;
        if let Some(config) = &found {
            self.caches().configs.put(&key, generation, config.clone());
        }
        Ok(found)
    }

    async fn cache_config(
        &self,
        project_id: &ProjectId,
        sha: &str,
        config: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO config_cache (project_id, sha, config) VALUES ($1, $2, $3) \
             ON CONFLICT (project_id, sha) DO UPDATE SET config = excluded.config",
        )
        .bind(project_id)
        .bind(sha)
        .bind(config)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| missing_parent(e, || format!("project {project_id}")))?;
        Ok(())
    }
}
