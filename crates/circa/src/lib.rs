//! Circa: a self-hosted CI/CD server that runs CircleCI pipelines. This library holds what the
//! `circa` command does; `main.rs` only parses arguments and calls [`cli::run`].
//!
//! - [`orb_dir`]: the orb registry folder (`NAMESPACE/NAME/VERSION.yml`) as an
//!   [`circa_config::orbs::OrbSource`], and where it is by default.
//! - [`orb_cmd`]: `orb import` (copy packed orbs into the registry) and `orb pack` (pack an
//!   orb's source tree).
//! - [`local`]: `local execute`, jobs and workflows run on this machine.

pub mod cli;
pub mod commands;
pub use circa_model::engine;
pub mod local;
pub mod orb_cmd;
pub mod orb_dir;
pub mod service;
