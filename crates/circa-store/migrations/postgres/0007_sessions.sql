-- Web sessions: a browser signed in as a user. Only the SHA-256 of the cookie's random id is
-- kept, so a copy of the database does not hand out sessions.

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- A project's recent workflows (the web UI's 30-day chart).
CREATE INDEX workflows_project_created ON workflows (project_id, created_at);
