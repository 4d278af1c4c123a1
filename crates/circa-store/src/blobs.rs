//! Blobs: logs, artifacts, workspaces and test results as objects.

/// Objects in a local folder or an S3-compatible bucket.
#[derive(Clone, Debug)]
pub struct Blobs {}
