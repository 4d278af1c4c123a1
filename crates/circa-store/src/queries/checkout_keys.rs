//! Checkout keys: a project's SSH key pairs, found by either fingerprint.

use async_trait::async_trait;

use super::{Backend, missing_parent};
use crate::checkout_key_records::{CheckoutKey, CheckoutKeyKind, NewCheckoutKey};
use crate::error::StoreError;
use crate::ids::ProjectId;
use crate::records::Millis;
use crate::secret_records::SealedValue;
use crate::store::{CheckoutKeyStore, StoreResult};

/// The columns a [`KeyRow`] reads, as a literal for `concat!`.
macro_rules! key_columns {
    () => {
        "project_id, fingerprint, md5, public_key, key_id, sealed, kind, preferred, created_at"
    };
}

/// A checkout key row.
#[derive(sqlx::FromRow)]
struct KeyRow {
    project_id: ProjectId,
    fingerprint: String,
    md5: String,
    public_key: String,
    key_id: String,
    sealed: String,
    kind: String,
    preferred: bool,
    created_at: i64,
}

impl KeyRow {
    fn decode(self) -> StoreResult<CheckoutKey> {
        let kind = CheckoutKeyKind::parse(&self.kind)
            .ok_or_else(|| StoreError::Corrupt(format!("checkout key kind {:?}", self.kind)))?;
        Ok(CheckoutKey {
            project_id: self.project_id,
            fingerprint: self.fingerprint,
            md5: self.md5,
            public_key: self.public_key,
            private_key: SealedValue {
                key_id: self.key_id,
                sealed: self.sealed,
            },
            kind,
            preferred: self.preferred,
            created_at: self.created_at,
        })
    }
}

#[async_trait]
impl CheckoutKeyStore for Backend {
    async fn add_checkout_key(&self, new: NewCheckoutKey, now: Millis) -> StoreResult<CheckoutKey> {
        let sql = concat!(
            "INSERT INTO checkout_keys (",
            key_columns!(),
            ") SELECT $1, $2, $3, $4, $5, $6, $7, \
             NOT EXISTS (SELECT 1 FROM checkout_keys WHERE project_id = $1), $8 RETURNING ",
            key_columns!()
        );
        let inserted = sqlx::query_as::<_, KeyRow>(sql)
            .bind(&new.project_id)
            .bind(&new.fingerprint)
            .bind(&new.md5)
            .bind(&new.public_key)
            .bind(&new.private_key.key_id)
            .bind(&new.private_key.sealed)
            .bind(new.kind.as_str())
            .bind(now)
            .fetch_one(&mut *self.writer().await?)
            .await;
        match inserted {
            Ok(row) => row.decode(),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Conflict(
                format!("checkout key {}", new.fingerprint),
            )),
            Err(e) => Err(missing_parent(e, || format!("project {}", new.project_id))),
        }
    }

    async fn checkout_keys(&self, project_id: &ProjectId) -> StoreResult<Vec<CheckoutKey>> {
        let sql = concat!(
            "SELECT ",
            key_columns!(),
            " FROM checkout_keys WHERE project_id = $1 ORDER BY created_at DESC, fingerprint DESC"
        );
        let rows = sqlx::query_as::<_, KeyRow>(sql)
            .bind(project_id)
            .fetch_all(&mut *self.reader().await?)
            .await?;
        rows.into_iter().map(KeyRow::decode).collect()
    }

    async fn checkout_key(
        &self,
        project_id: &ProjectId,
        fingerprint: &str,
    ) -> StoreResult<Option<CheckoutKey>> {
        let sql = concat!(
            "SELECT ",
            key_columns!(),
            " FROM checkout_keys WHERE project_id = $1 AND (fingerprint = $2 OR md5 = $2)"
        );
        let row = sqlx::query_as::<_, KeyRow>(sql)
            .bind(project_id)
            .bind(fingerprint)
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        row.map(KeyRow::decode).transpose()
    }

    async fn all_checkout_keys(&self) -> StoreResult<Vec<CheckoutKey>> {
        let sql = concat!(
            "SELECT ",
            key_columns!(),
            " FROM checkout_keys ORDER BY project_id, fingerprint"
        );
        let rows = sqlx::query_as::<_, KeyRow>(sql)
            .fetch_all(&mut *self.reader().await?)
            .await?;
        rows.into_iter().map(KeyRow::decode).collect()
    }

    async fn reseal_checkout_key(&self, key: &CheckoutKey, to: &SealedValue) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE checkout_keys SET key_id = $3, sealed = $4 \
             WHERE project_id = $1 AND fingerprint = $2 AND sealed = $5",
        )
        .bind(&key.project_id)
        .bind(&key.fingerprint)
        .bind(&to.key_id)
        .bind(&to.sealed)
        .bind(&key.private_key.sealed)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_checkout_key(
        &self,
        project_id: &ProjectId,
        fingerprint: &str,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let deleted: Option<bool> = sqlx::query_scalar(
            "DELETE FROM checkout_keys \
             WHERE project_id = $1 AND (fingerprint = $2 OR md5 = $2) RETURNING preferred",
        )
        .bind(project_id)
        .bind(fingerprint)
        .fetch_optional(&mut *tx)
        .await?;
        if deleted == Some(true) {
            sqlx::query(
                "UPDATE checkout_keys SET preferred = TRUE WHERE project_id = $1 \
                 AND fingerprint = (SELECT fingerprint FROM checkout_keys WHERE project_id = $1 \
                 ORDER BY created_at DESC, fingerprint DESC LIMIT 1)",
            )
            .bind(project_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(deleted.is_some())
    }
}
