//! The rows the store keeps, as plain data.
//!
//! Times are milliseconds since the Unix epoch ([`Millis`]). Ids are UUID strings made by the
//! store, typed by what they name ([`crate::ids`]). Structured fields (a pipeline's trigger, a
//! job's spec, a task's assignment) are JSON.

use circa_model::{JobStatus, WorkflowStatus};

use crate::ids::{GroupId, JobId, PipelineId, ProjectId, TaskId, TokenId, UserId, WorkflowId};
use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// Project settings that change how pipelines run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProjectSettings {
    /// Cancel running workflows of older pipelines on the same non-default branch when a new
    /// pipeline starts.
    pub auto_cancel_redundant: bool,
    /// Put a task back in the queue once when its runner is lost, instead of failing it.
    pub requeue_lost_tasks: bool,
    /// Give project and context variables to builds of pull requests from forks (CircleCI's
    /// `forks_receive_secret_env_vars`); off by default.
    pub forks_receive_secret_env_vars: bool,
}

/// A project to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewProject {
    /// `gh/acme/app`: VCS, organisation and repository.
    pub slug: String,
    /// Where the code is: a URL `git` can fetch, or a path on the server.
    pub repo_url: String,
    /// The branch built when none is named.
    pub default_branch: String,
    /// The secret webhooks are verified with.
    pub webhook_secret: String,
    /// Settings.
    pub settings: ProjectSettings,
}

/// A project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// Id.
    pub id: ProjectId,
    /// `gh/acme/app`.
    pub slug: String,
    /// Where the code is.
    pub repo_url: String,
    /// The branch built when none is named.
    pub default_branch: String,
    /// The secret webhooks are verified with.
    pub webhook_secret: String,
    /// Settings.
    pub settings: ProjectSettings,
    /// When it was added.
    pub created_at: Millis,
}

/// What an API token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// Everything.
    Admin,
    /// A person's API token.
    User,
    /// A runner: claims tasks of its resource class, nothing else.
    Runner,
}

impl TokenKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Admin => "admin",
            TokenKind::User => "user",
            TokenKind::Runner => "runner",
        }
    }
}

/// A token to create; only its hash is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewToken {
    /// What it may do.
    pub kind: TokenKind,
    /// A label (a person's or a runner's name).
    pub name: String,
    /// For runner tokens: the resource class it claims for.
    pub resource_class: Option<String>,
    /// SHA-256 of the token, hex.
    pub hash: String,
    /// For personal tokens: the user it acts as.
    pub user_id: Option<UserId>,
}

/// A stored token (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// Id.
    pub id: TokenId,
    /// What it may do.
    pub kind: TokenKind,
    /// Its label.
    pub name: String,
    /// For runner tokens: the resource class.
    pub resource_class: Option<String>,
    /// For personal tokens: the user it acts as.
    pub user_id: Option<UserId>,
    /// When it was created.
    pub created_at: Millis,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// A stored token with the user it acts as (none for runner and admin tokens).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenOwner {
    /// The token.
    pub token: Token,
    /// The user it acts as.
    pub user: Option<User>,
}

/// A user to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUser {
    /// Sign-in name, unique.
    pub login: String,
    /// Display name.
    pub name: String,
    /// Whether the user administers the server (sees every project).
    pub admin: bool,
    /// Argon2 PHC string, when the user may sign in with a password.
    pub password_hash: Option<String>,
}

/// A person who uses Circa.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Sign-in name, unique.
    pub login: String,
    /// Display name.
    pub name: String,
    /// Whether the user administers the server (sees every project).
    pub admin: bool,
    /// Argon2 PHC string, when the user may sign in with a password.
    #[serde(skip)]
    pub password_hash: Option<String>,
    /// When the user was created.
    pub created_at: Millis,
}

/// A named group of users (contexts can be restricted to one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Id.
    pub id: GroupId,
    /// Name, unique.
    pub name: String,
    /// When the group was created.
    pub created_at: Millis,
}

/// A pipeline's state, as CircleCI names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PipelineState {
    /// Workflows were created.
    Created,
    /// The config could not be read or compiled; see the errors.
    Errored,
    /// A setup workflow runs and may continue the pipeline.
    SetupPending,
    /// The pipeline was continued (or the continuation is no longer possible).
    Setup,
}

impl PipelineState {
    /// CircleCI's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PipelineState::Created => "created",
            PipelineState::Errored => "errored",
            PipelineState::SetupPending => "setup-pending",
            PipelineState::Setup => "setup",
        }
    }
}

/// What started a pipeline and on which code.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PipelineTrigger {
    /// What started it.
    pub kind: crate::kinds::TriggerKind,
    /// Who: a user name or the forge's pusher.
    pub actor: String,
    /// The branch, unless a tag was pushed.
    pub branch: Option<String>,
    /// The tag.
    pub tag: Option<String>,
    /// The commit.
    pub revision: String,
    /// The commit's subject line.
    pub subject: Option<String>,
    /// The pull request's URL, for a pull-request pipeline.
    pub pull_request: Option<String>,
    /// Pipeline parameters given with the trigger.
    pub parameters: serde_json::Map<String, serde_json::Value>,
    /// For a scheduled pipeline: its schedule and tick.
    pub schedule: Option<crate::schedule::ScheduledBy>,
    /// Whether it builds a pull request from a fork (such builds get no secrets unless the
    /// project allows it).
    pub from_fork: bool,
    /// For a pull request from a fork: its number, author and the fork's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fork_pull_request: Option<circa_model::protocol::ForkPullRequest>,
}

/// A problem that stopped a pipeline from running (state `errored`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineError {
    /// Why.
    #[serde(rename = "type")]
    pub kind: crate::kinds::PipelineErrorKind,
    /// The message; config diagnostics read `PATH:LINE:COL: error: …`.
    pub message: String,
}

/// A pipeline to create.
#[derive(Clone, Debug, PartialEq)]
pub struct NewPipeline {
    /// The project.
    pub project_id: ProjectId,
    /// Its state.
    pub state: PipelineState,
    /// The trigger.
    pub trigger: PipelineTrigger,
    /// Why it errored.
    pub errors: Vec<PipelineError>,
    /// The config as read at the commit.
    pub config_source: Option<String>,
    /// The processed config.
    pub config_compiled: Option<String>,
    /// SHA-256 (hex) of the continuation key, for a setup pipeline.
    pub continuation_key_hash: Option<String>,
    /// Until when the continuation key may be used.
    pub continuation_deadline: Option<Millis>,
}

/// A pipeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    /// Id.
    pub id: PipelineId,
    /// The project.
    pub project_id: ProjectId,
    /// 1, 2, 3… per project.
    pub number: i64,
    /// Its state.
    pub state: PipelineState,
    /// The trigger.
    pub trigger: PipelineTrigger,
    /// Why it errored.
    pub errors: Vec<PipelineError>,
    /// The config as read at the commit.
    pub config_source: Option<String>,
    /// The processed config.
    pub config_compiled: Option<String>,
    /// SHA-256 (hex) of the continuation key.
    pub continuation_key_hash: Option<String>,
    /// Until when the continuation key may be used.
    pub continuation_deadline: Option<Millis>,
    /// When it was created.
    pub created_at: Millis,
    /// When it last changed.
    pub updated_at: Millis,
}

/// A pipeline just created, with its workflows and their jobs as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct CreatedPipeline {
    /// The pipeline.
    pub pipeline: Pipeline,
    /// Its workflows, in creation order.
    pub workflows: Vec<Workflow>,
    /// Their jobs, in creation order.
    pub jobs: Vec<Job>,
}

/// One `requires:` entry as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRequirement {
    /// The required job's name.
    pub name: String,
    /// The statuses that let the requiring job run.
    pub statuses: Vec<JobStatus>,
}

/// A job to create in a new workflow.
#[derive(Clone, Debug, PartialEq)]
pub struct NewJob {
    /// The name in the workflow.
    pub name: String,
    /// The job's key in the config.
    pub job_key: String,
    /// The initial status (`blocked`, `queued`, `on_hold`, or `success` for a job copied by a
    /// rerun from failed).
    pub status: JobStatus,
    /// Whether it is an approval.
    pub approval: bool,
    /// Its requirements.
    pub requires: Vec<StoredRequirement>,
    /// Contexts by name.
    pub contexts: Vec<String>,
    /// The job spec (`circa_model::JobSpec`) as JSON; `None` for approvals.
    pub spec: Option<serde_json::Value>,
    /// The resource class its tasks are queued for.
    pub resource_class: String,
    /// `parallelism`.
    pub parallelism: u32,
    /// For a job copied by a rerun: the job it copies (its number and times are kept).
    pub copied_from: Option<JobId>,
}

/// A workflow to create.
#[derive(Clone, Debug, PartialEq)]
pub struct NewWorkflow {
    /// Its name.
    pub name: String,
    /// Its status at creation.
    pub status: WorkflowStatus,
    /// Whether it is the setup workflow of a dynamic config.
    pub setup: bool,
    /// The workflow this one reruns.
    pub rerun_of: Option<WorkflowId>,
    /// Its jobs.
    pub jobs: Vec<NewJob>,
}

/// A workflow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Workflow {
    /// Id.
    pub id: WorkflowId,
    /// The pipeline.
    pub pipeline_id: PipelineId,
    /// The project.
    pub project_id: ProjectId,
    /// Its name.
    pub name: String,
    /// Its status.
    pub status: WorkflowStatus,
    /// Whether it is a setup workflow.
    pub setup: bool,
    /// The workflow it reruns.
    pub rerun_of: Option<WorkflowId>,
    /// When it was created.
    pub created_at: Millis,
    /// When it finished.
    pub stopped_at: Option<Millis>,
    /// Moved on by every settle applied to it: a settle applies only if it is still the
    /// version read before the jobs (see [`WorkflowUpdate::version`]).
    #[serde(default)]
    pub version: i64,
}

/// A job of a workflow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Id (`CIRCLE_WORKFLOW_JOB_ID`).
    pub id: JobId,
    /// The workflow.
    pub workflow_id: WorkflowId,
    /// The pipeline.
    pub pipeline_id: PipelineId,
    /// The project.
    pub project_id: ProjectId,
    /// The name in the workflow.
    pub name: String,
    /// The job's key in the config.
    pub job_key: String,
    /// The build number (per project), for jobs that are not approvals.
    pub number: Option<i64>,
    /// Its status.
    pub status: JobStatus,
    /// Whether it is an approval.
    pub approval: bool,
    /// Its requirements.
    pub requires: Vec<StoredRequirement>,
    /// Contexts by name.
    pub contexts: Vec<String>,
    /// The spec as JSON; `None` for approvals.
    pub spec: Option<serde_json::Value>,
    /// The resource class.
    pub resource_class: String,
    /// `parallelism`.
    pub parallelism: u32,
    /// For an approval: the id to approve it with (CircleCI uses the job's id).
    pub approval_request_id: Option<String>,
    /// Who approved it, or cancelled it.
    pub actor: Option<String>,
    /// Why it ended as it did, when not success.
    pub message: Option<String>,
    /// When it was created.
    pub created_at: Millis,
    /// When it became queued.
    pub queued_at: Option<Millis>,
    /// When its first task started.
    pub started_at: Option<Millis>,
    /// When it finished.
    pub stopped_at: Option<Millis>,
}

/// One job's status change, applied only if the job still has status `from`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobChange {
    /// The job.
    pub job_id: JobId,
    /// Its status now.
    pub from: JobStatus,
    /// Its status after.
    pub to: JobStatus,
    /// Why (kept as the job's message), when not success.
    pub message: Option<String>,
    /// Who (an approver, a canceller).
    pub actor: Option<String>,
}

/// A task to queue: one node of a job.
#[derive(Clone, Debug, PartialEq)]
pub struct NewTask {
    /// The job.
    pub job_id: JobId,
    /// The node.
    pub node: u32,
    /// The resource class.
    pub resource_class: String,
    /// The assignment the runner gets (`circa_model::protocol::TaskAssignment` as JSON,
    /// without token and lease, which are set at claim).
    pub payload: serde_json::Value,
}

/// The first settle of workflows just added, run inside the transaction that adds them: given
/// the workflows and their jobs as stored, the updates to apply with them (root jobs queued,
/// their tasks). Nothing else has seen the workflows yet, so no update can conflict.
pub type FirstSettle = Box<dyn FnOnce(&[Workflow], &[Job]) -> Vec<WorkflowUpdate> + Send>;

/// A compiled pipeline to start, in one transaction (see
/// [`crate::PipelineStore::start_pipeline`]).
pub struct PipelineStart<'a> {
    /// The pipeline.
    pub pipeline_id: &'a PipelineId,
    /// Its processed config.
    pub compiled: &'a str,
    /// For a setup config: the hash of its continuation key, and the key's deadline.
    pub continuation: Option<(String, Millis)>,
    /// The state to move it to (with no errors), if it changes.
    pub state: Option<PipelineState>,
    /// Its workflows, with their jobs.
    pub workflows: Vec<NewWorkflow>,
    /// The first settle of the workflows as added.
    pub settle: Option<FirstSettle>,
    /// When.
    pub now: Millis,
}

/// Changes to one workflow, applied in one transaction or not at all.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkflowUpdate {
    /// The workflow.
    pub workflow_id: WorkflowId,
    /// The workflow's [`Workflow::version`] as read before its jobs: the update applies only
    /// if no other update was applied since (another server may settle the same workflow).
    /// `None` for a workflow no one else can see yet, whose first settle is in the
    /// transaction that adds it.
    pub version: Option<i64>,
    /// Job status changes; if any job no longer has its `from` status, nothing is applied.
    pub changes: Vec<JobChange>,
    /// Tasks to queue (for jobs that became `queued`).
    pub new_tasks: Vec<NewTask>,
    /// The workflow's status after.
    pub status: WorkflowStatus,
    /// The time of the change.
    pub now: Millis,
}

/// Where a task is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Waiting for a runner.
    Queued,
    /// A runner holds its lease.
    Running,
    /// Over; see the result.
    Finished,
}

/// A task: one node of one job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Id.
    pub id: TaskId,
    /// The job.
    pub job_id: JobId,
    /// The workflow.
    pub workflow_id: WorkflowId,
    /// The node.
    pub node: u32,
    /// The resource class.
    pub resource_class: String,
    /// Where it is.
    pub state: TaskState,
    /// The runner that holds or held it.
    pub runner: Option<String>,
    /// SHA-256 (hex) of the task token given at claim.
    pub token_hash: Option<String>,
    /// When the lease ends unless a heartbeat renews it.
    pub lease_expires_at: Option<Millis>,
    /// How many times it was claimed.
    pub attempts: u32,
    /// The highest event sequence number stored.
    pub last_seq: u64,
    /// Whether cancel was asked for.
    pub cancel_requested: bool,
    /// How it ended.
    pub result: Option<JobStatus>,
    /// Why, when not success.
    pub message: Option<String>,
    /// The assignment without token and lease, as the JSON text stored (decoded only by
    /// those who need it: most readers of a task want its state and token).
    pub payload: String,
    /// When it was queued.
    pub queued_at: Millis,
    /// When it was claimed last.
    pub started_at: Option<Millis>,
    /// When it finished.
    pub finished_at: Option<Millis>,
}

/// A claim: which runner, for how long, with which task token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The resource class asked for.
    pub resource_class: String,
    /// The runner's name.
    pub runner: String,
    /// SHA-256 (hex) of the task token the runner will get.
    pub token_hash: String,
    /// Now.
    pub now: Millis,
    /// When the lease ends.
    pub lease_expires_at: Millis,
}

/// An event of a task as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// The sequence number.
    pub seq: u64,
    /// The step it belongs to, if any.
    pub step: Option<u32>,
    /// The event (`circa_model::protocol::TaskEventKind`) as JSON text.
    pub body: String,
}

/// A finished step, with its log in Blobs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The task.
    pub task_id: TaskId,
    /// The step's index.
    pub step: u32,
    /// Its name.
    pub name: String,
    /// `success`, `failed`, `timedout`, `canceled` or `skipped`.
    pub status: String,
    /// The exit code of a `run` step.
    pub exit_code: Option<i64>,
    /// Wall time.
    pub duration_ms: u64,
    /// When it started.
    pub started_at: Millis,
    /// The Blobs key of its log (zstd), if it wrote anything.
    pub log_key: Option<String>,
    /// The log's size before compression.
    pub log_bytes: u64,
}

/// A stored artifact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// The job.
    pub job_id: JobId,
    /// The node that stored it.
    pub node: u32,
    /// Its path, as `store_artifacts` named it.
    pub path: String,
    /// The Blobs key.
    pub blob_key: String,
    /// Its size in bytes.
    pub size: u64,
}

/// A page of a list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// Continue after this sort key (exclusive), from a previous page's last item.
    pub before: Option<i64>,
    /// At most this many items.
    pub limit: u32,
}
