//! A job's page: its nodes' steps (collapsible, each with status and duration; the failing step
//! open with its log), live output while running, artifacts, test results (failures first,
//! then the slowest), why a queued job waits.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use circa_store::{JobId, PipelineId, StepRecord, Task, TaskId, TaskState};

use super::error::WebResult;
use super::load;
use super::logs::{INLINE_BYTES, tail};
use super::session::Viewer;
use super::test_results::{self, TestResultsView};
use super::url::encode_path;
use super::view::{Nav, duration, span};
use crate::state::AppState;

/// A finished step.
struct StepView {
    index: u32,
    name: String,
    status: String,
    took: String,
    exit_code: Option<i64>,
    open: bool,
    /// The log shown in the page (whole, or its tail), and whether it is cut.
    log: Option<(String, bool)>,
    log_bytes: u64,
}

/// One node of the job.
struct TaskView {
    id: TaskId,
    node: u32,
    state: String,
    live: bool,
    result: String,
    message: Option<String>,
    runner: Option<String>,
    steps: Vec<StepView>,
}

#[derive(Template, WebTemplate)]
#[template(path = "job.html")]
struct JobPage {
    nav: Nav,
    slug: String,
    id: JobId,
    pipeline_id: PipelineId,
    pipeline_number: i64,
    workflow: String,
    name: String,
    number: i64,
    status: String,
    took: String,
    resource_class: String,
    message: Option<String>,
    waiting: Option<String>,
    can_cancel: bool,
    tasks: Vec<TaskView>,
    artifacts: Vec<(String, String, u64)>,
    tests: Option<TestResultsView>,
}

fn failed(status: &str) -> bool {
    matches!(status, "failed" | "timedout")
}

async fn step_view(state: &AppState, record: StepRecord, open: bool) -> WebResult<StepView> {
    let log = if record.log_bytes > 0 && (open || record.log_bytes <= INLINE_BYTES) {
        let text = crate::logs::step_log(state, &record.task_id, record.step).await?;
        let (start, _) = tail(&text, text.len(), INLINE_BYTES as usize);
        Some((text[start..].to_string(), start > 0))
    } else {
        None
    };
    Ok(StepView {
        index: record.step,
        took: duration(record.duration_ms as i64),
        open,
        exit_code: record.exit_code,
        log_bytes: record.log_bytes,
        name: record.name,
        status: record.status,
        log,
    })
}

/// A task (one node of the job) with its steps; the first failed step is open.
async fn task_view(state: &AppState, task: Task) -> WebResult<TaskView> {
    let records = state.store.steps(&task.id).await?;
    let first_failed = records.iter().position(|r| failed(&r.status));
    let mut steps = Vec::new();
    for (i, r) in records.into_iter().enumerate() {
        steps.push(step_view(state, r, Some(i) == first_failed).await?);
    }
    Ok(TaskView {
        node: task.node,
        state: match task.state {
            TaskState::Queued => "queued",
            TaskState::Running => "running",
            TaskState::Finished => "finished",
        }
        .to_string(),
        live: task.state != TaskState::Finished,
        result: task
            .result
            .map(|r| r.as_str().to_string())
            .unwrap_or_default(),
        message: task.message,
        runner: task.runner,
        id: task.id,
        steps,
    })
}

/// The job's artifacts: path, link and size.
async fn artifact_links(state: &AppState, job_id: &JobId) -> WebResult<Vec<(String, String, u64)>> {
    let links = state
        .store
        .artifacts(job_id)
        .await?
        .into_iter()
        .map(|a| {
            let href = format!(
                "/ui/artifacts/{}/{}/{}",
                a.job_id,
                a.node,
                encode_path(&a.path)
            );
            (a.path, href, a.size)
        })
        .collect();
    Ok(links)
}

/// `GET /projects/{vcs}/{org}/{repo}/jobs/{number}`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((vcs, org, repo, number)): Path<(String, String, String, String)>,
) -> WebResult<impl IntoResponse> {
    let (job, project) = load::job_at(&state, &viewer, (&vcs, &org, &repo), &number).await?;
    let mut tasks = Vec::new();
    for task in state.store.tasks_of_job(&job.id).await? {
        tasks.push(task_view(&state, task).await?);
    }
    let artifacts = artifact_links(&state, &job.id).await?;
    let tests = test_results::view(&crate::api::tests_meta::job_tests(&state, &job.id).await?);
    let pipeline_number = state
        .store
        .pipeline(&job.pipeline_id)
        .await?
        .map(|p| p.number)
        .unwrap_or_default();
    let workflow = state
        .store
        .workflow(&job.workflow_id)
        .await?
        .map(|w| w.name)
        .unwrap_or_default();
    Ok(JobPage {
        nav: Nav::of(&viewer),
        slug: project.slug.clone(),
        id: job.id.clone(),
        pipeline_id: job.pipeline_id.clone(),
        pipeline_number,
        workflow,
        name: job.name.clone(),
        number: job.number.unwrap_or_default(),
        status: job.status.as_str().to_string(),
        took: span(job.started_at, job.stopped_at),
        resource_class: job.resource_class.clone(),
        message: job.message.clone(),
        waiting: crate::queue_reason::why_waiting(&state, &job).await?,
        can_cancel: !job.status.is_terminal(),
        tasks,
        artifacts,
        tests,
    })
}
