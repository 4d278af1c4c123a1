//! The API v1.1 routes CircleCI clients still call (pycircleci's defaults, and step output):
//! `me`, a job ("build") with `steps[].actions[].output_url`, its artifacts and tests, and a
//! step's output as CircleCI's JSON lines. A step whose log is still in the store as events
//! (running, or never compacted) is shown from them. Project env vars at v1.1 are v2's, reached through
//! `normalize` (same shapes, lists unwrapped).

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::{jobs, load, me, render, tests_meta};
use crate::auth::Person;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::unrecorded_steps::task_steps;

/// `GET /api/v1.1/me`.
pub async fn me(person: Person) -> Json<Value> {
    let mut out = me::user(&person.user);
    out["admin"] = json!(person.is_admin());
    Json(out)
}

/// `GET /api/v1.1/project/{vcs}/{org}/{repo}/{number}/artifacts`: a plain list.
pub async fn artifacts(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo, number)): Path<(String, String, String, String)>,
) -> ApiResult<Json<Value>> {
    let (job, _) = load::job_at(&state, &person, (&vcs, &org, &repo), &number).await?;
    let mut items = jobs::artifact_items(&state, &job.id).await?;
    for item in &mut items {
        item["pretty_path"] = item["path"].clone();
    }
    Ok(Json(Value::Array(items)))
}

/// `GET /api/v1.1/project/{vcs}/{org}/{repo}/{number}/tests`: `{"tests": [...]}`.
pub async fn tests(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo, number)): Path<(String, String, String, String)>,
) -> ApiResult<Json<Value>> {
    let (job, _) = load::job_at(&state, &person, (&vcs, &org, &repo), &number).await?;
    let items = tests_meta::job_tests(&state, &job.id).await?;
    Ok(Json(json!({ "tests": items })))
}

/// v1.1's lifecycle word for a job status.
fn lifecycle(status: &str) -> &'static str {
    match status {
        "queued" | "blocked" | "on_hold" => "queued",
        "running" => "running",
        "not_run" => "not_run",
        _ => "finished",
    }
}

/// `GET /api/v1.1/project/{vcs}/{org}/{repo}/{number}`: the job with its steps; each
/// action's `output_url` is the step output route below.
pub async fn build(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo, number)): Path<(String, String, String, String)>,
) -> ApiResult<Json<Value>> {
    let (job, project) = load::job_at(&state, &person, (&vcs, &org, &repo), &number).await?;
    let pipeline = state.store.pipeline(&job.pipeline_id).await?;
    let workflow = state.store.workflow(&job.workflow_id).await?;
    let tasks = state.store.tasks_of_job(&job.id).await?;
    // One entry per step index, with one action per node.
    let mut steps: Vec<(u32, String, Vec<Value>)> = Vec::new();
    for task in &tasks {
        for s in task_steps(&state, task).await? {
            let action = json!({
                "index": task.node,
                "step": s.step,
                "name": s.name,
                "status": s.status,
                "exit_code": s.exit_code,
                "start_time": render::time(s.started_at),
                "end_time": render::time(s.started_at + s.duration_ms as i64),
                "run_time_millis": s.duration_ms,
                "has_output": s.log_bytes > 0,
                "output_url": format!(
                    "{}/api/v1.1/project/{}/{}/output/{}/{}",
                    state.base_url, project.slug, number, s.step, task.node
                ),
            });
            match steps.iter_mut().find(|(i, _, _)| *i == s.step) {
                Some((_, _, actions)) => actions.push(action),
                None => steps.push((s.step, s.name.clone(), vec![action])),
            }
        }
    }
    steps.sort_by_key(|(i, _, _)| *i);
    let status = job.status.as_str();
    let trigger = pipeline.as_ref().map(|p| &p.trigger);
    Ok(Json(json!({
        "build_num": job.number,
        "job_name": job.name,
        "status": status,
        "outcome": if lifecycle(status) == "finished" { json!(status) } else { Value::Null },
        "lifecycle": lifecycle(status),
        "vcs_url": project.repo_url,
        "username": crate::orchestrator::assign::slug_parts(&project.slug).0,
        "reponame": crate::orchestrator::assign::slug_parts(&project.slug).1,
        "branch": trigger.and_then(|t| t.branch.clone()),
        "vcs_tag": trigger.and_then(|t| t.tag.clone()),
        "vcs_revision": trigger.map(|t| t.revision.clone()),
        "subject": trigger.and_then(|t| t.subject.clone()),
        "parallel": job.parallelism,
        "queued_at": render::time_opt(job.queued_at),
        "start_time": render::time_opt(job.started_at),
        "stop_time": render::time_opt(job.stopped_at),
        "build_time_millis": match (job.started_at, job.stopped_at) { (Some(a), Some(b)) => Some(b - a), _ => None },
        "workflows": workflow.map(|w| json!({
            "workflow_id": w.id, "workflow_name": w.name, "job_name": job.name, "job_id": job.id,
        })),
        "messages": render::job_messages(&job),
        "steps": steps.into_iter().map(|(_, name, actions)| json!({ "name": name, "actions": actions })).collect::<Vec<_>>(),
    })))
}

/// `GET /api/v1.1/project/{vcs}/{org}/{repo}/{number}/output/{step}/{node}`: a step's output
/// on one node as CircleCI's output JSON (`[{"type", "time", "message", "truncated"}]`).
pub async fn output(
    State(state): State<AppState>,
    person: Person,
    Path((vcs, org, repo, number, step, node)): Path<(String, String, String, String, u32, u32)>,
) -> ApiResult<Json<Value>> {
    let (job, _) = load::job_at(&state, &person, (&vcs, &org, &repo), &number).await?;
    let task = state
        .store
        .tasks_of_job(&job.id)
        .await?
        .into_iter()
        .rfind(|t| t.node == node)
        .ok_or_else(|| ApiError::not_found("node"))?;
    let record = task_steps(&state, &task)
        .await?
        .into_iter()
        .find(|s| s.step == step)
        .ok_or_else(|| ApiError::not_found("step"))?;
    let text = crate::logs::step_log(&state, &task.id, step).await?;
    Ok(Json(json!([{
        "type": "out",
        "time": render::time(record.started_at + record.duration_ms as i64),
        "message": text,
        "truncated": false,
    }])))
}
