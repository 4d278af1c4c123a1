//! Steps in the form of CircleCI 2.0's first releases, which CircleCI still runs:
//! `- type: shell` with the step's keys beside `type` (`command`, `name`, `pwd`, ...).
//!
//! Each is rewritten into today's form before the schema check (`- run: {command: ...}`), with
//! a warning at its `type` key, so every later stage sees one form.

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

/// Rewrites every early-form step of every job in `root` into today's form.
pub fn rewrite_legacy_steps(root: &mut Node, diags: &mut Diagnostics) {
    let Some(jobs) = root.as_map_mut().and_then(|m| m.get_mut("jobs")) else {
        return;
    };
    let Some(jobs) = jobs.as_map_mut() else {
        return;
    };
    for entry in jobs.entries_mut() {
        let steps = entry
            .value
            .as_map_mut()
            .and_then(|job| job.get_mut("steps"));
        if let Some(Value::Seq(items)) = steps.map(|s| &mut s.value) {
            for step in items.iter_mut() {
                rewrite_step(step, diags);
            }
        }
    }
}

fn rewrite_step(step: &mut Node, diags: &mut Diagnostics) {
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
