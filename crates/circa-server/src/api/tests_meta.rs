//! Test metadata: the JUnit reports a job's nodes uploaded (`store_test_results`), read from
//! Blobs and parsed when asked for, in CircleCI's shape.

use axum::Json;
use axum::extract::{Path, Query, State};
use circa_exec::junit::{self, Outcome};
use circa_store::JobId;
use serde::Serialize;
use serde_json::{Value, json};

use super::pipelines::PageQuery;
use super::{load, page};
use crate::auth::Person;
use crate::error::ApiResult;
use crate::state::AppState;

/// Reports larger than this are not parsed (CircleCI also skips oversized files).
const MAX_REPORT_BYTES: u64 = 64 * 1024 * 1024;

/// CircleCI's word for an outcome.
fn result(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "success",
        Outcome::Failed => "failure",
        Outcome::Error => "error",
        Outcome::Skipped => "skipped",
    }
}

/// One test case of a job, serialized in CircleCI's shape (fields in its order; the node is
/// Circa's own and not sent).
#[derive(Debug, Clone, Serialize)]
pub struct JobTest {
    /// The failure's message (or its text when there is no message).
    pub message: Option<String>,
    /// The report's folder under the stored test results (`junit` when at the top).
    pub source: String,
    /// Seconds it took.
    pub run_time: f64,
    /// The file it is in, when the report says.
    pub file: String,
    /// CircleCI's word: `success`, `failure`, `error` or `skipped`.
    pub result: &'static str,
    /// The case's name.
    pub name: String,
    /// The case's class (or suite).
    pub classname: String,
    /// The node that ran it.
    #[serde(skip)]
    pub node: u32,
}

/// Every test case of a job, in node and file order. Files that are not JUnit XML are left
/// out, as CircleCI leaves them out.
pub async fn job_tests(state: &AppState, job_id: &JobId) -> ApiResult<Vec<JobTest>> {
    let prefix = format!("test-results/{job_id}/");
    let mut files = state.blobs.list(&prefix).await?;
    files.sort();
    let mut tests = Vec::new();
    for (key, size) in files {
        if size > MAX_REPORT_BYTES {
            continue;
        }
        let Some(bytes) = state.blobs.get(&key).await? else {
            continue;
        };
        let Ok(report) = junit::parse(&bytes) else {
            continue;
        };
        // KEY = test-results/JOB/NODE/PATH; the source is PATH's first folder.
        let Some(rest) = key.strip_prefix(&prefix) else {
            continue;
        };
        let (node, path) = rest.split_once('/').unwrap_or((rest, ""));
        let node = node.parse().unwrap_or_default();
        let source = path.split_once('/').map(|(dir, _)| dir).unwrap_or("junit");
        for case in report.cases() {
            tests.push(JobTest {
                node,
                classname: case.classname.clone(),
                name: case.name.clone(),
                file: case.file.clone().unwrap_or_default(),
                run_time: case.time,
                result: result(case.outcome),
                message: case.message.clone().or_else(|| case.text.clone()),
                source: source.to_string(),
            });
        }
    }
    Ok(tests)
}

/// `GET /api/v2/project/{slug}/{number}/tests`.
pub async fn tests(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo, number)): Path<(String, String, String, String)>,
    Query(query): Query<PageQuery>,
) -> ApiResult<Json<Value>> {
    let (job, _) = load::job_at(&state, &person, (&vcs, &org, &repo), &number).await?;
    let after = page::number_key("tests", query.page_token())?;
    let all = job_tests(&state, &job.id).await?;
    let start = after.map(|n| n as usize).unwrap_or(0);
    let rest: Vec<JobTest> = all.into_iter().skip(start).collect();
    let more = rest.len() > page::PAGE_SIZE * 10;
    let items: Vec<JobTest> = rest.into_iter().take(page::PAGE_SIZE * 10).collect();
    let next = more.then(|| page::token("tests", &(start + items.len()).to_string()));
    Ok(Json(json!({ "items": items, "next_page_token": next })))
}
