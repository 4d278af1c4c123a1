//! Why a job failed, said as a person needs it: the failing step, its exit code or the
//! infrastructure's reason, the last lines of its output and the job's page.

use std::time::Duration;

use circa_model::JobStatus;
use circa_model::protocol::TaskEventKind;
use owo_colors::OwoColorize;
use serde::Serialize;

use super::fetch::Api;
use super::model::{JobDetails, StepStatus, Task};
use super::sse::EventStream;

/// How many lines of a failed step's output are shown.
pub const TAIL_LINES: usize = 20;

/// How long reading a finished task's events for a step's reason may take.
const EVENTS_TIMEOUT: Duration = Duration::from_secs(5);

/// The step that failed a job.
#[derive(Debug, Clone, Serialize)]
pub struct FailedStep {
    /// Its index in the job (0-based).
    pub index: u32,
    /// Its name.
    pub name: String,
    /// How it ended.
    pub status: StepStatus,
    /// A `run` step's exit code.
    pub exit_code: Option<i64>,
    /// Why it failed, when not a plain exit code (a timeout, a built-in step's error).
    pub message: Option<String>,
}

/// Why a job did not succeed.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// The job's status.
    pub status: JobStatus,
    /// The node that failed, when the job has several.
    pub node: Option<u32>,
    /// The failing step, when a step failed.
    pub step: Option<FailedStep>,
    /// The reason the job or its node gave (an image that cannot be pulled, a lost runner).
    pub reason: Option<String>,
    /// The last lines of the failing step's output.
    pub last_lines: Vec<String>,
    /// The job's web page.
    pub web_url: Option<String>,
}

/// The last `n` lines of `text`.
pub fn last_lines(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(n);
    lines[from..].iter().map(|l| l.to_string()).collect()
}

/// The task that failed the job: the first node that did not succeed.
fn failing_task(details: &JobDetails) -> Option<&Task> {
    let tasks = details.latest_tasks();
    tasks
        .iter()
        .find(|t| t.result.is_some_and(|r| r != JobStatus::Success))
        .or(tasks.first())
        .copied()
}

/// Why a finished task's step `step` failed, from the task's stored events.
async fn step_message(api: &Api<'_>, task_id: &str, step: u32) -> Option<String> {
    let read = async {
        let path = format!("/api/circa/tasks/{task_id}/live");
        let mut stream = EventStream::open(api.client(), &path).await.ok()?;
        while let Ok(Some(data)) = stream.next().await {
            if let Ok(TaskEventKind::StepFinished {
                step: s, message, ..
            }) = serde_json::from_str(&data)
                && s == step
            {
                return message;
            }
        }
        None
    };
    tokio::time::timeout(EVENTS_TIMEOUT, read)
        .await
        .ok()
        .flatten()
}

/// Why the job `details` (of project `slug`) did not succeed.
pub async fn failure(api: &Api<'_>, slug: &str, details: &JobDetails) -> anyhow::Result<Failure> {
    let task = failing_task(details);
    let several = details.latest_tasks().len() > 1;
    let mut failure = Failure {
        status: details.status,
        node: task.filter(|_| several).map(|t| t.node),
        step: None,
        reason: None,
        last_lines: Vec::new(),
        web_url: None,
    };
    let step = task.and_then(|t| {
        t.steps
            .iter()
            .find(|s| s.status.is_failure())
            .map(|s| (t, s))
    });
    match step {
        Some((task, step)) => {
            let message = match step.exit_code {
                Some(_) => None,
                None => step_message(api, &task.id, step.step).await,
            };
            failure.step = Some(FailedStep {
                index: step.step,
                name: step.name.clone(),
                status: step.status,
                exit_code: step.exit_code,
                message,
            });
            let log = api.step_log(&task.id, step.step).await?;
            failure.last_lines = last_lines(&log, TAIL_LINES);
        }
        None => {
            failure.reason = task
                .and_then(|t| t.message.clone())
                .or_else(|| details.message.clone());
        }
    }
    if let Some(number) = details.number {
        failure.web_url = Some(api.job_page(slug, number).await?.web_url);
    }
    Ok(failure)
}

impl Failure {
    /// The lines that tell it, indented by `indent`.
    pub fn lines(&self, indent: &str) -> Vec<String> {
        let mut out = Vec::new();
        let node = self
            .node
            .map(|n| format!(" on node {n}"))
            .unwrap_or_default();
        if let Some(step) = &self.step {
            let how = match (step.exit_code, &step.message) {
                (Some(code), _) => format!("exit code {code}"),
                (None, Some(message)) => message.clone(),
                (None, None) => step_status_word(step.status).to_string(),
            };
            out.push(format!(
                "{indent}failed step{node}: {} (step {}): {}",
                step.name.bold(),
                step.index,
                how.red()
            ));
        }
        if let Some(reason) = &self.reason {
            out.push(format!("{indent}reason{node}: {}", reason.red()));
        }
        if !self.last_lines.is_empty() {
            out.push(format!("{indent}last lines of its output:"));
            for line in &self.last_lines {
                out.push(format!("{indent}  {} {line}", "|".dimmed()));
            }
        }
        if let Some(url) = &self.web_url {
            out.push(format!("{indent}{}", url.underline()));
        }
        out
    }
}

fn step_status_word(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Success => "success",
        StepStatus::Failed => "failed",
        StepStatus::Timedout => "timed out",
        StepStatus::Canceled => "canceled",
        StepStatus::Skipped => "skipped",
        StepStatus::Other => "ended",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_lines_are_kept() {
        let text: String = (1..=30).map(|i| format!("line {i}\n")).collect();
        let tail = last_lines(&text, TAIL_LINES);
        assert_eq!(tail.len(), 20);
        assert_eq!(tail[0], "line 11");
        assert_eq!(tail[19], "line 30");
        assert_eq!(last_lines("a\nb", 5), ["a", "b"]);
        assert!(last_lines("", 5).is_empty());
    }

    #[test]
    fn a_failure_names_the_step_its_exit_code_and_the_page() {
        let failure = Failure {
            status: JobStatus::Failed,
            node: None,
            step: Some(FailedStep {
                index: 2,
                name: "run tests".into(),
                status: StepStatus::Failed,
                exit_code: Some(3),
                message: None,
            }),
            reason: None,
            last_lines: vec!["boom".into()],
            web_url: Some("http://x/projects/gh/a/b/jobs/1".into()),
        };
        let text: Vec<String> = failure
            .lines("  ")
            .iter()
            .map(|l| anstream::adapter::strip_str(l).to_string())
            .collect();
        assert_eq!(
            text,
            [
                "  failed step: run tests (step 2): exit code 3",
                "  last lines of its output:",
                "    | boom",
                "  http://x/projects/gh/a/b/jobs/1",
            ]
        );
    }
}
