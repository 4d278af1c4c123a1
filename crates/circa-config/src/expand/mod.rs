//! Expansion: from a checked 2.0/2.1 config to the processed config — orbs resolved, commands and
//! executors inlined, parameters substituted, `when`/`unless` steps decided, matrices expanded
//! into concrete job invocations.
//!
//! The processed tree has the shape `circleci config process` prints (`version: 2`, concrete
//! `jobs:`, `workflows:` with `version: 2`), and it keeps the source positions of what it copied
//! so that later checks can still point into the file.

mod jobs;
mod limits;
pub mod orb_loader;
pub mod scope;
mod steps;
mod workflows;

pub use limits::ExpandLimits;

use crate::diag::Diagnostic;
use crate::pipeline::PipelineValues;
use crate::yaml::Map;
use scope::Scope;

/// The state of one expansion: its inputs, its limits, and what it has found so far.
pub struct Expander<'a> {
    pipeline: &'a PipelineValues,
    limits: &'a ExpandLimits,
    root: &'a Scope,
    diags: Vec<Diagnostic>,
    /// Concrete jobs produced so far, keyed as the processed config names them.
    jobs: Map,
    /// Steps produced so far, against `limits.max_steps`.
    steps_made: usize,
    /// Set once a limit was hit, so that one message is enough.
    over_limit: bool,
}

impl<'a> Expander<'a> {
    /// An expander over the config's own definitions (`root`), with `pipeline` values.
    pub fn new(root: &'a Scope, pipeline: &'a PipelineValues, limits: &'a ExpandLimits) -> Self {
        Expander {
            pipeline,
            limits,
            root,
            diags: Vec::new(),
            jobs: Map::new(),
            steps_made: 0,
            over_limit: false,
        }
    }

    fn report(&mut self, scope: &Scope, d: Diagnostic) {
        self.diags.push(scope.tag(d));
    }

    fn report_all(&mut self, scope: &Scope, ds: Vec<Diagnostic>) {
        for d in ds {
            self.report(scope, d);
        }
    }
}

impl Expander<'_> {
    /// The concrete jobs produced and the diagnostics found.
    pub fn finish(self) -> (Map, Vec<Diagnostic>) {
        (self.jobs, self.diags)
    }
}
