//! Structural validation against real configs: SchemaStore's positive and negative tests,
//! the corpus of real project configs, packed orbs, and the language server's own cases.

// Test helpers outside `#[test]` functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use circa_config::schema::{check_config, check_orb};
use circa_config::yaml::{Limits, load};
use circa_config::{Diagnostic, Diagnostics};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The shared corpus: `../../../shared/corpus` from the crate in the main checkout, one level
/// further up from a worktree under `wt/`.
fn corpus() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .map(|a| a.join("shared/corpus"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| here.join("../../../shared/corpus"))
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yml" | "yaml" | "json")
            )
        })
        .collect();
    out.sort();
    out
}

/// Loader and schema diagnostics of a config text.
fn diagnose_text(text: &str, orb: bool) -> Vec<Diagnostic> {
    let loaded = load(text, &Limits::default());
    let mut diags = Diagnostics::new();
    for d in loaded.diagnostics {
        diags.push(d);
    }
    if let Some(root) = &loaded.root {
        if orb {
            check_orb(root, &mut diags);
        } else {
            check_config(root, &mut diags);
        }
    }
    diags.into_vec()
}

fn diagnose(path: &Path) -> Vec<Diagnostic> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    diagnose_text(&text, false)
}

fn errors(diags: &[Diagnostic]) -> Vec<&Diagnostic> {
    diags.iter().filter(|d| d.is_error()).collect()
}

fn show(diags: &[&Diagnostic]) -> String {
    diags.iter().map(|d| format!("  {d}\n")).collect::<String>()
}

/// Rows of a tab-separated file, skipping comments and blank lines.
fn rows(path: &Path) -> Vec<Vec<String>> {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

fn test_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name)
}

#[test]
fn schemastore_valid_configs_have_no_errors() {
    let mut failures = String::new();
    for path in files(&corpus().join("schemastore/valid")) {
        let diags = diagnose(&path);
        let errs = errors(&diags);
        if !errs.is_empty() {
            failures.push_str(&format!("{}:\n{}", path.display(), show(&errs)));
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn schemastore_invalid_configs_have_an_error_on_the_offending_line() {
    let expected: HashMap<String, Vec<u32>> = rows(&test_data("schemastore_invalid_lines.tsv"))
        .into_iter()
        .map(|r| {
            let lines = r[1].split(',').map(|n| n.trim().parse().unwrap()).collect();
            (r[0].clone(), lines)
        })
        .collect();
    let dir = corpus().join("schemastore/invalid");
    let all = files(&dir);
    assert_eq!(all.len(), expected.len(), "every invalid file has a row");
    let mut failures = String::new();
    for path in all {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let lines = &expected[&name];
        let diags = diagnose(&path);
        let errs = errors(&diags);
        if !errs.iter().any(|d| lines.contains(&d.span.line)) {
            failures.push_str(&format!(
                "{name}: no error on line(s) {lines:?}; got:\n{}",
                show(&errs)
            ));
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn corpus_configs_have_no_structural_errors() {
    let mut failures = String::new();
    let all = files(&corpus().join("configs"));
    assert!(all.len() > 40);
    for path in all {
        let diags = diagnose(&path);
        let errs = errors(&diags);
        if !errs.is_empty() {
            failures.push_str(&format!("{}:\n{}", path.display(), show(&errs)));
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn packed_orbs_have_no_structural_errors() {
    let mut failures = String::new();
    let mut stack = vec![corpus().join("orbs")];
    let mut count = 0;
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yml") {
                count += 1;
                let diags = diagnose_text(&fs::read_to_string(&path).unwrap(), true);
                let errs = errors(&diags);
                if !errs.is_empty() {
                    failures.push_str(&format!("{}:\n{}", path.display(), show(&errs)));
                }
            }
        }
    }
    assert!(count > 40);
    assert!(failures.is_empty(), "{failures}");
}

/// The words of an expected message, lowercased; each must appear in some error.
fn words(message: &str) -> Vec<String> {
    message
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '.'))
        .map(|w| w.trim_matches('.').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

#[test]
fn language_server_cases() {
    let dir = corpus().join("language-server");
    let semantic: Vec<String> = rows(&test_data("ls_semantic_cases.txt"))
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    // Cases Circa deliberately judges valid (cloud offering lists a self-hosted server must not
    // impose) are listed with the engine-level differences in the `circa` crate's tests.
    let differences = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../circa/tests/language_server_differences.tsv");
    let deliberate: Vec<String> = rows(&differences)
        .into_iter()
        .filter(|r| r.get(1).is_some_and(|v| v == "valid"))
        .map(|r| r[0].clone())
        .collect();
    assert!(!deliberate.is_empty(), "{}", differences.display());
    let verdicts = rows(&dir.join("verdicts.tsv"));
    let (mut passed, mut total) = (0, 0);
    let mut failures = String::new();
    for row in verdicts.iter().skip(1) {
        let (file, expected, severity, message) = (&row[0], &row[1], &row[2], &row[3]);
        if semantic.contains(file) {
            continue;
        }
        total += 1;
        let diags = diagnose(&dir.join("cases").join(file));
        let errs = errors(&diags);
        let want_invalid = expected == "invalid" && !deliberate.contains(file);
        let verdict_ok = want_invalid != errs.is_empty();
        let text: String = errs
            .iter()
            .map(|d| d.message.to_lowercase())
            .collect::<Vec<_>>()
            .join("\n");
        // Words are only compared when the schema check is the one speaking: a file the
        // YAML loader refuses carries the loader's own message.
        let text_src = fs::read_to_string(dir.join("cases").join(file)).unwrap();
        let parsed = load(&text_src, &Limits::default()).root.is_some();
        let missing: Vec<String> = if want_invalid && severity == "error" && parsed {
            message
                .split(" | ")
                .flat_map(words)
                .filter(|w| !text.contains(w.as_str()))
                .collect()
        } else {
            Vec::new()
        };
        if verdict_ok && missing.is_empty() {
            passed += 1;
        } else {
            failures.push_str(&format!(
                "{file}: expected {expected}{}; got:\n{}",
                if missing.is_empty() {
                    String::new()
                } else {
                    format!(" with words {missing:?}")
                },
                show(&errs)
            ));
        }
    }
    println!("language-server structural cases: {passed}/{total} pass");
    assert!(failures.is_empty(), "{passed}/{total} pass\n{failures}");
}

fn messages(src: &str) -> Vec<String> {
    diagnose_text(src, false)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn messages_name_the_job_step_and_key() {
    let src = "\
version: 2.1
jobs:
  build:
    docker:
      - imagee: cimg/base:stable
    steps:
      - save_cache:
          paths: [x]
      - run:
          command: make
          when: sometimes
workflows:
  main:
    jobs:
      - build:
          requires:
            - lint: maybe
";
    insta::assert_snapshot!(messages(src).join("\n"), @r"
    5:9: error: a docker image of job `build` needs `image`
    5:9: warning: unknown key `imagee` in docker image (did you mean `image`?); CircleCI ignores it
    7:9: error: step `save_cache` in job `build` needs `key`
    11:17: error: `when` of step `run` in job `build` must be `on_success`, `always` or `on_fail`, not `sometimes`
    17:21: error: unknown status `maybe` for `lint` in `requires` of the invocation of `build` in workflow `main`; use one of success, failed, canceled, unauthorized, not_run, terminal
    ");
}

#[test]
fn version_2_refuses_2_1_features() {
    let src = "\
version: 2
orbs:
  node: circleci/node@5
commands:
  hello:
    steps: [checkout]
jobs:
  build:
    docker: [{image: x}]
    machine: true
    parameters:
      p: {type: string}
    steps: [hello]
";
    insta::assert_snapshot!(messages(src).join("\n"), @r"
    2:1: error: `orbs` requires `version: 2.1`
    4:1: error: `commands` requires `version: 2.1`
    10:5: error: job `build` has both `docker` and `machine`
    11:5: error: job `parameters` requires `version: 2.1`
    ");
}

#[test]
fn parameters_declarations() {
    let src = "\
version: 2.1
parameters:
  deploy:
    type: steps
  flag:
    type: string
    default: true
  env:
    type: enum
    enum: [a, b]
    default: c
jobs:
  build:
    docker: [{image: x}]
    parameters:
      ok:
        type: boolean
        default: yes
      n:
        type: integer
        default: many
    steps: [checkout]
";
    insta::assert_snapshot!(messages(src).join("\n"), @r#"
    4:11: error: parameter `deploy` of the pipeline has type `steps`; allowed types: string, boolean, integer, enum
    7:14: error: default of parameter `flag` of the pipeline is an unquoted YAML boolean; quote it (`"true"`) for a string parameter
    11:14: error: default `c` of parameter `env` of the pipeline is not one of the `enum` values (a, b)
    21:18: error: default of parameter `n` of job `build` must be an integer, not a string `many`
    "#);
}

#[test]
fn unknown_top_level_keys_are_tolerated_and_version_is_required() {
    let src = "defaults: &d\n  a: 1\njobs: {}\n";
    let m = messages(src);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].contains("needs `version`"));
    assert!(messages("version: 2.1\naliases:\n  - &x 1\n").is_empty());
}

#[test]
fn orbs_are_checked_with_their_own_keys() {
    let src = "\
version: 2.1
description: test
commands:
  greet:
    steps:
      - run: echo hi
jobs:
  job:
    executor: default
    steps: [greet, {store_artifacts: {}}]
executors:
  default:
    docker: [{image: x}]
";
    let diags = diagnose_text(src, true);
    let shown: Vec<String> = diags.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        ["10:21: error: step `store_artifacts` in job `job` needs `path`"]
    );
}
