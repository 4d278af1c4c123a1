//! The primary container's keep-alive shell. Circa attaches to its stdin before it starts and
//! holds the attachment for the job's life: the setup script goes in through it (no extra
//! exec), and closing it at the end (or losing it when Circa dies) lets the shell read end of
//! input and exit, which is quicker to clean up than killing it.

use std::pin::Pin;
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::query_parameters::{AttachContainerOptions, WaitContainerOptions};
use futures_util::StreamExt;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::client::{DockerClient, describe};
use crate::executor::ExecError;

/// How long the setup script may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(120);

/// How long [`KeepAlive::close`] waits for the shell to exit before the container is killed.
const EXIT_WAIT: Duration = Duration::from_secs(2);

type Output =
    Pin<Box<dyn futures_util::Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>;

/// The attachment to a keep-alive shell.
pub(crate) struct KeepAlive {
    input: Pin<Box<dyn AsyncWrite + Send>>,
    output: Output,
}

impl std::fmt::Debug for KeepAlive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeepAlive").finish_non_exhaustive()
    }
}

impl KeepAlive {
    /// Attaches to the created (not yet started) container `id`.
    pub(crate) async fn attach(client: &DockerClient, id: &str) -> Result<KeepAlive, ExecError> {
        let options = AttachContainerOptions {
            stream: true,
            stdin: true,
            stdout: true,
            stderr: true,
            ..Default::default()
        };
        let attached = client
            .api()
            .attach_container(id, Some(options))
            .await
            .map_err(|e| {
                ExecError::Docker(format!(
                    "attaching to the primary container: {}",
                    describe(&e)
                ))
            })?;
        Ok(KeepAlive {
            input: attached.input,
            output: attached.output,
        })
    }

    /// Runs `script` in the shell; returns what it printed (both streams) up to and with the
    /// line that starts with `marker`, which the script must print last.
    pub(crate) async fn run(&mut self, script: &str, marker: &str) -> Result<Vec<u8>, ExecError> {
        let exited =
            || ExecError::Docker("the primary container's shell ended during setup".to_owned());
        self.input
            .write_all(script.as_bytes())
            .await
            .map_err(|e| ExecError::Docker(format!("writing to the primary container: {e}")))?;
        self.input
            .flush()
            .await
            .map_err(|e| ExecError::Docker(format!("writing to the primary container: {e}")))?;
        let read = async {
            let mut out = Vec::new();
            while let Some(item) = self.output.next().await {
                let chunk = item.map_err(|e| {
                    ExecError::Docker(format!(
                        "reading from the primary container: {}",
                        describe(&e)
                    ))
                })?;
                out.extend_from_slice(&chunk.into_bytes());
                if let Some(at) = find(&out, marker.as_bytes())
                    && let Some(end) = out[at..].iter().position(|b| *b == b'\n')
                {
                    out.truncate(at + end + 1);
                    return Ok(out);
                }
            }
            Err(exited())
        };
        match tokio::time::timeout(SETUP_TIMEOUT, read).await {
            Ok(result) => result,
            Err(_) => Err(ExecError::Docker(format!(
                "the primary container's setup did not finish within {} seconds",
                SETUP_TIMEOUT.as_secs()
            ))),
        }
    }

    /// Drains what the shell prints from now on, so it never blocks on a full pipe; keeps the
    /// input to close later.
    pub(crate) fn hold(self) -> Held {
        let mut output = self.output;
        tokio::spawn(async move { while output.next().await.is_some() {} });
        Held { input: self.input }
    }
}

/// The input side of an attachment after setup.
pub(crate) struct Held {
    input: Pin<Box<dyn AsyncWrite + Send>>,
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held").finish_non_exhaustive()
    }
}

impl Held {
    /// Closes the shell's stdin and waits (briefly) for container `id` to exit.
    pub(crate) async fn close(mut self, client: &DockerClient, id: &str) {
        if self.input.shutdown().await.is_err() {
            return;
        }
        let options = WaitContainerOptions {
            condition: "not-running".to_owned(),
        };
        let mut wait = client.api().wait_container(id, Some(options));
        // Whatever the answer (an exit code, an error, no answer in time), removal follows.
        let _ = tokio::time::timeout(EXIT_WAIT, wait.next()).await;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
