-- A project's forge: which API its commit statuses go to, the repository there, the API token
-- (only sealed by the server, with the id of the key that sealed it), whether statuses are
-- reported, the last delivery error until a delivery succeeds, and the time before which no
-- status is sent to it (a failing forge's back-off: new statuses wait for it too).
CREATE TABLE project_forges (
    project_id TEXT PRIMARY KEY NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('github', 'gitlab', 'gitea', 'bitbucket')),
    api_url TEXT NOT NULL,
    repo TEXT NOT NULL,
    key_id TEXT,
    sealed TEXT,
    statuses BOOLEAN NOT NULL,
    last_error TEXT,
    last_error_at BIGINT,
    retry_at BIGINT,
    updated_at BIGINT NOT NULL
);
