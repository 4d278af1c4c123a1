//! CircleCI configuration, version 2.0 and 2.1: read it with positions, check it, resolve orbs,
//! expand commands, executors, parameters and matrices, and write the processed config.
//!
//! This crate is pure: no IO beyond what a caller hands in through [`orbs::OrbSource`], no
//! async runtime. Every stage returns its result together with all diagnostics it found.
//!
//! Stages: [`yaml`] (text to a tree with positions) → structural checks → [`pipeline`]
//! parameters → orbs → [`expand`] (with [`params`] and [`interp`]) → processed tree, written by
//! [`yaml::to_yaml`]. [`compile()`] runs them all.

pub mod budget;
pub mod compile;
pub mod diag;
pub mod expand;
pub mod expr;
pub mod graph;
pub mod interp;
pub mod orbs;
pub mod params;
pub mod pipeline;
pub mod schema;
pub mod yaml;

pub use compile::{CompileOptions, Compiled, compile, compile_job};
pub use diag::{Diagnostic, Diagnostics, Severity, Span};
pub use expand::orb_loader::OrbCache;
