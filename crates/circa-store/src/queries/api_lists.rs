//! Lists the client API serves under load, read in one round trip: the page is aggregated into
//! one JSON text by the database (`super::PIPELINE_PAGE_SQL`, per backend), because each row
//! a driver streams back costs a hand-off between threads.

use serde_json::Value;

use super::{Backend, PIPELINE_PAGE_SQL};
use crate::error::StoreError;
use crate::records::{Page, Pipeline};
use crate::sql::codec::pipeline_state;
use crate::store::StoreResult;

/// The largest page.
const MAX_PAGE: u32 = 100;

fn bad(what: &str) -> StoreError {
    StoreError::Corrupt(format!("pipeline page: {what}"))
}

/// A JSON column: text holding JSON, or JSON itself.
fn column<T: serde::de::DeserializeOwned>(v: &Value, what: &str) -> StoreResult<T> {
    let parsed = match v {
        Value::String(text) => serde_json::from_str(text),
        other => serde_json::from_value(other.clone()),
    };
    parsed.map_err(|e| bad(&format!("{what}: {e}")))
}

fn decode(row: &Value) -> StoreResult<Pipeline> {
    let cells = row.as_array().ok_or_else(|| bad("a row is not an array"))?;
    let text = |i: usize| {
        cells
            .get(i)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| bad(&format!("column {i} is not text")))
    };
    let int = |i: usize| {
        cells
            .get(i)
            .and_then(Value::as_i64)
            .ok_or_else(|| bad(&format!("column {i} is not a number")))
    };
    Ok(Pipeline {
        id: text(0)?,
        project_id: text(1)?,
        number: int(2)?,
        state: pipeline_state(&text(3)?)?,
        trigger: column(cells.get(4).unwrap_or(&Value::Null), "trigger")?,
        errors: column(cells.get(5).unwrap_or(&Value::Null), "errors")?,
        config_source: None,
        config_compiled: None,
        continuation_key_hash: None,
        continuation_deadline: None,
        created_at: int(6)?,
        updated_at: int(7)?,
    })
}

pub(super) async fn pipeline_page(
    store: &Backend,
    project_id: &str,
    branch: Option<&str>,
    page: Page,
) -> StoreResult<Vec<Pipeline>> {
    let limit = page.limit.clamp(1, MAX_PAGE);
    let json: Option<String> = sqlx::query_scalar(PIPELINE_PAGE_SQL)
        .bind(project_id)
        .bind(branch)
        .bind(page.before)
        .bind(i64::from(limit))
        .fetch_one(store.reader())
        .await?;
    let rows: Vec<Value> = match json {
        Some(text) => serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?,
        None => Vec::new(),
    };
    rows.iter().map(decode).collect()
}
