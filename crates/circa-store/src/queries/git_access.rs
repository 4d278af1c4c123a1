//! Git access: a project's host keys and HTTPS token, one row per project, made on the first
//! write.

use async_trait::async_trait;

use super::{Backend, missing_parent};
use crate::git_access_records::{GitAccessRecord, RepoToken};
use crate::ids::ProjectId;
use crate::records::Millis;
use crate::secret_records::SealedValue;
use crate::store::{GitAccessStore, StoreResult};

/// A git access row.
#[derive(sqlx::FromRow)]
struct AccessRow {
    known_hosts: String,
    repo_user: Option<String>,
    token_key_id: Option<String>,
    token_sealed: Option<String>,
}

/// Writes a project's host keys, as a literal for `concat!`.
macro_rules! upsert_hosts_sql {
    () => {
        "INSERT INTO git_access (project_id, known_hosts, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (project_id) DO UPDATE \
         SET known_hosts = excluded.known_hosts, updated_at = excluded.updated_at"
    };
}

/// `known_hosts` lines as stored: one text, a line each.
fn joined(lines: &[String]) -> String {
    lines.join("\n")
}

fn token_of(
    user: Option<String>,
    key_id: Option<String>,
    sealed: Option<String>,
) -> Option<RepoToken> {
    Some(RepoToken {
        user: user?,
        token: SealedValue {
            key_id: key_id?,
            sealed: sealed?,
        },
    })
}

impl Backend {
    /// Writes a project's host keys (when `only_if_none`, only if it has none): whether they
    /// were written.
    async fn upsert_hosts(
        &self,
        project_id: &ProjectId,
        lines: &[String],
        now: Millis,
        only_if_none: bool,
    ) -> StoreResult<bool> {
        let sql = if only_if_none {
            concat!(upsert_hosts_sql!(), " WHERE git_access.known_hosts = ''")
        } else {
            upsert_hosts_sql!()
        };
        let done = sqlx::query(sql)
            .bind(project_id)
            .bind(joined(lines))
            .bind(now)
            .execute(&mut *self.writer().await?)
            .await
            .map_err(|e| missing_parent(e, || format!("project {project_id}")))?;
        Ok(done.rows_affected() > 0)
    }
}

#[async_trait]
impl GitAccessStore for Backend {
    async fn git_access(&self, project_id: &ProjectId) -> StoreResult<GitAccessRecord> {
        let row = sqlx::query_as::<_, AccessRow>(
            "SELECT known_hosts, repo_user, token_key_id, token_sealed FROM git_access \
             WHERE project_id = $1",
        )
        .bind(project_id)
        .fetch_optional(&mut *self.reader().await?)
        .await?;
        let Some(row) = row else {
            return Ok(GitAccessRecord::empty(project_id.clone()));
        };
        Ok(GitAccessRecord {
            project_id: project_id.clone(),
            known_hosts: row
                .known_hosts
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect(),
            repo_token: token_of(row.repo_user, row.token_key_id, row.token_sealed),
        })
    }

    async fn set_known_hosts(
        &self,
        project_id: &ProjectId,
        lines: &[String],
        now: Millis,
    ) -> StoreResult<()> {
        self.upsert_hosts(project_id, lines, now, false)
            .await
            .map(drop)
    }

    async fn record_known_hosts(
        &self,
        project_id: &ProjectId,
        lines: &[String],
        now: Millis,
    ) -> StoreResult<bool> {
        self.upsert_hosts(project_id, lines, now, true).await
    }

    async fn set_repo_token(
        &self,
        project_id: &ProjectId,
        token: Option<&RepoToken>,
        now: Millis,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO git_access (project_id, repo_user, token_key_id, token_sealed, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_id) DO UPDATE \
             SET repo_user = excluded.repo_user, token_key_id = excluded.token_key_id, \
             token_sealed = excluded.token_sealed, updated_at = excluded.updated_at",
        )
        .bind(project_id)
        .bind(token.map(|t| t.user.as_str()))
        .bind(token.map(|t| t.token.key_id.as_str()))
        .bind(token.map(|t| t.token.sealed.as_str()))
        .bind(now)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| missing_parent(e, || format!("project {project_id}")))?;
        Ok(())
    }

    async fn all_repo_tokens(&self) -> StoreResult<Vec<(ProjectId, RepoToken)>> {
        let rows: Vec<(ProjectId, Option<String>, Option<String>, Option<String>)> =
            sqlx::query_as(
                "SELECT project_id, repo_user, token_key_id, token_sealed FROM git_access \
                 WHERE token_sealed IS NOT NULL ORDER BY project_id",
            )
            .fetch_all(&mut *self.reader().await?)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, user, key_id, sealed)| Some((id, token_of(user, key_id, sealed)?)))
            .collect())
    }

    async fn reseal_repo_token(
        &self,
        project_id: &ProjectId,
        from: &SealedValue,
        to: &SealedValue,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE git_access SET token_key_id = $2, token_sealed = $3 \
             WHERE project_id = $1 AND token_sealed = $4",
        )
        .bind(project_id)
        .bind(&to.key_id)
        .bind(&to.sealed)
        .bind(&from.sealed)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
