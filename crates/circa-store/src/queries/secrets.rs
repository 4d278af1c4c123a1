//! Secrets: sealed environment variables of projects and contexts, contexts, and context
//! restrictions. Project and context variables live in two tables of the same shape
//! (`project_env_vars`, `context_env_vars`), so each can reference its owner and go with it.

use async_trait::async_trait;

use super::{Backend, missing_parent};
use crate::error::StoreError;
use crate::ids::{ContextId, ProjectId};
use crate::records::Millis;
use crate::secret_records::{
    Context, ContextRestriction, EnvOwner, EnvVar, NewRestriction, SealedValue,
};
use crate::sql::codec::new_id;
use crate::store::{SecretStore, StoreResult};

/// The same statement for the owner's table: `env_sql!(owner, "before ", " after")`.
macro_rules! env_sql {
    ($owner:expr, $before:literal, $after:literal) => {
        match $owner {
            EnvOwner::Project(_) => concat!($before, "project_env_vars", $after),
            EnvOwner::Context(_) => concat!($before, "context_env_vars", $after),
        }
    };
}

/// An env var row.
#[derive(sqlx::FromRow)]
struct EnvRow {
    owner_id: String,
    name: String,
    key_id: String,
    sealed: String,
    created_at: i64,
    updated_at: i64,
}

impl EnvRow {
    fn decode(self, kind: &EnvOwner) -> EnvVar {
        let owner = match kind {
            EnvOwner::Project(_) => EnvOwner::Project(self.owner_id.into()),
            EnvOwner::Context(_) => EnvOwner::Context(self.owner_id.into()),
        };
        EnvVar {
            owner,
            name: self.name,
            value: SealedValue {
                key_id: self.key_id,
                sealed: self.sealed,
            },
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// A context row.
#[derive(sqlx::FromRow)]
struct ContextRow {
    id: ContextId,
    name: String,
    created_at: i64,
}

impl ContextRow {
    fn decode(self) -> Context {
        Context {
            id: self.id,
            name: self.name,
            created_at: self.created_at,
        }
    }
}

/// A restriction row.
#[derive(sqlx::FromRow)]
struct RestrictionRow {
    id: String,
    context_id: ContextId,
    kind: String,
    value: String,
    created_at: i64,
}

impl RestrictionRow {
    fn decode(self) -> ContextRestriction {
        ContextRestriction {
            id: self.id,
            context_id: self.context_id,
            kind: self.kind,
            value: self.value,
            created_at: self.created_at,
        }
    }
}

#[async_trait]
impl SecretStore for Backend {
    async fn put_env_var(
        &self,
        owner: &EnvOwner,
        name: &str,
        value: &SealedValue,
        now: Millis,
    ) -> StoreResult<EnvVar> {
        let sql = env_sql!(
            owner,
            "INSERT INTO ",
            " (owner_id, name, key_id, sealed, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) \
             ON CONFLICT (owner_id, name) DO UPDATE SET key_id = excluded.key_id, \
             sealed = excluded.sealed, updated_at = excluded.updated_at \
             RETURNING owner_id, name, key_id, sealed, created_at, updated_at"
        );
        let row = sqlx::query_as::<_, EnvRow>(sql)
            .bind(owner.id())
            .bind(name)
            .bind(&value.key_id)
            .bind(&value.sealed)
            .bind(now)
            .fetch_one(&mut *self.writer().await?)
            .await
            .map_err(|e| missing_parent(e, || owner.kind().to_string()))?;
        Ok(row.decode(owner))
    }

    async fn env_var(&self, owner: &EnvOwner, name: &str) -> StoreResult<Option<EnvVar>> {
        let sql = env_sql!(
            owner,
            "SELECT owner_id, name, key_id, sealed, created_at, updated_at FROM ",
            " WHERE owner_id = $1 AND name = $2"
        );
        let row = sqlx::query_as::<_, EnvRow>(sql)
            .bind(owner.id())
            .bind(name)
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        Ok(row.map(|r| r.decode(owner)))
    }

    async fn env_vars(&self, owner: &EnvOwner) -> StoreResult<Vec<EnvVar>> {
        let sql = env_sql!(
            owner,
            "SELECT owner_id, name, key_id, sealed, created_at, updated_at FROM ",
            " WHERE owner_id = $1 ORDER BY name"
        );
        let rows = sqlx::query_as::<_, EnvRow>(sql)
            .bind(owner.id())
            .fetch_all(&mut *self.reader().await?)
            .await?;
        Ok(rows.into_iter().map(|r| r.decode(owner)).collect())
    }

    async fn delete_env_var(&self, owner: &EnvOwner, name: &str) -> StoreResult<bool> {
        let sql = env_sql!(owner, "DELETE FROM ", " WHERE owner_id = $1 AND name = $2");
        let done = sqlx::query(sql)
            .bind(owner.id())
            .bind(name)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn all_env_vars(&self) -> StoreResult<Vec<EnvVar>> {
        let mut all = Vec::new();
        for kind in [
            EnvOwner::Project(ProjectId::from("")),
            EnvOwner::Context(ContextId::from("")),
        ] {
            let sql = env_sql!(
                &kind,
                "SELECT owner_id, name, key_id, sealed, created_at, updated_at FROM ",
                " ORDER BY owner_id, name"
            );
            let rows = sqlx::query_as::<_, EnvRow>(sql)
                .fetch_all(&mut *self.reader().await?)
                .await?;
            all.extend(rows.into_iter().map(|r| r.decode(&kind)));
        }
        Ok(all)
    }

    async fn reseal_env_var(&self, var: &EnvVar, to: &SealedValue) -> StoreResult<bool> {
        let sql = env_sql!(
            &var.owner,
            "UPDATE ",
            " SET key_id = $3, sealed = $4 WHERE owner_id = $1 AND name = $2 AND sealed = $5"
        );
        let done = sqlx::query(sql)
            .bind(var.owner.id())
            .bind(&var.name)
            .bind(&to.key_id)
            .bind(&to.sealed)
            .bind(&var.value.sealed)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn env_var_key_ids(&self) -> StoreResult<Vec<String>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT key_id FROM project_env_vars UNION SELECT key_id FROM context_env_vars \
             UNION SELECT key_id FROM checkout_keys \
             UNION SELECT key_id FROM project_ssh_keys \
             UNION SELECT token_key_id FROM git_access WHERE token_key_id IS NOT NULL \
             UNION SELECT key_id FROM project_forges WHERE key_id IS NOT NULL ORDER BY key_id",
        )
        .fetch_all(&mut *self.reader().await?)
        .await?;
        Ok(ids)
    }

    async fn create_context(&self, name: &str, now: Millis) -> StoreResult<Context> {
        let context = Context {
            id: new_id(),
            name: name.to_string(),
            created_at: now,
        };
        let inserted =
            sqlx::query("INSERT INTO contexts (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(&context.id)
                .bind(&context.name)
                .bind(context.created_at)
                .execute(&mut *self.writer().await?)
                .await;
        match inserted {
            Ok(_) => Ok(context),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::Conflict(format!("a context named {name:?}")))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn context(&self, id: &ContextId) -> StoreResult<Option<Context>> {
        let row = sqlx::query_as::<_, ContextRow>(
            "SELECT id, name, created_at FROM contexts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *self.reader().await?)
        .await?;
        Ok(row.map(ContextRow::decode))
    }

    async fn context_by_name(&self, name: &str) -> StoreResult<Option<Context>> {
        let row = sqlx::query_as::<_, ContextRow>(
            "SELECT id, name, created_at FROM contexts WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&mut *self.reader().await?)
        .await?;
        Ok(row.map(ContextRow::decode))
    }

    async fn contexts(&self) -> StoreResult<Vec<Context>> {
        let rows = sqlx::query_as::<_, ContextRow>(
            "SELECT id, name, created_at FROM contexts ORDER BY name",
        )
        .fetch_all(&mut *self.reader().await?)
        .await?;
        Ok(rows.into_iter().map(ContextRow::decode).collect())
    }

    async fn delete_context(&self, id: &ContextId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM contexts WHERE id = $1")
            .bind(id)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn add_context_restriction(
        &self,
        new: NewRestriction,
        now: Millis,
    ) -> StoreResult<ContextRestriction> {
        let restriction = ContextRestriction {
            id: new_id(),
            context_id: new.context_id,
            kind: new.kind,
            value: new.value,
            created_at: now,
        };
        sqlx::query(
            "INSERT INTO context_restrictions (id, context_id, kind, value, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&restriction.id)
        .bind(&restriction.context_id)
        .bind(&restriction.kind)
        .bind(&restriction.value)
        .bind(restriction.created_at)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| missing_parent(e, || "context".to_string()))?;
        Ok(restriction)
    }

    async fn context_restrictions(
        &self,
        context_id: &ContextId,
    ) -> StoreResult<Vec<ContextRestriction>> {
        let rows = sqlx::query_as::<_, RestrictionRow>(
            "SELECT id, context_id, kind, value, created_at FROM context_restrictions \
             WHERE context_id = $1 ORDER BY ord",
        )
        .bind(context_id)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        Ok(rows.into_iter().map(RestrictionRow::decode).collect())
    }

    async fn delete_context_restriction(
        &self,
        context_id: &ContextId,
        id: &str,
    ) -> StoreResult<bool> {
        let done =
            sqlx::query("DELETE FROM context_restrictions WHERE context_id = $1 AND id = $2")
                .bind(context_id)
                .bind(id)
                .execute(&mut *self.writer().await?)
                .await?;
        Ok(done.rows_affected() > 0)
    }
}
