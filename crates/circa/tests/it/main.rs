//! Integration tests of the `circa` library and binary, in one test binary.

// Test helpers outside `#[test]` functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod agent;
mod api_fixture;
mod api_schema;
mod auth_matrix;
mod backup;
mod bad_input;
mod browser;
mod checkout_keys;
mod client_cli;
mod cluster;
mod corpus;
mod data_folder;
mod deploy;
mod drain;
mod expansion_limits;
mod faults;
mod forge_standin;
mod forge_statuses;
mod git_https;
mod git_ssh;
mod git_timeout;
mod language_server;
mod leniency;
mod local;
mod local_job;
mod metrics;
mod openapi;
mod pg_proc;
mod port_in_use;
mod processed_roundtrip;
mod project_add;
mod pycircleci;
mod realworld;
mod refused_input;
mod replicas;
mod schedules;
mod secrets;
mod server;
mod server_harness;
mod ssh_keys;
mod sshd;
mod web_harness;
mod web_security;
mod webhook_delivery;

use std::path::{Path, PathBuf};

/// The shared corpus: `shared/corpus` next to the checkout (`../../../shared/corpus` from the
/// crate in the main checkout, one level further up from a worktree under `wt/`).
pub fn corpus() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .map(|a| a.join("shared/corpus"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| here.join("../../../shared/corpus"))
}
