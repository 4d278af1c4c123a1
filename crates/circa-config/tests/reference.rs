//! Reference cases: one YAML file per row of `circleci-reference.md` §1–§10, each compiled and
//! snapshot-tested.
//!
//! Every file in `tests/reference/*.yml` starts with a comment header:
//!
//! ```yaml
//! # row: §2 parallelism
//! # expect: valid            (or `invalid`)
//! # pipeline: git.branch=main (optional, repeatable: a `pipeline.*` value)
//! # param: deploy=true        (optional, repeatable: a pipeline parameter, value in JSON)
//! ```
//!
//! A `valid` case must compile without errors; its snapshot is the processed config (and any
//! warnings, rendered after it). An `invalid` case must have at least one error with a position
//! in the file; its snapshot is the rendered diagnostics. The `expect` check runs before the
//! snapshot, so a case that flips between valid and invalid fails loudly rather than being
//! re-snapshotted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use circa_config::yaml::{Limits, Node, Value, load};
use circa_config::{CompileOptions, Span, compile, diag};
use std::fs;
use std::path::{Path, PathBuf};

/// The parsed comment header of one case.
struct Header {
    row: String,
    valid: bool,
    pipeline: Vec<(String, String)>,
    params: Vec<(String, String)>,
}

fn read_header(path: &Path, text: &str) -> Header {
    let mut row = None;
    let mut expect = None;
    let mut pipeline = Vec::new();
    let mut params = Vec::new();
    for line in text.lines() {
        let Some(comment) = line.strip_prefix('#') else {
            break;
        };
        let comment = comment.trim();
        let Some((key, value)) = comment.split_once(':') else {
            continue;
        };
        let value = value.trim().to_string();
        match key.trim() {
            "row" => row = Some(value),
            "expect" => expect = Some(value),
            "pipeline" => {
                let (k, v) = value
                    .split_once('=')
                    .unwrap_or_else(|| panic!("{}: `# pipeline:` needs key=value", path.display()));
                pipeline.push((k.trim().to_string(), v.trim().to_string()));
            }
            "param" => {
                let (k, v) = value
                    .split_once('=')
                    .unwrap_or_else(|| panic!("{}: `# param:` needs name=json", path.display()));
                params.push((k.trim().to_string(), v.trim().to_string()));
            }
            _ => {}
        }
    }
    let row = row.unwrap_or_else(|| panic!("{}: missing `# row:` header", path.display()));
    let valid = match expect.as_deref() {
        Some("valid") => true,
        Some("invalid") => false,
        other => panic!(
            "{}: `# expect:` must be valid or invalid, got {other:?}",
            path.display()
        ),
    };
    Header {
        row,
        valid,
        pipeline,
        params,
    }
}

/// A pipeline value from the header: `true`/`false` and whole numbers are typed, the rest is text.
fn pipeline_value(text: &str) -> Value {
    match text {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => match text.parse::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Str(text.to_string()),
        },
    }
}

/// A pipeline parameter value from the header, written in JSON (which is YAML).
fn param_value(path: &Path, json: &str) -> Node {
    // Given over the API: no position in the config.
    load(json, &Limits::default())
        .root
        .unwrap_or_else(|| panic!("{}: bad JSON in `# param:` {json}", path.display()))
        .with_span(Span::NONE)
}

fn cases() -> Vec<PathBuf> {
    cases_in("tests/reference")
}

/// The `.yml` cases of a folder; a folder git did not create (`pending/` when no gap is open)
/// has none.
fn cases_in(folder: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let Ok(entries) = fs::read_dir(&dir) else {
        assert!(folder.ends_with("pending"), "{} is missing", dir.display());
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    out.sort();
    out
}

/// Compiles one case, checks its `expect`, and returns its snapshot text (or why it failed).
fn run_case(path: &Path) -> Result<(String, String), String> {
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("utf-8 file name")
        .to_string();
    let file = format!("{name}.yml");
    let text = fs::read_to_string(path).expect("readable case");
    let header = read_header(path, &text);
    let mut options = CompileOptions::default();
    for (k, v) in &header.pipeline {
        options.pipeline.set(k, pipeline_value(v));
    }
    for (k, v) in &header.params {
        options.parameters.insert(k.clone(), param_value(path, v));
    }
    let compiled = compile(text.as_bytes(), &options);
    let rendered = diag::render(&file, &text, &compiled.diagnostics);
    let errors: Vec<_> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    let output = if header.valid {
        if !errors.is_empty() {
            return Err(format!(
                "{file} ({}) is expected valid but has errors:\n{rendered}",
                header.row
            ));
        }
        let yaml = compiled
            .processed_yaml()
            .ok_or_else(|| format!("{file}: valid but no processed config"))?;
        if rendered.is_empty() {
            yaml
        } else {
            let warnings: String = rendered.lines().map(|l| format!("# {l}\n")).collect();
            format!("{yaml}# --- diagnostics ---\n{warnings}")
        }
    } else {
        if !errors.iter().any(|d| d.span.line > 0) {
            return Err(format!(
                "{file} ({}) is expected invalid but has no error with a line; diagnostics:\n{rendered}",
                header.row
            ));
        }
        rendered
    };
    Ok((name, format!("# row: {}\n{output}", header.row)))
}

#[test]
fn reference_cases() {
    let paths = cases();
    assert!(!paths.is_empty(), "no reference cases found");
    let mut failures = Vec::new();
    for path in &paths {
        match run_case(path) {
            Ok((name, output)) => insta::assert_snapshot!(name, output),
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every case in `pending/` is a known gap named in `KNOWN_GAPS.md`, and every case that page
/// names is still pending (a closed gap moves up into the snapshot set).
#[test]
fn pending_cases_are_documented() {
    let gaps = std::fs::read_to_string("tests/reference/KNOWN_GAPS.md").expect("KNOWN_GAPS.md");
    let pending: Vec<String> = cases_in("tests/reference/pending")
        .iter()
        .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_string))
        .collect();
    for name in &pending {
        assert!(
            gaps.contains(name.as_str()),
            "pending case {name} is not in KNOWN_GAPS.md"
        );
    }
    for word in gaps.split(|c: char| c == '`' || c.is_whitespace()) {
        if let Some(name) = word.strip_prefix("pending/").filter(|n| !n.is_empty()) {
            assert!(
                pending.iter().any(|p| p == name),
                "KNOWN_GAPS.md names {name}, which is no longer pending"
            );
        }
    }
}

#[test]
fn every_case_names_its_section() {
    for path in cases()
        .into_iter()
        .chain(cases_in("tests/reference/pending"))
    {
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        let section = name
            .strip_prefix('s')
            .and_then(|r| r.get(..2))
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or_else(|| panic!("{name}: file names start with s<section>-"));
        assert!(
            (1..=10).contains(&section),
            "{name}: section must be 1..=10"
        );
    }
}
