//! Workflows, job groups and the job invocations inside them.

use super::helpers::{Ctx, describe, is_template, is_text};
use super::jobs::check_branch_filter;
use super::steps::check_steps;
use crate::diag::Span;
use crate::yaml::{Map, Node, Value};

const WORKFLOW_KEYS: &[&str] = &["jobs", "when", "unless", "triggers", "max_auto_reruns"];
const STATUSES: &[&str] = &[
    "success",
    "failed",
    "canceled",
    "unauthorized",
    "not_run",
    "terminal",
];
/// Keys of a job invocation that are not job parameters.
pub(super) const INVOCATION_KEYS: &[&str] = &[
    "requires",
    "name",
    "context",
    "type",
    "filters",
    "matrix",
    "pre-steps",
    "post-steps",
    "serial-group",
    "override-with",
];

/// Where a list of invocations lives.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Workflow,
    Group,
}

/// Checks the `workflows:` map.
pub(crate) fn check_workflows(cx: &mut Ctx, node: &Node) {
    let Some(workflows) = cx.want_map(node, "`workflows`") else {
        return;
    };
    for (name, entry) in workflows.entries() {
        if name == "version" {
            if !entry.value.value.is_scalar() || entry.value.is_null() {
                cx.err(entry.value.span, "`workflows.version` must be `2`");
            }
            continue;
        }
        check_workflow(cx, name, entry.key_span, &entry.value);
    }
}

fn check_workflow(cx: &mut Ctx, name: &str, at: Span, node: &Node) {
    let what = format!("workflow `{name}`");
    let Some(wf) = cx.want_map(node, &what) else {
        return;
    };
    cx.ignored_keys(wf, WORKFLOW_KEYS, &what);
    for key in ["when", "unless"] {
        if let Some(e) = wf.entry(key) {
            cx.need_v21(e.key_span, &format!("`{key}` on a workflow"));
            check_logic(cx, &e.value, &format!("`{key}` of {what}"));
        }
    }
    if let (Some(_), Some(e)) = (wf.get("when"), wf.entry("unless")) {
        cx.err(e.key_span, format!("{what} has both `when` and `unless`"));
    }
    if let Some(v) = wf.get("max_auto_reruns") {
        cx.want_int_range(v, 1, 5, &format!("`max_auto_reruns` of {what}"));
    }
    if let Some(t) = wf.get("triggers") {
        check_triggers(cx, t, &what);
    }
    match wf.get("jobs") {
        // SchemaStore's own positive tests have workflows with only `when`; such a workflow
        // runs nothing, so it is worth a warning but not a refusal.
        None => cx.warn(at, format!("{what} has no `jobs`; it runs nothing")),
        Some(jobs) => check_invocations(cx, jobs, &what, Place::Workflow),
    }
}

/// A logic statement: a scalar, a template, or a map with one operator. A list, or a map
/// that is not one operator, is a literal that CircleCI judges by its truthiness: a warning.
pub(crate) fn check_logic(cx: &mut Ctx, node: &Node, what: &str) {
    let Value::Map(m) = &node.value else {
        if matches!(node.value, Value::Seq(_)) {
            cx.warn(
                node.span,
                format!("{what} is a list, not a logic statement; it is taken by its truthiness (an empty list is false, any other true)"),
            );
        }
        return;
    };
    const OPS: &[&str] = &["and", "or", "not", "equal", "matches"];
    if m.len() != 1 {
        cx.warn(
            node.span,
            format!(
                "{what} has {} keys, so it is not a logic statement (one of {}) but a map taken by its truthiness",
                m.len(),
                OPS.join(", ")
            ),
        );
        return;
    }
    for (op, entry) in m.entries() {
        let inner = format!("`{op}` in {what}");
        match op {
            "and" | "or" | "equal" => match entry.value.as_seq() {
                Some(items) => {
                    for item in items {
                        check_logic(cx, item, &inner);
                    }
                }
                None if is_template(&entry.value) => {}
                None => cx.err(entry.value.span, format!("{inner} must be a list")),
            },
            "not" => check_logic(cx, &entry.value, &inner),
            "matches" => {
                if let Some(mm) = cx.want_map(&entry.value, &inner) {
                    cx.unknown_keys(mm, &["pattern", "value"], &inner);
                    cx.require(mm, "pattern", entry.key_span, &inner);
                    cx.require(mm, "value", entry.key_span, &inner);
                }
            }
            _ => {
                let hint = super::helpers::suggest(op, OPS);
                cx.warn(
                    entry.key_span,
                    format!("`{op}` in {what} is not a logic operator{hint}; the map is taken by its truthiness (true)"),
                );
            }
        }
    }
}

fn check_triggers(cx: &mut Ctx, node: &Node, what: &str) {
    let Some(items) = node.as_seq() else {
        cx.err(node.span, format!("`triggers` of {what} must be a list"));
        return;
    };
    for item in items {
        let label = format!("a trigger of {what}");
        let Some(t) = cx.want_map(item, &label) else {
            continue;
        };
        cx.unknown_keys(t, &["schedule"], &label);
        let Some(s) = t.get("schedule") else {
            cx.err(item.span, format!("{label} needs `schedule`"));
            continue;
        };
        let label = format!("the schedule of {what}");
        let Some(sm) = cx.want_map(s, &label) else {
            continue;
        };
        cx.unknown_keys(sm, &["cron", "filters"], &label);
        if cx.require(sm, "cron", s.span, &label)
            && let Some(c) = sm.get("cron")
        {
            cx.want_text(c, &format!("`cron` of {label}"));
        }
        if cx.require(sm, "filters", s.span, &label)
            && let Some(f) = sm.get("filters")
            && let Some(fm) = cx.want_map(f, &format!("`filters` of {label}"))
        {
            cx.unknown_keys(fm, &["branches"], &format!("`filters` of {label}"));
            if let Some(b) = fm.get("branches") {
                check_branch_filter(cx, b, &format!("`branches` of {label}"));
            }
        }
    }
}

/// Checks the `job-groups:` map.
pub(crate) fn check_job_groups(cx: &mut Ctx, node: &Node) {
    let Some(groups) = cx.want_map(node, "`job-groups`") else {
        return;
    };
    for (name, entry) in groups.entries() {
        cx.check_job_name(name, entry.key_span, "job group");
        let what = format!("job group `{name}`");
        let Some(g) = cx.want_map(&entry.value, &what) else {
            continue;
        };
        cx.unknown_keys(g, &["jobs"], &what);
        match g.get("jobs") {
            None => cx.err(entry.key_span, format!("{what} needs `jobs`")),
            Some(jobs) => check_invocations(cx, jobs, &what, Place::Group),
        }
    }
}

fn check_invocations(cx: &mut Ctx, node: &Node, owner: &str, place: Place) {
    let Some(items) = node.as_seq() else {
        cx.err(
            node.span,
            format!("`jobs` of {owner} must be a list, not {}", node.kind_name()),
        );
        return;
    };
    if items.is_empty() {
        // CircleCI runs the rest of a config whose workflow lists no jobs.
        cx.warn(
            node.span,
            format!("`jobs` of {owner} is empty; it runs nothing"),
        );
    }
    // Job group name → names of its invocations (to catch duplicates).
    let mut group_uses: Vec<(String, Option<String>, Span)> = Vec::new();
    for item in items {
        match &item.value {
            Value::Str(job) => {
                check_invocation(cx, job, item.span, None, owner, place, &mut group_uses)
            }
            Value::Map(m) if !m.is_empty() => {
                if m.len() > 1 {
                    // SchemaStore accepts several jobs in one list item; each is taken as
                    // its own invocation, but it is usually an indentation mistake.
                    let keys: Vec<&str> = m.keys().collect();
                    cx.warn(
                        item.span,
                        format!(
                            "a job invocation in {owner} names several jobs (`{}`); each is invoked separately (check the indentation)",
                            keys.join("`, `")
                        ),
                    );
                }
                for (job, entry) in m.entries() {
                    let args = match &entry.value.value {
                        Value::Map(a) => Some(a),
                        Value::Null => None,
                        _ => {
                            cx.err(
                                entry.value.span,
                                format!(
                                    "the invocation of `{job}` in {owner} must be a map, not {}",
                                    entry.value.kind_name()
                                ),
                            );
                            continue;
                        }
                    };
                    check_invocation(cx, job, entry.key_span, args, owner, place, &mut group_uses);
                }
            }
            Value::Map(_) => cx.err(item.span, format!("a job invocation in {owner} is empty")),
            _ => cx.err(
                item.span,
                format!(
                    "a job invocation in {owner} must be a job name or a map, not {}",
                    item.kind_name()
                ),
            ),
        }
    }
    check_group_names(cx, &group_uses);
}

/// A job group invoked twice needs a distinct `name:` on each invocation.
fn check_group_names(cx: &mut Ctx, uses: &[(String, Option<String>, Span)]) {
    for (i, (group, name, span)) in uses.iter().enumerate() {
        let others = uses
            .iter()
            .enumerate()
            .filter(|(j, (g, _, _))| *j != i && g == group);
        let mut twice = false;
        for (j, (_, other_name, _)) in others {
            twice = true;
            if let (Some(a), Some(b)) = (name, other_name)
                && a == b
                && j < i
            {
                cx.err(
                    *span,
                    format!("Job group \"{group}\" is already invoked with the name \"{a}\""),
                );
            }
        }
        if twice && name.is_none() {
            cx.err(
                *span,
                format!(
                    "Job group \"{group}\" is invoked multiple times without a \"name\" attribute. Each invocation must have a unique name"
                ),
            );
        }
    }
}

fn check_invocation(
    cx: &mut Ctx,
    job: &str,
    at: Span,
    args: Option<&Map>,
    owner: &str,
    place: Place,
    group_uses: &mut Vec<(String, Option<String>, Span)>,
) {
    let what = format!("the invocation of `{job}` in {owner}");
    let is_group = cx.groups.contains(job);
    if is_group {
        if place == Place::Group {
            cx.err(
                at,
                format!(
                    "Job group \"{}\" cannot reference job group \"{job}\" -- nesting is not supported",
                    owner_name(owner)
                ),
            );
        }
        let name = args.and_then(|a| a.get("name")).and_then(Node::scalar_text);
        group_uses.push((job.to_string(), name, at));
    }
    let Some(args) = args else { return };
    if is_group {
        check_group_invocation(cx, args, &what);
    }
    if let Some(v) = args.get("requires") {
        check_requires(cx, v, &what);
    }
    for key in ["name", "override-with"] {
        if let Some(v) = args.get(key) {
            cx.want_text(v, &format!("`{key}` of {what}"));
        }
    }
    if let Some(e) = args.entry("override-with") {
        cx.need_v21(e.key_span, "`override-with`");
    }
    if let Some(e) = args.entry("serial-group") {
        if place == Place::Group {
            cx.err(
                e.key_span,
                "Use of `serial-group` on job invocations inside a job-group is not supported. Please consider using `serial-group` on the job-group instead.",
            );
        }
        match e.value.as_str() {
            Some(s) if !s.is_empty() => {}
            _ => cx.err(
                e.value.span,
                format!("`serial-group` of {what} must be a non-empty string"),
            ),
        }
    }
    if let Some(v) = args.get("context") {
        cx.want_text_or_list(v, &format!("`context` of {what}"));
    }
    if let Some(t) = args.get("type")
        && !is_group
        && t.as_str() != Some("approval")
    {
        cx.err(
            t.span,
            format!(
                "Only jobs with `type: approval` can be defined inline under the `workflows:`/`job-groups:` section. For `type: {}`, define the job in the `jobs:` section instead.",
                t.value
            ),
        );
    }
    if let Some(f) = args.get("filters") {
        check_filters(cx, f, &what);
    }
    if let Some(e) = args.entry("matrix") {
        cx.need_v21(e.key_span, "`matrix`");
        if !is_group {
            check_matrix(cx, &e.value, &what);
        }
    }
    for key in ["pre-steps", "post-steps"] {
        if let Some(e) = args.entry(key) {
            cx.need_v21(e.key_span, &format!("`{key}`"));
            check_steps(cx, &e.value, &format!("`{key}` of {what}"));
        }
    }
    if !cx.v21 {
        for (key, entry) in args.entries() {
            if !INVOCATION_KEYS.contains(&key) {
                let hint = super::helpers::suggest(key, INVOCATION_KEYS);
                cx.err(
                    entry.key_span,
                    format!("unknown key `{key}` in {what}{hint} (job parameters require `version: 2.1`)"),
                );
            }
        }
    }
}

/// "job group `x`" → "x".
fn owner_name(owner: &str) -> &str {
    owner
        .split_once('`')
        .and_then(|(_, rest)| rest.split_once('`'))
        .map_or(owner, |(name, _)| name)
}

/// On a job group invocation only `requires`, `serial-group` and `name` are allowed.
fn check_group_invocation(cx: &mut Ctx, args: &Map, what: &str) {
    let mut custom = Vec::new();
    for (key, entry) in args.entries() {
        match key {
            "requires" | "serial-group" | "name" => {}
            "matrix" => cx.err(
                entry.key_span,
                "Job group invocations do not support `matrix`",
            ),
            k if INVOCATION_KEYS.contains(&k) => cx.err(
                entry.key_span,
                format!("Job group invocations do not support use of `{k}` ({what})"),
            ),
            k => custom.push((k, entry.key_span)),
        }
    }
    if let Some((_, span)) = custom.first() {
        let names: Vec<&str> = custom.iter().map(|(k, _)| *k).collect();
        cx.err(
            *span,
            format!(
                "Job group invocations do not support custom parameters, but found: `{}`",
                names.join("`, `")
            ),
        );
    }
}

fn check_requires(cx: &mut Ctx, node: &Node, what: &str) {
    let label = format!("`requires` of {what}");
    let items: &[Node] = match &node.value {
        Value::Seq(items) => items,
        _ if is_text(node) => return,
        _ => {
            cx.err(
                node.span,
                format!(
                    "{label} must be a list of job names, not {}",
                    node.kind_name()
                ),
            );
            return;
        }
    };
    for item in items {
        match &item.value {
            Value::Map(m) if m.len() == 1 => {
                for (name, entry) in m.entries() {
                    check_statuses(cx, &entry.value, name, &label);
                }
            }
            _ if is_text(item) => {}
            _ => cx.err(
                item.span,
                format!(
                    "an item of {label} must be a job name or `{{job: status}}`, not {}",
                    item.kind_name()
                ),
            ),
        }
    }
}

fn check_statuses(cx: &mut Ctx, node: &Node, job: &str, label: &str) {
    let one = |cx: &mut Ctx, n: &Node| {
        if !is_template(n) && !n.as_str().is_some_and(|s| STATUSES.contains(&s)) {
            cx.err(
                n.span,
                format!(
                    "unknown status {} for `{job}` in {label}; use one of {}",
                    describe(n),
                    STATUSES.join(", ")
                ),
            );
        }
    };
    match &node.value {
        Value::Seq(items) if !items.is_empty() => {
            for item in items {
                one(cx, item);
            }
        }
        Value::Seq(_) => cx.err(
            node.span,
            format!("the statuses of `{job}` in {label} are empty"),
        ),
        _ => one(cx, node),
    }
}

fn check_filters(cx: &mut Ctx, node: &Node, what: &str) {
    let label = format!("`filters` of {what}");
    match &node.value {
        Value::Str(_) => {}
        Value::Map(m) => {
            // `pull_requests` appears in real configs (jestjs/jest) with the same shape.
            let keys = ["branches", "tags", "pull_requests"];
            cx.unknown_keys(m, &keys, &label);
            for (key, v) in m.iter() {
                if keys.contains(&key) {
                    check_branch_filter(cx, v, &format!("`{key}` of {label}"));
                }
            }
        }
        _ => cx.err(
            node.span,
            format!(
                "{label} must be a map or an expression, not {}",
                node.kind_name()
            ),
        ),
    }
}

fn check_matrix(cx: &mut Ctx, node: &Node, what: &str) {
    let label = format!("`matrix` of {what}");
    let Some(m) = cx.want_map(node, &label) else {
        return;
    };
    cx.unknown_keys(m, &["parameters", "exclude", "alias"], &label);
    match m.get("parameters") {
        None => cx.err(node.span, format!("{label} needs `parameters`")),
        Some(p) => {
            if let Some(pm) = cx.want_map(p, &format!("`parameters` of {label}")) {
                for (name, values) in pm.iter() {
                    match values.as_seq() {
                        Some(items) if !items.is_empty() => {}
                        _ if is_template(values) => {}
                        _ => cx.err(
                            values.span,
                            format!(
                                "matrix parameter `{name}` of {what} must be a non-empty list of values"
                            ),
                        ),
                    }
                }
            }
        }
    }
    if let Some(ex) = m.get("exclude") {
        match ex.as_seq() {
            Some(items) => {
                for item in items {
                    cx.want_map(item, &format!("an item of `exclude` of {label}"));
                }
            }
            None => cx.err(ex.span, format!("`exclude` of {label} must be a list")),
        }
    }
    if let Some(a) = m.get("alias") {
        cx.want_text(a, &format!("`alias` of {label}"));
    }
}
