//! The runner API (see `circa_model::protocol`): claim by long-poll, heartbeats that carry
//! cancels, events with sequence numbers, uploads, completion.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::{Json, Router};
use circa_model::JobStatus;
use circa_model::protocol::{
    CLAIM_ID_MAX_LEN, CLAIM_MAX_TASKS, CLAIM_WAIT_MAX_MS, ClaimGrown, ClaimGrowth, ClaimRequest,
    ClaimedTasks, CompleteRequest, EventAck, EventBatch, HeartbeatReply, HeartbeatRequest,
    TaskAssignment, TaskEventKind,
};
use circa_store::{Artifact, Claim, Job, StoredEvent, Task, TaskId};

use crate::auth::{self, RunnerAuth, TaskAuth};
use crate::error::{ApiError, ApiJson};
use crate::logs::{LogError, compact_steps};
use crate::orchestrator::actions;
use crate::runner_error::{RunnerApiError, RunnerResult};
use crate::secrets::delivery::ProjectVars;
use crate::state::{AppState, now_ms};
use crate::uploads::{job_hash, layer_job_hash, receive, safe_relative, workflow_key};

/// The runner API's routes, to be nested under `RUNNER_API_PREFIX`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/claims", post(claims))
        .route("/claims/grow", post(grow_claim))
        .route("/tasks/{id}/heartbeat", post(heartbeat))
        .route("/tasks/{id}/events", post(events))
        .route("/tasks/{id}/complete", post(complete))
        .route("/tasks/{id}/artifacts/{*path}", put(put_artifact))
        .route("/tasks/{id}/test-results/{*path}", put(put_test_result))
        .route(
            "/tasks/{id}/workspace/{layer}",
            put(put_layer).get(get_layer),
        )
}

async fn claims(
    State(state): State<AppState>,
    runner: RunnerAuth,
    ApiJson(request): ApiJson<ClaimRequest>,
) -> RunnerResult<Response> {
    if !(1..=CLAIM_MAX_TASKS).contains(&request.max_tasks) {
        return Err(RunnerApiError::Invalid {
            field: "max_tasks",
            message: format!("must be between 1 and {CLAIM_MAX_TASKS}"),
        });
    }
    let id = request.claim_id.as_deref();
    if id.is_some_and(|id| id.is_empty() || id.len() > CLAIM_ID_MAX_LEN) {
        return Err(RunnerApiError::Invalid {
            field: "claim_id",
            message: format!("must be 1 to {CLAIM_ID_MAX_LEN} characters"),
        });
    }
    let tasks = take_tasks(&state, &runner, &request, request.max_tasks, id).await?;
    Ok(if tasks.is_empty() {
        StatusCode::NO_CONTENT.into_response()
    } else {
        Json(ClaimedTasks { tasks }).into_response()
    })
}

/// `POST /claims/grow`: more slots for a claim of this runner token that is waiting.
async fn grow_claim(
    State(state): State<AppState>,
    runner: RunnerAuth,
    ApiJson(growth): ApiJson<ClaimGrowth>,
) -> RunnerResult<Json<ClaimGrown>> {
    if !(1..=CLAIM_MAX_TASKS).contains(&growth.slots) {
        return Err(RunnerApiError::Invalid {
            field: "slots",
            message: format!("must be between 1 and {CLAIM_MAX_TASKS}"),
        });
    }
    match state
        .dispatch
        .claims
        .grow(&runner.token.id, &growth.claim_id, growth.slots)
    {
        Some(max_tasks) => Ok(Json(ClaimGrown { max_tasks })),
        None => Err(RunnerApiError::NotFound("a waiting claim with this id")),
    }
}

/// Waits (long-poll, up to the request's `wait_ms`) until at least one task of the runner's
/// resource class is queued, then takes up to `max` in one transaction (more when claim
/// `claim_id` grows meanwhile, see [`grow_claim`]); none when the wait ran out.
async fn take_tasks(
    state: &AppState,
    caller: &RunnerAuth,
    request: &ClaimRequest,
    max: u32,
    claim_id: Option<&str>,
) -> RunnerResult<Vec<TaskAssignment>> {
    let (token, class) = (&caller.token, &caller.resource_class);
    if let Some(wanted) = &request.resource_class
        && wanted != class
    {
        return Err(RunnerApiError::Forbidden(format!(
            "this runner token belongs to resource class `{class}`, not `{wanted}`"
        )));
    }
    let runner: String = request.runner.chars().take(100).collect();
    if state.dispatch.runners.due(&runner, class) {
        state.store.runner_seen(&runner, class, now_ms()).await?;
    }
    let wait = Duration::from_millis(request.wait_ms.min(CLAIM_WAIT_MAX_MS));
    let deadline = tokio::time::Instant::now() + wait;
    let waiting = crate::claim_wakes::Waiting::new(state, class);
    let lease = state.config.lease.as_millis() as i64;
    let registered = state.dispatch.claims.register(&token.id, claim_id, max);
    let draining = state.drain.token();
    loop {
        // A server shutting down takes no more tasks: the runner claims again later (from
        // this server once it is back, or another).
        if draining.is_cancelled() {
            return Ok(Vec::new());
        }
        waiting.before_look();
        let now = now_ms();
        let max = registered.max();
        let tokens: Vec<String> = (0..max).map(|_| auth::new_token("circa_task_")).collect();
        let claims = tokens
            .iter()
            .map(|token| Claim {
                resource_class: class.clone(),
                runner: runner.clone(),
                token_hash: auth::hash_token(token),
                now,
                lease_expires_at: now + lease,
            })
            .collect();
        // The claim starts the jobs in the same transaction (queued → running changes neither
        // a workflow's status nor what runs next, so no settle is needed).
        let claimed = state.store.claim_tasks_and_start_jobs(claims).await?;
        let mut assignments = Vec::with_capacity(claimed.len());
        let mut vars = ProjectVars::default();
        for ((task, started), token) in claimed.into_iter().zip(tokens) {
            if let Some(job) = &started {
                actions::job_started(state, job);
            }
            // One task's trouble must not lose the others claimed with it.
            match hand_over(state, &task, started.as_ref(), token, &mut vars).await {
                Ok(Some(assignment)) => assignments.push(assignment),
                Ok(None) => {}
                Err(e) => tracing::error!("task {}: {e}", task.id),
            }
        }
        if !assignments.is_empty() {
            tracing::debug!(runner, max, tasks = assignments.len(), "claim answered");
            return Ok(assignments);
        }
        tracing::debug!(runner, max, "claim waits");
        tokio::select! {
            woken = tokio::time::timeout_at(deadline, waiting.woken()) => {
                if woken.is_err() {
                    return Ok(Vec::new());
                }
            }
            () = draining.cancelled() => return Ok(Vec::new()),
        }
    }
}

/// A claimed task's assignment; none when it may not run (its job may not use its contexts,
/// or it cannot be assigned), in which case it is finished here without reaching a runner.
async fn hand_over(
    state: &AppState,
    task: &Task,
    started: Option<&Job>,
    token: String,
    vars: &mut ProjectVars,
) -> RunnerResult<Option<TaskAssignment>> {
    let (status, message) = match assignment_for(state, task, started, token, vars).await {
        Ok(Ok(assignment)) => return Ok(Some(assignment)),
        Ok(Err(refused)) => (circa_model::JobStatus::Unauthorized, refused),
        Err(e) => {
            tracing::error!("task {} cannot be assigned: {e}", task.id);
            (
                circa_model::JobStatus::InfrastructureFail,
                "the task could not be handed to a runner; the server's log has the details"
                    .to_string(),
            )
        }
    };
    if let Some(done) = state
        .store
        .finish_task(&task.id, status, Some(&message), now_ms())
        .await?
    {
        actions::task_finished(state, &done).await?;
    }
    Ok(None)
}

/// The task's assignment with its secrets, or why its job may not use its contexts; `job` is
/// the task's job when the claim returned it; `vars` keeps project variables read for
/// other tasks of the same claim.
async fn assignment_for(
    state: &AppState,
    task: &Task,
    job: Option<&Job>,
    token: String,
    vars: &mut ProjectVars,
) -> RunnerResult<Result<TaskAssignment, String>> {
    let mut assignment = stored_assignment(task)?;
    assignment.task_id = task.id.to_string();
    assignment.task_token = token;
    assignment.lease_ms = state.config.lease.as_millis() as u64;
    // Only a job that attaches the workspace reads its upstream layers.
    let attaches = assignment
        .spec
        .steps
        .iter()
        .any(|s| matches!(s.action, circa_model::StepAction::AttachWorkspace { .. }));
    if attaches && !assignment.upstream.is_empty() {
        let prefix = workflow_key(state, &task.workflow_id).await?;
        let wanted: Vec<String> = assignment.upstream.iter().map(|j| job_hash(j)).collect();
        let mut layers: Vec<String> = state
            .blobs
            .list(&prefix)
            .await?
            .into_iter()
            .filter_map(|(key, _)| key.rsplit('/').next().map(str::to_string))
            .filter(|name| layer_job_hash(name).is_some_and(|h| wanted.iter().any(|w| w == h)))
            .collect();
        layers.sort();
        assignment.workspace_layers = layers;
    }
    if let Err(refused) =
        crate::secrets::delivery::fill(state, task, job, &mut assignment, vars).await?
    {
        return Ok(Err(refused));
    }
    Ok(Ok(assignment))
}

/// A task's stored assignment; one that does not read back is a fault inside, never the
/// runner's.
fn stored_assignment(task: &Task) -> RunnerResult<TaskAssignment> {
    serde_json::from_str(&task.payload).map_err(|e| RunnerApiError::CorruptTask {
        task_id: task.id.clone(),
        cause: e.to_string(),
    })
}

async fn heartbeat(
    State(state): State<AppState>,
    Path(id): Path<TaskId>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<HeartbeatRequest>,
) -> RunnerResult<Json<HeartbeatReply>> {
    let signal = state.dispatch.cancels.get(&id);
    let notified = signal.notified();
    tokio::pin!(notified);
    notified.as_mut().enable();
    // Read after the cancel signal is armed, so a cancel in between is not missed.
    let task = TaskAuth::check(&state, &headers, &id).await?;
    let lease = state.config.lease;
    let now = now_ms();
    // A lease with more than two thirds left (a task's first heartbeat comes right after its
    // claim) is not renewed: the write would change nothing that matters.
    let fresh = task
        .lease_expires_at
        .is_some_and(|at| at - now > lease.as_millis() as i64 * 2 / 3);
    let task = if fresh {
        task
    } else {
        state
            .store
            .heartbeat(&id, now + lease.as_millis() as i64)
            .await?
            .ok_or(RunnerApiError::Gone)?
    };
    let reply = |cancel| {
        Json(HeartbeatReply {
            cancel,
            lease_ms: lease.as_millis() as u64,
        })
    };
    if task.cancel_requested {
        return Ok(reply(true));
    }
    // A server shutting down holds no heartbeat: it would keep the shutdown waiting.
    let hold = Duration::from_millis(request.hold_ms).min(lease / 2);
    let woken = tokio::select! {
        woken = tokio::time::timeout(hold, notified) => woken.is_ok(),
        () = state.drain.token().cancelled_owned() => false,
    };
    if woken {
        let cancel = state
            .store
            .task(&id)
            .await?
            .is_some_and(|t| t.cancel_requested);
        return Ok(reply(cancel));
    }
    Ok(reply(false))
}

fn step_of(kind: &TaskEventKind) -> Option<u32> {
    match kind {
        TaskEventKind::StepStarted { step, .. }
        | TaskEventKind::Output { step, .. }
        | TaskEventKind::StepFinished { step, .. }
        | TaskEventKind::TestResults { step, .. } => Some(*step),
        _ => None,
    }
}

async fn events(
    State(state): State<AppState>,
    TaskAuth(task): TaskAuth,
    ApiJson(batch): ApiJson<EventBatch>,
) -> RunnerResult<Json<EventAck>> {
    let id = task.id.clone();
    let mut stored = Vec::with_capacity(batch.events.len());
    let mut finished_steps = Vec::new();
    for event in &batch.events {
        if event.seq <= task.last_seq {
            continue;
        }
        if let TaskEventKind::StepFinished { step, .. } = &event.kind {
            finished_steps.push((event.seq, *step));
        }
        stored.push(StoredEvent {
            seq: event.seq,
            step: step_of(&event.kind),
            body: serde_json::to_string(&event.kind)
                .map_err(|e| ApiError::internal(format!("an event of task {id}: {e}")))?,
        });
    }
    if stored.is_empty() {
        return Ok(Json(EventAck {
            acked: task.last_seq,
        }));
    }
    let acked = state.store.append_events(&id, &stored).await?;
    stored.retain(|e| e.seq <= acked);
    crate::replicas::events_stored(&state, &id, stored);
    // Steps whose end this request stored: none of them is recorded yet.
    let finished: Vec<u32> = finished_steps
        .into_iter()
        .filter(|(seq, _)| *seq <= acked)
        .map(|(_, step)| step)
        .collect();
    if !finished.is_empty()
        && let Err(e) = compact_steps(&state, &task, Some(&finished)).await
    {
        // The events are stored: the steps stay readable from them, and completion tries
        // the compaction again.
        tracing::error!("task {id}: step logs not compacted: {e}");
    }
    Ok(Json(EventAck { acked }))
}

/// Why a task whose step logs could not be moved to the object storage failed (its output
/// stays readable from its stored events).
pub const LOGS_NOT_STORED: &str =
    "the job's step logs could not be written to the object storage; see the server's log";

async fn complete(
    State(state): State<AppState>,
    TaskAuth(task): TaskAuth,
    ApiJson(request): ApiJson<CompleteRequest>,
) -> RunnerResult<StatusCode> {
    let id = task.id.clone();
    if task.last_seq < request.last_seq {
        return Err(RunnerApiError::Conflict(format!(
            "events {}..={} have not arrived; send them before completing",
            task.last_seq + 1,
            request.last_seq
        )));
    }
    let (status, message) = match compact_steps(&state, &task, None).await {
        Ok(()) => (request.status, request.message),
        Err(LogError::Store(e)) if e.is_unavailable() => return Err(e.into()),
        Err(e) => {
            tracing::error!("task {id}: step logs could not be stored: {e}");
            (
                JobStatus::InfrastructureFail,
                Some(LOGS_NOT_STORED.to_string()),
            )
        }
    };
    let done = state
        .store
        .finish_task(&id, status, message.as_deref(), now_ms())
        .await?
        .ok_or(RunnerApiError::Gone)?;
    crate::replicas::publish(&state, crate::replicas::Notice::Closed { task: id.clone() });
    state.dispatch.cancels.forget(&id);
    actions::task_finished(&state, &done).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Streams a file a task uploads into Blobs at `FOLDER/JOB/NODE/PATH`; the task, the path and
/// the key, and the size.
async fn task_file(
    state: &AppState,
    task: Task,
    path: &str,
    folder: &str,
    body: Body,
) -> RunnerResult<(Task, String, String, u64)> {
    let path = safe_relative(path)?;
    let key = format!("{folder}/{}/{}/{path}", task.job_id, task.node);
    let size = receive(state, &key, body).await?;
    Ok((task, path, key, size))
}

async fn put_artifact(
    State(state): State<AppState>,
    TaskAuth(task): TaskAuth,
    Path((_, path)): Path<(String, String)>,
    body: Body,
) -> RunnerResult<StatusCode> {
    let (task, path, blob_key, size) = task_file(&state, task, &path, "artifacts", body).await?;
    state
        .store
        .add_artifact(Artifact {
            job_id: task.job_id,
            node: task.node,
            path,
            blob_key,
            size,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn put_test_result(
    State(state): State<AppState>,
    TaskAuth(task): TaskAuth,
    Path((_, path)): Path<(String, String)>,
    body: Body,
) -> RunnerResult<StatusCode> {
    task_file(&state, task, &path, "test-results", body).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn put_layer(
    State(state): State<AppState>,
    TaskAuth(task): TaskAuth,
    Path((_, layer)): Path<(String, String)>,
    body: Body,
) -> RunnerResult<StatusCode> {
    let job = state
        .store
        .job(&task.job_id)
        .await?
        .ok_or(RunnerApiError::NotFound("job"))?;
    if layer_job_hash(&layer) != Some(job_hash(&job.name).as_str()) {
        return Err(RunnerApiError::Invalid {
            field: "layer",
            message: format!("{layer:?} is not a workspace layer of job `{}`", job.name),
        });
    }
    let key = format!("{}{layer}", workflow_key(&state, &task.workflow_id).await?);
    receive(&state, &key, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_layer(
    State(state): State<AppState>,
    TaskAuth(task): TaskAuth,
    Path((_, layer)): Path<(String, String)>,
) -> RunnerResult<Response> {
    let assignment = stored_assignment(&task)?;
    let allowed = layer_job_hash(&layer)
        .is_some_and(|h| assignment.upstream.iter().any(|j| job_hash(j) == h));
    if !allowed {
        return Err(RunnerApiError::NotFound("workspace layer"));
    }
    let key = format!("{}{layer}", workflow_key(&state, &task.workflow_id).await?);
    let Some((size, stream)) = state.blobs.get_stream(&key).await? else {
        return Err(RunnerApiError::NotFound("workspace layer"));
    };
    Ok((
        [(axum::http::header::CONTENT_LENGTH, size.to_string())],
        Body::from_stream(stream),
    )
        .into_response())
}
