//! Circa: a self-hosted CI/CD server that runs CircleCI pipelines. This library holds what the
//! `circa` command does; `main.rs` only parses arguments and calls [`cli::run`].

pub mod cli;
pub mod commands;
