//! Logs, artifacts and live streams for signed-in browsers: a step's log in pages (so a huge
//! log opens fast), the raw log, artifact downloads, and session-authorised twins of the SSE
//! routes.

use std::convert::Infallible;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use circa_store::{JobId, PipelineId, TaskId};
use futures_util::Stream;
use serde::Deserialize;

use super::error::WebResult;
use super::load;
use super::session::Viewer;
use crate::api::watch;
use crate::state::AppState;

/// Log bytes shown in the page itself; more is paged in on demand.
pub const INLINE_BYTES: u64 = 64 * 1024;
/// The largest page of log served at once.
const MAX_PAGE: usize = 1024 * 1024;

/// The part of `text[..end]` of about `limit` bytes that ends at `end` and starts at a line
/// start (or at 0): `(start, end)`.
pub fn tail(text: &str, end: usize, limit: usize) -> (usize, usize) {
    let mut end = end.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if end <= limit {
        return (0, end);
    }
    let mut start = end - limit;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    match text[start..end].find('\n') {
        Some(i) if start + i + 1 < end => (start + i + 1, end),
        _ => (start, end),
    }
}

/// `?before=&limit=&download=` of a step's log.
#[derive(Debug, Default, Deserialize)]
pub struct LogQuery {
    before: Option<usize>,
    limit: Option<usize>,
    download: Option<String>,
}

/// `GET /ui/tasks/{id}/steps/{step}/log`: the bytes of the log before `before` (default: the
/// end), at most `limit`, starting at a line; `X-Log-Start` and `X-Log-Total` say where the
/// page is. With `download=1`, the whole log as a file.
pub async fn step_log(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((task_id, step)): Path<(TaskId, u32)>,
    Query(q): Query<LogQuery>,
) -> WebResult<Response> {
    let (_, job) = load::task(&state, &viewer, &task_id).await?;
    let text = crate::logs::step_log(&state, &task_id, step).await?;
    if q.download.is_some() {
        let name = format!("{}-step-{step}.log", job.name)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect::<String>();
        return Ok((
            [
                (
                    header::CONTENT_TYPE,
                    "text/plain; charset=utf-8".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
            ],
            text,
        )
            .into_response());
    }
    let limit = q.limit.unwrap_or(INLINE_BYTES as usize).clamp(1, MAX_PAGE);
    let (start, end) = tail(&text, q.before.unwrap_or(text.len()), limit);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_string(),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (
                header::HeaderName::from_static("x-log-start"),
                start.to_string(),
            ),
            (
                header::HeaderName::from_static("x-log-total"),
                text.len().to_string(),
            ),
        ],
        text[start..end].to_string(),
    )
        .into_response())
}

/// `?after=` of a live stream.
#[derive(Debug, Default, Deserialize)]
pub struct LiveQuery {
    after: Option<u64>,
}

/// `GET /ui/tasks/{id}/live`: the task's events over SSE, for a signed-in browser.
pub async fn task_live(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<TaskId>,
    Query(q): Query<LiveQuery>,
) -> WebResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    load::task(&state, &viewer, &id).await?;
    let after = watch::resume_after(&headers, q.after);
    Ok(Sse::new(watch::task_stream(state, id, after)).keep_alive(watch::keep_alive()))
}

/// `GET /ui/pipelines/{id}/watch`: a pipeline's status changes over SSE.
pub async fn pipeline_watch(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<PipelineId>,
) -> WebResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    load::pipeline(&state, &viewer, &id).await?;
    let stream = watch::pipeline_stream(state, id).await?;
    Ok(Sse::new(stream).keep_alive(watch::keep_alive()))
}

/// `GET /ui/artifacts/{job_id}/{node}/{*path}`: an artifact as a download.
pub async fn artifact(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((job_id, node, path)): Path<(JobId, u32, String)>,
) -> WebResult<Response> {
    load::job(&state, &viewer, &job_id).await?;
    Ok(crate::api::jobs::artifact_download(&state, &job_id, node, &path).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_of_log_starts_at_a_line() {
        let text = "one\ntwo\nthree\n";
        assert_eq!(tail(text, text.len(), 100), (0, 14));
        assert_eq!(&text[tail(text, text.len(), 8).0..], "three\n");
        assert_eq!(tail(text, 8, 5), (4, 8));
        let wide = "ééé";
        let (s, e) = tail(wide, 5, 3);
        assert!(wide.is_char_boundary(s) && wide.is_char_boundary(e));
    }
}
