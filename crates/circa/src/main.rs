//! The `circa` command: thin over the library; parsing arguments and reporting errors only.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = circa::cli::Cli::parse();
    match circa::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
