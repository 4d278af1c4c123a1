//! Rows as the database returns them, and their decoding into records. The derives are
//! generic over the database, so both backends read the same row types.

use crate::ids::{GroupId, JobId, PipelineId, ProjectId, TaskId, TokenId, UserId, WorkflowId};
use crate::records::{
    Artifact, Group, Job, Pipeline, Project, StepRecord, StoredEvent, Task, Token, TokenOwner,
    User, Workflow,
};
use crate::sql::codec::{
    from_json, job_status, pipeline_state, task_state, to_u32, to_u64, token_kind, workflow_status,
};
use crate::store::StoreResult;

/// A `projects` row.
#[derive(sqlx::FromRow)]
pub(crate) struct ProjectRow {
    id: ProjectId,
    slug: String,
    repo_url: String,
    default_branch: String,
    webhook_secret: String,
    settings: String,
    created_at: i64,
}

impl ProjectRow {
    /// The record.
    pub(crate) fn decode(self) -> StoreResult<Project> {
        Ok(Project {
            settings: from_json(&self.settings, "project settings")?,
            id: self.id,
            slug: self.slug,
            repo_url: self.repo_url,
            default_branch: self.default_branch,
            webhook_secret: self.webhook_secret,
            created_at: self.created_at,
        })
    }
}

/// A `tokens` row.
#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    id: TokenId,
    kind: String,
    name: String,
    resource_class: Option<String>,
    user_id: Option<UserId>,
    created_at: i64,
    revoked: bool,
}

impl TokenRow {
    /// The record.
    pub(crate) fn decode(self) -> StoreResult<Token> {
        Ok(Token {
            kind: token_kind(&self.kind)?,
            id: self.id,
            name: self.name,
            resource_class: self.resource_class,
            user_id: self.user_id,
            created_at: self.created_at,
            revoked: self.revoked,
        })
    }
}

/// A `tokens` row joined with its user's row (`u_` columns, null for runner tokens).
#[derive(sqlx::FromRow)]
pub(crate) struct TokenUserRow {
    #[sqlx(flatten)]
    token: TokenRow,
    u_id: Option<UserId>,
    u_login: Option<String>,
    u_name: Option<String>,
    u_admin: Option<bool>,
    u_password_hash: Option<String>,
    u_created_at: Option<i64>,
}

impl TokenUserRow {
    /// The records.
    pub(crate) fn decode(self) -> StoreResult<TokenOwner> {
        let user = match (
            self.u_id,
            self.u_login,
            self.u_name,
            self.u_admin,
            self.u_created_at,
        ) {
            (Some(id), Some(login), Some(name), Some(admin), Some(created_at)) => Some(User {
                id,
                login,
                name,
                admin,
                password_hash: self.u_password_hash,
                created_at,
            }),
            _ => None,
        };
        Ok(TokenOwner {
            token: self.token.decode()?,
            user,
        })
    }
}

/// A `users` row.
#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: UserId,
    login: String,
    name: String,
    admin: bool,
    password_hash: Option<String>,
    created_at: i64,
}

impl UserRow {
    /// The record.
    pub(crate) fn decode(self) -> User {
        User {
            id: self.id,
            login: self.login,
            name: self.name,
            admin: self.admin,
            password_hash: self.password_hash,
            created_at: self.created_at,
        }
    }
}

/// A `groups` row.
#[derive(sqlx::FromRow)]
pub(crate) struct GroupRow {
    id: GroupId,
    name: String,
    created_at: i64,
}

impl GroupRow {
    /// The record.
    pub(crate) fn decode(self) -> Group {
        Group {
            id: self.id,
            name: self.name,
            created_at: self.created_at,
        }
    }
}

/// A `pipelines` row.
#[derive(sqlx::FromRow)]
pub(crate) struct PipelineRow {
    id: PipelineId,
    project_id: ProjectId,
    number: i64,
    state: String,
    trigger_json: String,
    errors: String,
    config_source: Option<String>,
    config_compiled: Option<String>,
    continuation_key_hash: Option<String>,
    continuation_deadline: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl PipelineRow {
    /// The record.
    pub(crate) fn decode(self) -> StoreResult<Pipeline> {
        Ok(Pipeline {
            state: pipeline_state(&self.state)?,
            trigger: from_json(&self.trigger_json, "pipeline trigger")?,
            errors: from_json(&self.errors, "pipeline errors")?,
            id: self.id,
            project_id: self.project_id,
            number: self.number,
            config_source: self.config_source,
            config_compiled: self.config_compiled,
            continuation_key_hash: self.continuation_key_hash,
            continuation_deadline: self.continuation_deadline,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// A `workflows` row.
#[derive(sqlx::FromRow)]
pub(crate) struct WorkflowRow {
    id: WorkflowId,
    pipeline_id: PipelineId,
    project_id: ProjectId,
    name: String,
    status: String,
    setup: bool,
    rerun_of: Option<WorkflowId>,
    created_at: i64,
    stopped_at: Option<i64>,
    version: i64,
}

impl WorkflowRow {
    /// The record.
    pub(crate) fn decode(self) -> StoreResult<Workflow> {
        Ok(Workflow {
            status: workflow_status(&self.status)?,
            id: self.id,
            pipeline_id: self.pipeline_id,
            project_id: self.project_id,
            name: self.name,
            setup: self.setup,
            rerun_of: self.rerun_of,
            created_at: self.created_at,
            stopped_at: self.stopped_at,
            version: self.version,
        })
    }
}

/// A `jobs` row with its workflow's name.
#[derive(sqlx::FromRow)]
pub(crate) struct JobWorkflowRow {
    #[sqlx(flatten)]
    job: JobRow,
    workflow_name: Option<String>,
}

impl JobWorkflowRow {
    /// The job and its workflow's name.
    pub(crate) fn decode(self) -> StoreResult<(Job, Option<String>)> {
        Ok((self.job.decode()?, self.workflow_name))
    }
}

/// A `jobs` row.
#[derive(sqlx::FromRow)]
pub(crate) struct JobRow {
    id: JobId,
    workflow_id: WorkflowId,
    pipeline_id: PipelineId,
    project_id: ProjectId,
    name: String,
    job_key: String,
    number: Option<i64>,
    status: String,
    approval: bool,
    requires: String,
    contexts: String,
    spec: Option<String>,
    resource_class: String,
    parallelism: i64,
    approval_request_id: Option<String>,
    actor: Option<String>,
    message: Option<String>,
    created_at: i64,
    queued_at: Option<i64>,
    started_at: Option<i64>,
    stopped_at: Option<i64>,
}

impl JobRow {
    /// The record.
    pub(crate) fn decode(self) -> StoreResult<Job> {
        Ok(Job {
            status: job_status(&self.status)?,
            requires: from_json(&self.requires, "job requires")?,
            contexts: from_json(&self.contexts, "job contexts")?,
            spec: self
                .spec
                .as_deref()
                .map(|s| from_json(s, "job spec"))
                .transpose()?,
            parallelism: to_u32(self.parallelism, "job parallelism")?,
            id: self.id,
            workflow_id: self.workflow_id,
            pipeline_id: self.pipeline_id,
            project_id: self.project_id,
            name: self.name,
            job_key: self.job_key,
            number: self.number,
            approval: self.approval,
            resource_class: self.resource_class,
            approval_request_id: self.approval_request_id,
            actor: self.actor,
            message: self.message,
            created_at: self.created_at,
            queued_at: self.queued_at,
            started_at: self.started_at,
            stopped_at: self.stopped_at,
        })
    }
}

/// A `tasks` row.
#[derive(sqlx::FromRow)]
pub(crate) struct TaskRow {
    id: TaskId,
    job_id: JobId,
    workflow_id: WorkflowId,
    node: i64,
    resource_class: String,
    state: String,
    runner: Option<String>,
    token_hash: Option<String>,
    lease_expires_at: Option<i64>,
    attempts: i64,
    last_seq: i64,
    cancel_requested: bool,
    result: Option<String>,
    message: Option<String>,
    payload: String,
    queued_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
}

impl TaskRow {
    /// The record.
    pub(crate) fn decode(self) -> StoreResult<Task> {
        Ok(Task {
            node: to_u32(self.node, "task node")?,
            state: task_state(&self.state)?,
            attempts: to_u32(self.attempts, "task attempts")?,
            last_seq: to_u64(self.last_seq, "task last_seq")?,
            result: self.result.as_deref().map(job_status).transpose()?,
            payload: self.payload,
            id: self.id,
            job_id: self.job_id,
            workflow_id: self.workflow_id,
            resource_class: self.resource_class,
            runner: self.runner,
            token_hash: self.token_hash,
            lease_expires_at: self.lease_expires_at,
            cancel_requested: self.cancel_requested,
            message: self.message,
            queued_at: self.queued_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
        })
    }
}

/// An `events` row.
#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    seq: i64,
    step: Option<i64>,
    body: String,
}

impl EventRow {
    /// The record.
    pub(crate) fn decode(self) -> StoreResult<StoredEvent> {
        Ok(StoredEvent {
            seq: to_u64(self.seq, "event seq")?,
            step: self.step.map(|s| to_u32(s, "event step")).transpose()?,
            body: self.body,
        })
    }
}

/// A `steps` row.
#[derive(sqlx::FromRow)]
pub(crate) struct StepRow {
    task_id: TaskId,
    step: i64,
    name: String,
    status: String,
    exit_code: Option<i64>,
    duration_ms: i64,
    started_at: i64,
    log_key: Option<String>,
    log_bytes: i64,
}

impl StepRow {
    /// The record.
    pub(crate) fn decode(self) -> StoreResult<StepRecord> {
        Ok(StepRecord {
            step: to_u32(self.step, "step index")?,
            duration_ms: to_u64(self.duration_ms, "step duration")?,
            log_bytes: to_u64(self.log_bytes, "step log size")?,
            task_id: self.task_id,
            name: self.name,
            status: self.status,
            exit_code: self.exit_code,
            started_at: self.started_at,
            log_key: self.log_key,
        })
    }
}

/// An `artifacts` row.
#[derive(sqlx::FromRow)]
pub(crate) struct ArtifactRow {
    job_id: JobId,
    node: i64,
    path: String,
    blob_key: String,
    size: i64,
}

impl ArtifactRow {
    /// The record.
    pub(crate) fn decode(self) -> StoreResult<Artifact> {
        Ok(Artifact {
            node: to_u32(self.node, "artifact node")?,
            size: to_u64(self.size, "artifact size")?,
            job_id: self.job_id,
            path: self.path,
            blob_key: self.blob_key,
        })
    }
}

/// Decodes every row of a result.
pub(crate) fn decode_all<R, T>(
    rows: Vec<R>,
    decode: impl Fn(R) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    rows.into_iter().map(decode).collect()
}
