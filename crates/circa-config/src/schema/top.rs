//! The top level of a config and of an orb: version, sections, 2.1-only features.

use super::helpers::{Ctx, describe, is_template};
use super::jobs::{check_executors, check_jobs};
use super::params::{Owner, check_params};
use super::steps::check_steps;
use super::workflows::{check_job_groups, check_workflows};
use crate::diag::Diagnostics;
use crate::yaml::{Map, Node, Value};
use std::collections::HashSet;

/// Whether a top-level section holds nothing (`parameters:` with no value, or `{}`).
fn is_empty_section(node: &Node) -> bool {
    node.is_null() || node.as_map().is_some_and(Map::is_empty)
}

/// Checks a whole config file.
pub(crate) fn config(root: &Node, diags: &mut Diagnostics) {
    let Value::Map(top) = &root.value else {
        diags.error(
            root.span,
            format!("a config must be a map of keys, not {}", root.kind_name()),
        );
        return;
    };
    let v21 = match top.get("version") {
        None => {
            diags.error(root.span, "the config needs `version` (2, 2.0 or 2.1)");
            true
        }
        Some(v) => match version_of(v) {
            Some(two_one) => two_one,
            None => {
                diags.error(
                    v.span,
                    format!("`version` must be 2, 2.0 or 2.1, not {}", describe(v)),
                );
                true
            }
        },
    };
    let mut cx = Ctx {
        diags,
        v21,
        commands: names(top.get("commands")),
        groups: names(top.get("job-groups")),
    };
    for key in ["orbs", "commands", "parameters", "executors", "job-groups"] {
        match top.entry(key) {
            // An empty section defines nothing: CircleCI runs such a 2.0 config.
            Some(e) if !v21 && is_empty_section(&e.value) => cx.warn(
                e.key_span,
                format!("`{key}` requires `version: 2.1`; this one is empty and ignored"),
            ),
            Some(e) => cx.need_v21(e.key_span, &format!("`{key}`")),
            None => {}
        }
    }
    if let Some(s) = top.get("setup") {
        cx.want_bool(s, "`setup`");
        // A setup config (dynamic configuration) must be 2.1 (DYN "constraints").
        if s.as_bool_lenient() == Some(true) {
            cx.need_v21(s.span, "`setup: true`");
        }
    }
    if let Some(o) = top.get("orbs") {
        check_orbs(&mut cx, o);
    }
    if let Some(c) = top.get("commands") {
        check_commands(&mut cx, c);
    }
    if let Some(p) = top.get("parameters")
        && !p.is_null()
    {
        check_params(&mut cx, p, "the pipeline", Owner::Pipeline);
    }
    if let Some(e) = top.get("executors") {
        check_executors(&mut cx, e);
    }
    if let Some(j) = top.get("jobs") {
        check_jobs(&mut cx, j);
    }
    if let Some(g) = top.get("job-groups") {
        check_job_groups(&mut cx, g);
    }
    if let Some(w) = top.get("workflows") {
        check_workflows(&mut cx, w);
        if !v21
            && let Some(wm) = w.as_map()
            && !wm.contains_key("version")
        {
            cx.warn(
                w.span,
                "`workflows` of a `version: 2` config should carry `version: 2`",
            );
        }
    }
    // Other top-level keys (`defaults:`, `aliases:`, `references:` ...) hold YAML anchors
    // in real configs; CircleCI drops them silently, and so do we.
}

/// Checks an orb file.
pub(crate) fn orb(root: &Node, diags: &mut Diagnostics) {
    let Value::Map(top) = &root.value else {
        diags.error(
            root.span,
            format!("an orb must be a map of keys, not {}", root.kind_name()),
        );
        return;
    };
    if let Some(v) = top.get("version")
        && version_of(v) != Some(true)
    {
        diags.error(
            v.span,
            format!("the `version` of an orb must be 2.1, not {}", describe(v)),
        );
    }
    let mut cx = Ctx {
        diags,
        v21: true,
        commands: HashSet::new(),
        groups: HashSet::new(),
    };
    orb_body(&mut cx, top, "the orb");
}

/// The sections of an orb, in a file or inline under `orbs:`.
fn orb_body(cx: &mut Ctx, top: &Map, what: &str) {
    let mut cx = Ctx {
        diags: &mut *cx.diags,
        v21: true,
        commands: names(top.get("commands")),
        groups: HashSet::new(),
    };
    if let Some(d) = top.get("description") {
        cx.want_text(d, &format!("`description` of {what}"));
    }
    if let Some(d) = top.get("display") {
        let label = format!("`display` of {what}");
        if let Some(m) = cx.want_map(d, &label) {
            cx.unknown_keys(m, &["home_url", "source_url"], &label);
            for (k, v) in m.iter() {
                cx.want_text(v, &format!("`{k}` of {label}"));
            }
        }
    }
    if let Some(e) = top.get("examples") {
        cx.want_map(e, &format!("`examples` of {what}"));
    }
    if let Some(o) = top.get("orbs") {
        check_orbs(&mut cx, o);
    }
    if let Some(c) = top.get("commands") {
        check_commands(&mut cx, c);
    }
    if let Some(e) = top.get("executors") {
        check_executors(&mut cx, e);
    }
    if let Some(j) = top.get("jobs") {
        check_jobs(&mut cx, j);
    }
}

/// `Some(true)` for 2.1, `Some(false)` for 2 and 2.0, `None` otherwise.
fn version_of(v: &Node) -> Option<bool> {
    let text = match &v.value {
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format!("{f}"),
        Value::Str(s) => s.trim().to_string(),
        _ => return None,
    };
    match text.as_str() {
        "2.1" => Some(true),
        "2" | "2.0" => Some(false),
        _ => None,
    }
}

fn names(section: Option<&Node>) -> HashSet<String> {
    section
        .and_then(Node::as_map)
        .map(|m| m.keys().map(str::to_string).collect())
        .unwrap_or_default()
}

fn check_orbs(cx: &mut Ctx, node: &Node) {
    if node.is_null() {
        return;
    }
    let Some(orbs) = cx.want_map(node, "`orbs`") else {
        return;
    };
    for (name, entry) in orbs.entries() {
        cx.check_name(name, entry.key_span, "orb", false);
        let what = format!("orb `{name}`");
        match &entry.value.value {
            Value::Str(s) => {
                let ok = is_template(&entry.value)
                    || s.starts_with("https://")
                    || s.split_once('@').is_some_and(|(id, ver)| {
                        !ver.is_empty()
                            && id
                                .split_once('/')
                                .is_some_and(|(ns, n)| !ns.is_empty() && !n.is_empty())
                    });
                if !ok {
                    cx.err(
                        entry.value.span,
                        format!("{what} must be `namespace/name@version`, a URL or an inline orb, not `{s}`"),
                    );
                }
            }
            Value::Map(m) => orb_body(cx, m, &format!("inline {what}")),
            _ => cx.err(
                entry.value.span,
                format!(
                    "{what} must be `namespace/name@version` or an inline orb, not {}",
                    entry.value.kind_name()
                ),
            ),
        }
    }
}

fn check_commands(cx: &mut Ctx, node: &Node) {
    if node.is_null() {
        return;
    }
    let Some(commands) = cx.want_map(node, "`commands`") else {
        return;
    };
    for (name, entry) in commands.entries() {
        cx.check_name(name, entry.key_span, "command", false);
        let what = format!("command `{name}`");
        let Some(c) = cx.want_map(&entry.value, &what) else {
            continue;
        };
        cx.unknown_keys(c, &["steps", "parameters", "description"], &what);
        if let Some(d) = c.get("description") {
            cx.want_text(d, &format!("`description` of {what}"));
        }
        if let Some(p) = c.get("parameters") {
            check_params(cx, p, &what, Owner::Definition);
        }
        match c.get("steps") {
            Some(s) => check_steps(cx, s, &what),
            None => cx.err(entry.key_span, format!("{what} needs `steps`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{CompileOptions, compile};

    #[test]
    fn a_setup_config_must_be_2_1() {
        let text = "version: 2\nsetup: true\njobs:\n  build:\n    docker: [{image: a}]\n    steps: [checkout]\n";
        let compiled = compile(text.as_bytes(), &CompileOptions::default());
        assert!(
            compiled.diagnostics.iter().any(
                |d| d.is_error() && d.message.contains("`setup: true` requires `version: 2.1`")
            ),
            "{:?}",
            compiled.diagnostics
        );
    }
}
