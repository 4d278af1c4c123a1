-- Commit statuses waiting to be sent to a project's forge: one row per job change, written in
-- the transaction that changed the job. Rows of one (project, sha, context) are sent newest
-- only; a delivered row is deleted with the older rows of its key.
CREATE TABLE forge_status_outbox (
    id INTEGER PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    sha TEXT NOT NULL,
    context TEXT NOT NULL,
    job_id TEXT NOT NULL,
    job_status TEXT NOT NULL,
    job_number BIGINT,
    pipeline_number BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL
);
CREATE INDEX forge_status_outbox_due ON forge_status_outbox (due_at, id);
CREATE INDEX forge_status_outbox_key ON forge_status_outbox (project_id, sha, context, id);
