//! Structural validation of a raw config or orb, before any expansion.
//!
//! The rules follow CircleCI's configuration reference and the JSON schema editors use,
//! written out in Rust. Every problem is reported (never just the first), each at the
//! offending node: unknown keys at the key, wrong values at the value, missing keys at the
//! key of the map that lacks them.
//!
//! Deliberately absent, left to expansion: whether referenced jobs, commands, executors and
//! parameters exist, `requires` graphs, argument types at invocation. Also absent: cloud
//! offering lists (machine images, Xcode versions, resource-class names), which a
//! self-hosted server must not impose.
//!
//! Layout: `top` (sections, version), `jobs` (jobs, executors), `resource` (resource
//! classes), `steps`, `params` (parameter declarations), `workflows` (workflows, job groups,
//! invocations), `helpers` (value kinds, unknown keys, suggestions).

mod helpers;
mod jobs;
mod legacy;
mod params;
mod resource;
pub mod steps;
mod top;
mod workflows;

pub use legacy::rewrite_legacy_steps;

use crate::diag::Diagnostics;
use crate::yaml::Node;

/// Checks the structure of a config (`.circleci/config.yml`) as written, recording every
/// problem found in `diags`.
pub fn check_config(root: &Node, diags: &mut Diagnostics) {
    top::config(root, diags);
}

/// Checks the structure of an orb source (commands, jobs, executors, orbs, description,
/// display, examples, version), recording every problem found in `diags`.
pub fn check_orb(root: &Node, diags: &mut Diagnostics) {
    top::orb(root, diags);
}
