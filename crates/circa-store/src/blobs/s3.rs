//! Where an S3-compatible bucket is.

use std::fmt;

use object_store::aws::{AmazonS3, AmazonS3Builder};

/// An S3-compatible bucket and the credentials to reach it.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Config {
    /// The server, e.g. `http://127.0.0.1:9000`; `None` for AWS itself.
    pub endpoint: Option<String>,
    /// The bucket.
    pub bucket: String,
    /// The region (`us-east-1` for most S3-compatible servers).
    pub region: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// Whether a plain `http://` endpoint is allowed.
    pub allow_http: bool,
}

impl S3Config {
    /// The object store client. Path-style requests (`endpoint/bucket/key`), which every
    /// S3-compatible server understands, whenever an endpoint is given.
    pub(super) fn build(&self) -> object_store::Result<AmazonS3> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&self.bucket)
            .with_region(&self.region)
            .with_access_key_id(&self.access_key_id)
            .with_secret_access_key(&self.secret_access_key)
            .with_allow_http(self.allow_http);
        if let Some(endpoint) = &self.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false);
        }
        builder.build()
    }

    /// Where the bucket is, for messages.
    pub(super) fn place(&self) -> String {
        match &self.endpoint {
            Some(endpoint) => format!("s3 bucket {} at {endpoint}", self.bucket),
            None => format!("s3 bucket {} in {}", self.bucket, self.region),
        }
    }
}

/// Everything but the secret.
impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("allow_http", &self.allow_http)
            .finish()
    }
}
