//! The `circa` command: thin over the library; parsing arguments and reporting errors only.

use clap::Parser;
use std::process::ExitCode;

/// Raises the open-file limit to what the system allows: a server holds a socket per runner.
fn raise_file_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < hard
    {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

fn main() -> ExitCode {
    raise_file_limit();
    let cli = circa::cli::Cli::parse();
    match circa::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
