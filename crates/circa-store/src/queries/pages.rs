//! Reads behind what the client API and the web UI show, fast under load and with a long
//! history. A page of pipelines is read in one round trip: the page is aggregated into one
//! JSON text by the database (`super::PIPELINE_PAGE_SQL`, per backend), because each row a
//! driver streams back costs a hand-off between threads. A project's finished workflows are
//! summed per day in the database, so a chart never loads the workflows themselves.

use std::fmt;
use std::marker::PhantomData;

use async_trait::async_trait;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};

use super::{Backend, PIPELINE_PAGE_SQL};
use crate::error::StoreError;
use crate::ids::{PipelineId, ProjectId};
use crate::records::{Millis, Page, Pipeline, PipelineError, PipelineTrigger};
use crate::sql::codec::pipeline_state;
use crate::store::{PageStore, StoreResult};
use crate::web_records::WorkflowDay;

/// The largest page.
const MAX_PAGE: u32 = 100;

fn bad(what: &str) -> StoreError {
    StoreError::Corrupt(format!("pipeline page: {what}"))
}

/// A JSON column inside the page: text holding JSON, or JSON itself; read straight from the
/// page's text into `T`.
struct Embedded<T>(T);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Embedded<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Cell<T>(PhantomData<T>);

        impl<'de, T: DeserializeOwned> Visitor<'de> for Cell<T> {
            type Value = T;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("JSON, or text holding JSON")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
                serde_json::from_str(text).map_err(E::custom)
            }

            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<T, A::Error> {
                T::deserialize(de::value::SeqAccessDeserializer::new(seq))
            }
        }

        deserializer
            .deserialize_any(Cell(PhantomData))
            .map(Embedded)
    }
}

/// One row of the page, in `PIPELINE_PAGE_SQL`'s column order.
type Row = (
    PipelineId,
    ProjectId,
    i64,
    String,
    Embedded<PipelineTrigger>,
    Embedded<Vec<PipelineError>>,
    i64,
    i64,
);

fn decode(row: Row) -> StoreResult<Pipeline> {
    let (id, project_id, number, state, trigger, errors, created_at, updated_at) = row;
    Ok(Pipeline {
        id,
        project_id,
        number,
        state: pipeline_state(&state)?,
        trigger: trigger.0,
        errors: errors.0,
        config_source: None,
        config_compiled: None,
        continuation_key_hash: None,
        continuation_deadline: None,
        created_at,
        updated_at,
    })
}

#[async_trait]
impl PageStore for Backend {
    async fn pipeline_page(
        &self,
        project_id: &ProjectId,
        branch: Option<&str>,
        page: Page,
    ) -> StoreResult<Vec<Pipeline>> {
        let limit = page.limit.clamp(1, MAX_PAGE);
        let json: Option<String> = sqlx::query_scalar(PIPELINE_PAGE_SQL)
            .bind(project_id)
            .bind(branch)
            .bind(page.before)
            .bind(i64::from(limit))
            .fetch_one(&mut *self.reader().await?)
            .await?;
        let rows: Vec<Row> = match json {
            Some(text) => serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?,
            None => Vec::new(),
        };
        rows.into_iter().map(decode).collect()
    }

    async fn workflow_days(
        &self,
        project_id: &ProjectId,
        since: Millis,
        day_ms: i64,
    ) -> StoreResult<Vec<WorkflowDay>> {
        let day_ms = day_ms.max(1);
        let rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT CAST((created_at - $2) / $3 AS BIGINT) AS day, CAST(COUNT(*) AS BIGINT), \
             CAST(SUM(stopped_at - created_at) AS BIGINT), \
             CAST(SUM(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS BIGINT) \
             FROM workflows WHERE project_id = $1 AND created_at >= $2 AND stopped_at IS NOT NULL \
             GROUP BY day ORDER BY day",
        )
        .bind(project_id)
        .bind(since)
        .bind(day_ms)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(day, finished, total_ms, succeeded)| WorkflowDay {
                day,
                finished,
                total_ms,
                succeeded,
            })
            .collect())
    }
}
