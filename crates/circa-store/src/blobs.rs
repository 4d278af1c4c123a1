//! Blobs: logs, artifacts, workspaces and test results as objects.

use std::path::Path;

use bytes::Bytes;
use futures_util::stream::BoxStream;

use crate::error::BlobError;

/// An S3-compatible bucket.
#[derive(Clone, Debug)]
pub struct S3Config {
    /// The endpoint URL.
    pub endpoint: String,
    /// The bucket.
    pub bucket: String,
    /// The region.
    pub region: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// Whether plain HTTP is allowed.
    pub allow_http: bool,
}

/// Objects in a local folder or an S3-compatible bucket.
#[derive(Clone, Debug)]
pub struct Blobs {}

impl Blobs {
    /// Objects in a local folder.
    pub fn local(_dir: &Path) -> Result<Blobs, BlobError> {
        Ok(Blobs {})
    }
    /// Objects in a bucket.
    pub fn s3(_config: S3Config) -> Result<Blobs, BlobError> {
        Ok(Blobs {})
    }
    /// Stores an object.
    pub async fn put(&self, key: &str, _data: Bytes) -> Result<(), BlobError> {
        Err(BlobError::InvalidKey(key.into()))
    }
    /// Stores a file.
    pub async fn put_file(&self, key: &str, _path: &Path) -> Result<u64, BlobError> {
        Err(BlobError::InvalidKey(key.into()))
    }
    /// Reads an object.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, BlobError> {
        Err(BlobError::InvalidKey(key.into()))
    }
    /// Streams an object.
    #[allow(clippy::type_complexity)]
    pub async fn get_stream(
        &self,
        key: &str,
    ) -> Result<Option<(u64, BoxStream<'static, Result<Bytes, BlobError>>)>, BlobError> {
        Err(BlobError::InvalidKey(key.into()))
    }
    /// Lists objects.
    pub async fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>, BlobError> {
        Err(BlobError::InvalidKey(prefix.into()))
    }
    /// Deletes an object.
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        Err(BlobError::InvalidKey(key.into()))
    }
}
