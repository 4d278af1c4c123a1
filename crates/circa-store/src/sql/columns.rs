//! The columns each record is read from, as macros so that statements can be assembled with
//! `concat!` and stay `&'static str` (what `sqlx::query` takes). Each list matches the fields
//! of its row type in `rows`.

/// Columns of `ProjectRow`.
macro_rules! project_columns {
    () => {
        "id, slug, repo_url, default_branch, webhook_secret, settings, created_at"
    };
}

/// Columns of `TokenRow`.
macro_rules! token_columns {
    () => {
        "id, kind, name, resource_class, user_id, created_at, revoked"
    };
}

/// Columns of `UserRow`.
macro_rules! user_columns {
    () => {
        "id, login, name, admin, password_hash, created_at"
    };
}

/// Columns of `GroupRow`.
macro_rules! group_columns {
    () => {
        "id, name, created_at"
    };
}

/// Columns of `PipelineRow`.
macro_rules! pipeline_columns {
    () => {
        "id, project_id, number, state, trigger_json, errors, config_source, config_compiled, \
         continuation_key_hash, continuation_deadline, created_at, updated_at"
    };
}

/// Columns of `WorkflowRow`.
macro_rules! workflow_columns {
    () => {
        "id, pipeline_id, project_id, name, status, setup, rerun_of, created_at, stopped_at, \
         version"
    };
}

/// Columns of `JobRow`.
macro_rules! job_columns {
    () => {
        "id, workflow_id, pipeline_id, project_id, name, job_key, number, status, approval, \
         requires, contexts, spec, resource_class, parallelism, approval_request_id, actor, \
         message, created_at, queued_at, started_at, stopped_at"
    };
}

/// Columns of `TaskRow`.
macro_rules! task_columns {
    () => {
        "id, job_id, workflow_id, node, resource_class, state, runner, token_hash, \
         lease_expires_at, attempts, last_seq, cancel_requested, result, message, payload, \
         queued_at, started_at, finished_at"
    };
}

/// Columns of `EventRow`.
macro_rules! event_columns {
    () => {
        "seq, step, body"
    };
}

/// Columns of `StepRow`.
macro_rules! step_columns {
    () => {
        "task_id, step, name, status, exit_code, duration_ms, started_at, log_key, log_bytes"
    };
}

/// Columns of `ArtifactRow`.
macro_rules! artifact_columns {
    () => {
        "job_id, node, path, blob_key, size"
    };
}

pub(crate) use {
    artifact_columns, event_columns, group_columns, job_columns, pipeline_columns, project_columns,
    step_columns, task_columns, token_columns, user_columns, workflow_columns,
};
