//! The command line: every subcommand and its options.

use crate::commands;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Circa runs CircleCI pipelines on your own machines.
#[derive(Debug, Parser)]
#[command(name = "circa", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check, process and plan CircleCI configs.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage the local orb registry.
    #[command(subcommand)]
    Orb(OrbCommand),
    /// Measure Circa on the benchmark workloads.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run jobs and workflows on this machine.
    #[command(subcommand)]
    Local(LocalCommand),
    /// Start everything on this machine: server, an embedded runner, SQLite and a blob folder
    /// under --data-dir.
    Up(crate::service::up::UpArgs),
    /// Start the server alone (runners connect with `circa runner`).
    Server(crate::service::settings::ServerArgs),
    /// Run tasks for a server.
    Runner(crate::service::up::RunnerArgs),
    /// Manage projects.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Start, follow, list and show pipelines.
    #[command(subcommand)]
    Pipeline(PipelineCommand),
    /// Read jobs' logs.
    #[command(subcommand)]
    Job(JobCommand),
    /// Create and revoke API and runner tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Server administration (secret keys, backup and restore).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The in-job `circleci` command (`circa __agent circleci tests split ...`); the staged
    /// `circleci` scripts run this.
    #[command(name = "__agent", hide = true, disable_help_flag = true)]
    Agent {
        /// The program name as typed, then its arguments, passed on untouched.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// `circa project ...`
#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Add a project: a slug such as gh/acme/app and its repository.
    Add {
        /// `VCS/ORG/REPO`, e.g. gh/acme/app.
        slug: String,
        /// A git URL, or a path to a repository on the server.
        #[arg(long)]
        repo: String,
        /// The branch built when none is named [default: main].
        #[arg(long)]
        default_branch: Option<String>,
        /// Cancel older running workflows on the same non-default branch.
        #[arg(long)]
        auto_cancel: bool,
        /// The SSH host keys the repository's server is checked against (`known_hosts`
        /// lines, as `ssh-keyscan` prints them); without it the first fetch records them.
        #[arg(long, value_name = "FILE")]
        known_hosts_file: Option<PathBuf>,
        /// A file holding an access token for an HTTPS repository (sealed by the server).
        #[arg(long, value_name = "FILE")]
        repo_token_file: Option<PathBuf>,
        /// The user name given with the token [default: x-access-token; Bitbucket:
        /// x-token-auth].
        #[arg(long, value_name = "NAME", requires = "repo_token_file")]
        repo_user: Option<String>,
        /// The repository's forge.
        #[command(flatten)]
        forge: crate::service::project_forge::ForgeArgs,
        /// Do not report job states to the forge as commit statuses.
        #[arg(long)]
        no_statuses: bool,
        /// Server and token.
        #[command(flatten)]
        client: crate::service::client::ClientArgs,
    },
    /// Change a project's forge settings.
    Edit {
        /// The project's slug.
        slug: String,
        /// The repository's forge.
        #[command(flatten)]
        forge: crate::service::project_forge::ForgeArgs,
        /// Report job states to the forge as commit statuses, or not.
        #[arg(long, value_enum)]
        statuses: Option<crate::service::project_forge::Switch>,
        /// Server and token.
        #[command(flatten)]
        client: crate::service::client::ClientArgs,
    },
    /// A project's additional SSH keys, which `add_ssh_keys` installs in its jobs.
    #[command(subcommand, name = "ssh-key")]
    SshKey(SshKeyCommand),
    /// Let a user see and use a project.
    Grant {
        /// The project's slug.
        slug: String,
        /// The user's login.
        login: String,
        /// Server and token.
        #[command(flatten)]
        client: crate::service::client::ClientArgs,
    },
}

/// `circa project ssh-key ...`
#[derive(Debug, Subcommand)]
pub enum SshKeyCommand {
    /// Add a private key (without passphrase) for a host, or for every host.
    Add {
        /// The project's slug.
        slug: String,
        /// The host the key is for [default: every host].
        #[arg(long)]
        hostname: Option<String>,
        /// The file holding the private key (OpenSSH, or PEM RSA).
        #[arg(long)]
        private_key_file: std::path::PathBuf,
        /// Server and token.
        #[command(flatten)]
        client: crate::service::client::ClientArgs,
    },
    /// List the project's keys: fingerprint, hostname (`*`: every host), public key.
    List {
        /// The project's slug.
        slug: String,
        /// Server and token.
        #[command(flatten)]
        client: crate::service::client::ClientArgs,
    },
    /// Remove a key by fingerprint (MD5 or SHA256), for one hostname or for all.
    Remove {
        /// The project's slug.
        slug: String,
        /// The key's fingerprint.
        fingerprint: String,
        /// Only the key's entry for this host [default: every entry].
        #[arg(long)]
        hostname: Option<String>,
        /// Server and token.
        #[command(flatten)]
        client: crate::service::client::ClientArgs,
    },
}

/// `circa user ...`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user.
    Add {
        /// Sign-in name.
        login: String,
        /// Display name [default: the login].
        #[arg(long)]
        name: Option<String>,
        /// Make the user an administrator (sees every project).
        #[arg(long)]
        admin: bool,
        /// Server and token.
        #[command(flatten)]
        client: crate::service::client::ClientArgs,
    },
}

/// `circa admin ...`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Make a new secret key current and seal every project and context variable again with
    /// it; the old keys are dropped from the key file once no value needs them.
    RotateKey {
        /// Server and token.
        #[command(flatten)]
        client: crate::service::client::ClientArgs,
    },
    /// Copy the embedded store (the SQLite database and the blob folder) into a new folder
    /// while the server runs; the key file only with --with-keys.
    Backup(Box<crate::service::backup::BackupArgs>),
    /// Put a backup into a new (missing or empty) data folder, after checking its checksums.
    Restore(crate::service::backup::RestoreArgs),
}

/// `circa pipeline ...`
#[derive(Debug, Subcommand)]
pub enum PipelineCommand {
    /// Start a pipeline on a branch or a tag.
    Trigger {
        /// The project's slug.
        slug: String,
        /// The branch [default: the project's default branch].
        #[arg(long, conflicts_with = "tag")]
        branch: Option<String>,
        /// The tag.
        #[arg(long)]
        tag: Option<String>,
        /// A pipeline parameter (repeatable): KEY=VALUE.
        #[arg(long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
        /// Follow the pipeline: print each job's end, why a job waits, and for a failed job
        /// its failing step, exit code, last output lines and page; exit 0 only if every
        /// workflow succeeded.
        #[arg(long)]
        wait: bool,
        /// Server and token.
        #[command(flatten)]
        client: crate::service::client::ClientArgs,
    },
    /// List the newest pipelines with their workflows' status.
    List {
        /// The project's slug [default: every project the token sees].
        slug: Option<String>,
        /// Only pipelines of this branch.
        #[arg(long)]
        branch: Option<String>,
        /// How many pipelines.
        #[arg(long, default_value_t = 20, value_parser = limit_range())]
        limit: u16,
        /// Print one JSON document instead of a table.
        #[arg(long)]
        json: bool,
        /// Server and token.
        #[command(flatten)]
        client: crate::service::client::ClientArgs,
    },
    /// Show a pipeline: its workflows and jobs with status and duration, why a job waits, and
    /// why a job failed.
    Show {
        /// The pipeline's id, or SLUG/NUMBER (e.g. gh/acme/app/12).
        pipeline: crate::service::remote::refs::PipelineRef,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
        /// Server and token.
        #[command(flatten)]
        client: crate::service::client::ClientArgs,
    },
}

/// `--limit` of `pipeline list`: 1 to [`crate::service::remote::list::MAX_LIMIT`].
fn limit_range() -> clap::builder::RangedI64ValueParser<u16> {
    clap::value_parser!(u16).range(1..=crate::service::remote::list::MAX_LIMIT)
}

/// `circa job ...`
#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Print a job's steps' output; --follow streams a running job until it ends.
    Log {
        /// SLUG/JOB_NUMBER, e.g. gh/acme/app/34.
        job: crate::service::remote::refs::JobRef,
        /// Only this step (counted from 0, as in the job's steps).
        #[arg(long)]
        step: Option<u32>,
        /// Only this node of a job with parallelism [default: every node; node 0 with
        /// --follow].
        #[arg(long)]
        node: Option<u32>,
        /// Stream the job live until it ends; exit 0 only if it succeeded.
        #[arg(long)]
        follow: bool,
        /// JSON: one document, or with --follow one event per line.
        #[arg(long)]
        json: bool,
        /// Server and token.
        #[command(flatten)]
        client: crate::service::client::ClientArgs,
    },
}

/// `circa token ...`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (it is shown only once).
    Create {
        /// A label for it.
        #[arg(long, default_value = "token")]
        name: String,
        /// Make a runner token for this resource class (else a personal API token).
        #[arg(long, value_name = "RESOURCE_CLASS", conflicts_with = "user")]
        runner: Option<String>,
        /// Make the personal token for this user (admins only) [default: yourself].
        #[arg(long, value_name = "LOGIN")]
        user: Option<String>,
        /// Server and token.
        #[command(flatten)]
        client: crate::service::client::ClientArgs,
    },
    /// Revoke a token by its id.
    Revoke {
        /// The token's id.
        id: String,
        /// Server and token.
        #[command(flatten)]
        client: crate::service::client::ClientArgs,
    },
}

/// `circa local ...`
#[derive(Debug, Subcommand)]
pub enum LocalCommand {
    /// Run a job (every node of it), or a whole workflow with --workflow, on this machine.
    Execute(ExecuteArgs),
}

/// Which executor runs jobs locally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExecutorChoice {
    /// Each job's own: docker jobs in containers, machine jobs on this machine.
    Auto,
    /// Every job on this machine, docker jobs too (their images are not used).
    Shell,
}

/// Options of `circa local execute`.
#[derive(Debug, Args)]
pub struct ExecuteArgs {
    /// The job to run: its name under `jobs:` (its parameters from --param), or a name a
    /// workflow invokes it by; not with --workflow.
    #[arg(conflicts_with = "workflow")]
    pub job: Option<String>,
    /// The job to run, as CircleCI's CLI takes it: the same as JOB.
    #[arg(long = "job", value_name = "NAME", conflicts_with = "workflow")]
    pub job_option: Option<String>,
    /// Run this workflow's jobs in `requires` order instead.
    #[arg(long, short = 'w')]
    pub workflow: Option<String>,
    /// The config file (also a processed one, from `circa config process`).
    #[arg(long, short = 'c', default_value = ".circleci/config.yml")]
    pub config: PathBuf,
    /// Job nodes running at once.
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// Approve this approval job (repeatable).
    #[arg(long, value_name = "JOB")]
    pub approve: Vec<String>,
    /// Approve every approval job.
    #[arg(long)]
    pub approve_all: bool,
    /// The branch to build (default: the current branch).
    #[arg(long, conflicts_with = "tag")]
    pub branch: Option<String>,
    /// The tag to build (default: a tag at HEAD, when no branch is given).
    #[arg(long)]
    pub tag: Option<String>,
    /// A pipeline parameter, or a parameter of the job run, e.g. `deploy=true` (repeatable).
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Which executor runs the jobs.
    #[arg(long, value_enum, default_value = "auto")]
    pub executor: ExecutorChoice,
    /// Use image TO wherever the config names image FROM (repeatable).
    #[arg(long = "image-map", value_name = "FROM=TO")]
    pub image_map: Vec<String>,
    /// An environment variable for the jobs, like a project variable (repeatable).
    #[arg(long = "env", short = 'e', value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// A secret for the jobs: like --env, and masked in all output (repeatable).
    #[arg(long = "secret", value_name = "KEY=VALUE")]
    pub secrets: Vec<String>,
    /// A file of KEY=VALUE lines; its values are secrets (repeatable).
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// Where caches, workspaces, artifacts and test results are kept
    /// (default: `.circa/local` at the top of the repository).
    #[arg(long, env = "CIRCA_LOCAL_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print one JSON event per line instead of the log for people.
    #[arg(long)]
    pub json: bool,
    /// Keep the shell executor's job folders for inspection.
    #[arg(long)]
    pub keep: bool,
    /// The orb registry folder (NAMESPACE/NAME/VERSION.yml).
    #[arg(long, env = "CIRCA_ORB_DIR")]
    pub orb_dir: Option<PathBuf>,
}

/// `circa orb ...`
#[derive(Debug, Subcommand)]
pub enum OrbCommand {
    /// Copy packed orbs into the registry: one file (with --as) or a NAMESPACE/NAME/VERSION.yml tree.
    Import {
        /// A packed orb file or a registry-shaped folder.
        source: PathBuf,
        /// The reference of a single file, e.g. `acme/deploy@1.2.3`.
        #[arg(long = "as")]
        as_ref: Option<String>,
        /// The registry folder.
        #[arg(long, env = "CIRCA_ORB_DIR")]
        orb_dir: Option<PathBuf>,
        /// Replace an existing, different file of the same version.
        #[arg(long)]
        force: bool,
    },
    /// Pack an orb source tree (`src/@orb.yml`, commands/, jobs/, executors/, examples/) and print it.
    Pack {
        /// The orb's source folder.
        src_dir: PathBuf,
    },
}

/// `circa bench ...`
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// W1: process every corpus config; median and p99 per config, ratio to bare YAML parsing.
    Config {
        /// The corpus folder (with configs/ and orbs/).
        #[arg(long, default_value = "../shared/corpus")]
        corpus: PathBuf,
        /// The orb registry (default: CORPUS/orbs).
        #[arg(long)]
        orb_dir: Option<PathBuf>,
        /// Timed runs per config.
        #[arg(long, default_value_t = 100)]
        iterations: usize,
    },
    /// W2–W6: the server and its runners (starts `circa up` / `circa server`).
    Server {
        /// Which workloads (default: all).
        #[arg(long = "workload", value_enum)]
        workloads: Vec<crate::commands::bench_server::Workload>,
        /// W2: pipelines to trigger.
        #[arg(long, default_value_t = 500)]
        pipelines: usize,
        /// W2: triggers in flight at once. One (each trigger sent when the last was answered)
        /// measures dispatch latency at the rate the server takes triggers; more outrun the
        /// four slots, and the latency then measures the queue.
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        /// W3: fan-out pipelines measured after the warm-up (each gives 51 gaps).
        #[arg(long, default_value_t = 5)]
        w3_runs: usize,
        /// W4: MiB the step writes.
        #[arg(long, default_value_t = 256)]
        log_mib: u64,
        /// W5: pipelines stored before the API is loaded.
        #[arg(long, default_value_t = 10_000)]
        api_pipelines: usize,
        /// W6: runner agents polling.
        #[arg(long, default_value_t = 1000)]
        runners: usize,
        /// W6: seconds they poll.
        #[arg(long, default_value_t = 60)]
        poll_secs: u64,
    },
    /// The web UI's page times with a large history (seeds a fresh store, starts
    /// `circa server`, signs in); fails when a page's p50 is over 50 ms.
    Web {
        /// Pipelines stored before timing.
        #[arg(long, default_value_t = 10_000)]
        pipelines: usize,
        /// Timed fetches per page.
        #[arg(long, default_value_t = 50)]
        runs: usize,
    },
    /// W7 and shell-step overhead: what the executors add to the commands they run.
    Exec {
        /// The image for W7 (a local image; the default is built by scripts/test-images.sh).
        #[arg(long, default_value = "circa-test/busybox:latest")]
        image: String,
        /// Docker jobs timed (W7).
        #[arg(long, default_value_t = 20)]
        jobs: usize,
        /// Shell steps per timed job.
        #[arg(long, default_value_t = 50)]
        steps: usize,
        /// Measure the shell executor only.
        #[arg(long)]
        skip_docker: bool,
    },
}

/// `circa config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check a config and print every problem with its line and column.
    Validate(ValidateArgs),
    /// Print the processed config: orbs, commands and executors expanded, parameters
    /// substituted, matrices expanded.
    Process(ProcessArgs),
    /// Show which workflows and jobs a push of a branch or tag would run, and why others not.
    Plan(PlanArgs),
}

/// Options of `circa config plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The config and orb folder.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The branch pushed (default `main`).
    #[arg(long, conflicts_with = "tag")]
    pub branch: Option<String>,
    /// The tag pushed.
    #[arg(long)]
    pub tag: Option<String>,
    /// The commit.
    #[arg(long)]
    pub revision: Option<String>,
    /// A pipeline parameter, e.g. `deploy=true` (repeatable).
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
}

/// Options of `circa config validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The config and orb folder.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Refuse what CircleCI runs but a linter flags: every warning becomes an error.
    #[arg(long)]
    pub strict: bool,
}

/// Options shared by the config subcommands.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The config file.
    #[arg(default_value = ".circleci/config.yml")]
    pub path: PathBuf,
    /// The orb registry folder (NAMESPACE/NAME/VERSION.yml).
    #[arg(long, env = "CIRCA_ORB_DIR")]
    pub orb_dir: Option<PathBuf>,
}

/// Options of `circa config process`.
#[derive(Debug, Args)]
pub struct ProcessArgs {
    /// The config and orb folder.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Pipeline parameters as a JSON object, or `@FILE` to read it from a file.
    #[arg(long)]
    pub pipeline_parameters: Option<String>,
    /// A pipeline value, e.g. `git.branch=main` (repeatable).
    #[arg(long = "pipeline-value", value_name = "KEY=VALUE")]
    pub pipeline_values: Vec<String>,
}

/// Runs a parsed command line; the exit code says whether it succeeded.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Config(ConfigCommand::Validate(args)) => commands::config::validate(&args),
        Command::Config(ConfigCommand::Process(args)) => commands::config::process(&args),
        Command::Config(ConfigCommand::Plan(args)) => commands::config::plan(&args),
        Command::Orb(OrbCommand::Import {
            source,
            as_ref,
            orb_dir,
            force,
        }) => {
            let registry = orb_dir.unwrap_or_else(crate::orb_dir::default_orb_dir);
            for imported in crate::orb_cmd::import(&source, &registry, as_ref.as_deref(), force)? {
                println!("imported {imported} into {}", registry.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Orb(OrbCommand::Pack { src_dir }) => {
            print!("{}", crate::orb_cmd::pack(&src_dir)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Config {
            corpus,
            orb_dir,
            iterations,
        }) => commands::bench::config(&corpus, orb_dir.as_deref(), iterations),
        Command::Bench(BenchCommand::Web { pipelines, runs }) => {
            commands::bench_web::web(pipelines, runs)
        }
        Command::Bench(BenchCommand::Exec {
            image,
            jobs,
            steps,
            skip_docker,
        }) => commands::bench_exec::exec(&image, jobs, steps, skip_docker),
        Command::Bench(BenchCommand::Server {
            workloads,
            pipelines,
            concurrency,
            w3_runs,
            log_mib,
            api_pipelines,
            runners,
            poll_secs,
        }) => {
            use crate::commands::bench_server::{Sizes, Workload, run};
            let all = [
                Workload::W2,
                Workload::W2Pg,
                Workload::W2Ha,
                Workload::W2Forge,
                Workload::W3,
                Workload::W4,
                Workload::W5,
                Workload::W6,
            ];
            let chosen = if workloads.is_empty() {
                all.to_vec()
            } else {
                workloads
            };
            run(
                &chosen,
                &Sizes {
                    pipelines,
                    concurrency,
                    w3_runs,
                    log_bytes: log_mib * 1024 * 1024,
                    api_pipelines,
                    runners,
                    poll_secs,
                },
            )
        }
        Command::Local(LocalCommand::Execute(args)) => crate::local::execute(&args),
        Command::Up(args) => crate::service::up::up(&args),
        Command::Server(args) => crate::service::up::server(&args),
        Command::Runner(args) => crate::service::up::runner(&args),
        Command::Project(ProjectCommand::Add {
            slug,
            repo,
            default_branch,
            auto_cancel,
            known_hosts_file,
            repo_token_file,
            repo_user,
            forge,
            no_statuses,
            client,
        }) => crate::service::client::project_add(
            &client,
            &crate::service::client::NewProject {
                slug: &slug,
                repo: &repo,
                default_branch: default_branch.as_deref(),
                auto_cancel,
                known_hosts_file: known_hosts_file.as_deref(),
                repo_token_file: repo_token_file.as_deref(),
                repo_user: repo_user.as_deref(),
                forge: &forge,
                statuses: !no_statuses,
            },
        ),
        Command::Project(ProjectCommand::Edit {
            slug,
            forge,
            statuses,
            client,
        }) => crate::service::project_forge::project_edit(&client, &slug, &forge, statuses),
        Command::Pipeline(command) => crate::service::remote::pipeline(command),
        Command::Job(command) => crate::service::remote::job(command),
        Command::Token(TokenCommand::Create {
            name,
            runner,
            user,
            client,
        }) => {
            crate::service::client::token_create(&client, &name, runner.as_deref(), user.as_deref())
        }
        Command::Token(TokenCommand::Revoke { id, client }) => {
            crate::service::client::token_revoke(&client, &id)
        }
        Command::User(UserCommand::Add {
            login,
            name,
            admin,
            client,
        }) => crate::service::client::user_add(&client, &login, name.as_deref(), admin),
        Command::Project(ProjectCommand::SshKey(command)) => ssh_key(command),
        Command::Project(ProjectCommand::Grant {
            slug,
            login,
            client,
        }) => crate::service::client::project_grant(&client, &slug, &login),
        Command::Admin(AdminCommand::RotateKey { client }) => {
            crate::service::admin::rotate_key(&client)
        }
        Command::Admin(AdminCommand::Backup(args)) => crate::service::backup::backup(&args),
        Command::Admin(AdminCommand::Restore(args)) => crate::service::backup::restore(&args),
        Command::Agent { args } => {
            let code = circa_exec::agent::main(&args);
            Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
        }
    }
}

/// Runs `circa project ssh-key ...`.
fn ssh_key(command: SshKeyCommand) -> anyhow::Result<ExitCode> {
    use crate::service::ssh_keys;
    match command {
        SshKeyCommand::Add {
            slug,
            hostname,
            private_key_file,
            client,
        } => ssh_keys::add(&client, &slug, hostname.as_deref(), &private_key_file),
        SshKeyCommand::List { slug, client } => ssh_keys::list(&client, &slug),
        SshKeyCommand::Remove {
            slug,
            fingerprint,
            hostname,
            client,
        } => ssh_keys::remove(&client, &slug, &fingerprint, hostname.as_deref()),
    }
}
