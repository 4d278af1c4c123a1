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
    /// The in-job `circleci` command (`circa __agent circleci tests split ...`); the staged
    /// `circleci` scripts run this.
    #[command(name = "__agent", hide = true, disable_help_flag = true)]
    Agent {
        /// The program name as typed, then its arguments, passed on untouched.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
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
}

/// `circa config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check a config and print every problem with its line and column.
    Validate(ConfigArgs),
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
        Command::Agent { args } => {
            let code = circa_exec::agent::main(&args);
            Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
        }
    }
}
