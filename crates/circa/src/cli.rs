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
}

/// `circa config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check a config and print every problem with its line and column.
    Validate(ConfigArgs),
    /// Print the processed config: orbs, commands and executors expanded, parameters
    /// substituted, matrices expanded.
    Process(ProcessArgs),
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
    }
}
