//! Runs one job's steps: executors (shell; docker through the Docker Engine API), the built-in
//! steps, caches and workspaces as archives, test results, and secret masking. Used by
//! `circa local execute` and by the runner agent.

pub mod agent;
pub mod archive;
pub mod artifacts;
pub mod cache;
pub mod docker;
pub mod events;
pub mod executor;
pub mod folders;
pub mod git_access;
pub mod job;
pub mod junit;
pub mod mask;
pub mod shell;
pub mod spawner;
pub mod split;
pub mod workspace;
