//! Projects, read by slug through the store's project cache (`crate::cache`), which every
//! write here clears.

use async_trait::async_trait;

use super::Backend;
use crate::error::StoreError;
use crate::ids::ProjectId;
use crate::records::{Millis, NewProject, Project, ProjectSettings};
use crate::sql::codec::{new_id, to_json};
use crate::sql::columns::project_columns;
use crate::sql::rows::{ProjectRow, decode_all};
use crate::store::{ProjectStore, StoreResult};

/// The tables every request reads (tokens and users to sign in, the project and its
/// pipelines, workflows, jobs, tasks and steps): the readiness check reads a row of each.
const READY_READS: [&str; 9] = [
    "SELECT * FROM tokens LIMIT 1",
    "SELECT * FROM users LIMIT 1",
    "SELECT * FROM projects LIMIT 1",
    "SELECT * FROM pipelines LIMIT 1",
    "SELECT * FROM workflows LIMIT 1",
    "SELECT * FROM jobs LIMIT 1",
    "SELECT * FROM tasks LIMIT 1",
    "SELECT * FROM steps LIMIT 1",
    "SELECT * FROM events LIMIT 1",
];

#[async_trait]
impl ProjectStore for Backend {
    async fn ping(&self) -> StoreResult<()> {
        let mut conn = self.reader().await?;
        for read in READY_READS {
            sqlx::query(read).fetch_optional(&mut *conn).await?;
        }
        Ok(())
    }

    async fn create_project(&self, new: NewProject, now: Millis) -> StoreResult<Project> {
        let project = Project {
            id: new_id(),
            slug: new.slug,
            repo_url: new.repo_url,
            default_branch: new.default_branch,
            webhook_secret: new.webhook_secret,
            settings: new.settings,
            created_at: now,
        };
        let inserted = sqlx::query(
            "INSERT INTO projects \
             (id, slug, repo_url, default_branch, webhook_secret, settings, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&project.id)
        .bind(&project.slug)
        .bind(&project.repo_url)
        .bind(&project.default_branch)
        .bind(&project.webhook_secret)
        .bind(to_json(&project.settings, "project settings")?)
        .bind(project.created_at)
        .execute(&mut *self.writer().await?)
        .await;
        match inserted {
            Ok(_) => Ok(project),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::Conflict(format!("project {}", project.slug)))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn project(&self, id: &ProjectId) -> StoreResult<Option<Project>> {
        sqlx::query_as::<_, ProjectRow>(concat!(
            "SELECT ",
            project_columns!(),
            " FROM projects WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *self.reader().await?)
        .await?
        .map(ProjectRow::decode)
        .transpose()
    }

    async fn project_by_slug(&self, slug: &str) -> StoreResult<Option<Project>> {
        let generation = match self.caches().projects.get(slug) {
            Ok(project) => return Ok(Some(project)),
            Err(generation) => generation,
        };
        let project = sqlx::query_as::<_, ProjectRow>(concat!(
            "SELECT ",
            project_columns!(),
            " FROM projects WHERE slug = $1"
        ))
        .bind(slug)
        .fetch_optional(&mut *self.reader().await?)
        .await?
        .map(ProjectRow::decode)
        .transpose()?;
        if let Some(project) = &project {
            self.caches()
                .projects
                .put(slug, generation, project.clone());
        }
        Ok(project)
    }

    async fn projects(&self) -> StoreResult<Vec<Project>> {
        let rows = sqlx::query_as::<_, ProjectRow>(concat!(
            "SELECT ",
            project_columns!(),
            " FROM projects"
        ))
        .fetch_all(&mut *self.reader().await?)
        .await?;
        // Sorted here, byte-wise: the databases' collations differ.
        let mut projects = decode_all(rows, ProjectRow::decode)?;
        projects.sort_by(|a, b| a.slug.cmp(&b.slug));
        Ok(projects)
    }

    async fn projects_with_slug_ignoring_case(
        &self,
        slug: &str,
        limit: u32,
    ) -> StoreResult<Vec<Project>> {
        // LOWER() may fold more than ASCII on PostgreSQL: the rows are checked again here.
        let rows = sqlx::query_as::<_, ProjectRow>(concat!(
            "SELECT ",
            project_columns!(),
            " FROM projects WHERE LOWER(slug) = LOWER($1) LIMIT CAST($2 AS BIGINT)"
        ))
        .bind(slug)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.reader().await?)
        .await?;
        let projects = decode_all(rows, ProjectRow::decode)?;
        Ok(projects
            .into_iter()
            .filter(|p| p.slug.eq_ignore_ascii_case(slug))
            .collect())
    }

    async fn update_project_settings(
        &self,
        id: &ProjectId,
        settings: &ProjectSettings,
    ) -> StoreResult<bool> {
        let changed = sqlx::query("UPDATE projects SET settings = $2 WHERE id = $1")
            .bind(id)
            .bind(to_json(settings, "project settings")?)
            .execute(&mut *self.writer().await?)
            .await?
            .rows_affected();
        self.caches().projects_changed();
        Ok(changed > 0)
    }

    async fn set_project_source(
        &self,
        id: &ProjectId,
        repo_url: &str,
        default_branch: &str,
    ) -> StoreResult<bool> {
        let changed =
            sqlx::query("UPDATE projects SET repo_url = $2, default_branch = $3 WHERE id = $1")
                .bind(id)
                .bind(repo_url)
                .bind(default_branch)
                .execute(&mut *self.writer().await?)
                .await?
                .rows_affected();
        self.caches().projects_changed();
        Ok(changed > 0)
    }
}
