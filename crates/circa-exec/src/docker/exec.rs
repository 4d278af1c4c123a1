//! Commands in a running container: streamed (steps) or captured (Circa's own small scripts).

use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot};

use super::client::{DockerClient, describe, docker_err};
use crate::executor::{ExecError, Running};

/// Output chunks a command may have in flight before it waits for the reader.
const OUTPUT_CHUNKS: usize = 64;

/// The longest pause between two looks at a command whose output has ended but which has not
/// exited yet.
const MAX_POLL: Duration = Duration::from_millis(100);

/// One command to start in a container.
pub(crate) struct Command {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// `K=V` pairs added to the container's environment.
    pub env: Vec<String>,
    /// Working directory (the container's own when `None`).
    pub workdir: Option<String>,
    /// User (the container's own when `None`).
    pub user: Option<String>,
}

type OutputStream = std::pin::Pin<
    Box<dyn futures_util::Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>,
>;

/// Creates and starts `command`, attached to its stdout and stderr.
async fn attach(
    client: &DockerClient,
    container: &str,
    command: Command,
) -> Result<(String, OutputStream, impl Send + 'static), ExecError> {
    let program = command.argv.first().cloned().unwrap_or_default();
    let options = CreateExecOptions::<String> {
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        env: Some(command.env),
        cmd: Some(command.argv),
        user: command.user,
        working_dir: command.workdir,
        ..Default::default()
    };
    let created = client
        .api()
        .create_exec(container, options)
        .await
        .map_err(|e| ExecError::Spawn {
            program: program.clone(),
            reason: describe(&e),
        })?;
    let started = client
        .api()
        .start_exec(&created.id, Some(StartExecOptions::default()))
        .await
        .map_err(|e| ExecError::Spawn {
            program: program.clone(),
            reason: describe(&e),
        })?;
    match started {
        StartExecResults::Attached { output, input } => Ok((created.id, output, input)),
        StartExecResults::Detached => Err(ExecError::Spawn {
            program,
            reason: "the engine did not attach to the command's output".to_owned(),
        }),
    }
}

/// Starts `command`; its output is forwarded, in arrival order, into [`Running::output`].
pub(crate) async fn stream(
    client: &DockerClient,
    container: &str,
    command: Command,
) -> Result<Running, ExecError> {
    let (exec_id, mut output, input) = attach(client, container, command).await?;
    let (tx, rx) = mpsc::channel(OUTPUT_CHUNKS);
    let (ended_tx, ended_rx) = oneshot::channel();
    tokio::spawn(async move {
        // Held until the output ends: the connection stays whole while the command runs.
        let _input = input;
        let mut reader_gone = false;
        let mut result = Ok(());
        while let Some(item) = output.next().await {
            match item {
                Ok(chunk) => {
                    let bytes = chunk.into_bytes();
                    // A reader that went away does not stop the command: the rest is drained.
                    if !reader_gone && !bytes.is_empty() && tx.send(bytes.to_vec()).await.is_err() {
                        reader_gone = true;
                    }
                }
                Err(e) => {
                    result = Err(ExecError::Docker(format!(
                        "reading the command's output: {}",
                        describe(&e)
                    )));
                    break;
                }
            }
        }
        drop(tx);
        let _ = ended_tx.send(result);
    });
    let client = client.clone();
    let exit = Box::pin(async move {
        match ended_rx.await {
            Ok(result) => result?,
            Err(_) => {
                return Err(ExecError::Docker(
                    "the task reading the command's output ended early".to_owned(),
                ));
            }
        }
        exit_code(&client, &exec_id).await
    });
    Ok(Running {
        output: rx,
        exit,
        kill: None,
    })
}

/// What a captured command printed, and how it ended.
#[derive(Debug, Default)]
pub(crate) struct Captured {
    /// Its exit code.
    pub code: i64,
    /// Its standard output.
    pub stdout: Vec<u8>,
    /// Its standard error.
    pub stderr: Vec<u8>,
}

impl Captured {
    /// Standard error as text, trimmed, for messages.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).trim().to_owned()
    }
}

/// Runs `command` to its end and keeps stdout and stderr apart.
pub(crate) async fn capture(
    client: &DockerClient,
    container: &str,
    command: Command,
) -> Result<Captured, ExecError> {
    let (exec_id, mut output, _input) = attach(client, container, command).await?;
    let mut captured = Captured::default();
    while let Some(item) = output.next().await {
        match item.map_err(docker_err("reading a command's output"))? {
            LogOutput::StdErr { message } => captured.stderr.extend_from_slice(&message),
            other => captured.stdout.extend_from_slice(&other.into_bytes()),
        }
    }
    captured.code = exit_code(client, &exec_id).await?;
    Ok(captured)
}

/// Runs `argv` as `user`, with the container's environment and working directory, captured.
pub(crate) async fn capture_as(
    client: &DockerClient,
    container: &str,
    user: Option<&str>,
    argv: Vec<String>,
) -> Result<Captured, ExecError> {
    let command = Command {
        argv,
        env: Vec::new(),
        workdir: None,
        user: user.map(str::to_owned),
    };
    capture(client, container, command).await
}

/// `mkdir -p -- path` as `user`.
pub(crate) async fn mkdir_p(
    client: &DockerClient,
    container: &str,
    user: Option<&str>,
    path: &str,
) -> Result<(), ExecError> {
    let argv = ["mkdir", "-p", "--", path].map(str::to_owned).to_vec();
    let made = capture_as(client, container, user, argv).await?;
    if made.code != 0 {
        return Err(ExecError::Other(format!(
            "cannot create {path} in the primary container: {}",
            made.stderr_text()
        )));
    }
    Ok(())
}

/// The exit code of a command whose output has ended. The engine may close the output a
/// moment before it records the exit, so a command still marked running is looked at again.
async fn exit_code(client: &DockerClient, exec_id: &str) -> Result<i64, ExecError> {
    let mut pause = Duration::from_millis(1);
    loop {
        let inspected = client
            .api()
            .inspect_exec(exec_id)
            .await
            .map_err(docker_err("reading a command's exit code"))?;
        if inspected.running != Some(true) {
            return inspected.exit_code.ok_or_else(|| {
                ExecError::Docker("the engine reported no exit code for a command".to_owned())
            });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_POLL);
    }
}
