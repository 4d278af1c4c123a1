//! One module per group of subcommands.

pub mod bench;
pub mod bench_exec;
pub mod bench_server;
pub mod bench_web;
pub mod config;
