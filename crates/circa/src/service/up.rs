//! `circa up`, `circa server` and `circa runner`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, ValueEnum};
use tokio_util::sync::CancellationToken;

use super::settings::{ServerArgs, absolute};

/// Which executor a runner uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunnerExecutor {
    /// Docker for `docker:` jobs when a Docker Engine answers, else the shell.
    Auto,
    /// Every job on this machine.
    Shell,
    /// `docker:` jobs in containers (the Docker Engine must answer).
    Docker,
}

/// Options of `circa up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Server settings.
    #[command(flatten)]
    pub server: ServerArgs,
    /// The embedded runner's executor.
    #[arg(long, value_enum, default_value_t = RunnerExecutor::Auto)]
    pub executor: RunnerExecutor,
    /// Tasks the embedded runner runs at once.
    #[arg(long, default_value_t = 4)]
    pub slots: u32,
    /// How the embedded runner runs job processes.
    #[command(flatten)]
    pub jobs: JobProcessArgs,
}

/// How a runner runs job processes on its host.
#[derive(Debug, Args)]
pub struct JobProcessArgs {
    /// Niceness (0–19) of job processes on this host: higher than the runner's (and the
    /// server's beside it), so busy jobs leave claims, heartbeats, logs and cancels on time.
    #[arg(
        long,
        env = "CIRCA_JOB_NICE",
        default_value_t = circa_runner::config::DEFAULT_JOB_NICE,
        value_parser = clap::value_parser!(i32).range(0..=19)
    )]
    pub job_nice: i32,
}

/// Options of `circa runner`.
#[derive(Debug, Args)]
pub struct RunnerArgs {
    /// The server's URL.
    #[arg(long, env = "CIRCA_URL")]
    pub url: String,
    /// A runner token (`circa token create --runner --resource-class NAME`).
    #[arg(long, env = "CIRCA_RUNNER_TOKEN", hide_env_values = true)]
    pub token: String,
    /// The resource class this runner serves; it must be the token's.
    #[arg(long, env = "CIRCA_RESOURCE_CLASS")]
    pub resource_class: Option<String>,
    /// The executor.
    #[arg(long, value_enum, default_value_t = RunnerExecutor::Auto)]
    pub executor: RunnerExecutor,
    /// Tasks run at once.
    #[arg(long, default_value_t = 1)]
    pub slots: u32,
    /// How job processes run.
    #[command(flatten)]
    pub jobs: JobProcessArgs,
    /// The runner's name [default: the host name].
    #[arg(long, env = "CIRCA_RUNNER_NAME")]
    pub name: Option<String>,
    /// Where the runner keeps caches, workspaces and its spool.
    #[arg(long, env = "CIRCA_RUNNER_DATA_DIR", default_value = ".circa-runner")]
    pub data_dir: PathBuf,
    /// Use image TO wherever a job names image FROM (repeatable): `FROM=TO`.
    #[arg(long, value_name = "FROM=TO")]
    pub image_map: Vec<String>,
    /// On SIGTERM or Ctrl-C the runner stops claiming and waits for its running tasks (a
    /// second signal cancels them); this many seconds at most, then they are canceled
    /// [default: as long as they take].
    #[arg(long, env = "CIRCA_RUNNER_DRAIN_TIMEOUT_SECS")]
    pub drain_timeout_secs: Option<u64>,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    runtime_with(tokio::runtime::Builder::new_multi_thread())
}

fn runtime_with(mut builder: tokio::runtime::Builder) -> anyhow::Result<tokio::runtime::Runtime> {
    builder
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// A runner's runtime: a worker thread per slot, up to one per core (its tasks wait on their
/// jobs' processes and the network; the cores are the jobs'), unless `TOKIO_WORKER_THREADS`
/// says otherwise.
fn runner_runtime(slots: u32) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        builder.worker_threads(runner_threads(slots, cores));
    }
    runtime_with(builder)
}

/// Worker threads for a runner of `slots` on `cores` cores.
fn runner_threads(slots: u32, cores: usize) -> usize {
    usize::try_from(slots)
        .unwrap_or(usize::MAX)
        .clamp(1, cores.max(1))
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CIRCA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(log_colour(
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
            std::env::var_os("NO_COLOR").as_deref(),
        ))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Whether log lines carry colour codes: only on a terminal, and not when `NO_COLOR` is set
/// to anything but an empty string, so a log redirected to a file stays plain text.
fn log_colour(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Cancels `first` on the first Ctrl-C or SIGTERM, and `second` on the next one.
fn on_signals(first: CancellationToken, second: CancellationToken) {
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        for token in [first, second] {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async {
                    match term.as_mut() {
                        Some(t) => { t.recv().await; }
                        None => std::future::pending::<()>().await,
                    }
                } => {}
            }
            token.cancel();
        }
    });
}

/// Once `drain` is cancelled, says so and cancels `abort` after `timeout` (if any): a
/// draining runner's tasks get that long to finish.
fn drain_then_abort(drain: CancellationToken, abort: CancellationToken, timeout: Option<Duration>) {
    tokio::spawn(async move {
        drain.cancelled().await;
        tracing::info!(
            "draining: no more claims; running tasks finish{} (a second signal cancels them)",
            timeout.map_or(String::new(), |t| format!(" within {t:?}"))
        );
        let Some(timeout) = timeout else { return };
        tokio::select! {
            () = tokio::time::sleep(timeout) => {
                tracing::warn!("the drain timeout ran out: canceling the running tasks");
                abort.cancel();
            }
            () = abort.cancelled() => {}
        }
    });
}

async fn docker_answers() -> bool {
    circa_exec::docker::DockerClient::connect().await.is_ok()
}

async fn executor_kind(choice: RunnerExecutor) -> anyhow::Result<circa_runner::ExecutorKind> {
    Ok(match choice {
        RunnerExecutor::Shell => circa_runner::ExecutorKind::Shell,
        RunnerExecutor::Docker => {
            anyhow::ensure!(
                docker_answers().await,
                "the Docker Engine does not answer; start it, or use --executor shell"
            );
            circa_runner::ExecutorKind::Docker
        }
        RunnerExecutor::Auto => {
            if docker_answers().await {
                circa_runner::ExecutorKind::Docker
            } else {
                circa_runner::ExecutorKind::Shell
            }
        }
    })
}

fn parse_image_map(items: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    items
        .iter()
        .map(|m| {
            m.split_once('=')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .with_context(|| format!("--image-map {m:?}: expected FROM=TO"))
        })
        .collect()
}

/// Prints the admin's first password once (it is also saved in `DATA/admin.password`,
/// readable only by its owner).
fn print_admin_password(password: Option<String>, data_dir: &std::path::Path) {
    if let Some(password) = password {
        println!(
            "web UI sign-in: admin / {password} (saved in {}; change it at /account)",
            data_dir.join("admin.password").display()
        );
    }
}

/// `circa up`: the server with an embedded runner (resource class `default`).
pub fn up(args: &UpArgs) -> anyhow::Result<ExitCode> {
    init_logging();
    runtime()?.block_on(async {
        let config = args.server.server_config()?;
        let data_dir = config.data_dir.clone();
        let server = circa_server::start(config).await?;
        let url = server.url();
        let admin = circa_server::ensure_admin_token(&server.state).await?;
        let password = circa_server::ensure_admin_password(&server.state).await?;
        let token_file = data_dir.join("admin.token");
        println!("Circa is up at {url}");
        match admin {
            Some(token) => println!("admin token (saved in {}): {token}", token_file.display()),
            None => println!("admin token: in {}", token_file.display()),
        }
        print_admin_password(password, &data_dir);
        let runner_token =
            circa_server::create_runner_token(&server.state, "embedded", "default").await?;
        let executor = executor_kind(args.executor).await?;
        println!(
            "embedded runner: resource class `default`, {} executor, {} slots",
            match executor {
                circa_runner::ExecutorKind::Docker => "docker",
                circa_runner::ExecutorKind::Shell => "shell",
            },
            args.slots
        );
        let (drain, abort) = (CancellationToken::new(), CancellationToken::new());
        on_signals(drain.clone(), abort.clone());
        drain_then_abort(
            drain.clone(),
            abort.clone(),
            Some(server.state.config.shutdown_grace),
        );
        let mut runner_config =
            circa_runner::RunnerConfig::new(url.clone(), runner_token, data_dir.join("runner"));
        runner_config.name = "embedded".to_string();
        runner_config.executor = executor;
        runner_config.slots = args.slots.max(1);
        runner_config.job_nice = args.jobs.job_nice;
        // The embedded runner drains first (its tasks report to the server), then the server.
        let runner = tokio::spawn(circa_runner::run_with_abort(
            runner_config,
            drain.clone(),
            abort,
        ));
        drain.cancelled().await;
        let _ = runner.await;
        server.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// `circa server`: the server alone.
pub fn server(args: &ServerArgs) -> anyhow::Result<ExitCode> {
    init_logging();
    runtime()?.block_on(async {
        let config = args.server_config()?;
        let data_dir = config.data_dir.clone();
        let server = circa_server::start(config).await?;
        let admin = circa_server::ensure_admin_token(&server.state).await?;
        let password = circa_server::ensure_admin_password(&server.state).await?;
        println!("Circa server is listening at {}", server.url());
        if let Some(token) = admin {
            println!(
                "admin token (saved in {}): {token}",
                data_dir.join("admin.token").display()
            );
        }
        print_admin_password(password, &data_dir);
        on_signals(server.stop_token(), CancellationToken::new());
        server.wait().await?;
        Ok(ExitCode::SUCCESS)
    })
}

/// `circa runner`: a runner for a remote server.
pub fn runner(args: &RunnerArgs) -> anyhow::Result<ExitCode> {
    init_logging();
    runner_runtime(args.slots)?.block_on(async {
        let executor = executor_kind(args.executor).await?;
        let mut config = circa_runner::RunnerConfig::new(
            args.url.trim_end_matches('/').to_string(),
            args.token.clone(),
            absolute(&args.data_dir)?,
        );
        if let Some(name) = &args.name {
            config.name = name.clone();
        }
        config.executor = executor;
        config.slots = args.slots.max(1);
        config.job_nice = args.jobs.job_nice;
        config.image_map = parse_image_map(&args.image_map)?;
        config.resource_class = args.resource_class.clone();
        let (drain, abort) = (CancellationToken::new(), CancellationToken::new());
        on_signals(drain.clone(), abort.clone());
        let timeout = args.drain_timeout_secs.map(Duration::from_secs);
        drain_then_abort(drain.clone(), abort.clone(), timeout);
        circa_runner::run_with_abort(config, drain, abort).await?;
        Ok(ExitCode::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    use super::{log_colour, runner_threads};

    #[test]
    fn a_runner_has_a_thread_per_slot_up_to_the_cores() {
        assert_eq!(runner_threads(1, 8), 1);
        assert_eq!(runner_threads(4, 8), 4);
        assert_eq!(runner_threads(16, 8), 8);
        assert_eq!(runner_threads(0, 0), 1);
    }
    use std::ffi::OsStr;

    #[test]
    fn logs_are_coloured_only_on_a_terminal_without_no_color() {
        assert!(log_colour(true, None));
        assert!(log_colour(true, Some(OsStr::new(""))));
        assert!(!log_colour(true, Some(OsStr::new("1"))));
        assert!(!log_colour(false, None));
    }
}
