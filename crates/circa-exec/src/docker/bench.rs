//! How much the executor costs compared with `docker run --rm IMAGE true`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use circa_model::task::DockerImage;

use super::{DockerClient, DockerExecutor, DockerOptions};
use crate::agent::AgentDir;
use crate::events::{Recorder, Reporter};
use crate::executor::{ExecError, ExecRequest, Executor, StartRequest};

/// Wall times of [`measure_overhead`], one per run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overhead {
    /// The executor: start, exec `true`, stop.
    pub executor: Vec<Duration>,
    /// `docker run --rm IMAGE true` through the docker command line.
    pub docker_run: Vec<Duration>,
}

impl Overhead {
    /// The median of [`Overhead::executor`].
    pub fn executor_median(&self) -> Duration {
        median(&self.executor)
    }

    /// The median of [`Overhead::docker_run`].
    pub fn docker_run_median(&self) -> Duration {
        median(&self.docker_run)
    }
}

/// The median of `times` (zero when empty).
fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

/// Runs `runs` rounds, each one executor round (start, exec `true`, stop) and one
/// `docker run --rm IMAGE true`, alternating so both see the same machine load. `image` must
/// be present locally.
pub async fn measure_overhead(
    client: &DockerClient,
    image: &str,
    runs: usize,
) -> Result<Overhead, ExecError> {
    let task_dir = tempfile::tempdir().map_err(|source| ExecError::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let reporter = Reporter::new(Arc::new(Recorder::new()), "bench", 0);
    let mut overhead = Overhead::default();
    for run in 0..runs {
        let request = StartRequest {
            run_id: format!("bench-{}-{run}", std::process::id()),
            working_directory: "~/project".to_owned(),
            needs_docker: false,
            secrets_env: Default::default(),
            agent: AgentDir::at(task_dir.path().join("no-agent")),
            task_dir_host: task_dir.path().to_path_buf(),
        };
        let began = Instant::now();
        let mut executor = DockerExecutor::new(
            client.clone(),
            vec![DockerImage {
                image: image.to_owned(),
                ..Default::default()
            }],
            DockerOptions::default(),
        );
        let result = executor_round(&mut executor, &request, &reporter).await;
        let stopped = executor.stop().await;
        result?;
        stopped?;
        overhead.executor.push(began.elapsed());

        let began = Instant::now();
        let status = tokio::process::Command::new("docker")
            .args(["run", "--rm", image, "true"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .await
            .map_err(|e| ExecError::Spawn {
                program: "docker".to_owned(),
                reason: e.to_string(),
            })?;
        if !status.success() {
            return Err(ExecError::Other(format!(
                "`docker run --rm {image} true` failed: {status}"
            )));
        }
        overhead.docker_run.push(began.elapsed());
    }
    Ok(overhead)
}

async fn executor_round(
    executor: &mut DockerExecutor,
    request: &StartRequest,
    reporter: &Reporter,
) -> Result<(), ExecError> {
    let started = executor.start(request, reporter).await?;
    let mut running = executor
        .exec(ExecRequest {
            argv: vec!["true".to_owned()],
            env: [("PATH".to_owned(), started.path)].into(),
            workdir: started.working_directory,
        })
        .await?;
    while running.output.recv().await.is_some() {}
    let code = running.exit.await?;
    if code != 0 {
        return Err(ExecError::Other(format!("`true` exited with {code}")));
    }
    Ok(())
}
