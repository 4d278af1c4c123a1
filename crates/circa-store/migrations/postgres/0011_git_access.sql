-- How the server and runners reach a project's private repository, besides its checkout keys:
-- the SSH host keys its remote is checked against (known_hosts lines, newline-separated; ''
-- until the first fetch records them or an admin gives them), and an HTTPS access token with
-- its user name, the token only sealed by the server with the id of the key that sealed it.
CREATE TABLE git_access (
    project_id TEXT PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    known_hosts TEXT NOT NULL DEFAULT '',
    repo_user TEXT,
    token_key_id TEXT,
    token_sealed TEXT,
    updated_at BIGINT NOT NULL,
    CHECK ((token_key_id IS NULL) = (token_sealed IS NULL)),
    CHECK ((repo_user IS NULL) = (token_sealed IS NULL))
);
