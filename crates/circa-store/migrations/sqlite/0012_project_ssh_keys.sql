-- Projects' additional SSH keys, which `add_ssh_keys` installs in jobs: a private key the
-- project's admins gave, for one host (or every host when the hostname is empty). The public
-- key and its fingerprints are kept in clear; the private key only sealed by the server, with
-- the id of the key that sealed it. One key may serve several hosts (a row each).
CREATE TABLE project_ssh_keys (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    hostname TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    md5 TEXT NOT NULL,
    public_key TEXT NOT NULL,
    key_id TEXT NOT NULL,
    sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, hostname, fingerprint)
);
CREATE INDEX project_ssh_keys_md5 ON project_ssh_keys (project_id, md5);
