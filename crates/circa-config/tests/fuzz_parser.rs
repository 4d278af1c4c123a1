//! Parser fuzzing, bounded so that it runs in CI: arbitrary bytes and YAML-ish token soup fed to
//! the whole config engine, which must never panic and must point every diagnostic at a line
//! the input has (or the one just past its end).

use circa_config::{CompileOptions, compile};
use proptest::prelude::*;

/// Lines of `bytes` as a YAML reader counts them (`\n`, `\r\n` and a lone `\r` break lines).
fn line_count(bytes: &[u8]) -> usize {
    let breaks = bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count();
    breaks + 1
}

/// Compiles `bytes` and checks every diagnostic's line.
fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let compiled = compile(bytes, &CompileOptions::default());
    let lines = line_count(bytes);
    for d in &compiled.diagnostics {
        prop_assert!(
            d.origin.is_some() || d.span.line as usize <= lines + 1,
            "{d} is past line {} of {:?}",
            lines + 1,
            String::from_utf8_lossy(bytes)
        );
    }
    Ok(())
}

/// Pieces of configs, syntax and CircleCI keys, that token soup is built from.
const TOKENS: &[&str] = &[
    "- ",
    ": ",
    ":",
    "&a ",
    "*a",
    "&b ",
    "*b",
    "<<",
    "<<: *a",
    "[",
    "]",
    "{",
    "}",
    ", ",
    "\n",
    "\n",
    "\r\n",
    "  ",
    "    ",
    "\t",
    "#",
    "\"",
    "'",
    "|",
    ">",
    "?",
    "!!str ",
    "---",
    "...",
    "<< parameters.x >>",
    "<< pipeline.git.branch >>",
    "<< matrix.os >>",
    "version: 2.1",
    "version: 2",
    "jobs:",
    "workflows:",
    "commands:",
    "executors:",
    "parameters:",
    "steps:",
    "requires:",
    "matrix:",
    "docker:",
    "image: x",
    "type: string",
    "build",
    "x",
    "1",
    "true",
    "null",
];

fn yamlish() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..80).prop_map(|ts| ts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check(&bytes)?;
    }

    #[test]
    fn yamlish_text_never_panics(text in yamlish()) {
        check(text.as_bytes())?;
    }

    #[test]
    fn configs_with_a_fuzzed_tail_never_panic(tail in yamlish()) {
        let text = format!(
            "version: 2.1\njobs:\n  build:\n    parameters:\n      x: {{type: string, default: a}}\n    docker: [{{image: x}}]\n    steps:\n      - run: echo << parameters.x >>\n{tail}"
        );
        check(text.as_bytes())?;
    }
}

#[test]
fn line_count_follows_yaml_line_breaks() {
    assert_eq!(line_count(b""), 1);
    assert_eq!(line_count(b"a\nb\r\nc\rd"), 4);
}
