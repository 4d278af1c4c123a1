//! Live streams over SSE: a task's events (log followers) and a pipeline's status changes.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use circa_store::{PipelineId, TaskId};
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::load;
use crate::auth::Person;
use crate::drain::until_drained;
use crate::error::ApiResult;
use crate::live::{StatusUpdate, TaskLive, UpdateKind};
use crate::state::AppState;

/// Events read from the store per page when catching up.
const PAGE: u32 = 500;

/// `?after=SEQ`.
#[derive(Debug, Default, Deserialize)]
pub struct LiveQuery {
    after: Option<u64>,
}

/// SSE keep-alive: a comment every 15 s.
pub fn keep_alive() -> KeepAlive {
    KeepAlive::new().interval(Duration::from_secs(15))
}

/// `GET /api/circa/tasks/{id}/live`: stored events after `after` (or `Last-Event-ID`), then
/// new ones as they arrive, until the task ends. Each SSE event's id is its sequence number.
pub async fn task_live(
    State(state): State<AppState>,
    person: Person,
    headers: HeaderMap,
    Path(id): Path<TaskId>,
    Query(query): Query<LiveQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    load::task(&state, &person, &id).await?;
    let after = resume_after(&headers, query.after);
    Ok(Sse::new(task_stream(state, id, after)).keep_alive(keep_alive()))
}

/// Where a task stream resumes: `?after=`, else `Last-Event-ID`, else the start.
pub fn resume_after(headers: &HeaderMap, after: Option<u64>) -> u64 {
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    after.or(resume).unwrap_or(0)
}

/// A task's stored events after `after`, then new ones as they arrive, until the task ends
/// (or the server shuts down: a `shutdown` event then ends it, see `crate::drain`); each
/// SSE event's id is its sequence number. The caller checks access.
pub fn task_stream(
    state: AppState,
    id: TaskId,
    after: u64,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let drain = state.drain.token();
    until_drained(drain, task_events(state, id, after))
}

/// [`task_stream`] until the task ends.
fn task_events(
    state: AppState,
    id: TaskId,
    after: u64,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    let rx = state.live.events.subscribe(&id);
    futures_util::stream::unfold(
        (
            state,
            id,
            Vec::<circa_store::StoredEvent>::new(),
            false,
            after,
            rx,
        ),
        move |(state, id, mut pending, mut live, mut after, mut rx)| async move {
            loop {
                if let Some(event) = pending.pop() {
                    after = event.seq;
                    let sse = Event::default().id(event.seq.to_string()).data(event.body);
                    return Some((Ok(sse), (state, id, pending, live, after, rx)));
                }
                if !live {
                    match state.store.events(&id, after, PAGE).await {
                        Ok(mut page) if !page.is_empty() => {
                            page.reverse();
                            pending = page;
                            continue;
                        }
                        Ok(_) => {
                            live = true;
                            let finished = state
                                .store
                                .task(&id)
                                .await
                                .ok()
                                .flatten()
                                .is_none_or(|t| t.state == circa_store::TaskState::Finished);
                            if finished {
                                return None;
                            }
                        }
                        Err(_) => return None,
                    }
                }
                // Only the next event is taken live. One further on means events between were
                // stored through another replica (their notice still on its way): the store
                // has them all, since an event is stored only after the one before it.
                match rx.recv().await {
                    Ok(TaskLive::Event(event)) if event.seq == after + 1 => {
                        pending.push((*event).clone());
                    }
                    Ok(TaskLive::Event(event)) if event.seq > after => live = false,
                    Ok(TaskLive::Event(_)) => {}
                    Ok(TaskLive::StoredElsewhere) | Err(RecvError::Lagged(_)) => live = false,
                    Err(RecvError::Closed) => {
                        live = false;
                        let rest = state
                            .store
                            .events(&id, after, PAGE)
                            .await
                            .unwrap_or_default();
                        if rest.is_empty() {
                            return None;
                        }
                        let mut rest = rest;
                        rest.reverse();
                        pending = rest;
                    }
                }
            }
        },
    )
}

/// `GET /api/circa/pipelines/{id}/watch`: the pipeline's workflows and jobs as they are now,
/// then every status change, as JSON events.
pub async fn pipeline_watch(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<PipelineId>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    load::pipeline(&state, &person, &id).await?;
    Ok(Sse::new(pipeline_stream(state, id).await?).keep_alive(keep_alive()))
}

/// A pipeline's workflows and jobs as they are now, then every status change, as JSON events,
/// until the server shuts down (a `shutdown` event then ends it). The caller checks access.
pub async fn pipeline_stream(
    state: AppState,
    id: PipelineId,
) -> ApiResult<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.live.updates.subscribe(&id);
    let pipeline = state
        .store
        .pipeline(&id)
        .await?
        .ok_or_else(|| crate::error::ApiError::not_found("pipeline"))?;
    let mut snapshot = Vec::new();
    for w in state.store.workflows_of_pipeline(&id).await? {
        for j in state.store.jobs_of_workflow(&w.id).await? {
            snapshot.push(StatusUpdate {
                kind: UpdateKind::Job,
                pipeline_id: id.clone(),
                workflow_id: Some(w.id.clone()),
                job_id: Some(j.id.clone()),
                name: j.name.clone(),
                status: j.status.as_str().to_string(),
            });
        }
        snapshot.push(StatusUpdate {
            kind: UpdateKind::Workflow,
            pipeline_id: id.clone(),
            workflow_id: Some(w.id.clone()),
            job_id: None,
            name: w.name.clone(),
            status: w.status.as_str().to_string(),
        });
    }
    snapshot.push(StatusUpdate {
        kind: UpdateKind::Pipeline,
        pipeline_id: pipeline.id.clone(),
        workflow_id: None,
        job_id: None,
        name: pipeline.number.to_string(),
        status: pipeline.state.as_str().to_string(),
    });
    snapshot.reverse();
    let s = futures_util::stream::unfold(
        (rx, snapshot, id),
        |(mut rx, mut snapshot, id)| async move {
            loop {
                if let Some(update) = snapshot.pop() {
                    let data = serde_json::to_string(&update).unwrap_or_default();
                    return Some((Ok(Event::default().data(data)), (rx, snapshot, id)));
                }
                match rx.recv().await {
                    Ok(update) => snapshot.push(crate::live::StatusUpdate::clone(&update)),
                    Err(RecvError::Lagged(_)) => {
                        let data = r#"{"kind":"lagged"}"#.to_string();
                        return Some((Ok(Event::default().data(data)), (rx, snapshot, id)));
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    );
    Ok(until_drained(state.drain.token(), s))
}
