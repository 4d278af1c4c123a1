//! Every limit of the config engine refuses with a diagnostic, quickly, instead of running away.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use circa_config::{CompileOptions, compile};

fn errors(text: &str) -> Vec<String> {
    let compiled = compile(text.as_bytes(), &CompileOptions::default());
    compiled
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{}:{}: {}", d.span.line, d.span.col, d.message))
        .collect()
}

#[test]
fn a_matrix_that_explodes_is_refused() {
    let values: Vec<String> = (0..10).map(|i| i.to_string()).collect();
    let list = format!("[{}]", values.join(", "));
    let text = format!(
        "version: 2.1\njobs:\n  t:\n    parameters: {{a: {{type: string}}, b: {{type: string}}, c: {{type: string}}, d: {{type: string}}}}\n    docker: [{{image: x}}]\n    steps: [checkout]\nworkflows:\n  w:\n    jobs:\n      - t:\n          matrix:\n            parameters: {{a: {list}, b: {list}, c: {list}, d: {list}}}\n"
    );
    let errs = errors(&text);
    assert!(
        errs.iter()
            .any(|e| e.starts_with("12:") && e.contains("makes 10000 jobs")),
        "{errs:?}"
    );
}

#[test]
fn a_command_that_invokes_itself_is_refused() {
    let text = "version: 2.1\ncommands:\n  loop:\n    steps: [loop]\njobs:\n  t:\n    docker: [{image: x}]\n    steps: [loop]\nworkflows:\n  w:\n    jobs: [t]\n";
    let errs = errors(text);
    assert!(
        errs.iter()
            .any(|e| e.contains("commands nest deeper than 64 levels")),
        "{errs:?}"
    );
}

#[test]
fn commands_that_multiply_steps_are_refused() {
    // Each level invokes the one below ten times: 10^7 steps if nothing stopped it.
    let mut text = String::from("version: 2.1\ncommands:\n  c0:\n    steps: [checkout]\n");
    for i in 1..8 {
        let p = i - 1;
        text.push_str(&format!(
            "  c{i}:\n    steps: [c{p}, c{p}, c{p}, c{p}, c{p}, c{p}, c{p}, c{p}, c{p}, c{p}]\n"
        ));
    }
    text.push_str(
        "jobs:\n  t:\n    docker: [{image: x}]\n    steps: [c7]\nworkflows:\n  w:\n    jobs: [t]\n",
    );
    let errs = errors(&text);
    assert!(
        errs.iter().any(|e| e.contains("more than 200000 steps")),
        "{errs:?}"
    );
}

#[test]
fn too_many_invocations_are_refused() {
    let mut text = String::from(
        "version: 2.1\njobs:\n  t:\n    docker: [{image: x}]\n    steps: [checkout]\nworkflows:\n  w:\n    jobs:\n",
    );
    for i in 0..2_001 {
        text.push_str(&format!("      - t: {{name: t{i}}}\n"));
    }
    let errs = errors(&text);
    assert!(
        errs.iter().any(|e| e.contains("at most 2000 jobs")),
        "{errs:?}"
    );
}
