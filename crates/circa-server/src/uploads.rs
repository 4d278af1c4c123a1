//! Files runners send: streamed to a temporary file, then stored in Blobs under a key that only
//! the task's own job, node and workflow can reach.

use axum::body::Body;
use circa_store::WorkflowId;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A relative path with no `..`, no empty or `.` segments, no backslashes: safe as part of a key.
pub fn safe_relative(path: &str) -> ApiResult<String> {
    let ok = !path.is_empty()
        && path.len() <= 1024
        && !path.starts_with('/')
        && !path.contains('\\')
        && path.split('/').all(|seg| {
            !seg.is_empty() && seg != "." && seg != ".." && !seg.chars().any(char::is_control)
        });
    if ok {
        Ok(path.to_string())
    } else {
        Err(ApiError::bad_request(format!(
            "{path:?} is not a plain relative path"
        )))
    }
}

/// The workspace layer name's job part (`<20 digits>-<32 hex>.tar.zst`).
pub fn layer_job_hash(name: &str) -> Option<&str> {
    let stem = name.strip_suffix(".tar.zst")?;
    let (time, job) = stem.split_once('-')?;
    let ok = time.len() == 20
        && time.bytes().all(|b| b.is_ascii_digit())
        && job.len() == 32
        && job.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    ok.then_some(job)
}

/// The job part of its workspace layer names (as `circa_exec::workspace` writes them).
pub fn job_hash(job: &str) -> String {
    hex::encode(&Sha256::digest(job.as_bytes())[..16])
}

/// The Blobs folder of a workflow's workspace: per pipeline and workflow name, so a rerun sees
/// the layers of the jobs it copies.
pub async fn workflow_key(state: &AppState, workflow_id: &WorkflowId) -> ApiResult<String> {
    let workflow = state
        .store
        .workflow(workflow_id)
        .await?
        .ok_or_else(|| ApiError::not_found("workflow"))?;
    let name = hex::encode(&Sha256::digest(workflow.name.as_bytes())[..8]);
    Ok(format!("workspaces/{}/{name}/", workflow.pipeline_id))
}

/// Streams a request body into Blobs at `key`; its size.
pub async fn receive(state: &AppState, key: &str, body: Body) -> ApiResult<u64> {
    let disk = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::StorageFull {
            tracing::error!("an upload could not be kept: {e}");
            ApiError::new(
                axum::http::StatusCode::INSUFFICIENT_STORAGE,
                "the server has no room to keep the upload",
            )
        } else {
            ApiError::internal(format!("keeping an upload: {e}"))
        }
    };
    let tmp_dir = state.config.data_dir.join("tmp");
    tokio::fs::create_dir_all(&tmp_dir).await.map_err(disk)?;
    let tmp = tmp_dir.join(uuid::Uuid::new_v4().to_string());
    let result = async {
        let mut file = tokio::fs::File::create(&tmp).await.map_err(disk)?;
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| ApiError::bad_request(format!("upload: {e}")))?;
            file.write_all(&chunk).await.map_err(disk)?;
        }
        file.flush().await.map_err(disk)?;
        drop(file);
        Ok::<u64, ApiError>(state.blobs.put_file(key, &tmp).await?)
    }
    .await;
    let _ = tokio::fs::remove_file(&tmp).await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_are_accepted() {
        assert!(safe_relative("a/b.txt").is_ok());
        for bad in ["", "/etc/passwd", "a/../b", "./a", "a//b", "a\\b"] {
            assert!(safe_relative(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn layer_names_carry_the_job_hash() {
        let h = job_hash("build");
        let name = format!("{:020}-{h}.tar.zst", 5);
        assert_eq!(layer_job_hash(&name), Some(h.as_str()));
        assert_eq!(layer_job_hash("../x.tar.zst"), None);
    }
}
