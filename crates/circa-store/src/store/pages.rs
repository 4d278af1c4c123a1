//! Reads shaped for what the web UI and the client API show, fast with a long history.

use async_trait::async_trait;

use super::StoreResult;
use crate::ids::ProjectId;
use crate::records::{Millis, Page, Pipeline};
use crate::web_records::WorkflowDay;

/// Lists and sums read in one round trip, for pages and API lists.
#[async_trait]
pub trait PageStore: Send + Sync {
    /// A page of a project's pipelines, newest first, as
    /// [`crate::PipelineStore::pipelines`] gives them but without their configs (`config_*`
    /// and continuation fields are `None`): what API lists show, read in one round trip.
    async fn pipeline_page(
        &self,
        project_id: &ProjectId,
        branch: Option<&str>,
        page: Page,
    ) -> StoreResult<Vec<Pipeline>>;
    /// A project's finished workflows created since `since`, summed per day of `day_ms`
    /// milliseconds (day 0 starts at `since`), days without any left out, oldest first.
    async fn workflow_days(
        &self,
        project_id: &ProjectId,
        since: Millis,
        day_ms: i64,
    ) -> StoreResult<Vec<WorkflowDay>>;
}
