//! Steps in forms CircleCI still runs although its reference no longer shows them:
//! - the form of 2.0's first releases, `- type: shell` with the step's keys beside `type`
//!   (`command`, `name`, `pwd`, ...);
//! - built-in step names written with `-` for `_` (`restore-cache`, `save-cache`): CircleCI's
//!   compiler reads `-` and `_` in a step name alike;
//! - a job's or executor's `environment` written as one `NAME=value` string (or several,
//!   separated by blanks), the form of the list's items without the list.
//!
//! Each is rewritten into today's form before the schema check (`- run: {command: ...}`,
//! `- restore_cache:`), with a warning at the step, so every later stage sees one form. A
//! command defined with the written name keeps it.

use crate::diag::Diagnostics;
use crate::yaml::{Map, Node, Value};

/// The step names of the early form and the step each is today.
const LEGACY_STEPS: &[(&str, &str)] = &[
    ("shell", "run"),
    ("run", "run"),
    ("deploy", "deploy"),
    ("checkout", "checkout"),
    ("add-ssh-keys", "add_ssh_keys"),
    ("artifacts-store", "store_artifacts"),
    ("cache-save", "save_cache"),
    ("cache-restore", "restore_cache"),
    ("test-results-store", "store_test_results"),
];

/// Rewrites every step of an older form in the jobs and commands of `root` into today's form.
pub fn rewrite_legacy_steps(root: &mut Node, diags: &mut Diagnostics) {
    let Some(top) = root.as_map_mut() else {
        return;
    };
    let commands: Vec<String> = top
        .get("commands")
        .and_then(Node::as_map)
        .map(|c| c.keys().map(str::to_string).collect())
        .unwrap_or_default();
    for section in ["jobs", "commands", "executors"] {
        let Some(defs) = top.get_mut(section).and_then(Node::as_map_mut) else {
            continue;
        };
        for entry in defs.entries_mut() {
            let Some(def) = entry.value.as_map_mut() else {
                continue;
            };
            if let Some(steps) = def.get_mut("steps") {
                rewrite_steps(steps, &commands, diags);
            }
            if section != "commands"
                && let Some(env) = def.get_mut("environment")
            {
                rewrite_env_string(env, diags);
            }
        }
    }
}

/// `environment: NAME=value` → `environment: {NAME: value}`, when every blank-separated word
/// is `NAME=value` with a variable's name.
fn rewrite_env_string(env: &mut Node, diags: &mut Diagnostics) {
    let Some(text) = env.as_str() else {
        return;
    };
    let pairs: Option<Vec<(&str, &str)>> = text
        .split_whitespace()
        .map(|word| word.split_once('=').filter(|(name, _)| is_var_name(name)))
        .collect();
    let Some(pairs) = pairs.filter(|p| !p.is_empty()) else {
        return;
    };
    let mut vars = Map::new();
    for (name, value) in pairs {
        vars.insert(name, env.span, Node::str(env.span, value));
    }
    diags.warning(
        env.span,
        "`environment` should be a map of variable names to values; the `NAME=value` string is read as one",
    );
    *env = Node::map(env.span, vars);
}

/// Whether `name` can name an environment variable.
fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Rewrites each step of a list, and of the lists inside its `when`/`unless` steps.
fn rewrite_steps(steps: &mut Node, commands: &[String], diags: &mut Diagnostics) {
    let Value::Seq(items) = &mut steps.value else {
        return;
    };
    for step in items.iter_mut() {
        rewrite_type_step(step, diags);
        rewrite_hyphenated_name(step, commands, diags);
        let inner = step.as_map_mut().and_then(|m| {
            ["when", "unless"]
                .into_iter()
                .find(|k| m.contains_key(k))
                .and_then(|k| m.get_mut(k))
        });
        if let Some(nested) = inner
            .and_then(Node::as_map_mut)
            .and_then(|m| m.get_mut("steps"))
        {
            rewrite_steps(nested, commands, diags);
        }
    }
}

/// `- restore-cache: ...` → `- restore_cache: ...` unless a command has the written name.
fn rewrite_hyphenated_name(step: &mut Node, commands: &[String], diags: &mut Diagnostics) {
    let written = match &step.value {
        Value::Str(name) => name.clone(),
        Value::Map(m) if m.len() == 1 => m.keys().next().unwrap_or_default().to_string(),
        _ => return,
    };
    let today = written.replace('-', "_");
    if today == written
        || !super::steps::BUILTINS.contains(&today.as_str())
        || commands.contains(&written)
    {
        return;
    }
    let span = match &step.value {
        Value::Map(m) => m.entry(&written).map_or(step.span, |e| e.key_span),
        _ => step.span,
    };
    diags.warning(
        span,
        format!("step `{written}` is read as the built-in step `{today}`"),
    );
    step.value = match std::mem::replace(&mut step.value, Value::Null) {
        Value::Map(m) => {
            let mut renamed = Map::new();
            for (_, entry) in m {
                renamed.insert(today.clone(), entry.key_span, entry.value);
            }
            Value::Map(renamed)
        }
        _ => Value::Str(today),
    };
}

fn rewrite_type_step(step: &mut Node, diags: &mut Diagnostics) {
    let Some(map) = step.as_map() else {
        return;
    };
    let Some(kind) = map.entry("type") else {
        return;
    };
    let Some(&(old, new)) = kind
        .value
        .as_str()
        .and_then(|t| LEGACY_STEPS.iter().find(|(old, _)| *old == t))
    else {
        return;
    };
    let at = kind.key_span;
    let mut args = Map::new();
    for (key, entry) in map.entries().filter(|(k, _)| *k != "type") {
        // The early `shell` step named its working directory `pwd`.
        let key = if key == "pwd" && new == "run" {
            "working_directory"
        } else {
            key
        };
        args.insert(key, entry.key_span, entry.value.clone());
    }
    diags.warning(
        at,
        format!("`type: {old}` is the early form of the `{new}` step; it runs as `- {new}:` with the same keys"),
    );
    *step = if args.is_empty() {
        Node::str(step.span, new)
    } else {
        let mut rewritten = Map::new();
        rewritten.insert(new, at, Node::map(step.span, args));
        Node::map(step.span, rewritten)
    };
}

#[cfg(test)]
mod tests {
    use crate::compile::{CompileOptions, compile};

    #[test]
    fn an_environment_string_of_assignments_is_a_map() {
        let text = "version: 2.1\nexecutors:\n  e:\n    docker: [{image: a}]\n    environment: {A: '1'}\njobs:\n  build:\n    executor: e\n    environment:\n      B=2 C=x=y\n    steps: [checkout]\n  other:\n    docker: [{image: a}]\n    environment: not an assignment\n    steps: [checkout]\nworkflows:\n  w:\n    jobs: [build]\n";
        let compiled = compile(text.as_bytes(), &CompileOptions::default());
        let found: Vec<_> = compiled
            .diagnostics
            .iter()
            .map(|d| (d.span.line, d.span.col, d.is_error()))
            .collect();
        assert_eq!(found, vec![(10, 7, false), (14, 18, true)]);
    }

    #[test]
    fn built_in_names_written_with_hyphens_are_the_built_in_steps() {
        let text = "version: 2.1\ncommands:\n  save-cache:\n    steps: [{run: echo own}]\njobs:\n  build:\n    docker: [{image: a}]\n    steps:\n      - restore-cache: {key: k}\n      - save-cache\n      - when:\n          condition: true\n          steps: [{store-artifacts: {path: x}}]\nworkflows:\n  w:\n    jobs: [build]\n";
        let compiled = compile(text.as_bytes(), &CompileOptions::default());
        let spans: Vec<_> = compiled
            .diagnostics
            .iter()
            .map(|d| (d.span.line, d.span.col, d.is_error()))
            .collect();
        assert_eq!(spans, vec![(9, 9, false), (13, 20, false)]);
        let yaml = compiled.processed_yaml().expect("processed");
        assert!(
            yaml.contains("- restore_cache:\n          key: k"),
            "{yaml}"
        );
        assert!(yaml.contains("echo own"), "{yaml}");
        assert!(yaml.contains("- store_artifacts:"), "{yaml}");
    }

    #[test]
    fn early_form_steps_run_as_todays_steps_with_a_warning() {
        let text = "version: 2\njobs:\n  build:\n    docker: [{image: a}]\n    steps:\n      - type: checkout\n      - type: shell\n        name: Test\n        command: make test\n        pwd: /src\n      - type: cache-save\n        key: k\n        paths: [x]\n";
        let compiled = compile(text.as_bytes(), &CompileOptions::default());
        let warnings: Vec<_> = compiled
            .diagnostics
            .iter()
            .map(|d| (d.span.line, d.span.col, d.is_error()))
            .collect();
        assert_eq!(warnings, vec![(6, 9, false), (7, 9, false), (11, 9, false)]);
        let yaml = compiled.processed_yaml().expect("processed");
        assert!(yaml.contains("- checkout"), "{yaml}");
        assert!(
            yaml.contains("run:\n          command: make test"),
            "{yaml}"
        );
        assert!(yaml.contains("working_directory: /src"), "{yaml}");
        assert!(yaml.contains("save_cache:"), "{yaml}");
    }
}
