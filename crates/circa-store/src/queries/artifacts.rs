//! Artifacts (their Blobs keys).

use super::{Backend, missing_parent};
use crate::records::Artifact;
use crate::sql::codec::to_i64;
use crate::sql::columns::artifact_columns;
use crate::sql::rows::{ArtifactRow, decode_all};
use crate::store::StoreResult;

pub(super) async fn add(store: &Backend, artifact: Artifact) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO artifacts (job_id, node, path, blob_key, size) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (job_id, node, path) DO UPDATE SET blob_key = excluded.blob_key, \
         size = excluded.size",
    )
    .bind(&artifact.job_id)
    .bind(i64::from(artifact.node))
    .bind(&artifact.path)
    .bind(&artifact.blob_key)
    .bind(to_i64(artifact.size))
    .execute(&mut *store.writer().await?)
    .await
    .map_err(|e| missing_parent(e, || format!("job {}", artifact.job_id)))?;
    Ok(())
}

pub(super) async fn of_job(store: &Backend, job_id: &str) -> StoreResult<Vec<Artifact>> {
    let rows = sqlx::query_as::<_, ArtifactRow>(concat!(
        "SELECT ",
        artifact_columns!(),
        " FROM artifacts WHERE job_id = $1"
    ))
    .bind(job_id)
    .fetch_all(&mut *store.reader().await?)
    .await?;
    // Sorted here, byte-wise: the databases' collations differ.
    let mut artifacts = decode_all(rows, ArtifactRow::decode)?;
    artifacts.sort_by(|a, b| (a.node, &a.path).cmp(&(b.node, &b.path)));
    Ok(artifacts)
}
