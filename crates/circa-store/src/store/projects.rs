//! Projects: where their code is and their settings.

use async_trait::async_trait;

use super::StoreResult;
use crate::ids::ProjectId;
use crate::records::{Millis, NewProject, Project, ProjectSettings};

/// Projects, and whether the database answers at all.
#[async_trait]
pub trait ProjectStore: Send + Sync {
    /// Whether the database answers and the tables requests read can be read (for
    /// `/readyz`).
    async fn ping(&self) -> StoreResult<()>;
    /// Adds a project; [`crate::StoreError::Conflict`] if the slug is taken.
    async fn create_project(&self, project: NewProject, now: Millis) -> StoreResult<Project>;
    /// A project by id.
    async fn project(&self, id: &ProjectId) -> StoreResult<Option<Project>>;
    /// A project by slug. Read through a cache: an answer may be a few seconds old when
    /// another process changed the project, never when this store did.
    async fn project_by_slug(&self, slug: &str) -> StoreResult<Option<Project>>;
    /// Every project, by slug.
    async fn projects(&self) -> StoreResult<Vec<Project>>;
    /// At most `limit` projects whose slug equals `slug` but for the case of ASCII letters.
    async fn projects_with_slug_ignoring_case(
        &self,
        slug: &str,
        limit: u32,
    ) -> StoreResult<Vec<Project>>;
    /// Replaces a project's settings; false if there is no such project.
    async fn update_project_settings(
        &self,
        id: &ProjectId,
        settings: &ProjectSettings,
    ) -> StoreResult<bool>;
    /// Changes where a project's code is and its default branch; false if there is no such
    /// project.
    async fn set_project_source(
        &self,
        id: &ProjectId,
        repo_url: &str,
        default_branch: &str,
    ) -> StoreResult<bool>;
}
