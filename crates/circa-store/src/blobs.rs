//! Blobs: logs, artifacts, workspaces and test results as objects.

/// Objects in a local folder or an S3-compatible bucket.
#[derive(Clone, Debug)]
pub struct Blobs {}

/// Where an S3-compatible bucket is.
#[derive(Clone)]
pub struct S3Config {}
