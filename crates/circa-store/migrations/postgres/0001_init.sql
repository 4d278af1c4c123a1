-- Circa's schema for PostgreSQL. Times are epoch milliseconds, ids UUID text, JSON as TEXT
-- (the same queries serve both backends). Tables that list "in creation order" carry a
-- `ord BIGSERIAL` key beside their text id.

CREATE TABLE projects (
    id TEXT PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    repo_url TEXT NOT NULL,
    default_branch TEXT NOT NULL,
    webhook_secret TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- The last pipeline number and build number handed out.
    pipeline_counter BIGINT NOT NULL DEFAULT 0,
    build_counter BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE tokens (
    ord BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    resource_class TEXT,
    hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE pipelines (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    state TEXT NOT NULL,
    trigger_json TEXT NOT NULL,
    -- The trigger's branch, for listing by branch.
    branch TEXT,
    errors TEXT NOT NULL,
    config_source TEXT,
    config_compiled TEXT,
    continuation_key_hash TEXT,
    continuation_deadline BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, number)
);
CREATE INDEX pipelines_branch ON pipelines (project_id, branch, number);

CREATE TABLE config_cache (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    sha TEXT NOT NULL,
    config TEXT NOT NULL,
    PRIMARY KEY (project_id, sha)
);

CREATE TABLE workflows (
    ord BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    pipeline_id TEXT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    setup BOOLEAN NOT NULL,
    rerun_of TEXT,
    created_at BIGINT NOT NULL,
    -- Set exactly when the status is final.
    stopped_at BIGINT
);
CREATE INDEX workflows_pipeline ON workflows (pipeline_id, ord);
CREATE INDEX workflows_active ON workflows (pipeline_id) WHERE stopped_at IS NULL;

CREATE TABLE jobs (
    ord BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    workflow_id TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    pipeline_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    job_key TEXT NOT NULL,
    number BIGINT,
    status TEXT NOT NULL,
    approval BOOLEAN NOT NULL,
    requires TEXT NOT NULL,
    contexts TEXT NOT NULL,
    spec TEXT,
    resource_class TEXT NOT NULL,
    parallelism BIGINT NOT NULL,
    approval_request_id TEXT,
    actor TEXT,
    message TEXT,
    copied_from TEXT,
    created_at BIGINT NOT NULL,
    queued_at BIGINT,
    started_at BIGINT,
    stopped_at BIGINT
);
CREATE INDEX jobs_workflow ON jobs (workflow_id, ord);
CREATE INDEX jobs_number ON jobs (project_id, number, ord);

CREATE TABLE tasks (
    ord BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    workflow_id TEXT NOT NULL,
    node BIGINT NOT NULL,
    resource_class TEXT NOT NULL,
    state TEXT NOT NULL,
    runner TEXT,
    token_hash TEXT,
    lease_expires_at BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_seq BIGINT NOT NULL DEFAULT 0,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    result TEXT,
    message TEXT,
    payload TEXT NOT NULL,
    queued_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT
);
CREATE INDEX tasks_queue ON tasks (resource_class, queued_at, ord) WHERE state = 'queued';
CREATE INDEX tasks_lease ON tasks (lease_expires_at) WHERE state = 'running';
CREATE INDEX tasks_job ON tasks (job_id, node);

CREATE TABLE events (
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    step BIGINT,
    -- The body's `event` tag (`output`, `step_started`, ...).
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (task_id, seq)
);
CREATE INDEX events_step ON events (task_id, step);

CREATE TABLE steps (
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    step BIGINT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    exit_code BIGINT,
    duration_ms BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    log_key TEXT,
    log_bytes BIGINT NOT NULL,
    PRIMARY KEY (task_id, step)
);

CREATE TABLE runners (
    name TEXT PRIMARY KEY NOT NULL,
    resource_class TEXT NOT NULL,
    last_seen BIGINT NOT NULL
);
CREATE INDEX runners_class ON runners (resource_class, last_seen);

CREATE TABLE artifacts (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    node BIGINT NOT NULL,
    path TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    size BIGINT NOT NULL,
    PRIMARY KEY (job_id, node, path)
);

-- Event bodies are short-lived (a step's output moves to Blobs when the step ends): keep them
-- out of line without compressing them.
ALTER TABLE events ALTER COLUMN body SET STORAGE EXTERNAL;
