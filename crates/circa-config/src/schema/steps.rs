//! Steps: built-in steps with their keys and types; anything else is a command invocation,
//! which expansion resolves later.

use super::helpers::{Ctx, describe, has_template, is_template};
use crate::diag::Span;
use crate::yaml::{Map, Node, Value};

/// Built-in steps that carry their own keys. `steps` splices a steps parameter.
/// Step names CircleCI provides (with `when`/`unless`, which are decided at compile time).
pub const BUILTINS: &[&str] = &[
    "run",
    "deploy",
    "checkout",
    "setup_remote_docker",
    "save_cache",
    "restore_cache",
    "store_artifacts",
    "store_test_results",
    "persist_to_workspace",
    "attach_workspace",
    "add_ssh_keys",
    "when",
    "unless",
    "install_signing_bundle",
];

/// Checks a list of steps belonging to `owner` (e.g. "job `build`").
pub(crate) fn check_steps(cx: &mut Ctx, node: &Node, owner: &str) {
    if is_template(node) {
        return;
    }
    let Some(items) = node.as_seq() else {
        cx.err(
            node.span,
            format!(
                "`steps` of {owner} must be a list, not {}",
                node.kind_name()
            ),
        );
        return;
    };
    for step in items {
        check_step(cx, step, owner);
    }
}

fn check_step(cx: &mut Ctx, step: &Node, owner: &str) {
    match &step.value {
        Value::Str(name) => check_bare(cx, name, step.span, owner),
        Value::Map(map) => {
            if map.len() != 1 {
                let keys: Vec<&str> = map.keys().collect();
                cx.err(
                    step.span,
                    format!(
                        "a step in {owner} must have exactly one key (the step name), found {}: `{}` (check the indentation of its arguments)",
                        map.len(),
                        keys.join("`, `")
                    ),
                );
                return;
            }
            for (name, entry) in map.entries() {
                check_named(cx, name, entry.key_span, &entry.value, owner);
            }
        }
        _ => cx.err(
            step.span,
            format!(
                "a step in {owner} must be a step name or a map, not {}",
                step.kind_name()
            ),
        ),
    }
}

/// `- checkout`: a built-in without arguments or a command without arguments.
fn check_bare(cx: &mut Ctx, name: &str, span: Span, owner: &str) {
    if cx.commands.contains(name) || has_template(name) {
        return;
    }
    match name {
        "checkout" | "setup_remote_docker" | "add_ssh_keys" | "install_signing_bundle" => {}
        // SchemaStore's positive tests use a bare `run`; it runs nothing.
        "run" | "deploy" => cx.warn(span, format!("step `{name}` in {owner} has no command")),
        "save_cache"
        | "restore_cache"
        | "store_artifacts"
        | "store_test_results"
        | "persist_to_workspace"
        | "attach_workspace"
        | "when"
        | "unless" => {
            cx.err(span, format!("step `{name}` in {owner} needs arguments"));
        }
        _ => not_builtin(cx, name, span),
    }
}

/// A name that is not a built-in step is a command; 2.0 has no commands.
fn not_builtin(cx: &mut Ctx, name: &str, span: Span) {
    if !cx.v21 {
        let hint = super::helpers::suggest(name, BUILTINS);
        cx.err(
            span,
            format!("unknown step `{name}`{hint} (commands require `version: 2.1`)"),
        );
    }
}

fn check_named(cx: &mut Ctx, name: &str, at: Span, args: &Node, owner: &str) {
    if cx.commands.contains(name) {
        return;
    }
    let what = format!("step `{name}` in {owner}");
    // `- checkout:` with nothing after it means no arguments.
    let empty = Map::new();
    let map = match &args.value {
        Value::Map(m) => Some(m),
        Value::Null => Some(&empty),
        _ => None,
    };
    match name {
        "run" | "deploy" => match &args.value {
            Value::Str(_) | Value::Int(_) | Value::Float(_) => {}
            _ => {
                if let Some(m) = want_args(cx, map, args, &what) {
                    check_run(cx, m, at, &what);
                }
            }
        },
        "when" | "unless" => {
            cx.need_v21(at, &format!("step `{name}`"));
            if let Some(m) = want_args(cx, map, args, &what) {
                cx.ignored_keys(m, &["condition", "steps"], &what);
                if cx.require(m, "condition", at, &what)
                    && let Some(c) = m.get("condition")
                {
                    super::workflows::check_logic(cx, c, &format!("`condition` of {what}"));
                }
                if cx.require(m, "steps", at, &what)
                    && let Some(s) = m.get("steps")
                {
                    let inner = format!("`{name}` in {owner}");
                    // A single step is accepted in place of a list (circleci/node orb).
                    if matches!(s.value, Value::Map(_)) {
                        check_step(cx, s, &inner);
                    } else {
                        check_steps(cx, s, &inner);
                    }
                }
            }
        }
        "steps" => {}
        _ if !BUILTINS.contains(&name) => {
            not_builtin(cx, name, at);
            if !matches!(args.value, Value::Map(_) | Value::Null) && !is_template(args) {
                cx.err(
                    args.span,
                    format!(
                        "arguments of command `{name}` in {owner} must be a map, not {}",
                        args.kind_name()
                    ),
                );
            }
        }
        _ => {
            if let Some(m) = want_args(cx, map, args, &what) {
                check_other(cx, name, m, at, &what);
            }
        }
    }
}

fn want_args<'n>(cx: &mut Ctx, map: Option<&'n Map>, args: &Node, what: &str) -> Option<&'n Map> {
    if map.is_none() && !is_template(args) {
        cx.err(
            args.span,
            format!(
                "arguments of {what} must be a map, not {}",
                args.kind_name()
            ),
        );
    }
    map
}

const RUN_KEYS: &[&str] = &[
    "command",
    "name",
    "shell",
    "environment",
    "background",
    "working_directory",
    "no_output_timeout",
    "when",
    "max_auto_reruns",
    "auto_rerun_delay",
    // Published orbs (circleci/aws-ecs) document their steps this way; CircleCI ignores it.
    "description",
];

fn check_run(cx: &mut Ctx, m: &Map, at: Span, what: &str) {
    cx.ignored_keys(m, RUN_KEYS, what);
    if cx.require(m, "command", at, what)
        && let Some(c) = m.get("command")
    {
        cx.want_text(c, &format!("`command` of {what}"));
    }
    if let Some(v) = m.get("name") {
        want_name(cx, v, what);
    }
    for key in ["shell", "working_directory"] {
        if let Some(v) = m.get(key) {
            cx.want_text(v, &format!("`{key}` of {what}"));
        }
    }
    if let Some(v) = m.get("environment") {
        cx.want_env(v, &format!("`environment` of {what}"));
    }
    if let Some(v) = m.get("background") {
        cx.want_bool(v, &format!("`background` of {what}"));
    }
    if let Some(v) = m.get("when") {
        want_when(cx, v, what);
    }
    if let Some(v) = m.get("no_output_timeout") {
        check_no_output_timeout(cx, v, what);
    }
    let reruns = m.get("max_auto_reruns");
    if let Some(v) = reruns
        && !is_template(v)
        && !v.as_int().is_some_and(|i| (1..=5).contains(&i))
    {
        cx.err(
            v.span,
            format!(
                "`max_auto_reruns` of {what}: max_auto_reruns must be between 1 and 5, not {}",
                describe(v)
            ),
        );
    }
    let delay = m.get("auto_rerun_delay");
    if let Some(v) = delay {
        check_rerun_delay(cx, v, what);
        if reruns.is_none() {
            cx.err(
                v.span,
                format!("`auto_rerun_delay` of {what} needs `max_auto_reruns`"),
            );
        }
    }
    if m.get("background").and_then(Node::as_bool_lenient) == Some(true) {
        for (key, node) in [("max_auto_reruns", reruns), ("auto_rerun_delay", delay)] {
            if let Some(n) = node {
                cx.err(
                    n.span,
                    format!("a `background` run step cannot use `{key}` ({what})"),
                );
            }
        }
    }
}

/// A step's `name`: a string; an empty `name:` is a warning, and the step keeps its default
/// name (CircleCI runs such steps).
fn want_name(cx: &mut Ctx, v: &Node, what: &str) {
    if v.is_null() {
        cx.warn(
            v.span,
            format!("`name` of {what} is empty; the step gets its default name"),
        );
    } else {
        cx.want_text(v, &format!("`name` of {what}"));
    }
}

/// A duration; a whole number without a unit is taken as seconds (real configs write
/// `no_output_timeout: 3600`), with a warning.
fn check_no_output_timeout(cx: &mut Ctx, v: &Node, what: &str) {
    if is_template(v) || v.as_str().is_some_and(is_duration) {
        return;
    }
    match v.value {
        Value::Int(i) if i > 0 => cx.warn(
            v.span,
            format!(
                "`no_output_timeout` of {what} is a number without a unit; it is taken as seconds (write `{i}s`)"
            ),
        ),
        _ => cx.err(
            v.span,
            format!(
                "`no_output_timeout` of {what} must be a duration like `10m`, `1.5h` or `30s`, not {}",
                describe(v)
            ),
        ),
    }
}

/// `10m`, `1.25h`, `5s`: a number and a unit.
fn is_duration(s: &str) -> bool {
    let Some(number) = s.strip_suffix(['s', 'm', 'h']) else {
        return false;
    };
    let mut parts = number.splitn(2, '.');
    let whole = parts.next().unwrap_or_default();
    let frac = parts.next();
    !whole.is_empty()
        && whole.chars().all(|c| c.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_digit()))
}

/// `auto_rerun_delay`: whole seconds or minutes, at least 1, at most 10 minutes.
fn check_rerun_delay(cx: &mut Ctx, v: &Node, what: &str) {
    if is_template(v) {
        return;
    }
    let text = v.as_str().unwrap_or_default();
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    let unit = &text[digits.len()..];
    let looks_like_duration = !digits.is_empty() && unit.chars().any(|c| c.is_ascii_alphabetic());
    if !looks_like_duration {
        cx.err(
            v.span,
            format!(
                "`auto_rerun_delay` of {what}: auto_rerun_delay must be a valid duration such as `30s` or `2m`, not {}",
                describe(v)
            ),
        );
        return;
    }
    let n: u64 = digits.parse().unwrap_or(0);
    let seconds = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        _ => 0,
    };
    if seconds == 0 || digits.starts_with('0') {
        cx.err(
            v.span,
            format!(
                "`auto_rerun_delay` of {what}: auto_rerun_delay must be in the format `<n>s` or `<n>m` with n ≥ 1, not {}",
                describe(v)
            ),
        );
    } else if seconds > 600 {
        cx.err(
            v.span,
            format!("`auto_rerun_delay` of {what}: auto_rerun_delay must not exceed 10 minutes"),
        );
    }
}

fn want_when(cx: &mut Ctx, v: &Node, what: &str) {
    if !is_template(v) && !matches!(v.as_str(), Some("always" | "on_success" | "on_fail")) {
        cx.err(
            v.span,
            format!(
                "`when` of {what} must be `on_success`, `always` or `on_fail`, not {}",
                describe(v)
            ),
        );
    }
}

fn check_other(cx: &mut Ctx, name: &str, m: &Map, at: Span, what: &str) {
    // Real configs put `when` on any built-in step (circleci-demo-java-spring), and
    // CircleCI honours it.
    if let Some(v) = m.get("when") {
        want_when(cx, v, what);
    }
    let mut filtered = Map::new();
    for (k, e) in m.entries() {
        if k != "when" {
            filtered.insert(k, e.key_span, e.value.clone());
        }
    }
    let m = &filtered;
    match name {
        "checkout" => check_checkout(cx, m, what),
        "setup_remote_docker" => {
            cx.ignored_keys(
                m,
                &[
                    "name",
                    "version",
                    "docker_layer_caching",
                    "prefer_same_region",
                ],
                what,
            );
            if let Some(v) = m.get("version") {
                cx.want_text(v, &format!("`version` of {what}"));
            }
            for key in ["docker_layer_caching", "prefer_same_region"] {
                if let Some(v) = m.get(key) {
                    cx.want_bool(v, &format!("`{key}` of {what}"));
                }
            }
        }
        "save_cache" => {
            cx.ignored_keys(m, &["name", "paths", "key"], what);
            if cx.require(m, "paths", at, what)
                && let Some(v) = m.get("paths")
            {
                cx.want_text_list(v, &format!("`paths` of {what}"));
            }
            if cx.require(m, "key", at, what)
                && let Some(v) = m.get("key")
            {
                cx.want_text(v, &format!("`key` of {what}"));
            }
        }
        "restore_cache" => {
            cx.ignored_keys(m, &["name", "key", "keys"], what);
            match (m.get("key"), m.get("keys")) {
                (None, None) => cx.err(at, format!("{what} needs `key` or `keys`")),
                (key, keys) => {
                    if let Some(v) = key {
                        cx.want_text(v, &format!("`key` of {what}"));
                    }
                    if let Some(v) = keys {
                        cx.want_text_list(v, &format!("`keys` of {what}"));
                    }
                }
            }
        }
        "store_artifacts" => {
            paths_step(cx, m, at, what, &["path"], &["name", "path", "destination"])
        }
        "store_test_results" => paths_step(cx, m, at, what, &["path"], &["name", "path"]),
        "attach_workspace" => paths_step(cx, m, at, what, &["at"], &["name", "at"]),
        "persist_to_workspace" => {
            paths_step(cx, m, at, what, &["root"], &["name", "root", "paths"]);
            if cx.require(m, "paths", at, what)
                && let Some(v) = m.get("paths")
            {
                cx.want_text_or_list(v, &format!("`paths` of {what}"));
            }
        }
        "add_ssh_keys" => {
            cx.ignored_keys(m, &["name", "fingerprints"], what);
            if let Some(v) = m.get("fingerprints") {
                cx.want_text_list(v, &format!("`fingerprints` of {what}"));
            }
        }
        _ => {}
    }
}

/// A step whose keys are all strings: `required` must be present, `allowed` lists all keys.
fn paths_step(cx: &mut Ctx, m: &Map, at: Span, what: &str, required: &[&str], allowed: &[&str]) {
    cx.ignored_keys(m, allowed, what);
    for key in required {
        cx.require(m, key, at, what);
    }
    for key in allowed {
        if *key != "paths"
            && let Some(v) = m.get(key)
        {
            cx.want_text(v, &format!("`{key}` of {what}"));
        }
    }
}

fn check_checkout(cx: &mut Ctx, m: &Map, what: &str) {
    cx.ignored_keys(m, &["name", "path", "method", "depth"], what);
    for key in ["name", "path"] {
        if let Some(v) = m.get(key) {
            cx.want_text(v, &format!("`{key}` of {what}"));
        }
    }
    let method = m.get("method");
    let method_text = method.and_then(Node::as_str);
    if let Some(v) = method
        && !is_template(v)
        && !matches!(method_text, Some("blobless" | "full" | "shallow"))
    {
        cx.err(
            v.span,
            format!(
                "Checkout method {} is invalid in {what}; use `blobless`, `full` or `shallow`",
                describe(v).replace('`', "'")
            ),
        );
    }
    let templated = method.is_some_and(is_template);
    match m.get("depth") {
        Some(d) if method_text != Some("shallow") && !templated => cx.err(
            d.span,
            format!("Checkout depth can only be used with the shallow checkout method ({what})"),
        ),
        Some(d) if !is_template(d) && d.as_int().is_none_or(|i| i < 1) => cx.err(
            d.span,
            format!(
                "Checkout depth is not an integer ≥ 1 in {what}: {}",
                describe(d)
            ),
        ),
        Some(_) => {}
        None if method_text == Some("shallow") => {
            if let Some(v) = method {
                cx.err(
                    v.span,
                    format!(
                        "Checkout depth is not an integer: `method: shallow` in {what} needs `depth`"
                    ),
                );
            }
        }
        None => {}
    }
}
