-- Scheduled pipelines: schedules made through the API, and the legacy `triggers: schedule`
-- of workflows read from a branch's config. `last_tick` is the latest tick handled (at first
-- the time the schedule was made): a tick is fired by the one caller whose conditional update
-- moves it forward, so several servers, or a restart, fire each tick once.

CREATE TABLE schedules (
    ord BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    -- 'api' or 'config'.
    origin TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    -- The timetable as given (JSON), and the cron line and time zone it fires on.
    timetable TEXT NOT NULL,
    cron TEXT NOT NULL,
    timezone TEXT NOT NULL,
    -- Pipeline parameters (JSON), with `branch` or `tag` for API schedules.
    parameters TEXT NOT NULL,
    -- The user pipelines are attributed to; NULL for the system.
    actor_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    -- For config schedules: the branch whose config defines it, and that it builds.
    branch TEXT,
    last_tick BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX schedules_project ON schedules (project_id, ord);
CREATE UNIQUE INDEX schedules_api_name ON schedules (project_id, name) WHERE origin = 'api';
CREATE UNIQUE INDEX schedules_config_key ON schedules (project_id, branch, name, cron)
    WHERE origin = 'config';
