//! Workflows: each job invocation resolved to a concrete job (matrices expanded, job groups
//! unfolded, names made unique), `requires` resolved through matrix aliases and group names.

use super::Expander;
use super::jobs::JobCall;
use super::scope::{Kind, Scope};
use crate::budget::weight_up_to;
use crate::diag::{Diagnostic, Span};
use crate::expr::logic;
use crate::graph;
use crate::interp::{self, Vars};
use crate::yaml::{Map, Node, Value};
use indexmap::IndexMap;
use std::ops::ControlFlow;

/// A processed invocation, before `requires` is resolved.
struct Entry {
    key: String,
    name: String,
    span: Span,
    requires: Option<Node>,
    fields: Map,
    /// The job group invocation (index into [`WorkflowState::groups`]) this entry belongs to.
    group: Option<usize>,
    /// Whether `requires` was written on the invocation itself (not passed on by its group).
    own_requires: bool,
}

/// One invocation of a job group within a workflow.
struct GroupInfo {
    name: String,
    members: Vec<String>,
}

/// What a job group's invocation passes on to its members.
struct GroupCall {
    prefix: Option<String>,
    requires: Option<Node>,
    serial_group: Option<Node>,
    members: Vec<String>,
    index: usize,
}

impl GroupCall {
    /// Passes the group's invocation on to its member `name`: the member's own `requires` get
    /// the group's prefix (without any, it takes the group's `requires`), its entry the
    /// group's `serial-group`. Returns the member's `requires`.
    fn hand_on(&mut self, name: &str, requires: Option<Node>, fields: &mut Map) -> Option<Node> {
        let requires = match (requires, &self.prefix) {
            (Some(r), Some(prefix)) => Some(prefix_requires(&r, prefix)),
            (Some(r), None) => Some(r),
            (None, _) => self.requires.clone(),
        };
        if let Some(sg) = &self.serial_group {
            fields.insert("serial-group", sg.span, sg.clone());
        }
        self.members.push(name.to_string());
        requires
    }
}

/// A job's `matrix:`, its parameters interpolated.
struct Matrix {
    /// Each parameter with its values, in declaration order.
    axes: Vec<(String, Vec<Node>)>,
    /// How many combinations the values make (saturating).
    total: usize,
    /// The `exclude`d combinations.
    excludes: Vec<Map>,
    /// The name that stands for all of its invocations in `requires`.
    alias: String,
}

impl Matrix {
    /// Every combination of values not excluded, in declaration order of the parameters.
    fn combinations(&self) -> impl Iterator<Item = IndexMap<String, Node>> + '_ {
        cartesian(&self.axes)
            .into_iter()
            .filter(|combo| !self.excludes.iter().any(|ex| excluded(ex, combo)))
    }

    /// What the copies of the values in every combination weigh (each value counted up to
    /// `max`).
    fn combination_bytes(&self, max: usize) -> usize {
        self.axes.iter().fold(0usize, |sum, (_, values)| {
            let copies = self.total / values.len().max(1);
            values.iter().fold(sum, |sum, v| {
                sum.saturating_add(weight_up_to(&v.value, max).saturating_mul(copies))
            })
        })
    }
}

/// One workflow's invocations in progress.
#[derive(Default)]
struct WorkflowState {
    entries: Vec<Entry>,
    /// Matrix aliases and group names, each standing for several invocation names.
    aliases: IndexMap<String, Vec<String>>,
    groups: Vec<GroupInfo>,
    invocations: usize,
    /// Names given to more than one plain invocation: each gets `-1`, `-2`, ... (the number
    /// handed out so far per name).
    duplicated: IndexMap<String, usize>,
}

/// The name a plain (non-matrix) workflow item goes by before suffixes: its `name:`, else the
/// job it invokes.
fn plain_item_name(item: &Node) -> Option<String> {
    match &item.value {
        Value::Str(s) => Some(s.clone()),
        Value::Map(m) if m.len() == 1 => {
            let (job, entry) = m.entries().next()?;
            let args = entry.value.as_map();
            if args.is_some_and(|a| a.contains_key("matrix")) {
                return None;
            }
            Some(
                args.and_then(|a| a.get("name"))
                    .and_then(Node::scalar_text)
                    .unwrap_or_else(|| job.to_string()),
            )
        }
        _ => None,
    }
}

impl<'a> Expander<'a> {
    /// Expands the `workflows:` section. `groups` is the config's `job-groups:`.
    pub fn expand_workflows(&mut self, workflows: &Map, groups: Option<&Map>) -> Map {
        let mut out = Map::new();
        out.insert("version", Span::NONE, Node::new(Span::NONE, Value::Int(2)));
        for (name, entry) in workflows.entries() {
            if name == "version" {
                continue;
            }
            let Some(wf) = entry.value.as_map() else {
                continue;
            };
            match self.decide_workflow(wf) {
                Some(reason) => self.skipped_workflows.push((name.to_string(), reason)),
                None => {
                    let processed = self.expand_workflow(name, wf, entry.value.span, groups);
                    out.insert(name, entry.key_span, processed);
                }
            }
        }
        out
    }

    /// Decides a workflow's `when`/`unless` at compile time, as CircleCI does: `Some(reason)`
    /// when the workflow is left out. A condition that cannot be evaluated is reported and
    /// leaves the workflow out.
    fn decide_workflow(&mut self, wf: &Map) -> Option<String> {
        let root: &'a Scope = self.root;
        let pipeline = self.pipeline;
        for (key, runs_when) in [("when", true), ("unless", false)] {
            let Some(condition) = wf.get(key) else {
                continue;
            };
            let mut ds = Vec::new();
            let vars = Vars::pipeline(pipeline);
            let interpolated = interp::interpolate(condition, &vars, self.budget, &mut ds);
            let failed = !ds.is_empty();
            self.report_all(root, ds);
            let condition = match interpolated {
                Ok(c) if !failed => c,
                Ok(_) => return Some(format!("its `{key}` condition could not be evaluated")),
                Err(over) => {
                    let what = format!("the `{key}` condition");
                    self.refuse_over_budget(over, root, (&what, condition.span, root));
                    return Some(format!("its `{key}` condition could not be evaluated"));
                }
            };
            match logic::evaluate_expression_or_statement(&condition, &|n| pipeline.get(n)) {
                Ok(holds) if holds != runs_when => {
                    return Some(format!("its `{key}` condition is {holds}"));
                }
                Ok(_) => {}
                Err(d) => {
                    self.report(root, d);
                    return Some(format!("its `{key}` condition could not be evaluated"));
                }
            }
        }
        None
    }

    fn expand_workflow(&mut self, name: &str, wf: &Map, span: Span, groups: Option<&Map>) -> Node {
        let root: &'a Scope = self.root;
        let vars = Vars::pipeline(self.pipeline);
        let mut out = Map::new();
        for (key, entry) in wf.entries() {
            // `when`/`unless` were decided; the processed config no longer carries them.
            if matches!(key, "jobs" | "when" | "unless") {
                continue;
            }
            let what = format!("`{key}` of workflow `{name}`");
            let place = (what.as_str(), entry.key_span, root);
            let Some(v) = self.interpolate_within(&entry.value, &vars, root, place) else {
                return Node::map(span, out);
            };
            out.insert(key, entry.key_span, v);
        }
        let mut state = WorkflowState::default();
        if let Some(jobs) = wf.get("jobs").and_then(Node::as_seq) {
            // CircleCI suffixes every invocation of a name used more than once: `build-1`, ...
            let mut counts: IndexMap<String, usize> = IndexMap::new();
            for name in jobs.iter().filter_map(plain_item_name) {
                *counts.entry(name).or_default() += 1;
            }
            state.duplicated = counts
                .into_iter()
                .filter(|(_, n)| *n > 1)
                .map(|(name, _)| (name, 0))
                .collect();
            for item in jobs {
                self.invocation(item, groups, None, &mut state);
            }
        }
        let jobs_span = wf.get("jobs").map_or(span, |n| n.span);
        let (list, ds) = finish_entries(state, name);
        self.report_all(root, ds);
        out.insert("jobs", jobs_span, Node::seq(jobs_span, list));
        Node::map(span, out)
    }

    /// Processes one item of a workflow's (or job group's) `jobs:` list.
    fn invocation(
        &mut self,
        item: &Node,
        groups: Option<&Map>,
        group: Option<&mut GroupCall>,
        state: &mut WorkflowState,
    ) {
        let root: &'a Scope = self.root;
        let (job, raw_args, at) = match &item.value {
            Value::Str(s) => (s.clone(), Map::new(), item.span),
            Value::Map(m) if m.len() == 1 => {
                let Some((k, e)) = m.entries().next() else {
                    return;
                };
                let args = match &e.value.value {
                    Value::Map(a) => a.clone(),
                    Value::Null => Map::new(),
                    _ => {
                        self.report(
                            root,
                            Diagnostic::error(
                                e.value.span,
                                format!(
                                    "arguments of job `{k}` must be a map, not {}",
                                    e.value.kind_name()
                                ),
                            ),
                        );
                        return;
                    }
                };
                (k.to_string(), args, e.key_span)
            }
            _ => return,
        };
        if let Some(group_def) = groups.and_then(|g| g.get(&job))
            && group.is_none()
            && !root.jobs.contains_key(&job)
        {
            self.group_invocation(&job, group_def, &raw_args, at, groups, state);
            return;
        }
        match raw_args.get("matrix") {
            Some(matrix) => {
                let matrix = matrix.clone();
                self.matrix_invocation(&job, &raw_args, &matrix, at, group, state);
            }
            None => {
                let vars = Vars::pipeline(self.pipeline);
                let what = format!("the invocation of job `{job}`");
                let args = Node::map(at, raw_args);
                let Some(args) = self.interpolate_within(&args, &vars, root, (&what, at, root))
                else {
                    return;
                };
                if let Value::Map(args) = args.value {
                    self.concrete_invocation(&job, args, None, at, group, state);
                }
            }
        }
    }

    fn group_invocation(
        &mut self,
        group_name: &str,
        def: &Node,
        args: &Map,
        at: Span,
        groups: Option<&Map>,
        state: &mut WorkflowState,
    ) {
        let vars = Vars::pipeline(self.pipeline);
        let root: &'a Scope = self.root;
        let what = format!("the invocation of job group `{group_name}`");
        let args = Node::map(at, args.clone());
        let Some(args) = self.interpolate_within(&args, &vars, root, (&what, at, root)) else {
            return;
        };
        let args = args.as_map().cloned().unwrap_or_default();
        let prefix = args.get("name").and_then(Node::scalar_text);
        let alias = prefix.clone().unwrap_or_else(|| group_name.to_string());
        let mut call = GroupCall {
            prefix,
            requires: args.get("requires").cloned(),
            serial_group: args.get("serial-group").cloned(),
            members: Vec::new(),
            index: state.groups.len(),
        };
        state.groups.push(GroupInfo {
            name: group_name.to_string(),
            members: Vec::new(),
        });
        if let Some(jobs) = def
            .as_map()
            .and_then(|m| m.get("jobs"))
            .and_then(Node::as_seq)
        {
            for item in jobs {
                self.invocation(item, groups, Some(&mut call), state);
            }
        }
        if let Some(info) = state.groups.get_mut(call.index) {
            info.members = call.members.clone();
        }
        state.aliases.insert(alias, call.members);
    }

    /// Adds one invocation per combination of a `matrix:`'s values (less its `exclude`s), each
    /// under the matrix's alias (its `alias:`, else the job's name).
    fn matrix_invocation(
        &mut self,
        job: &str,
        raw_args: &Map,
        matrix: &Node,
        at: Span,
        mut group: Option<&mut GroupCall>,
        state: &mut WorkflowState,
    ) {
        let Some(read) = self.read_matrix(job, matrix) else {
            return;
        };
        if !self.admit_matrix(job, &read, matrix.span, state) {
            return;
        }
        let mut members = Vec::new();
        for combo in read.combinations() {
            match self.matrix_instance(job, raw_args, &combo, at, group.as_deref_mut(), state) {
                ControlFlow::Break(()) => return,
                ControlFlow::Continue(Some(name)) => members.push(name),
                ControlFlow::Continue(None) => {}
            }
        }
        let mut all = state.aliases.shift_remove(&read.alias).unwrap_or_default();
        all.extend(members);
        state.aliases.insert(read.alias, all);
    }

    /// Reads a job's `matrix:`, its parameters interpolated with the pipeline's values; `None`
    /// (reported) when it is not a map with `parameters`, or when interpolation stops.
    fn read_matrix(&mut self, job: &str, matrix: &Node) -> Option<Matrix> {
        let root: &'a Scope = self.root;
        let Some(m) = matrix.as_map() else {
            self.report(
                root,
                Diagnostic::error(matrix.span, "`matrix` must be a map with `parameters`"),
            );
            return None;
        };
        let Some(parameters) = m.get("parameters").and_then(Node::as_map) else {
            self.report(
                root,
                Diagnostic::error(matrix.span, "`matrix` needs `parameters`"),
            );
            return None;
        };
        let vars = Vars::pipeline(self.pipeline);
        let what = format!("the matrix of job `{job}`");
        let parameters = Node::map(matrix.span, parameters.clone());
        let place = (what.as_str(), matrix.span, root);
        let parameters = self.interpolate_within(&parameters, &vars, root, place)?;
        let axes: Vec<(String, Vec<Node>)> = parameters
            .as_map()?
            .iter()
            .map(|(p, values)| {
                let values = match &values.value {
                    Value::Seq(items) => items.clone(),
                    _ => vec![values.clone()],
                };
                (p.to_string(), values)
            })
            .collect();
        let total = axes.iter().fold(1usize, |total, (_, values)| {
            total.saturating_mul(values.len())
        });
        let excludes = m
            .get("exclude")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .filter_map(|n| n.as_map().cloned())
            .collect();
        let alias = m
            .get("alias")
            .and_then(Node::scalar_text)
            .unwrap_or_else(|| job.to_string());
        Some(Matrix {
            axes,
            total,
            excludes,
            alias,
        })
    }

    /// Whether a matrix's combinations may be made: they stay within the config's job limit
    /// and the copies of their values within the expansion budget (each refusal reported).
    fn admit_matrix(
        &mut self,
        job: &str,
        matrix: &Matrix,
        span: Span,
        state: &WorkflowState,
    ) -> bool {
        let root: &'a Scope = self.root;
        let total = matrix.total;
        if total > self.limits.max_jobs || state.invocations + total > self.limits.max_jobs {
            self.report(
                root,
                Diagnostic::error(
                    span,
                    format!(
                        "matrix of job `{job}` makes {total} jobs; a config may have at most {}",
                        self.limits.max_jobs
                    ),
                ),
            );
            self.over_limit = true;
            return false;
        }
        // Every combination holds a copy of its values: charged before they are made.
        let bytes = matrix.combination_bytes(self.budget.max_total());
        if let Err(over) = self.budget.charge(bytes) {
            let what = format!("the matrix of job `{job}`");
            self.refuse_over_budget(over, root, (&what, span, root));
            return false;
        }
        true
    }

    /// Adds the invocation of one matrix combination: the invocation's arguments (less
    /// `matrix`) interpolated with the combination's values, then the values themselves as
    /// arguments. Returns its name in the workflow (`None` when it was not added);
    /// `Break` when interpolation stops, which ends the whole matrix.
    fn matrix_instance(
        &mut self,
        job: &str,
        raw_args: &Map,
        combo: &IndexMap<String, Node>,
        at: Span,
        group: Option<&mut GroupCall>,
        state: &mut WorkflowState,
    ) -> ControlFlow<(), Option<String>> {
        let root: &'a Scope = self.root;
        let mut rest = raw_args.clone();
        rest.remove("matrix");
        let vars = Vars {
            pipeline: self.pipeline,
            params: None,
            matrix: Some(combo),
            owner: "",
        };
        let what = format!("the invocation of job `{job}`");
        let args = Node::map(at, rest);
        let Some(args) = self.interpolate_within(&args, &vars, root, (&what, at, root)) else {
            return ControlFlow::Break(());
        };
        let Value::Map(mut args) = args.value else {
            return ControlFlow::Continue(None);
        };
        for (p, v) in combo {
            args.insert(p.clone(), v.span, v.clone());
        }
        let default_name = matrix_name(job, combo);
        ControlFlow::Continue(self.concrete_invocation(
            job,
            args,
            Some(default_name),
            at,
            group,
            state,
        ))
    }

    /// Adds one concrete invocation; returns its name in the workflow (`None` when the
    /// workflow already has as many jobs as it may).
    fn concrete_invocation(
        &mut self,
        job: &str,
        mut args: Map,
        default_name: Option<String>,
        at: Span,
        group: Option<&mut GroupCall>,
        state: &mut WorkflowState,
    ) -> Option<String> {
        if !self.count_invocation(at, state) {
            return None;
        }
        let explicit_name = args.remove("name").and_then(|n| n.scalar_text());
        let named = explicit_name.is_some();
        let name = invocation_name(
            job,
            explicit_name,
            default_name,
            group.as_deref(),
            &mut state.duplicated,
        );
        let mut requires = args.remove("requires");
        let own_requires = requires.is_some();
        let mut fields = self.entry_fields(&mut args);
        let group_index = group.as_ref().map(|g| g.index);
        if let Some(g) = group {
            requires = g.hand_on(&name, requires, &mut fields);
        }
        let key = if self.is_approval(job, &mut args) {
            fields.insert("type", at, Node::str(at, "approval"));
            if named { name.clone() } else { job.to_string() }
        } else {
            self.expand_invocation(job, args, &name, at)
        };
        let name = unique_name(&name, &state.entries);
        state.entries.push(Entry {
            key,
            name: name.clone(),
            span: at,
            requires,
            fields,
            group: group_index,
            own_requires,
        });
        Some(name)
    }

    /// Counts one more invocation of the workflow; `false` when that is more than a workflow
    /// may have (reported once per config).
    fn count_invocation(&mut self, at: Span, state: &mut WorkflowState) -> bool {
        state.invocations += 1;
        if state.invocations <= self.limits.max_jobs {
            return true;
        }
        if !self.over_limit {
            let root: &'a Scope = self.root;
            self.report(
                root,
                Diagnostic::error(
                    at,
                    format!("a workflow may have at most {} jobs", self.limits.max_jobs),
                ),
            );
        }
        self.over_limit = true;
        false
    }

    /// Takes out of `args` what stays on the workflow's entry rather than reaching the job:
    /// `context`, `filters` and `serial-group`. A `filters` expression that does not parse is
    /// reported.
    fn entry_fields(&mut self, args: &mut Map) -> Map {
        let mut fields = Map::new();
        for key in ["context", "filters", "serial-group"] {
            if let Some(v) = args.remove(key) {
                fields.insert(key, v.span, v);
            }
        }
        if let Some(Node {
            value: Value::Str(text),
            span,
        }) = fields.get("filters")
            && let Err(e) = crate::expr::parse(text)
        {
            let d = Diagnostic::error(
                *span,
                format!(
                    "in `filters` expression `{text}`: {} (at character {})",
                    e.message,
                    e.offset + 1
                ),
            );
            let root: &'a Scope = self.root;
            self.report(root, d);
        }
        fields
    }

    /// Whether an invocation is of an approval job: its `type` argument (taken out of `args`)
    /// says so, or, without one, the job's definition does.
    fn is_approval(&self, job: &str, args: &mut Map) -> bool {
        let type_arg = args.remove("type").and_then(|n| n.scalar_text());
        let def_type = || {
            self.root
                .find(Kind::Job, job)
                .and_then(|(_, d)| d.as_map())
                .and_then(|m| m.get("type"))
                .and_then(Node::scalar_text)
        };
        match type_arg {
            Some(t) => t == "approval",
            None => def_type().as_deref() == Some("approval"),
        }
    }

    /// Expands the job an invocation runs (its `override-with` when that names a job) with the
    /// invocation's arguments and `pre-steps`/`post-steps`, and places it in the processed
    /// `jobs:`; returns its key there. A job that cannot be expanded has been reported (or
    /// lives in an orb that failed to load): its invocation still counts, under the job's own
    /// name, so that `requires` on it says nothing more.
    fn expand_invocation(&mut self, job: &str, mut args: Map, name: &str, at: Span) -> String {
        let root: &'a Scope = self.root;
        let override_with = args.remove("override-with").and_then(|n| n.scalar_text());
        let pre_steps = args.remove("pre-steps");
        let post_steps = args.remove("post-steps");
        let target = override_with
            .filter(|o| root.find(Kind::Job, o).is_some())
            .unwrap_or_else(|| job.to_string());
        let call = JobCall {
            job: &target,
            args,
            pre_steps,
            post_steps,
            at,
        };
        match self.expand_job(&call) {
            Some(body) => self.place_job(name, body),
            None => job.to_string(),
        }
    }

    /// Puts a concrete job into the processed `jobs:` under `name`, or under `name-2`, `name-3`,
    /// ... when another body already has that name. Returns the key used.
    fn place_job(&mut self, name: &str, body: Node) -> String {
        let mut key = name.to_string();
        let mut n = 1;
        loop {
            match self.jobs.get(&key) {
                None => {
                    self.jobs.insert(key.clone(), body.span, body);
                    return key;
                }
                Some(existing) if *existing == body => return key,
                Some(_) => {
                    n += 1;
                    key = format!("{name}-{n}");
                }
            }
        }
    }
}

/// The name an invocation goes by before it is made unique: its `name:`, else the matrix
/// instance's name, else the job's; prefixed with its job group's `name:`, or, for a plain
/// invocation outside a group, numbered when the workflow uses that name more than once.
fn invocation_name(
    job: &str,
    explicit: Option<String>,
    default_name: Option<String>,
    group: Option<&GroupCall>,
    duplicated: &mut IndexMap<String, usize>,
) -> String {
    let is_plain = default_name.is_none();
    let name = explicit.or(default_name).unwrap_or_else(|| job.to_string());
    match group {
        Some(GroupCall {
            prefix: Some(prefix),
            ..
        }) => format!("{prefix}-{name}"),
        Some(_) => name,
        None if is_plain => match duplicated.get_mut(&name) {
            Some(handed_out) => {
                *handed_out += 1;
                format!("{name}-{handed_out}")
            }
            None => name,
        },
        None => name,
    }
}

/// `name`, or `name-2`, `name-3`, ... when the workflow already has an invocation of that name.
fn unique_name(name: &str, entries: &[Entry]) -> String {
    let taken = |n: &str| entries.iter().any(|e| e.name == n);
    if !taken(name) {
        return name.to_string();
    }
    (2..)
        .map(|i| format!("{name}-{i}"))
        .find(|n| !taken(n))
        .unwrap_or_else(|| name.to_string())
}

/// Every combination of matrix values, in declaration order of the parameters.
fn cartesian(axes: &[(String, Vec<Node>)]) -> Vec<IndexMap<String, Node>> {
    let mut combos = vec![IndexMap::new()];
    for (p, values) in axes {
        let mut next = Vec::with_capacity(combos.len() * values.len());
        for combo in &combos {
            for v in values {
                let mut c: IndexMap<String, Node> = combo.clone();
                c.insert(p.clone(), v.clone());
                next.push(c);
            }
        }
        combos = next;
    }
    combos
}

fn excluded(exclude: &Map, combo: &IndexMap<String, Node>) -> bool {
    !exclude.is_empty()
        && exclude.iter().all(|(k, v)| {
            combo
                .get(k)
                .is_some_and(|c| c.scalar_text().is_some() && c.scalar_text() == v.scalar_text())
        })
}

/// CircleCI's name for a matrix instance: the job's name, then the values in alphabetical order
/// of their parameter names, joined by `-`.
fn matrix_name(job: &str, combo: &IndexMap<String, Node>) -> String {
    let mut keys: Vec<&String> = combo.keys().collect();
    keys.sort();
    let mut name = job.to_string();
    for k in keys {
        if let Some(text) = combo.get(k).and_then(Node::scalar_text) {
            name.push('-');
            name.push_str(&text);
        }
    }
    name
}

fn prefix_requires(requires: &Node, prefix: &str) -> Node {
    let rename = |n: &Node| -> Node {
        match &n.value {
            Value::Str(s) => Node::str(n.span, format!("{prefix}-{s}")),
            Value::Map(m) => {
                let mut out = Map::new();
                for (k, e) in m.entries() {
                    out.insert(format!("{prefix}-{k}"), e.key_span, e.value.clone());
                }
                Node::map(n.span, out)
            }
            _ => n.clone(),
        }
    };
    match &requires.value {
        Value::Seq(items) => Node::seq(requires.span, items.iter().map(rename).collect()),
        _ => rename(requires),
    }
}

/// The names a `requires` value lists (a name, a list of names, or maps of name to statuses),
/// each with where it is written.
fn required_names(req: &Node) -> Vec<(String, Span)> {
    let items: &[Node] = match &req.value {
        Value::Seq(items) => items,
        _ => std::slice::from_ref(req),
    };
    let mut out = Vec::new();
    for item in items {
        match &item.value {
            Value::Str(s) => out.push((s.clone(), item.span)),
            Value::Map(m) => out.extend(m.entries().map(|(k, e)| (k.to_string(), e.key_span))),
            _ => {}
        }
    }
    out
}

/// Checks that `requires` respects job group boundaries: a job of the workflow requires a job
/// group by the group's name, never one of its members, and a member of a job group requires
/// only members of the same group (the group's own `requires` covers the rest).
fn check_group_requires(
    entries: &[Entry],
    aliases: &IndexMap<String, Vec<String>>,
    groups: &[GroupInfo],
    workflow: &str,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for e in entries {
        let Some(req) = e.requires.as_ref().filter(|_| e.own_requires) else {
            continue;
        };
        for (required, at) in required_names(req) {
            match e.group.and_then(|g| groups.get(g)) {
                None => {
                    let at_top = entries
                        .iter()
                        .any(|o| o.group.is_none() && o.name == required)
                        || aliases.contains_key(&required);
                    if at_top {
                        continue;
                    }
                    if let Some(g) = groups.iter().find(|g| g.members.contains(&required)) {
                        diags.push(Diagnostic::error(
                            at,
                            format!(
                                "job `{}` requires `{required}`, which is defined inside job group `{}`, not directly in workflow `{workflow}`; require the group `{}` instead",
                                e.name, g.name, g.name
                            ),
                        ));
                    }
                }
                Some(g) => {
                    let in_group = g.members.contains(&required)
                        || aliases.get(&required).is_some_and(|names| {
                            !names.is_empty() && names.iter().all(|n| g.members.contains(n))
                        });
                    if !in_group {
                        diags.push(Diagnostic::error(
                            at,
                            format!(
                                "job `{}` requires `{required}`, which is not a member of this job group (`{}`); a job of a group requires only jobs of the same group",
                                e.name, g.name
                            ),
                        ));
                    }
                }
            }
        }
    }
    diags
}

/// Resolves `requires` through aliases and writes the processed invocation list.
fn finish_entries(state: WorkflowState, workflow: &str) -> (Vec<Node>, Vec<Diagnostic>) {
    let WorkflowState {
        entries,
        aliases,
        groups,
        ..
    } = state;
    let mut diags = check_requires(&entries, &aliases, workflow);
    diags.extend(check_group_requires(&entries, &aliases, &groups, workflow));
    let mut list = Vec::with_capacity(entries.len());
    for e in entries {
        let mut fields = Map::new();
        if e.name != e.key {
            fields.insert("name", e.span, Node::str(e.span, e.name.clone()));
        }
        if let Some(req) = &e.requires {
            let resolved = resolve_requires(req, &aliases);
            fields.insert("requires", req.span, resolved);
        }
        for (k, entry) in e.fields.entries() {
            fields.insert(k, entry.key_span, entry.value.clone());
        }
        if fields.is_empty() {
            list.push(Node::str(e.span, e.key));
        } else {
            let mut m = Map::new();
            m.insert(e.key, e.span, Node::map(e.span, fields));
            list.push(Node::map(e.span, m));
        }
    }
    (list, diags)
}

/// Checks that every required name is an invocation of this workflow (or a matrix alias or job
/// group standing for some), and that `requires` has no cycles. Job-group membership rules are
/// checked by [`check_group_requires`].
fn check_requires(
    entries: &[Entry],
    aliases: &IndexMap<String, Vec<String>>,
    workflow: &str,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let index: IndexMap<&str, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.name.as_str(), i))
        .collect();
    let mut edges: Vec<Vec<usize>> = Vec::with_capacity(entries.len());
    for e in entries {
        let mut deps = Vec::new();
        for (name, span) in e.requires.as_ref().map(required_names).unwrap_or_default() {
            let members = aliases
                .get(&name)
                .map_or(std::slice::from_ref(&name), Vec::as_slice);
            for member in members {
                match index.get(member.as_str()) {
                    Some(&i) => deps.push(i),
                    None => diags.push(Diagnostic::error(
                        span,
                        format!(
                            "`{}` requires `{member}`: cannot find a declaration for job invocation `{member}` in workflow `{workflow}`",
                            e.name
                        ),
                    )),
                }
            }
        }
        edges.push(deps);
    }
    for cycle in graph::cycles(&edges) {
        let Some(&first) = cycle.first() else {
            continue;
        };
        let path: Vec<&str> = cycle
            .iter()
            .chain(std::iter::once(&first))
            .map(|&i| entries[i].name.as_str())
            .collect();
        diags.push(Diagnostic::error(
            entries[first].span,
            format!(
                "job `{}` is part of a requires cycle: {} (in workflow `{workflow}`)",
                path[0],
                path.join(" -> ")
            ),
        ));
    }
    diags
}

fn resolve_requires(req: &Node, aliases: &IndexMap<String, Vec<String>>) -> Node {
    let items: Vec<Node> = match &req.value {
        Value::Seq(items) => items.clone(),
        _ => vec![req.clone()],
    };
    let mut out = Vec::new();
    for item in items {
        match &item.value {
            Value::Str(s) => match aliases.get(s) {
                Some(members) if !(members.len() == 1 && members[0] == *s) => {
                    out.extend(members.iter().map(|m| Node::str(item.span, m.clone())));
                }
                _ => out.push(item.clone()),
            },
            Value::Map(m) => {
                for (k, e) in m.entries() {
                    let names = aliases
                        .get(k)
                        .cloned()
                        .unwrap_or_else(|| vec![k.to_string()]);
                    for n in names {
                        let mut one = Map::new();
                        one.insert(n, e.key_span, e.value.clone());
                        out.push(Node::map(item.span, one));
                    }
                }
            }
            _ => out.push(item.clone()),
        }
    }
    Node::seq(req.span, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_names_follow_alphabetical_parameter_order() {
        let mut combo = IndexMap::new();
        combo.insert("version".to_string(), Node::str(Span::NONE, "0.1"));
        combo.insert("platform".to_string(), Node::str(Span::NONE, "macos"));
        assert_eq!(matrix_name("build", &combo), "build-macos-0.1");
    }

    fn errors(src: &str) -> Vec<String> {
        crate::compile(src.as_bytes(), &crate::CompileOptions::default())
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(ToString::to_string)
            .collect()
    }

    const JOBS: &str = "version: 2.1
jobs:
  a: {docker: [{image: x}], steps: [checkout]}
  b: {docker: [{image: x}], steps: [checkout]}
  c: {docker: [{image: x}], steps: [checkout]}
";

    #[test]
    fn a_refused_argument_is_reported_once() {
        let src = "version: 2.1
executors:
  e:
    parameters: {tag: {type: string}}
    docker: [{image: 'x:<< parameters.tag >>'}]
commands:
  say:
    parameters: {n: {type: integer}}
    steps: [{run: echo << parameters.n >>}]
jobs:
  a:
    parameters: {target: {type: string}, count: {type: integer, default: 1}}
    executor: {name: e, tag: << parameters.target >>}
    steps: [{say: {n: many}}, {run: make << parameters.target >> << parameters.count >>}]
workflows:
  main:
    jobs:
      - a: {name: one, count: many}
      - a: {name: two, target: t}
      - a: {name: three, target: [t]}
";
        assert_eq!(
            errors(src),
            [
                "14:23: error: parameter `n` of command `say` is of type integer, but was given a string `many`",
                "18:9: error: missing required parameter `target` (string) for job `a`",
                "18:31: error: parameter `count` of job `a` is of type integer, but was given a string `many`",
                "20:34: error: parameter `target` of job `a` is of type string, but was given a list",
            ]
        );
    }

    use crate::compile::error_messages as compile_errors;

    #[test]
    fn requires_must_name_a_job_of_the_workflow() {
        let errs = compile_errors(&format!(
            "{JOBS}workflows:\n  w:\n    jobs:\n      - a: {{requires: [c]}}\n"
        ));
        assert!(
            errs.iter()
                .any(|e| e
                    .contains("requires `c`: cannot find a declaration for job invocation `c`")),
            "{errs:?}"
        );
    }

    #[test]
    fn requires_cycles_are_refused() {
        let errs = compile_errors(&format!(
            "{JOBS}workflows:\n  w:\n    jobs:\n      - a: {{requires: [b]}}\n      - b: {{requires: [a]}}\n"
        ));
        assert_eq!(
            errs.iter()
                .filter(|e| e.contains("part of a requires cycle"))
                .count(),
            1,
            "{errs:?}"
        );
    }

    #[test]
    fn a_workflow_job_requires_a_group_not_its_members() {
        let src = format!(
            "{JOBS}job-groups:\n  g:\n    jobs: [a]\nworkflows:\n  main:\n    jobs:\n      - g\n      - b:\n          requires: [a]\n"
        );
        assert_eq!(
            errors(&src),
            [
                "14:22: error: job `b` requires `a`, which is defined inside job group `g`, not directly in workflow `main`; require the group `g` instead"
            ]
        );
        let ok = src.replace("requires: [a]", "requires: [g]");
        assert_eq!(errors(&ok), Vec::<String>::new());
    }

    #[test]
    fn a_group_member_requires_only_members_of_its_group() {
        let src = format!(
            "{JOBS}job-groups:\n  g1:\n    jobs: [a]\n  g2:\n    jobs:\n      - c\n      - b:\n          requires: [a, c]\nworkflows:\n  main:\n    jobs: [g1, g2]\n"
        );
        assert_eq!(
            errors(&src),
            [
                "13:22: error: job `b` requires `a`, which is not a member of this job group (`g2`); a job of a group requires only jobs of the same group"
            ]
        );
        // Requires passed on by the group's invocation name jobs outside the group.
        let ok = src
            .replace("requires: [a, c]", "requires: [c]")
            .replace("jobs: [g1, g2]", "jobs: [g1, {g2: {requires: [g1]}}]");
        assert_eq!(errors(&ok), Vec::<String>::new());
    }

    #[test]
    fn group_members_are_not_required_directly() {
        let errs = compile_errors(&format!(
            "{JOBS}job-groups:\n  g:\n    jobs: [a]\nworkflows:\n  w:\n    jobs:\n      - g\n      - b: {{requires: [a]}}\n      - b: {{name: b2, requires: [g]}}\n"
        ));
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].contains("inside job group `g`"), "{errs:?}");
    }

    #[test]
    fn a_filters_expression_must_parse() {
        let errs = compile_errors(&format!(
            "{JOBS}workflows:\n  w:\n    jobs:\n      - a: {{filters: 'pipeline.git.branch =='}}\n"
        ));
        assert!(
            errs.iter().any(|e| e.contains("`filters` expression")),
            "{errs:?}"
        );
    }
}
