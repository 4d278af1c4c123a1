-- A workflow's version, moved on by every settle: a settle applies only if the version is
-- still the one it read before the jobs, so settles on two servers never both decide.
ALTER TABLE workflows ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
-- Jobs a runner has or is about to have: where the sweep for finished tasks whose job was
-- never settled (a server stopped in between) looks.
CREATE INDEX jobs_in_progress ON jobs (status) WHERE status IN ('queued', 'running');
