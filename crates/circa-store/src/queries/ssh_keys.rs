//! Projects' additional SSH keys, found by either fingerprint.

use async_trait::async_trait;

use super::{Backend, missing_parent};
use crate::error::StoreError;
use crate::ids::ProjectId;
use crate::records::Millis;
use crate::secret_records::SealedValue;
use crate::ssh_key_records::{NewSshKey, SshKey};
use crate::store::{SshKeyStore, StoreResult};

/// The columns a [`KeyRow`] reads, as a literal for `concat!`.
macro_rules! ssh_key_columns {
    () => {
        "project_id, hostname, fingerprint, md5, public_key, key_id, sealed, created_at"
    };
}

/// An additional SSH key row.
#[derive(sqlx::FromRow)]
struct KeyRow {
    project_id: ProjectId,
    hostname: String,
    fingerprint: String,
    md5: String,
    public_key: String,
    key_id: String,
    sealed: String,
    created_at: i64,
}

impl From<KeyRow> for SshKey {
    fn from(row: KeyRow) -> SshKey {
        SshKey {
            project_id: row.project_id,
            hostname: row.hostname,
            fingerprint: row.fingerprint,
            md5: row.md5,
            public_key: row.public_key,
            private_key: SealedValue {
                key_id: row.key_id,
                sealed: row.sealed,
            },
            created_at: row.created_at,
        }
    }
}

#[async_trait]
impl SshKeyStore for Backend {
    async fn add_ssh_key(&self, new: NewSshKey, now: Millis) -> StoreResult<SshKey> {
        let sql = concat!(
            "INSERT INTO project_ssh_keys (",
            ssh_key_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ",
            ssh_key_columns!()
        );
        let inserted = sqlx::query_as::<_, KeyRow>(sql)
            .bind(&new.project_id)
            .bind(&new.hostname)
            .bind(&new.fingerprint)
            .bind(&new.md5)
            .bind(&new.public_key)
            .bind(&new.private_key.key_id)
            .bind(&new.private_key.sealed)
            .bind(now)
            .fetch_one(&mut *self.writer().await?)
            .await;
        match inserted {
            Ok(row) => Ok(row.into()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Conflict(
                format!("SSH key {} for host {:?}", new.md5, new.hostname),
            )),
            Err(e) => Err(missing_parent(e, || format!("project {}", new.project_id))),
        }
    }

    async fn ssh_keys(&self, project_id: &ProjectId) -> StoreResult<Vec<SshKey>> {
        let sql = concat!(
            "SELECT ",
            ssh_key_columns!(),
            " FROM project_ssh_keys WHERE project_id = $1 ORDER BY created_at, hostname, fingerprint"
        );
        let rows = sqlx::query_as::<_, KeyRow>(sql)
            .bind(project_id)
            .fetch_all(&mut *self.reader().await?)
            .await?;
        Ok(rows.into_iter().map(SshKey::from).collect())
    }

    async fn all_ssh_keys(&self) -> StoreResult<Vec<SshKey>> {
        let sql = concat!(
            "SELECT ",
            ssh_key_columns!(),
            " FROM project_ssh_keys ORDER BY project_id, hostname, fingerprint"
        );
        let rows = sqlx::query_as::<_, KeyRow>(sql)
            .fetch_all(&mut *self.reader().await?)
            .await?;
        Ok(rows.into_iter().map(SshKey::from).collect())
    }

    async fn reseal_ssh_key(&self, key: &SshKey, to: &SealedValue) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE project_ssh_keys SET key_id = $4, sealed = $5 \
             WHERE project_id = $1 AND hostname = $2 AND fingerprint = $3 AND sealed = $6",
        )
        .bind(&key.project_id)
        .bind(&key.hostname)
        .bind(&key.fingerprint)
        .bind(&to.key_id)
        .bind(&to.sealed)
        .bind(&key.private_key.sealed)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_ssh_key(
        &self,
        project_id: &ProjectId,
        fingerprint: &str,
        hostname: Option<&str>,
    ) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM project_ssh_keys WHERE project_id = $1 \
             AND (fingerprint = $2 OR md5 = $2) AND ($3 IS NULL OR hostname = $3)",
        )
        .bind(project_id)
        .bind(fingerprint)
        .bind(hostname)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(done.rows_affected())
    }
}
