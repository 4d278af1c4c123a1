//! CircleCI configuration, version 2.0 and 2.1: read it with positions, check it, resolve orbs,
//! expand commands, executors, parameters and matrices, and write the processed config.
//!
//! This crate is pure: no IO beyond what a caller hands in through [`orbs::OrbSource`], no
//! async runtime. Every stage returns its result together with all diagnostics it found.

pub mod diag;
pub mod schema;
pub mod yaml;

pub use diag::{Diagnostic, Diagnostics, Severity, Span};
