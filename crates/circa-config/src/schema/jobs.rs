//! Job and executor definitions: keys, executor kinds, docker images, machine and macOS.

use super::helpers::{Ctx, describe, is_template, is_text};
use super::params::{Owner, check_params};
use super::steps::check_steps;
use crate::diag::Span;
use crate::yaml::{Map, Node, Value};

const JOB_TYPES: &[&str] = &["build", "approval", "no-op", "release", "lock", "unlock"];

const BUILD_KEYS: &[&str] = &[
    "type",
    "docker",
    "machine",
    "macos",
    "windows",
    "executor",
    "resource_class",
    "parallelism",
    "environment",
    "working_directory",
    "shell",
    "steps",
    "parameters",
    "circleci_ip_ranges",
    "retention",
    "branches",
    "description",
];

/// The executor kinds a job or executor names; exactly one is allowed.
const KINDS: &[&str] = &["docker", "machine", "macos", "windows", "executor"];

/// Checks the `jobs:` map.
pub(crate) fn check_jobs(cx: &mut Ctx, node: &Node) {
    let Some(jobs) = cx.want_map(node, "`jobs`") else {
        return;
    };
    let mut seen: Vec<&str> = Vec::new();
    for (name, entry) in jobs.entries() {
        // Processed configs (`circleci config process` output, which is 2.0) carry orb jobs
        // as `alias/job`: a 2.0 config may name a job so.
        if cx.v21 || !name.contains('/') {
            cx.check_job_name(name, entry.key_span, "job");
        }
        if let Some(first) = seen.iter().find(|s| s.eq_ignore_ascii_case(name)) {
            cx.err(
                entry.key_span,
                format!("job `{name}` clashes with job `{first}` (job names are case-insensitive)"),
            );
        }
        seen.push(name);
        check_job(cx, name, entry.key_span, &entry.value);
    }
}

fn check_job(cx: &mut Ctx, name: &str, at: Span, node: &Node) {
    let what = format!("job `{name}`");
    let Some(job) = cx.want_map(node, &what) else {
        return;
    };
    let ty = match job.get("type") {
        None => "build",
        Some(t) => match t.as_str() {
            Some(s) if JOB_TYPES.contains(&s) => s,
            _ => {
                cx.err(
                    t.span,
                    format!(
                        "Invalid job type '{}' for {what}. Allowed types: approval, build, no-op, release, lock, unlock",
                        t.value
                    ),
                );
                return;
            }
        },
    };
    match ty {
        "build" => check_build_job(cx, job, at, &what),
        "release" => {
            if cx.require(job, "plan_name", at, &what)
                && let Some(p) = job.get("plan_name")
            {
                cx.want_text(p, &format!("`plan_name` of {what}"));
            }
            if let Some(v) = job.get("validation") {
                cx.want_map(v, &format!("`validation` of {what}"));
            }
        }
        "lock" | "unlock" => {
            if cx.require(job, "key", at, &what)
                && let Some(k) = job.get("key")
            {
                cx.want_text(k, &format!("`key` of {what}"));
            }
        }
        _ => {
            if let Some(s) = job.entry("steps") {
                cx.warn(
                    s.key_span,
                    format!("Steps only exist in `build` jobs. Steps here will be ignored ({what} has `type: {ty}`)."),
                );
            }
        }
    }
}

fn check_build_job(cx: &mut Ctx, job: &Map, at: Span, what: &str) {
    // CircleCI runs jobs with keys it does not know (`filters:` on a job, say); it ignores them.
    cx.ignored_keys(job, BUILD_KEYS, what);
    check_kinds(cx, job, at, what, true);
    check_common(cx, job, what);
    if let Some(e) = job.entry("executor") {
        cx.need_v21(e.key_span, "`executor` in a job");
        check_executor_ref(cx, &e.value, what);
    }
    if let Some(e) = job.entry("parameters") {
        cx.need_v21(e.key_span, "job `parameters`");
        check_params(cx, &e.value, what, Owner::Job);
    }
    match job.get("steps") {
        Some(s) => {
            // A processed (`version: 2`) config keeps a job whose steps were all left out by
            // their `when`: it runs and does nothing.
            if s.as_seq().is_some_and(<[Node]>::is_empty) {
                cx.warn(
                    s.span,
                    format!("`steps` of {what} is empty; the job runs nothing"),
                );
            }
            check_steps(cx, s, what);
        }
        None => cx.err(at, format!("{what} needs `steps`")),
    }
    if let Some(p) = job.get("parallelism") {
        cx.want_int_range(p, 1, i64::MAX, &format!("`parallelism` of {what}"));
    }
    if let Some(v) = job.get("circleci_ip_ranges") {
        cx.want_bool(v, &format!("`circleci_ip_ranges` of {what}"));
    }
    if let Some(v) = job.get("retention") {
        check_retention(cx, v, what);
    }
    if let Some(b) = job.entry("branches") {
        cx.warn(
            b.key_span,
            format!("`branches` in {what} is deprecated; use workflow job `filters` instead"),
        );
        check_branch_filter(cx, &b.value, &format!("`branches` of {what}"));
    }
    if let Some(d) = job.get("description") {
        cx.want_text(d, &format!("`description` of {what}"));
    }
}

/// `{only, ignore}`, each a string or a list of strings.
pub(crate) fn check_branch_filter(cx: &mut Ctx, node: &Node, what: &str) {
    if let Some(m) = cx.want_map(node, what) {
        cx.unknown_keys(m, &["only", "ignore"], what);
        for (key, v) in m.iter() {
            cx.want_text_or_list(v, &format!("`{key}` of {what}"));
        }
    }
}

fn check_retention(cx: &mut Ctx, node: &Node, what: &str) {
    let what = format!("`retention` of {what}");
    let Some(m) = cx.want_map(node, &what) else {
        return;
    };
    cx.unknown_keys(m, &["caches"], &what);
    if let Some(c) = m.get("caches")
        && !is_template(c)
    {
        let days = c
            .as_str()
            .and_then(|s| s.strip_suffix('d'))
            .filter(|d| !d.starts_with('0'))
            .and_then(|d| d.parse::<u32>().ok());
        if !days.is_some_and(|d| (1..=30).contains(&d)) {
            cx.err(
                c.span,
                format!(
                    "`caches` of {what} must be a number of days from `1d` to `30d`, not {}",
                    describe(c)
                ),
            );
        }
    }
}

/// Checks the `executors:` map.
pub(crate) fn check_executors(cx: &mut Ctx, node: &Node) {
    if node.is_null() {
        return;
    }
    let Some(executors) = cx.want_map(node, "`executors`") else {
        return;
    };
    for (name, entry) in executors.entries() {
        cx.check_name(name, entry.key_span, "executor", false);
        let what = format!("executor `{name}`");
        let Some(ex) = cx.want_map(&entry.value, &what) else {
            continue;
        };
        cx.unknown_keys(
            ex,
            &[
                "docker",
                "machine",
                "macos",
                "windows",
                "resource_class",
                "shell",
                "working_directory",
                "environment",
                "parameters",
                "description",
            ],
            &what,
        );
        check_kinds(cx, ex, entry.key_span, &what, false);
        check_common(cx, ex, &what);
        if let Some(p) = ex.get("parameters") {
            check_params(cx, p, &what, Owner::Definition);
        }
        if let Some(d) = ex.get("description") {
            cx.want_text(d, &format!("`description` of {what}"));
        }
    }
}

/// Exactly one executor kind; checks each kind's own body.
fn check_kinds(cx: &mut Ctx, m: &Map, at: Span, what: &str, is_job: bool) {
    let present: Vec<(&str, Span)> = KINDS
        .iter()
        .filter(|k| is_job || **k != "executor")
        .filter_map(|k| m.entry(k).map(|e| (*k, e.key_span)))
        .collect();
    match present.as_slice() {
        [] => {
            let list = if is_job {
                "`docker`, `machine`, `macos` or `executor`"
            } else {
                "`docker`, `machine`, `macos` or `windows`"
            };
            cx.err(at, format!("{what} needs an executor: one of {list}"));
        }
        _ => {
            // A job may name an `executor` and also its own `docker`/`machine`/`macos`: the job's
            // kind replaces the executor's (RC "Overriding keys when invoking an executor").
            // Two kinds written on the same job or executor conflict.
            let kinds: Vec<&(&str, Span)> =
                present.iter().filter(|(k, _)| *k != "executor").collect();
            if let [(first, _), rest @ ..] = kinds.as_slice() {
                for (other, span) in rest {
                    cx.err(*span, format!("{what} has both `{first}` and `{other}`"));
                }
            }
        }
    }
    if let Some(d) = m.get("docker") {
        check_docker(cx, d, what);
    }
    if let Some(mc) = m.get("machine") {
        check_machine(cx, mc, what);
    }
    if let Some(mac) = m.get("macos") {
        check_macos(cx, mac, what);
    }
    super::resource::check_resource_class(cx, m, what);
}

/// Keys a job and an executor share.
fn check_common(cx: &mut Ctx, m: &Map, what: &str) {
    for key in ["working_directory", "shell"] {
        if let Some(v) = m.get(key) {
            cx.want_text(v, &format!("`{key}` of {what}"));
        }
    }
    if let Some(v) = m.get("environment") {
        cx.want_env(v, &format!("`environment` of {what}"));
    }
}

/// `executor: name` or `executor: {name: x, <param>: value}`.
fn check_executor_ref(cx: &mut Ctx, node: &Node, what: &str) {
    match &node.value {
        Value::Str(_) => {}
        Value::Map(m) => {
            if !m.contains_key("name") {
                cx.err(node.span, format!("`executor` of {what} needs `name`"));
            }
        }
        _ => cx.err(
            node.span,
            format!(
                "`executor` of {what} must be a name or a map with `name`, not {}",
                node.kind_name()
            ),
        ),
    }
}

const DOCKER_KEYS: &[&str] = &[
    "image",
    "name",
    "entrypoint",
    "command",
    "user",
    "environment",
    "auth",
    "aws_auth",
    "gcp_auth",
];

fn check_docker(cx: &mut Ctx, node: &Node, what: &str) {
    if is_template(node) {
        return;
    }
    let Some(images) = node.as_seq() else {
        cx.err(
            node.span,
            format!(
                "`docker` of {what} must be a list of images, not {}",
                node.kind_name()
            ),
        );
        return;
    };
    if images.is_empty() {
        cx.err(node.span, format!("`docker` of {what} has no image"));
    }
    for image in images {
        let Some(m) = cx.want_map(image, &format!("a docker image of {what}")) else {
            continue;
        };
        cx.ignored_keys(m, DOCKER_KEYS, "docker image");
        match m.get("image") {
            None => cx.err(
                image.span,
                format!("a docker image of {what} needs `image`"),
            ),
            Some(i) if !is_text(i) => cx.want_text(i, &format!("`image` of {what}")),
            Some(i) => {
                if let Some(s) = i.as_str() {
                    check_digest(cx, s, i.span);
                }
            }
        }
        for key in ["name", "user"] {
            if let Some(v) = m.get(key) {
                cx.want_text(v, &format!("`{key}` of a docker image of {what}"));
            }
        }
        for key in ["entrypoint", "command"] {
            if let Some(v) = m.get(key) {
                cx.want_text_or_list(v, &format!("`{key}` of a docker image of {what}"));
            }
        }
        if let Some(v) = m.get("environment") {
            cx.want_env(v, &format!("`environment` of a docker image of {what}"));
        }
        check_auth(cx, m, what);
    }
}

/// An auth block: its key, the keys it allows, and the sets of keys of which one must be
/// complete (none: no requirement).
type AuthShape = (
    &'static str,
    &'static [&'static str],
    &'static [&'static [&'static str]],
);

fn check_auth(cx: &mut Ctx, m: &Map, what: &str) {
    let groups: [AuthShape; 3] = [
        (
            "auth",
            &["username", "password"],
            &[&["username", "password"]],
        ),
        (
            "aws_auth",
            &[
                "aws_access_key_id",
                "aws_secret_access_key",
                "oidc_role_arn",
            ],
            &[
                &["aws_access_key_id", "aws_secret_access_key"],
                &["oidc_role_arn"],
            ],
        ),
        (
            "gcp_auth",
            &[
                "oidc_service_account",
                "workload_identity_pool",
                "workload_identity_provider",
            ],
            &[],
        ),
    ];
    for (key, allowed, alternatives) in groups {
        let Some(node) = m.get(key) else { continue };
        if is_template(node) {
            continue;
        }
        let label = format!("`{key}` of a docker image of {what}");
        let Some(a) = cx.want_map(node, &label) else {
            continue;
        };
        cx.unknown_keys(a, allowed, &label);
        for (k, v) in a.iter() {
            cx.want_text(v, &format!("`{k}` of {label}"));
        }
        let satisfied = alternatives.is_empty()
            || alternatives
                .iter()
                .any(|alt| alt.iter().all(|k| a.contains_key(k)));
        if !satisfied {
            let wanted: Vec<String> = alternatives
                .iter()
                .map(|alt| format!("`{}`", alt.join("` and `")))
                .collect();
            cx.err(node.span, format!("{label} needs {}", wanted.join(" or ")));
        }
    }
}

/// `image@sha256:<64 hex>`: a digest, when given, must be well formed.
fn check_digest(cx: &mut Ctx, image: &str, span: Span) {
    if super::helpers::has_template(image) {
        return;
    }
    let Some((_, digest)) = image.split_once('@') else {
        return;
    };
    let ok = digest
        .strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()));
    if !ok {
        cx.err(
            span,
            format!(
                "Invalid Docker image digest format in `{image}`. Expected format: sha256:<64 hex characters>"
            ),
        );
    }
}

fn check_machine(cx: &mut Ctx, node: &Node, what: &str) {
    match &node.value {
        Value::Bool(_) | Value::Str(_) | Value::Int(_) | Value::Null => {}
        Value::Map(m) => {
            let label = format!("`machine` of {what}");
            cx.unknown_keys(
                m,
                &[
                    "image",
                    "docker_layer_caching",
                    "resource_class",
                    "shell",
                    "enabled",
                ],
                &label,
            );
            for key in ["image", "resource_class", "shell"] {
                if let Some(v) = m.get(key) {
                    cx.want_text(v, &format!("`{key}` of {label}"));
                }
            }
            for key in ["docker_layer_caching", "enabled"] {
                if let Some(v) = m.get(key) {
                    cx.want_bool(v, &format!("`{key}` of {label}"));
                }
            }
        }
        _ => cx.err(
            node.span,
            format!(
                "`machine` of {what} must be `true` or a map, not {}",
                node.kind_name()
            ),
        ),
    }
}

fn check_macos(cx: &mut Ctx, node: &Node, what: &str) {
    let label = format!("`macos` of {what}");
    if is_template(node) {
        return;
    }
    let Some(m) = cx.want_map(node, &label) else {
        return;
    };
    cx.unknown_keys(
        m,
        &["xcode", "resource_class", "shell", "code_signing"],
        &label,
    );
    if cx.require(m, "xcode", node.span, &label)
        && let Some(x) = m.get("xcode")
    {
        cx.want_text(x, &format!("`xcode` of {label}"));
    }
}

#[cfg(test)]
mod tests {
    use crate::compile::error_messages as errors;

    #[test]
    fn a_job_may_name_an_executor_and_its_own_docker() {
        let text = "version: 2.1\nexecutors:\n  e:\n    docker: [{image: a}]\njobs:\n  j:\n    executor: e\n    docker: [{image: b}]\n    steps: [checkout]\nworkflows:\n  w:\n    jobs: [j]\n";
        assert_eq!(errors(text), Vec::<String>::new());
    }

    #[test]
    fn two_kinds_on_one_job_conflict() {
        let text = "version: 2.1\njobs:\n  j:\n    docker: [{image: b}]\n    machine: true\n    steps: [checkout]\nworkflows:\n  w:\n    jobs: [j]\n";
        let errs = errors(text);
        assert!(
            errs.iter()
                .any(|e| e.contains("has both `docker` and `machine`")),
            "{errs:?}"
        );
    }
}
