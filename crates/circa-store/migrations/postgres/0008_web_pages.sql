-- The web UI's pages with a long history: the 30-day chart sums a project's finished
-- workflows per day from this index alone. It also serves what the narrower index of 0007
-- served, so that one goes.
CREATE INDEX workflows_project_chart ON workflows (project_id, created_at, stopped_at, status);
DROP INDEX workflows_project_created;
