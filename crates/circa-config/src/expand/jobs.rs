//! Jobs: parameters bound, body interpolated, executor merged in, steps expanded, pre- and
//! post-steps added.

use super::Expander;
use super::scope::{Kind, Scope};
use super::steps::suggestion;
use crate::diag::{Diagnostic, Span};
use crate::yaml::{Map, Node, Value};

/// Keys of an executor definition that a job takes over.
const EXECUTOR_KINDS: &[&str] = &["docker", "machine", "macos", "windows"];

/// One use of a job in a workflow, ready to expand.
pub(super) struct JobCall<'n> {
    /// The job's name as referenced (`build`, `node/test`).
    pub job: &'n str,
    /// Parameter arguments (invocation keys that are not workflow keys), interpolated.
    pub args: Map,
    /// Steps to put before and after the job's own.
    pub pre_steps: Option<Node>,
    /// Steps to put after the job's own.
    pub post_steps: Option<Node>,
    /// Where the invocation is written.
    pub at: Span,
}

impl<'a> Expander<'a> {
    /// Expands one job invocation into a concrete job body; `None` when the job is unknown.
    pub(super) fn expand_job(&mut self, call: &JobCall<'_>) -> Option<Node> {
        let root: &'a Scope = self.root;
        let Some((def_scope, def)) = root.find(Kind::Job, call.job) else {
            if root.in_missing_orb(call.job) {
                return None;
            }
            let hint = suggestion(call.job, &root.names(Kind::Job));
            self.report(
                root,
                Diagnostic::error(
                    call.at,
                    format!(
                        "job `{0}` is not defined: cannot find a declaration for job `{0}` in `jobs` or an orb{hint}",
                        call.job
                    ),
                ),
            );
            return None;
        };
        let owner = format!("job `{}`", call.job);
        let mut body = self.instantiate(def, def_scope, &call.args, &owner, call.at, root)?;

        if let Some(executor) = body.remove("executor")
            && let Some(exec_body) = self.expand_executor(&executor, def_scope)
        {
            body = merge_executor(exec_body, body);
        }
        let mut steps = Vec::new();
        if let Some(pre) = &call.pre_steps {
            steps.extend(self.expand_steps(pre, root, 0));
        }
        if let Some(own) = body.get("steps").cloned() {
            steps.extend(self.expand_steps(&own, def_scope, 0));
        }
        if let Some(post) = &call.post_steps {
            steps.extend(self.expand_steps(post, root, 0));
        }
        let is_build = body
            .get("type")
            .and_then(Node::as_str)
            .is_none_or(|t| t == "build");
        if is_build || !steps.is_empty() {
            let span = body.get("steps").map_or(def.span, |s| s.span);
            body.insert("steps", span, Node::seq(span, steps));
        }
        body.sort_keys();
        Some(Node::map(def.span, body))
    }

    /// Expands job `name` on its own, invoked by its name with `args` (written at `at`), into
    /// the concrete jobs; an unknown job or refused arguments are reported.
    pub fn expand_lone_job(&mut self, name: &str, args: Map, at: Span) {
        let call = JobCall {
            job: name,
            args,
            pre_steps: None,
            post_steps: None,
            at,
        };
        if let Some(body) = self.expand_job(&call) {
            self.jobs.insert(name, at, body);
        }
    }

    /// Resolves an `executor:` value (a name or `{name, ...args}`) into the executor's body.
    fn expand_executor(&mut self, reference: &Node, scope: &Scope) -> Option<Map> {
        let (name, args) = match &reference.value {
            Value::Str(name) => (name.clone(), Map::new()),
            Value::Map(m) => {
                let Some(name) = m.get("name").and_then(Node::as_str) else {
                    self.report(
                        scope,
                        Diagnostic::error(reference.span, "`executor` needs a `name`"),
                    );
                    return None;
                };
                let mut args = m.clone();
                args.remove("name");
                (name.to_string(), args)
            }
            _ => {
                self.report(
                    scope,
                    Diagnostic::error(
                        reference.span,
                        format!(
                            "`executor` must be a name or a map, not {}",
                            reference.kind_name()
                        ),
                    ),
                );
                return None;
            }
        };
        let Some((def_scope, def)) = self.find_definition(Kind::Executor, &name, scope) else {
            if scope.in_missing_orb(&name) || self.root.in_missing_orb(&name) {
                return None;
            }
            let hint = suggestion(&name, &scope.names(Kind::Executor));
            self.report(
                scope,
                Diagnostic::error(
                    reference.span,
                    format!("executor `{name}` is not defined{hint}"),
                ),
            );
            return None;
        };
        let owner = format!("executor `{name}`");
        self.instantiate(def, def_scope, &args, &owner, reference.span, scope)
    }
}

/// A job's keys over its executor's: the job wins, `environment` maps merge (job wins), and a job
/// that names its own `docker`/`machine`/... replaces the executor's kind entirely.
fn merge_executor(executor: Map, job: Map) -> Map {
    let job_sets_kind = EXECUTOR_KINDS.iter().any(|k| job.contains_key(k));
    let mut out = Map::new();
    for (k, e) in executor {
        if job_sets_kind && EXECUTOR_KINDS.contains(&k.as_str()) {
            continue;
        }
        out.insert(k, e.key_span, e.value);
    }
    for (k, e) in job {
        if k == "environment"
            && let (Some(Value::Map(base)), Value::Map(over)) =
                (out.get("environment").map(|n| &n.value), &e.value.value)
        {
            let mut merged = base.clone();
            for (ek, ee) in over.entries() {
                merged.insert(ek, ee.key_span, ee.value.clone());
            }
            out.insert(k, e.key_span, Node::map(e.value.span, merged));
            continue;
        }
        out.insert(k, e.key_span, e.value);
    }
    out
}
