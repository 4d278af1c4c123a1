-- Checkout keys: each project's SSH key pairs for fetching its repository. The public half
-- and its fingerprints are kept in clear; the private half only sealed by the server, with
-- the id of the key that sealed it. At most one key of a project is preferred.
CREATE TABLE checkout_keys (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,
    md5 TEXT NOT NULL,
    public_key TEXT NOT NULL,
    key_id TEXT NOT NULL,
    sealed TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('deploy-key', 'user-key')),
    preferred BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, fingerprint)
);
CREATE INDEX checkout_keys_md5 ON checkout_keys (project_id, md5);
