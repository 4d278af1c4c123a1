//! `circa bench exec`: the executors' own cost.
//!
//! - Shell-step overhead: a job of many `run: "true"` steps on the shell executor, per step,
//!   minus what starting `bash -c true` costs by itself.
//! - W7: jobs of one `run: "true"` step on the docker executor, per job, against
//!   `docker run --rm IMAGE true`.
//!
//! Prints `name: value unit` lines.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use circa_config::yaml::{Limits, load};
use circa_exec::events::{Recorder, Reporter};
use circa_exec::executor::Executor;
use circa_exec::job::{JobContext, run_job};
use circa_exec::shell::ShellExecutor;
use circa_model::{JobSpec, JobStatus};

fn median(mut v: Vec<Duration>) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn context(dir: &Path, config: &str, n: usize) -> anyhow::Result<JobContext> {
    let root = load(config, &Limits::default())
        .root
        .context("bench config does not parse")?;
    let spec = JobSpec::from_processed(&root, "bench")?;
    let run_id = format!("bench-{}-{n}", std::process::id());
    Ok(JobContext::standalone(spec, dir, &run_id)?)
}

async fn time_job<E: Executor>(ex: &mut E, ctx: &JobContext) -> anyhow::Result<Duration> {
    let reporter = Reporter::new(Arc::new(Recorder::new()), "bench", 0);
    let t0 = Instant::now();
    let outcome = run_job(ex, ctx, &reporter).await;
    let took = t0.elapsed();
    if outcome.status != JobStatus::Success {
        bail!(
            "the bench job ended {}: {}",
            outcome.status,
            outcome.message.unwrap_or_default()
        );
    }
    Ok(took)
}

fn steps_config(executor: &str, steps: usize) -> String {
    let mut s = format!("jobs:\n  bench:\n    {executor}\n    steps:\n");
    for _ in 0..steps {
        s.push_str("      - run: \"true\"\n");
    }
    s
}

/// Runs both measurements.
pub fn exec(image: &str, jobs: usize, steps: usize, skip_docker: bool) -> anyhow::Result<ExitCode> {
    if jobs == 0 || steps == 0 {
        bail!("--jobs and --steps must be at least 1");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    runtime.block_on(async {
        shell_steps(dir.path(), steps).await?;
        if !skip_docker {
            docker_jobs(dir.path(), image, jobs).await?;
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn shell_steps(dir: &Path, steps: usize) -> anyhow::Result<()> {
    let mut bash = Vec::new();
    for _ in 0..steps {
        let t0 = Instant::now();
        let status = std::process::Command::new("bash")
            .args(["-c", "true"])
            .status()
            .context("cannot run bash")?;
        if !status.success() {
            bail!("`bash -c true` failed");
        }
        bash.push(t0.elapsed());
    }
    let bash = median(bash);
    let mut per_step = Vec::new();
    for round in 0..5 {
        let one = context(dir, &steps_config("machine: true", 1), round * 2)?;
        let many = context(
            dir,
            &steps_config("machine: true", steps + 1),
            round * 2 + 1,
        )?;
        let mut ex = ShellExecutor::new(dir.join(format!("job-{round}-a")), false);
        let t1 = time_job(&mut ex, &one).await?;
        let mut ex = ShellExecutor::new(dir.join(format!("job-{round}-b")), false);
        let tn = time_job(&mut ex, &many).await?;
        per_step.push(tn.saturating_sub(t1) / steps as u32);
    }
    let per_step = median(per_step);
    println!("shell_bash_c_true_median: {:.3} ms", ms(bash));
    println!("shell_step_median: {:.3} ms", ms(per_step));
    println!(
        "shell_step_overhead: {:.3} ms (target <= 5 ms)",
        ms(per_step) - ms(bash)
    );
    Ok(())
}

async fn docker_jobs(dir: &Path, image: &str, jobs: usize) -> anyhow::Result<()> {
    let client = circa_exec::docker::DockerClient::connect().await?;
    // The executor alone against `docker run --rm IMAGE true`, alternating, one warm-up each.
    let baseline = circa_exec::docker::measure_overhead(&client, image, jobs + 1).await?;
    let config = steps_config(&format!("docker: [{{image: \"{image}\"}}]"), 1);
    let mut ours = Vec::new();
    for n in 0..=jobs {
        let ctx = context(dir, &config, 1000 + n)?;
        let images = match &ctx.spec.executor {
            circa_model::ExecutorSpec::Docker { images } => images.clone(),
            circa_model::ExecutorSpec::Machine { .. } => bail!("not a docker job"),
        };
        let mut ex = circa_exec::docker::DockerExecutor::new(
            client.clone(),
            images,
            circa_exec::docker::DockerOptions::default(),
        );
        let t = time_job(&mut ex, &ctx).await?;
        if n > 0 {
            ours.push(t);
        }
    }
    let docker_run = median(baseline.docker_run[1..].to_vec());
    let executor = median(baseline.executor[1..].to_vec());
    let job = median(ours.clone());
    println!("w7_jobs: {jobs}");
    println!("w7_circa_job_median: {:.1} ms", ms(job));
    println!("w7_circa_executor_median: {:.1} ms", ms(executor));
    println!("w7_docker_run_median: {:.1} ms", ms(docker_run));
    println!(
        "w7_executor_ratio: {:.2}",
        executor.as_secs_f64() / docker_run.as_secs_f64().max(1e-9)
    );
    println!(
        "w7_ratio: {:.2} (whole job against docker run; target <= 1.3)",
        job.as_secs_f64() / docker_run.as_secs_f64().max(1e-9)
    );
    Ok(())
}
