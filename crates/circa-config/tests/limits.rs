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
    // Each small command body costs more than 64 MiB / 200,000 bytes: with the default limits
    // the byte budget stops it first, at the invocation of the command that passed it.
    let errs = errors(&text);
    assert!(
        errs.iter()
            .any(|e| e.contains("here would make the processed config larger than 67108864")),
        "{errs:?}"
    );
    // Without a byte budget, the step limit stops it.
    let mut options = CompileOptions::default();
    options.expand_limits.max_built_bytes = usize::MAX;
    let errs: Vec<String> = compile(text.as_bytes(), &options)
        .diagnostics
        .into_iter()
        .filter(|d| d.is_error())
        .map(|d| d.message)
        .collect();
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

/// A config whose commands `c0` … `c{levels - 1}` each pass `s` on doubled to the next, starting
/// from `base`; the last doubling appends `tail`. `c{levels}` runs the string. The invocation of
/// `c{i + 1}` (which builds the doubled string) is on line `6 + 4 * i`.
fn doubling(levels: usize, base: &str, tail: &str) -> String {
    let mut text = String::from("version: 2.1\ncommands:\n");
    for i in 0..levels {
        let extra = if i + 1 == levels { tail } else { "" };
        text.push_str(&format!(
            "  c{i}:\n    parameters: {{s: {{type: string}}}}\n    steps:\n      - c{}: {{s: \"<< parameters.s >><< parameters.s >>{extra}\"}}\n",
            i + 1
        ));
    }
    text.push_str(&format!(
        "  c{levels}:\n    parameters: {{s: {{type: string}}}}\n    steps:\n      - run: \"<< parameters.s >>\"\n"
    ));
    text.push_str(&format!(
        "jobs:\n  t:\n    docker: [{{image: x}}]\n    steps:\n      - c0: {{s: \"{base}\"}}\nworkflows:\n  w:\n    jobs: [t]\n"
    ));
    text
}

/// The line and column of the string that level `i` doubles.
fn doubled_at(text: &str, i: usize) -> String {
    let line = 6 + 4 * i;
    let written = text.lines().nth(line - 1).expect("the line");
    assert!(written.contains(&format!("- c{}:", i + 1)), "{written}");
    let col = written.find('"').expect("a quoted string") + 1;
    format!("{line}:{col}:")
}

#[test]
fn a_string_doubled_by_nested_commands_is_refused_where_it_passes_4_mib() {
    // 8 bytes doubled: the string c19 builds for c20 is 8 MiB, the first past 4 MiB.
    for levels in [30, 60] {
        let text = doubling(levels, "abcdefgh", "");
        let started = std::time::Instant::now();
        let errs = errors(&text);
        println!("{levels} levels refused in {:?}", started.elapsed());
        assert_eq!(errs.len(), 1, "{errs:?}");
        let at = doubled_at(&text, 19);
        assert!(errs[0].starts_with(&at), "{} not at {at}", errs[0]);
        assert!(
            errs[0].contains("command `c19`")
                && errs[0]
                    .contains("larger than 4194304 bytes, the limit on one interpolated value"),
            "{errs:?}"
        );
    }
}

#[test]
fn a_string_of_exactly_4_mib_is_built_and_one_byte_more_is_refused() {
    // 8 bytes doubled 19 times: 4 MiB.
    let at_limit = doubling(19, "abcdefgh", "");
    let compiled = compile(at_limit.as_bytes(), &CompileOptions::default());
    assert!(compiled.is_valid(), "{:?}", compiled.diagnostics);
    let processed = compiled.processed_yaml().expect("processed");
    assert!(processed.len() > 4 * 1024 * 1024, "{}", processed.len());

    let past = doubling(19, "abcdefgh", "+");
    let errs = errors(&past);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].starts_with(&doubled_at(&past, 18)), "{errs:?}");
    assert!(errs[0].contains("4194304 bytes"), "{errs:?}");
}

#[test]
fn copies_of_a_large_string_are_refused_past_64_mib_in_all() {
    // c16 hands c17 a 1 MiB string (under the limit on one value); c17 passes it on 80 times.
    let mut text = doubling(17, "abcdefgh", "");
    let run_it = "  c17:\n    parameters: {s: {type: string}}\n    steps:\n      - run: \"<< parameters.s >>\"\n";
    let fan_out = format!(
        "  c17:\n    parameters: {{s: {{type: string}}}}\n    steps: [{}]\n  c18:\n    parameters: {{s: {{type: string}}}}\n    steps:\n      - run: \"<< parameters.s >>\"\n",
        vec!["{c18: {s: \"<< parameters.s >>\"}}"; 80].join(", ")
    );
    text = text.replace(run_it, &fan_out);
    // Instantiating c17 copies the string 80 times: refused at c16's invocation of c17.
    let invocation = doubled_at(&text, 16);
    let line = invocation.split(':').next().expect("line");
    let errs = errors(&text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].starts_with(&format!("{line}:")), "{errs:?}");
    assert!(
        errs[0].contains(
            "command `c17` here would make the processed config larger than 67108864 bytes"
        ),
        "{errs:?}"
    );
}

#[test]
fn what_expansion_builds_is_refused_one_byte_past_its_limit() {
    let text = "version: 2.1\ncommands:\n  greet:\n    parameters: {who: {type: string, default: world}}\n    steps:\n      - run: echo hello << parameters.who >>\njobs:\n  t:\n    docker: [{image: x}]\n    steps:\n      - checkout\n      - greet: {who: you}\nworkflows:\n  w:\n    jobs: [t]\n";
    let built = compile(text.as_bytes(), &CompileOptions::default()).built_bytes;
    assert!(built > 0);
    let with_limit = |max_built_bytes: usize| {
        let mut options = CompileOptions::default();
        options.expand_limits.max_built_bytes = max_built_bytes;
        compile(text.as_bytes(), &options)
    };
    let at_limit = with_limit(built);
    assert!(at_limit.is_valid(), "{:?}", at_limit.diagnostics);
    assert_eq!(at_limit.built_bytes, built);
    let past = with_limit(built - 1);
    let errs: Vec<String> = past
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{}:{}: {}", d.span.line, d.span.col, d.message))
        .collect();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("12:9: command `greet` here would make the processed config larger"),
        "{errs:?}"
    );
}

#[test]
fn a_long_string_repeated_by_aliases_is_refused_past_32_mib_of_text() {
    let big = "x".repeat(1024 * 1024);
    let aliases = vec!["*big"; 40].join(", ");
    let text = format!(
        "version: 2.1\nbig: &big \"{big}\"\nmany: [{aliases}]\njobs:\n  t:\n    docker: [{{image: x}}]\n    steps: [checkout]\nworkflows:\n  w:\n    jobs: [t]\n"
    );
    let errs = errors(&text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("3:") && errs[0].contains("more than 33554432 bytes of text"),
        "{errs:?}"
    );
}

#[test]
fn text_repeated_by_aliases_is_refused_one_byte_past_its_limit() {
    use circa_config::yaml::{Limits, load};
    // `a`, `xxxx`, `b` and the two copies of `xxxx`: 14 bytes.
    let text = "a: &x xxxx\nb: [*x, *x]\n";
    let with_limit = |max_text_bytes: usize| {
        let limits = Limits {
            max_text_bytes,
            ..Limits::default()
        };
        load(text, &limits)
    };
    let at_limit = with_limit(14);
    assert!(at_limit.root.is_some(), "{:?}", at_limit.diagnostics);
    let past = with_limit(13);
    assert!(past.root.is_none());
    let d = &past.diagnostics[0];
    assert_eq!((d.span.line, d.span.col), (2, 9), "{d:?}");
    assert!(d.message.contains("more than 13 bytes of text"), "{d:?}");
}
