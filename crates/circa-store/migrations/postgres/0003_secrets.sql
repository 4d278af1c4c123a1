-- Secrets: contexts and their restrictions, and the encrypted environment variables of
-- projects and contexts. A value is stored only sealed (authenticated encryption) together
-- with the id of the key that sealed it, so keys can be rotated.

CREATE TABLE contexts (
    ord BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE context_restrictions (
    ord BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    context_id TEXT NOT NULL REFERENCES contexts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX context_restrictions_context ON context_restrictions (context_id);

CREATE TABLE project_env_vars (
    owner_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_id TEXT NOT NULL,
    sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (owner_id, name)
);
CREATE INDEX project_env_vars_key ON project_env_vars (key_id);

CREATE TABLE context_env_vars (
    owner_id TEXT NOT NULL REFERENCES contexts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_id TEXT NOT NULL,
    sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (owner_id, name)
);
CREATE INDEX context_env_vars_key ON context_env_vars (key_id);
