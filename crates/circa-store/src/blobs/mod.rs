//! Blobs: logs, artifacts, workspaces and test results as objects, in a local folder or an
//! S3-compatible bucket, behind one type.
//!
//! Keys are plain relative paths (`logs/<task>/<step>.zst`): no empty, `.` or `..` segments,
//! no leading or trailing `/`. Large files are uploaded in parts, never held in memory whole.

mod key;
mod s3;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use tokio::io::AsyncReadExt;

use crate::error::BlobError;
pub use s3::S3Config;

/// Files up to this size are uploaded in one request; larger ones in parts of this size
/// (S3 wants parts of at least 5 MiB).
const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts of one upload in flight at once.
const PARTS_IN_FLIGHT: usize = 4;
/// How much of a file is read at a time.
const READ_SIZE: usize = 1024 * 1024;

/// Objects in a local folder or an S3-compatible bucket.
#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    /// Where the objects are, for `Debug`.
    place: String,
}

impl fmt::Debug for Blobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Blobs").field(&self.place).finish()
    }
}

/// A stream of an object's bytes.
pub type BlobStream = BoxStream<'static, Result<Bytes, BlobError>>;

impl Blobs {
    /// Objects as files under `dir`, which is created if missing.
    pub fn local(dir: &Path) -> Result<Blobs, BlobError> {
        std::fs::create_dir_all(dir).map_err(|source| BlobError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let store = LocalFileSystem::new_with_prefix(dir)?.with_automatic_cleanup(true);
        Ok(Blobs {
            store: Arc::new(store),
            place: dir.display().to_string(),
        })
    }

    /// Objects in an S3-compatible bucket.
    pub fn s3(config: S3Config) -> Result<Blobs, BlobError> {
        let place = config.place();
        Ok(Blobs {
            store: Arc::new(config.build()?),
            place,
        })
    }

    /// Stores `data` at `key`, replacing what was there.
    pub async fn put(&self, key: &str, data: Bytes) -> Result<(), BlobError> {
        let path = key::object_path(key)?;
        self.store.put(&path, data.into()).await?;
        Ok(())
    }

    /// Stores the file at `file` at `key`, in parts if it is large; returns its size.
    pub async fn put_file(&self, key: &str, file: &Path) -> Result<u64, BlobError> {
        let path = key::object_path(key)?;
        let io = |source| BlobError::Io {
            path: file.to_path_buf(),
            source,
        };
        let mut reader = tokio::fs::File::open(file).await.map_err(io)?;
        let mut buf = vec![0; READ_SIZE];
        // Read up to one part first: a small file goes up in one request.
        let mut head = Vec::new();
        while head.len() <= PART_SIZE {
            let n = reader.read(&mut buf).await.map_err(io)?;
            if n == 0 {
                let size = head.len() as u64;
                self.store.put(&path, Bytes::from(head).into()).await?;
                return Ok(size);
            }
            head.extend_from_slice(&buf[..n]);
        }
        let upload = self.store.put_multipart(&path).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut size = head.len() as u64;
        writer.put(Bytes::from(head));
        loop {
            let n = match reader.read(&mut buf).await {
                Ok(n) => n,
                Err(source) => {
                    // The read error is what matters; a failed abort leaves only parts S3
                    // expires by itself.
                    let _ = writer.abort().await;
                    return Err(io(source));
                }
            };
            if n == 0 {
                break;
            }
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                let _ = writer.abort().await;
                return Err(e.into());
            }
            writer.write(&buf[..n]);
            size += n as u64;
        }
        writer.finish().await?;
        Ok(size)
    }

    /// The object at `key`, or `None` if there is none.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, BlobError> {
        let path = key::object_path(key)?;
        match self.store.get(&path).await {
            Ok(found) => Ok(Some(found.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The object at `key` as its size and a stream of its bytes, or `None` if there is none.
    pub async fn get_stream(&self, key: &str) -> Result<Option<(u64, BlobStream)>, BlobError> {
        let path = key::object_path(key)?;
        match self.store.get(&path).await {
            Ok(found) => {
                let size = found.meta.size;
                Ok(Some((
                    size,
                    found.into_stream().map_err(BlobError::from).boxed(),
                )))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Every object under the folder `prefix` (`""` for all), as its key and size, by key.
    pub async fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>, BlobError> {
        let prefix = match prefix.trim_end_matches('/') {
            "" => None,
            folder => Some(key::object_path(folder)?),
        };
        let mut objects: Vec<(String, u64)> = self
            .store
            .list(prefix.as_ref())
            .map_ok(|meta| (meta.location.to_string(), meta.size))
            .try_collect()
            .await?;
        objects.sort();
        Ok(objects)
    }

    /// Deletes the object at `key`; deleting what is not there is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = key::object_path(key)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
