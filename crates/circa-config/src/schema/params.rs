//! Parameter declarations of commands, jobs, executors and the pipeline.

use super::helpers::{Ctx, describe, is_template, is_text};
use super::steps::check_steps;
use crate::yaml::{Node, Value};

/// Whose parameters are being declared: pipeline parameters allow fewer types and need a
/// default.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    /// Top-level `parameters:`.
    Pipeline,
    /// A command or executor.
    Definition,
    /// A job: like a definition, but its parameters cannot take the names of invocation keys.
    Job,
}

const ALL_TYPES: &[&str] = &[
    "string",
    "boolean",
    "integer",
    "enum",
    "executor",
    "steps",
    "env_var_name",
];
const PIPELINE_TYPES: &[&str] = &["string", "boolean", "integer", "enum"];
const DECL_KEYS: &[&str] = &["type", "default", "description", "enum"];

/// Checks a `parameters:` map declared by `owner_name` (e.g. "job `build`").
pub(crate) fn check_params(cx: &mut Ctx, node: &Node, owner_name: &str, owner: Owner) {
    if node.is_null() {
        // `parameters:` with nothing after it declares none; CircleCI runs such configs.
        cx.warn(
            node.span,
            format!("`parameters` of {owner_name} is empty; it declares no parameters"),
        );
        return;
    }
    let Some(map) = cx.want_map(node, &format!("`parameters` of {owner_name}")) else {
        return;
    };
    for (name, entry) in map.entries() {
        cx.check_name(name, entry.key_span, "parameter", false);
        // The workflow keeps its invocation keys for itself: a job parameter of such a name
        // could never be passed.
        if owner == Owner::Job && super::workflows::INVOCATION_KEYS.contains(&name) {
            cx.err(
                entry.key_span,
                format!(
                    "`{name}` is a reserved invocation key and cannot be a parameter of {owner_name}"
                ),
            );
        }
        let what = format!("parameter `{name}` of {owner_name}");
        check_decl(cx, &entry.value, entry.key_span, &what, owner);
    }
}

fn check_decl(cx: &mut Ctx, node: &Node, at: crate::diag::Span, what: &str, owner: Owner) {
    let Some(decl) = cx.want_map(node, what) else {
        return;
    };
    cx.unknown_keys(decl, DECL_KEYS, what);
    if let Some(d) = decl.get("description")
        && !d.is_null()
    {
        cx.want_text(d, &format!("`description` of {what}"));
    }
    let allowed = match owner {
        Owner::Pipeline => PIPELINE_TYPES,
        Owner::Definition | Owner::Job => ALL_TYPES,
    };
    let ty = match decl.get("type") {
        None => {
            cx.err(at, format!("{what} needs `type`"));
            return;
        }
        Some(t) => match t.as_str() {
            Some(s) if allowed.contains(&s) => s,
            _ => {
                cx.err(
                    t.span,
                    format!(
                        "{what} has type {}; allowed types: {}",
                        describe(t),
                        allowed.join(", ")
                    ),
                );
                return;
            }
        },
    };
    if owner == Owner::Pipeline && !decl.contains_key("default") {
        cx.err(at, format!("pipeline {what} needs a `default`"));
    }
    let choices: Vec<String> = match (ty, decl.get("enum")) {
        ("enum", None) => {
            cx.err(at, format!("enum {what} needs an `enum` list"));
            return;
        }
        ("enum", Some(list)) => match list.as_seq() {
            Some(items) if !items.is_empty() => {
                items.iter().filter_map(Node::scalar_text).collect()
            }
            _ => {
                cx.err(
                    list.span,
                    format!("`enum` of {what} must be a non-empty list"),
                );
                return;
            }
        },
        (_, Some(list)) => {
            // Published orbs (cypress-io/cypress) carry such lists; CircleCI ignores them.
            cx.warn(
                list.span,
                format!("`enum` is ignored on {what}: it is not an enum parameter"),
            );
            Vec::new()
        }
        (_, None) => Vec::new(),
    };
    if let Some(default) = decl.get("default") {
        check_default(cx, default, ty, &choices, what);
    }
}

fn check_default(cx: &mut Ctx, d: &Node, ty: &str, choices: &[String], what: &str) {
    if is_template(d) {
        return;
    }
    let bad = |cx: &mut Ctx, expected: &str| {
        cx.err(
            d.span,
            format!(
                "default of {what} must be {expected}, not {}",
                describe_kind(d)
            ),
        );
    };
    match ty {
        "string" => {
            if matches!(d.value, Value::Bool(_)) {
                cx.err(
                    d.span,
                    format!(
                        "default of {what} is an unquoted YAML boolean; quote it (`\"{}\"`) for a string parameter",
                        d.value
                    ),
                );
            } else if !is_text(d) && !d.is_null() {
                bad(cx, "a string");
            }
        }
        "boolean" if d.as_bool_lenient().is_none() => bad(cx, "a boolean"),
        "integer" if d.as_int().is_none() => bad(cx, "an integer"),
        "enum" => match d.scalar_text() {
            Some(t) if choices.contains(&t) => {}
            _ => cx.err(
                d.span,
                format!(
                    "default {} of {what} is not one of the `enum` values ({})",
                    describe(d),
                    choices.join(", ")
                ),
            ),
        },
        "env_var_name" => match d.as_str() {
            Some(s) if is_env_name(s) => {}
            Some("") => {}
            _ => bad(
                cx,
                "an environment variable name (`[A-Za-z_][A-Za-z0-9_]*`)",
            ),
        },
        "executor" => match &d.value {
            Value::Str(_) => {}
            Value::Map(m) if m.contains_key("name") => {}
            _ => bad(cx, "an executor name or a map with `name`"),
        },
        "steps" => match &d.value {
            Value::Seq(_) => check_steps(cx, d, &format!("the default of {what}")),
            Value::Null => {}
            _ => bad(cx, "a list of steps"),
        },
        _ => {}
    }
}

fn describe_kind(d: &Node) -> String {
    if d.value.is_scalar() {
        format!("{} {}", d.kind_name(), describe(d))
    } else {
        d.kind_name().to_string()
    }
}

/// Whether `s` is a POSIX environment variable name.
pub(crate) fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
