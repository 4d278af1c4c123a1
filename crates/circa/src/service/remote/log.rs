//! `circa job log SLUG/JOB_NUMBER [--step N] [--node N] [--follow]`: a job's steps' output;
//! `--follow` streams a running job live through its task's SSE route and ends with the job.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use circa_model::JobStatus;
use circa_model::protocol::TaskEventKind;
use owo_colors::OwoColorize;
use serde::Serialize;
use serde_json::json;

use super::fetch::Api;
use super::model::{JobDetails, Step, StepStatus, Task};
use super::refs::JobRef;
use super::screen;
use super::sse::{EventStream, reopen};

/// How often a followed job is read while it has no task to stream or is ending.
const POLL: Duration = Duration::from_millis(250);

/// What to show.
#[derive(Debug, Clone)]
pub struct LogRequest {
    /// The job.
    pub job: JobRef,
    /// Only this step (0-based, as in the job's steps).
    pub step: Option<u32>,
    /// Only this node (default: every node; node 0 with `--follow`).
    pub node: Option<u32>,
    /// Stream the job live until it ends.
    pub follow: bool,
    /// JSON instead of text.
    pub json: bool,
}

/// A finished step's output, as `--json` gives it.
#[derive(Debug, Serialize)]
struct LoggedStep<'a> {
    node: u32,
    #[serde(flatten)]
    step: &'a Step,
    output: String,
}

/// Prints step boundaries and output: text for people, or one JSON event per line.
struct Printer {
    json: bool,
    /// Only this step.
    step: Option<u32>,
    /// Whether the last output left a line open.
    mid_line: bool,
}

impl Printer {
    fn shows(&self, step: u32) -> bool {
        self.step.is_none_or(|s| s == step)
    }

    fn write(&mut self, text: &str) {
        let mut out = anstream::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
        if let Some(last) = text.chars().last() {
            self.mid_line = last != '\n';
        }
    }

    fn line(&mut self, text: &str) {
        if self.mid_line {
            self.write("\n");
        }
        self.write(&format!("{text}\n"));
    }

    fn json_line(&mut self, value: serde_json::Value) {
        self.write(&format!("{value}\n"));
    }

    fn step_started(&mut self, node: u32, step: u32, name: &str) {
        if !self.shows(step) {
            return;
        }
        if self.json {
            self.json_line(
                json!({ "event": "step_started", "node": node, "step": step, "name": name }),
            );
        } else {
            self.line(&format!("{} {} (step {step})", "==".cyan(), name.bold()));
        }
    }

    fn output(&mut self, node: u32, step: u32, text: &str) {
        if !self.shows(step) || text.is_empty() {
            return;
        }
        if self.json {
            self.json_line(json!({ "event": "output", "node": node, "step": step, "text": text }));
        } else {
            self.write(text);
        }
    }

    fn step_finished(&mut self, node: u32, step: u32, end: StepEnd) {
        if !self.shows(step) {
            return;
        }
        if self.json {
            self.json_line(json!({
                "event": "step_finished", "node": node, "step": step, "status": end.status,
                "exit_code": end.exit_code, "duration_ms": end.duration_ms, "message": end.message,
            }));
            return;
        }
        let status = match end.status {
            StepStatus::Success => "success".green().to_string(),
            StepStatus::Skipped | StepStatus::Other => "skipped".dimmed().to_string(),
            StepStatus::Canceled => "canceled".yellow().to_string(),
            StepStatus::Failed => "failed".red().bold().to_string(),
            StepStatus::Timedout => "timedout".red().bold().to_string(),
        };
        let code = end
            .exit_code
            .map(|c| format!(" (exit code {c})"))
            .unwrap_or_default();
        let message = match (&end.message, end.exit_code) {
            (Some(m), None) => format!(": {m}"),
            _ => String::new(),
        };
        let took = screen::duration(Duration::from_millis(end.duration_ms));
        self.line(&format!(
            "{} {status}{code}{message} {}",
            "--".cyan(),
            took.dimmed()
        ));
    }

    fn notice(&mut self, node: u32, message: &str, warning: bool) {
        if self.step.is_some() {
            return;
        }
        if self.json {
            self.json_line(
                json!({ "event": "notice", "node": node, "message": message, "warning": warning }),
            );
        } else if warning {
            self.line(&format!("{} {message}", "warning:".yellow().bold()));
        } else {
            self.line(&message.dimmed().to_string());
        }
    }
}

/// How a step ended.
struct StepEnd {
    status: StepStatus,
    exit_code: Option<i64>,
    duration_ms: u64,
    message: Option<String>,
}

impl From<&Step> for StepEnd {
    fn from(s: &Step) -> Self {
        StepEnd {
            status: s.status,
            exit_code: s.exit_code,
            duration_ms: s.duration_ms,
            message: None,
        }
    }
}

/// The tasks asked for: the latest of each node, or of one.
fn tasks_of(details: &JobDetails, node: Option<u32>) -> Vec<&Task> {
    details
        .latest_tasks()
        .into_iter()
        .filter(|t| node.is_none_or(|n| n == t.node))
        .collect()
}

/// Refuses a `--node` the job does not have (once its tasks, one per node, exist).
fn check_node(details: &JobDetails, request: &LogRequest) -> anyhow::Result<()> {
    let Some(node) = request.node else {
        return Ok(());
    };
    let nodes = details.latest_tasks().len();
    if nodes > 0 && !details.tasks.iter().any(|t| t.node == node) {
        anyhow::bail!(
            "job {} has no node {node} (it has {nodes}, counted from 0)",
            request.job
        );
    }
    Ok(())
}

/// The finished steps' output, once.
async fn print_finished(
    api: &Api<'_>,
    request: &LogRequest,
    details: &JobDetails,
) -> anyhow::Result<()> {
    let tasks = tasks_of(details, request.node);
    let steps: Vec<(&Task, &Step)> = tasks
        .iter()
        .flat_map(|t| t.steps.iter().map(move |s| (*t, s)))
        .filter(|(_, s)| request.step.is_none_or(|n| n == s.step))
        .collect();
    if let Some(n) = request.step
        && steps.is_empty()
    {
        anyhow::bail!(
            "job {} has no finished step {n} (steps are counted from 0)",
            request.job
        );
    }
    if request.json {
        let mut logged = Vec::new();
        for (task, step) in steps {
            let output = api.step_log(&task.id, step.step).await?;
            logged.push(LoggedStep {
                node: task.node,
                step,
                output,
            });
        }
        let doc = json!({
            "job": { "id": details.id, "name": details.name, "number": details.number,
                     "status": details.status, "message": details.message },
            "steps": logged,
        });
        screen::print_json(&doc)?;
        return Ok(());
    }
    let mut printer = Printer {
        json: false,
        step: request.step,
        mid_line: false,
    };
    let several = tasks.len() > 1;
    let mut node = None;
    for (task, step) in steps {
        if several && node != Some(task.node) {
            node = Some(task.node);
            printer.line(&format!(
                "{}",
                format!("node {}", task.node).bold().underline()
            ));
        }
        printer.step_started(task.node, step.step, &step.name);
        printer.output(
            task.node,
            step.step,
            &api.step_log(&task.id, step.step).await?,
        );
        printer.step_finished(task.node, step.step, step.into());
    }
    Ok(())
}

/// Streams one task's events until it ends. A step's output the stream no longer holds (a step
/// that ended before it was read, its output already in the step's stored log) is read from
/// the log when the step's end arrives.
/// A server that shuts down ends the stream with a `shutdown` event; the stream is then
/// opened again (once a server answers) after the last event shown.
async fn follow_task(api: &Api<'_>, printer: &mut Printer, task: &Task) -> anyhow::Result<()> {
    let live = format!("/api/circa/tasks/{}/live", task.id);
    let mut stream = EventStream::open(api.client(), &live).await?;
    let mut printed: HashMap<u32, usize> = HashMap::new();
    // The last event shown, over every stream (one opened while the server still shuts
    // down may end at once, without an event).
    let mut last: Option<String> = None;
    loop {
        while let Some(data) = stream.next().await? {
            show(api, printer, &mut printed, task, &data).await?;
        }
        if !stream.ended_for_shutdown() {
            return Ok(());
        }
        if let Some(id) = stream.last_event_id() {
            last = Some(id.to_string());
        }
        let path = match &last {
            Some(id) => format!("{live}?after={id}"),
            None => live.clone(),
        };
        stream = reopen(api.client(), &path).await?;
    }
}

/// Prints one live event of `task` (`printed`: how much of each step's output was printed).
async fn show(
    api: &Api<'_>,
    printer: &mut Printer,
    printed: &mut HashMap<u32, usize>,
    task: &Task,
    data: &str,
) -> anyhow::Result<()> {
    let node = task.node;
    let Ok(event) = serde_json::from_str::<TaskEventKind>(data) else {
        return Ok(());
    };
    match event {
        TaskEventKind::StepStarted { step, name, .. } => printer.step_started(node, step, &name),
        TaskEventKind::Output { step, text } => {
            *printed.entry(step).or_default() += text.len();
            printer.output(node, step, &text);
        }
        TaskEventKind::StepFinished {
            step,
            status,
            exit_code,
            duration_ms,
            message,
        } => {
            if printer.shows(step) {
                let log = api.step_log(&task.id, step).await?;
                let seen = printed.get(&step).copied().unwrap_or(0);
                if let Some(rest) = log.get(seen..) {
                    printer.output(node, step, rest);
                }
            }
            let status = serde_json::from_value(json!(status)).unwrap_or(StepStatus::Other);
            let end = StepEnd {
                status,
                exit_code,
                duration_ms,
                message,
            };
            printer.step_finished(node, step, end);
        }
        TaskEventKind::Notice { message, warning } => printer.notice(node, &message, warning),
        TaskEventKind::Progress {
            message,
            done: true,
        } => printer.notice(node, &message, false),
        TaskEventKind::EnvironmentReady { description } => {
            printer.notice(node, &description, false)
        }
        _ => {}
    }
    Ok(())
}

/// Follows the job until it ends, streaming node `node`'s tasks one after another (a node run
/// again has a new task); the job's status at its end.
async fn follow(api: &Api<'_>, request: &LogRequest, job_id: &str) -> anyhow::Result<JobStatus> {
    let node = request.node.unwrap_or(0);
    let mut printer = Printer {
        json: request.json,
        step: request.step,
        mid_line: false,
    };
    let mut followed: Option<String> = None;
    let mut said_waiting = false;
    loop {
        let details = api.job_details(job_id).await?;
        check_node(&details, request)?;
        let task = tasks_of(&details, Some(node)).into_iter().next().cloned();
        match task {
            Some(task) if followed.as_deref() != Some(task.id.as_str()) => {
                follow_task(api, &mut printer, &task).await?;
                followed = Some(task.id);
                continue;
            }
            None if !said_waiting && !details.status.is_terminal() => {
                said_waiting = true;
                eprintln!(
                    "job {} is {}; its log follows when it starts",
                    request.job,
                    details.status.as_str()
                );
            }
            _ => {}
        }
        if details.status.is_terminal() {
            if request.json {
                printer.json_line(json!({
                    "event": "job_finished", "status": details.status, "message": details.message,
                }));
            } else {
                let message = details
                    .message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default();
                printer.line(&format!(
                    "job {} ({}): {}{message}",
                    details.name,
                    request.job,
                    screen::job_status(details.status)
                ));
            }
            return Ok(details.status);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// `circa job log`: exit 0, or with `--follow` 0 only when the job succeeded.
pub async fn log(api: &Api<'_>, request: &LogRequest) -> anyhow::Result<ExitCode> {
    let job_id = api.job_id(&request.job).await?;
    if request.follow {
        let status = follow(api, request, &job_id).await?;
        return Ok(if status == JobStatus::Success {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let details = api.job_details(&job_id).await?;
    check_node(&details, request)?;
    if !details.status.is_terminal() && !request.json {
        eprintln!(
            "job {} is {}: finished steps only (--follow streams it)",
            request.job,
            details.status.as_str()
        );
    }
    print_finished(api, request, &details).await?;
    Ok(ExitCode::SUCCESS)
}
