//! Projects' forges: one row per project, the token only sealed.

use async_trait::async_trait;

use super::{Backend, missing_parent};
use crate::error::StoreError;
use crate::forge_records::{ForgeKind, ProjectForge};
use crate::ids::ProjectId;
use crate::records::Millis;
use crate::secret_records::SealedValue;
use crate::store::{ForgeStore, StoreResult};

/// The columns a [`ForgeRow`] reads, as a literal for `concat!`.
macro_rules! forge_columns {
    () => {
        "project_id, kind, api_url, repo, key_id, sealed, statuses, last_error, last_error_at, \
         updated_at"
    };
}

/// A `project_forges` row.
#[derive(sqlx::FromRow)]
struct ForgeRow {
    project_id: ProjectId,
    kind: String,
    api_url: String,
    repo: String,
    key_id: Option<String>,
    sealed: Option<String>,
    statuses: bool,
    last_error: Option<String>,
    last_error_at: Option<i64>,
    updated_at: i64,
}

impl ForgeRow {
    fn decode(self) -> StoreResult<ProjectForge> {
        let kind = ForgeKind::parse(&self.kind)
            .ok_or_else(|| StoreError::Corrupt(format!("forge kind {:?}", self.kind)))?;
        let token = match (self.key_id, self.sealed) {
            (Some(key_id), Some(sealed)) => Some(SealedValue { key_id, sealed }),
            _ => None,
        };
        Ok(ProjectForge {
            project_id: self.project_id,
            kind,
            api_url: self.api_url,
            repo: self.repo,
            token,
            statuses: self.statuses,
            last_error: self.last_error,
            last_error_at: self.last_error_at,
            updated_at: self.updated_at,
        })
    }
}

#[async_trait]
impl ForgeStore for Backend {
    async fn project_forge(&self, project_id: &ProjectId) -> StoreResult<Option<ProjectForge>> {
        let sql = concat!(
            "SELECT ",
            forge_columns!(),
            " FROM project_forges WHERE project_id = $1"
        );
        let row = sqlx::query_as::<_, ForgeRow>(sql)
            .bind(project_id)
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        row.map(ForgeRow::decode).transpose()
    }

    async fn set_project_forge(&self, forge: ProjectForge) -> StoreResult<ProjectForge> {
        let sql = concat!(
            "INSERT INTO project_forges (",
            forge_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, $8) \
             ON CONFLICT (project_id) DO UPDATE SET kind = $2, api_url = $3, repo = $4, \
             key_id = $5, sealed = $6, statuses = $7, last_error = NULL, last_error_at = NULL, \
             retry_at = NULL, updated_at = $8 RETURNING ",
            forge_columns!()
        );
        let token = forge.token.as_ref();
        let row = sqlx::query_as::<_, ForgeRow>(sql)
            .bind(&forge.project_id)
            .bind(forge.kind.as_str())
            .bind(&forge.api_url)
            .bind(&forge.repo)
            .bind(token.map(|t| &t.key_id))
            .bind(token.map(|t| &t.sealed))
            .bind(forge.statuses)
            .bind(forge.updated_at)
            .fetch_one(&mut *self.writer().await?)
            .await
            .map_err(|e| missing_parent(e, || format!("project {}", forge.project_id)))?;
        row.decode()
    }

    async fn delete_project_forge(&self, project_id: &ProjectId) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let deleted = sqlx::query("DELETE FROM project_forges WHERE project_id = $1")
            .bind(project_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM forge_status_outbox WHERE project_id = $1")
            .bind(project_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(deleted > 0)
    }

    async fn record_forge_error(
        &self,
        project_id: &ProjectId,
        error: Option<&str>,
        now: Millis,
    ) -> StoreResult<()> {
        // Clearing writes only when there is something to clear: a delivery that succeeds
        // after another costs no write.
        let sql = match error {
            Some(_) => {
                "UPDATE project_forges SET last_error = $2, last_error_at = $3 \
                 WHERE project_id = $1"
            }
            None => {
                "UPDATE project_forges SET last_error = $2, last_error_at = NULL \
                 WHERE project_id = $1 AND last_error IS NOT NULL AND $3 >= 0"
            }
        };
        sqlx::query(sql)
            .bind(project_id)
            .bind(error)
            .bind(now)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }

    async fn all_project_forges(&self) -> StoreResult<Vec<ProjectForge>> {
        let sql = concat!(
            "SELECT ",
            forge_columns!(),
            " FROM project_forges ORDER BY project_id"
        );
        let rows = sqlx::query_as::<_, ForgeRow>(sql)
            .fetch_all(&mut *self.reader().await?)
            .await?;
        rows.into_iter().map(ForgeRow::decode).collect()
    }

    async fn reseal_forge_token(
        &self,
        forge: &ProjectForge,
        to: &SealedValue,
    ) -> StoreResult<bool> {
        let Some(old) = &forge.token else {
            return Ok(false);
        };
        let done = sqlx::query(
            "UPDATE project_forges SET key_id = $2, sealed = $3 \
             WHERE project_id = $1 AND sealed = $4",
        )
        .bind(&forge.project_id)
        .bind(&to.key_id)
        .bind(&to.sealed)
        .bind(&old.sealed)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
