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

use crate::budget::{Budget, OverBudget, weight_up_to};
use crate::diag::{Diagnostic, Span};
use crate::interp::{self, Vars};
use crate::params;
use crate::pipeline::PipelineValues;
use crate::yaml::{Map, Node, Value};
use scope::Scope;

/// The state of one expansion: its inputs, its limits, and what it has found so far.
pub struct Expander<'a> {
    pipeline: &'a PipelineValues,
    limits: &'a ExpandLimits,
    /// What expansion may still build.
    budget: &'a Budget,
    root: &'a Scope,
    diags: Vec<Diagnostic>,
    /// Concrete jobs produced so far, keyed as the processed config names them.
    jobs: Map,
    /// Steps produced so far, against `limits.max_steps`.
    steps_made: usize,
    /// Set once a limit was hit, so that one message is enough.
    over_limit: bool,
    /// Workflows whose `when`/`unless` left them out, with why.
    skipped_workflows: Vec<(String, String)>,
    /// Whether job bodies are taken as written, `<<` and all (a `version: 2` config, which
    /// has no parameters and no interpolation — processed configs are such configs).
    literal: bool,
}

impl<'a> Expander<'a> {
    /// An expander over the config's own definitions (`root`), with `pipeline` values, building
    /// within `budget`.
    pub fn new(
        root: &'a Scope,
        pipeline: &'a PipelineValues,
        limits: &'a ExpandLimits,
        budget: &'a Budget,
    ) -> Self {
        Expander {
            pipeline,
            limits,
            budget,
            root,
            diags: Vec::new(),
            jobs: Map::new(),
            steps_made: 0,
            over_limit: false,
            skipped_workflows: Vec::new(),
            literal: false,
        }
    }

    /// Takes job bodies as written, without interpolating `<< >>` (for `version: 2` configs).
    pub fn with_literal_strings(mut self, literal: bool) -> Self {
        self.literal = literal;
        self
    }

    fn report(&mut self, scope: &Scope, d: Diagnostic) {
        self.diags.push(scope.tag(d));
    }

    fn report_all(&mut self, scope: &Scope, ds: Vec<Diagnostic>) {
        for d in ds {
            self.report(scope, d);
        }
    }

    /// Interpolates `node`, written in `scope`, for `what` used at `at` in `caller`; reports
    /// its mistakes. `None` when the budget ran out: that is reported (a value too large where
    /// it is built, the whole at `at`) and expansion stops.
    fn interpolate_within(
        &mut self,
        node: &Node,
        vars: &Vars<'_>,
        scope: &Scope,
        place: (&str, Span, &Scope),
    ) -> Option<Node> {
        let mut ds = Vec::new();
        let out = interp::interpolate(node, vars, self.budget, &mut ds);
        self.report_all(scope, ds);
        match out {
            Ok(node) => Some(node),
            Err(over) => {
                self.refuse_over_budget(over, scope, place);
                None
            }
        }
    }

    /// Reports that `what` (used at `at` in `caller`) passed the budget, once, and stops
    /// expansion. A value too large is reported where it is built, in `scope`.
    fn refuse_over_budget(
        &mut self,
        over: OverBudget,
        scope: &Scope,
        (what, at, caller): (&str, Span, &Scope),
    ) {
        if self.over_limit {
            return;
        }
        self.over_limit = true;
        match over {
            OverBudget::Value { at: value_at, .. } => self.report(
                scope,
                Diagnostic::error(
                    value_at,
                    format!(
                        "this value of {what} would be larger than {} bytes, the limit on one \
                         interpolated value; refusing the config",
                        self.budget.max_value()
                    ),
                ),
            ),
            OverBudget::Total => self.report(
                caller,
                Diagnostic::error(
                    at,
                    format!(
                        "{what} here would make the processed config larger than {} bytes, the \
                         limit on what expansion builds; refusing the config",
                        self.budget.max_total()
                    ),
                ),
            ),
        }
    }
}

impl Expander<'_> {
    /// Binds `args` to the parameters of a definition (command, job or executor) found in
    /// `def_scope`, and returns its body — without `parameters` and `description` — with every
    /// `<< >>` substituted. Problems with the arguments are reported against `caller`, problems
    /// inside the definition against its own file; refused arguments leave the body out.
    fn instantiate(
        &mut self,
        def: &Node,
        def_scope: &Scope,
        args: &Map,
        owner: &str,
        at: Span,
        caller: &Scope,
    ) -> Option<Map> {
        if self.over_limit {
            return None;
        }
        let def_map = def.as_map()?;
        let mut ds = Vec::new();
        let decls = params::read_decls(def_map.get("parameters"), &mut ds);
        self.report_all(def_scope, ds);
        let mut ds = Vec::new();
        let bound = params::bind(&decls, args, owner, at, &mut ds);
        let refused = ds.iter().any(Diagnostic::is_error);
        self.report_all(caller, ds);
        if refused {
            // The body would only repeat the error as parameters without a value.
            return None;
        }
        // Arguments were charged where they were interpolated; defaults are copied here.
        let max = self.budget.max_total();
        let defaults_bytes = bound
            .iter()
            .filter(|(name, _)| !args.contains_key(name))
            .fold(0usize, |sum, (_, v)| {
                sum.saturating_add(weight_up_to(&v.value, max))
            });
        if let Err(over) = self.budget.charge(defaults_bytes) {
            self.refuse_over_budget(over, def_scope, (owner, at, caller));
            return None;
        }
        let mut body = def_map.clone();
        body.remove("parameters");
        body.remove("description");
        if self.literal {
            return Some(body);
        }
        let vars = Vars {
            pipeline: self.pipeline,
            params: Some(&bound),
            matrix: None,
            owner,
        };
        let body = Node::map(def.span, body);
        let body = self.interpolate_within(&body, &vars, def_scope, (owner, at, caller))?;
        match body.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The concrete jobs produced, the workflows left out by their conditions (name, why),
    /// and the diagnostics found.
    pub fn finish(self) -> (Map, Vec<(String, String)>, Vec<Diagnostic>) {
        (self.jobs, self.skipped_workflows, self.diags)
    }
}
