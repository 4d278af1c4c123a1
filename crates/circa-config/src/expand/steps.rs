//! Steps: built-in steps normalised, commands inlined (with their parameters), `when`/`unless`
//! decided, `steps` parameters spliced.

use super::Expander;
use super::scope::{Kind, Scope};
use crate::diag::{Diagnostic, Span};
use crate::interp::{self, Vars};
use crate::params;
use crate::yaml::{Map, Node, Value};

/// Step names CircleCI provides.
pub const BUILT_IN_STEPS: &[&str] = &[
    "run",
    "checkout",
    "setup_remote_docker",
    "save_cache",
    "restore_cache",
    "store_artifacts",
    "store_test_results",
    "persist_to_workspace",
    "attach_workspace",
    "add_ssh_keys",
    "deploy",
    "install_signing_bundle",
];

impl<'a> Expander<'a> {
    /// Expands a list of steps defined in `scope` (already interpolated for their owner).
    pub(super) fn expand_steps(&mut self, steps: &Node, scope: &Scope, depth: usize) -> Vec<Node> {
        let mut out = Vec::new();
        let Some(items) = steps.as_seq() else {
            if !steps.is_null() {
                self.report(
                    scope,
                    Diagnostic::error(
                        steps.span,
                        format!("`steps` must be a list, not {}", steps.kind_name()),
                    ),
                );
            }
            return out;
        };
        for step in items {
            self.expand_step(step, scope, depth, &mut out);
        }
        out
    }

    fn expand_step(&mut self, step: &Node, scope: &Scope, depth: usize, out: &mut Vec<Node>) {
        if self.over_limit {
            return;
        }
        let (name, args, name_span) = match &step.value {
            Value::Str(name) => (name.as_str(), None, step.span),
            Value::Map(m) if m.len() == 1 => {
                let Some((name, entry)) = m.entries().next() else {
                    return;
                };
                (name, Some(&entry.value), entry.key_span)
            }
            // A step with zero or several keys: the structural checks report it.
            _ => return,
        };
        match name {
            "when" | "unless" => {
                self.expand_conditional(name == "when", args, step, scope, depth, out);
                return;
            }
            "steps" => {
                if let Some(list) = args {
                    out.extend(self.expand_steps(list, scope, depth));
                }
                return;
            }
            _ => {}
        }
        if let Some((def_scope, def)) = self.find_definition(Kind::Command, name, scope) {
            self.invoke_command(name, def, def_scope, args, step.span, scope, depth, out);
            return;
        }
        if BUILT_IN_STEPS.contains(&name) {
            self.count_steps(1, step.span, scope);
            out.push(normalize_built_in(name, args, step));
            return;
        }
        if scope.in_missing_orb(name) || self.root.in_missing_orb(name) {
            return;
        }
        let hint = suggestion(name, &scope.names(Kind::Command));
        self.report(
            scope,
            Diagnostic::error(name_span, format!("unknown step or command `{name}`{hint}")),
        );
    }

    /// Finds a definition where it is used, and failing that in the config itself (steps and
    /// executors handed to an orb's job as parameters are written in the config's terms).
    pub(super) fn find_definition<'s>(
        &self,
        kind: Kind,
        name: &str,
        scope: &'s Scope,
    ) -> Option<(&'s Scope, &'s Node)>
    where
        'a: 's,
    {
        let root: &'a Scope = self.root;
        scope.find(kind, name).or_else(|| root.find(kind, name))
    }

    fn expand_conditional(
        &mut self,
        is_when: bool,
        args: Option<&Node>,
        step: &Node,
        scope: &Scope,
        depth: usize,
        out: &mut Vec<Node>,
    ) {
        let word = if is_when { "when" } else { "unless" };
        let Some(body) = args.and_then(Node::as_map) else {
            self.report(
                scope,
                Diagnostic::error(
                    step.span,
                    format!("`{word}` step needs `condition` and `steps`"),
                ),
            );
            return;
        };
        let Some(condition) = body.get("condition") else {
            self.report(
                scope,
                Diagnostic::error(step.span, format!("`{word}` step needs a `condition`")),
            );
            return;
        };
        let holds = match crate::expr::logic::evaluate(condition) {
            Ok(b) => b,
            Err(d) => {
                self.report(scope, d);
                return;
            }
        };
        if holds == is_when
            && let Some(steps) = body.get("steps")
        {
            out.extend(self.expand_steps(steps, scope, depth));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn invoke_command(
        &mut self,
        name: &str,
        def: &Node,
        def_scope: &Scope,
        args: Option<&Node>,
        at: Span,
        caller: &Scope,
        depth: usize,
        out: &mut Vec<Node>,
    ) {
        if depth >= self.limits.max_command_depth {
            self.report(
                caller,
                Diagnostic::error(
                    at,
                    format!(
                        "commands nest deeper than {} levels at `{name}` (does it invoke itself?)",
                        self.limits.max_command_depth
                    ),
                ),
            );
            self.over_limit = true;
            return;
        }
        let Some(def_map) = def.as_map() else {
            return;
        };
        let empty = Map::new();
        let arg_map = match args {
            Some(Node {
                value: Value::Map(m),
                ..
            }) => m,
            Some(n) if !n.is_null() => {
                self.report(
                    caller,
                    Diagnostic::error(
                        n.span,
                        format!(
                            "arguments of command `{name}` must be a map, not {}",
                            n.kind_name()
                        ),
                    ),
                );
                return;
            }
            _ => &empty,
        };
        let mut ds = Vec::new();
        let decls = params::read_decls(def_map.get("parameters"), &mut ds);
        self.report_all(def_scope, ds);
        let owner = format!("command `{name}`");
        let mut ds = Vec::new();
        let bound = params::bind(&decls, arg_map, &owner, at, &mut ds);
        let refused = ds.iter().any(Diagnostic::is_error);
        self.report_all(caller, ds);
        if refused {
            // The steps would only repeat the error as parameters without a value.
            return;
        }
        let Some(steps) = def_map.get("steps") else {
            return;
        };
        let vars = Vars {
            pipeline: self.pipeline,
            params: Some(&bound),
            matrix: None,
            owner: &owner,
        };
        let mut ds = Vec::new();
        let steps = interp::interpolate(steps, &vars, &mut ds);
        self.report_all(def_scope, ds);
        let expanded = self.expand_steps(&steps, def_scope, depth + 1);
        out.extend(expanded);
    }

    pub(super) fn count_steps(&mut self, n: usize, at: Span, scope: &Scope) {
        self.steps_made += n;
        if self.steps_made > self.limits.max_steps && !self.over_limit {
            self.over_limit = true;
            self.report(
                scope,
                Diagnostic::error(
                    at,
                    format!(
                        "the processed config would have more than {} steps; refusing it",
                        self.limits.max_steps
                    ),
                ),
            );
        }
    }
}

/// A built-in step in the processed form: `run: x` becomes `run: {command: x}`, argument maps
/// have their keys sorted.
fn normalize_built_in(name: &str, args: Option<&Node>, step: &Node) -> Node {
    let args = match args {
        None => return Node::str(step.span, name),
        Some(a) => a,
    };
    let body = match &args.value {
        Value::Str(s) if name == "run" || name == "deploy" => {
            let mut m = Map::new();
            m.insert("command", args.span, Node::str(args.span, s.clone()));
            Node::map(args.span, m)
        }
        Value::Map(m) => {
            let mut m = m.clone();
            m.sort_keys();
            Node::map(args.span, m)
        }
        Value::Null => return Node::str(step.span, name),
        _ => args.clone(),
    };
    let mut m = Map::new();
    m.insert(name, step.span, body);
    Node::map(step.span, m)
}

/// ", did you mean `x`?" when a known name is close to `name`.
pub(super) fn suggestion(name: &str, known: &[String]) -> String {
    known
        .iter()
        .map(|k| (edit_distance(name, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| format!("; did you mean `{k}`?"))
        .unwrap_or_default()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
