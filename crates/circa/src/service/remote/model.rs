//! The API answers the client commands read, as types: CircleCI's v2 shapes for pipelines,
//! workflows and jobs, and Circa's job details (tasks, steps, why a job waits).

use circa_model::{JobStatus, WorkflowStatus};
use circa_store::{PipelineState, TaskState};
use serde::{Deserialize, Serialize};

/// A page of a list route.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// The next page's token.
    pub next_page_token: Option<String>,
}

/// A pipeline (`GET /api/v2/pipeline/{id}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pipeline {
    /// Its id.
    pub id: String,
    /// Its number in its project.
    pub number: i64,
    /// `created`, `errored`, `setup-pending`, `setup`.
    pub state: PipelineState,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// Its project.
    pub project_slug: String,
    /// Why it errored.
    #[serde(default)]
    pub errors: Vec<PipelineError>,
    /// What it builds.
    #[serde(default)]
    pub vcs: Vcs,
}

impl Pipeline {
    /// `branch NAME` or `tag NAME`.
    pub fn git_ref(&self) -> String {
        match (&self.vcs.tag, &self.vcs.branch) {
            (Some(tag), _) => format!("tag {tag}"),
            (None, Some(branch)) => format!("branch {branch}"),
            (None, None) => "-".to_string(),
        }
    }
}

/// One of a pipeline's errors.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PipelineError {
    /// Its kind (`config`, ...).
    #[serde(rename = "type", default)]
    pub kind: String,
    /// What went wrong.
    pub message: String,
}

/// A pipeline's `vcs`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Vcs {
    /// The branch built.
    pub branch: Option<String>,
    /// The tag built.
    pub tag: Option<String>,
    /// The commit.
    pub revision: Option<String>,
}

/// A workflow (`GET /api/v2/pipeline/{id}/workflow`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Workflow {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its status.
    pub status: WorkflowStatus,
    /// When it was created.
    pub created_at: String,
    /// When it ended.
    pub stopped_at: Option<String>,
}

/// Whether a job is a build or an approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// A job that runs steps.
    Build,
    /// An approval.
    Approval,
}

/// A job as its workflow lists it (`GET /api/v2/workflow/{id}/job`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkflowJob {
    /// Its id.
    pub id: String,
    /// Its name in the workflow.
    pub name: String,
    /// Its status.
    pub status: JobStatus,
    /// Build or approval.
    #[serde(rename = "type")]
    pub kind: JobKind,
    /// Its number in the project (builds only).
    pub job_number: Option<i64>,
    /// When it started.
    pub started_at: Option<String>,
    /// When it ended.
    pub stopped_at: Option<String>,
}

/// How a step ended (CircleCI's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// It did what it should.
    Success,
    /// A non-zero exit code, or a built-in step that could not do its work.
    Failed,
    /// `no_output_timeout` passed.
    Timedout,
    /// The job was cancelled while it ran.
    Canceled,
    /// It did not run.
    Skipped,
    /// A word this client does not know.
    #[serde(other)]
    Other,
}

impl StepStatus {
    /// Whether the step is what made its job fail.
    pub fn is_failure(self) -> bool {
        matches!(self, StepStatus::Failed | StepStatus::Timedout)
    }
}

/// A finished step of a task (Circa's job details).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    /// Its index in the job (0-based).
    pub step: u32,
    /// Its name.
    pub name: String,
    /// How it ended.
    pub status: StepStatus,
    /// A `run` step's exit code.
    pub exit_code: Option<i64>,
    /// Wall time.
    pub duration_ms: u64,
    /// The size of its log.
    #[serde(default)]
    pub log_bytes: u64,
}

/// One node of a job run (Circa's job details).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Task {
    /// Its id (the live stream's and the step logs' routes take it).
    pub id: String,
    /// The node index.
    pub node: u32,
    /// Queued, running or finished.
    pub state: TaskState,
    /// How it ended.
    pub result: Option<JobStatus>,
    /// Why it ended so, when not success.
    pub message: Option<String>,
    /// Its finished steps.
    #[serde(default)]
    pub steps: Vec<Step>,
}

/// A job with its tasks (`GET /api/circa/jobs/{id}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobDetails {
    /// Its id.
    pub id: String,
    /// Its name in the workflow.
    pub name: String,
    /// Its number in the project.
    pub number: Option<i64>,
    /// Its status.
    pub status: JobStatus,
    /// Why it ended so, when not success.
    pub message: Option<String>,
    /// Why it waits, while queued.
    pub waiting_reason: Option<String>,
    /// Its tasks, oldest first (a node run again has a later task).
    #[serde(default)]
    pub tasks: Vec<Task>,
}

impl JobDetails {
    /// The latest task of each node, by node.
    pub fn latest_tasks(&self) -> Vec<&Task> {
        let mut latest: std::collections::BTreeMap<u32, &Task> = Default::default();
        for task in &self.tasks {
            latest.insert(task.node, task);
        }
        latest.into_values().collect()
    }
}

/// A message of CircleCI's job details.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobMessage {
    /// `error`, `warning` or `info`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The text.
    pub message: String,
}

/// CircleCI's job details (`GET /api/v2/project/{slug}/job/{number}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobPage {
    /// The job's web page.
    pub web_url: String,
    /// Messages from the execution platform.
    #[serde(default)]
    pub messages: Vec<JobMessage>,
}

/// A project (`GET /api/circa/projects`).
#[derive(Debug, Clone, Deserialize)]
pub struct Project {
    /// Its slug.
    pub slug: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_step_status_reads_as_other() {
        let step: Step = serde_json::from_str(
            r#"{"step":1,"name":"x","status":"exploded","exit_code":null,"duration_ms":3}"#,
        )
        .unwrap();
        assert_eq!(step.status, StepStatus::Other);
        assert!(!step.status.is_failure());
    }

    #[test]
    fn the_latest_task_of_each_node_wins() {
        let task = |id: &str, node| Task {
            id: id.into(),
            node,
            state: TaskState::Finished,
            result: None,
            message: None,
            steps: Vec::new(),
        };
        let job = JobDetails {
            id: "j".into(),
            name: "j".into(),
            number: Some(1),
            status: JobStatus::Failed,
            message: None,
            waiting_reason: None,
            tasks: vec![task("a", 0), task("b", 1), task("c", 0)],
        };
        let ids: Vec<&str> = job.latest_tasks().iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["c", "b"]);
    }
}
