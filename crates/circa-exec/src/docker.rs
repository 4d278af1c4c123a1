//! Placeholder for the docker executor's public surface.

use std::collections::BTreeMap;

use circa_model::DockerImage;

use crate::executor::ExecError;

/// A connection to the Docker Engine.
#[derive(Debug, Clone)]
pub struct DockerClient;

impl DockerClient {
    /// Connects.
    pub async fn connect() -> Result<DockerClient, ExecError> {
        Err(ExecError::Other(
            "the docker executor is not built in".into(),
        ))
    }
}

/// Options.
#[derive(Debug, Clone, Default)]
pub struct DockerOptions {
    /// `--image-map`.
    pub image_map: BTreeMap<String, String>,
}

/// The executor.
#[derive(Debug)]
pub struct DockerExecutor;

impl DockerExecutor {
    /// A new executor.
    pub fn new(_client: DockerClient, _images: Vec<DockerImage>, _options: DockerOptions) -> Self {
        DockerExecutor
    }
}

impl crate::executor::Executor for DockerExecutor {
    async fn start(
        &mut self,
        _request: &crate::executor::StartRequest,
        _reporter: &crate::events::Reporter,
    ) -> Result<crate::executor::Started, ExecError> {
        Err(ExecError::Other("unavailable".into()))
    }
    async fn exec(
        &self,
        _request: crate::executor::ExecRequest,
    ) -> Result<crate::executor::Running, ExecError> {
        Err(ExecError::Other("unavailable".into()))
    }
    fn host_path(&self, _path: &str) -> Option<std::path::PathBuf> {
        None
    }
    async fn copy_out(
        &self,
        _root: &str,
        _patterns: &[String],
        _dest: &std::path::Path,
    ) -> Result<crate::executor::CopiedOut, ExecError> {
        Err(ExecError::Other("unavailable".into()))
    }
    async fn copy_in(&self, _src: &std::path::Path, _dest: &str) -> Result<(), ExecError> {
        Err(ExecError::Other("unavailable".into()))
    }
    async fn stop(&mut self) -> Result<(), ExecError> {
        Ok(())
    }
}
