//! Projects.

use super::Backend;
use crate::error::StoreError;
use crate::records::{Millis, NewProject, Project, ProjectSettings};
use crate::sql::codec::{new_id, to_json};
use crate::sql::columns::project_columns;
use crate::sql::rows::{ProjectRow, decode_all};
use crate::store::StoreResult;

pub(super) async fn create(store: &Backend, new: NewProject, now: Millis) -> StoreResult<Project> {
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
    .execute(&mut *store.writer().await?)
    .await;
    match inserted {
        Ok(_) => Ok(project),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(StoreError::Conflict(format!("project {}", project.slug)))
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn by_id(store: &Backend, id: &str) -> StoreResult<Option<Project>> {
    sqlx::query_as::<_, ProjectRow>(concat!(
        "SELECT ",
        project_columns!(),
        " FROM projects WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *store.reader().await?)
    .await?
    .map(ProjectRow::decode)
    .transpose()
}

/// A project by slug, through the store's project cache (`crate::cache`).
pub(super) async fn by_slug(store: &Backend, slug: &str) -> StoreResult<Option<Project>> {
    let generation = match store.caches().projects.get(slug) {
        Ok(project) => return Ok(Some(project)),
        Err(generation) => generation,
    };
    let project = sqlx::query_as::<_, ProjectRow>(concat!(
        "SELECT ",
        project_columns!(),
        " FROM projects WHERE slug = $1"
    ))
    .bind(slug)
    .fetch_optional(&mut *store.reader().await?)
    .await?
    .map(ProjectRow::decode)
    .transpose()?;
    if let Some(project) = &project {
        store
            .caches()
            .projects
            .put(slug, generation, project.clone());
    }
    Ok(project)
}

pub(super) async fn all(store: &Backend) -> StoreResult<Vec<Project>> {
    let rows =
        sqlx::query_as::<_, ProjectRow>(concat!("SELECT ", project_columns!(), " FROM projects"))
            .fetch_all(&mut *store.reader().await?)
            .await?;
    // Sorted here, byte-wise: the databases' collations differ.
    let mut projects = decode_all(rows, ProjectRow::decode)?;
    projects.sort_by(|a, b| a.slug.cmp(&b.slug));
    Ok(projects)
}

pub(super) async fn set_settings(
    store: &Backend,
    id: &str,
    settings: &ProjectSettings,
) -> StoreResult<bool> {
    let changed = sqlx::query("UPDATE projects SET settings = $2 WHERE id = $1")
        .bind(id)
        .bind(to_json(settings, "project settings")?)
        .execute(&mut *store.writer().await?)
        .await?
        .rows_affected();
    store.caches().projects.clear();
    Ok(changed > 0)
}
