//! Every JUnit report of the shared corpus parses (or fails cleanly for the two edge cases
//! that are not JUnit), with a snapshot of a summary per file.

use circa_exec::junit::{Outcome, TestReport, parse};
use serde::Serialize;
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

fn junit_files() -> Vec<PathBuf> {
    let dir = corpus().join("junit");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("xml"))
        .collect();
    files.sort();
    files
}

/// Files that are expected to be rejected.
const REJECTED: &[&str] = &["edge-corrupt.xml", "edge-non-junit.xml"];

#[derive(Serialize)]
struct Summary {
    suites: usize,
    tests: usize,
    passed: usize,
    failed: usize,
    errors: usize,
    skipped: usize,
    flaky: usize,
    reruns: usize,
    duration: String,
    first_problems: Vec<Problem>,
}

#[derive(Serialize)]
struct Problem {
    outcome: Outcome,
    classname: String,
    name: String,
    file: Option<String>,
    time: f64,
    message: Option<String>,
    text: Option<String>,
}

/// First line of a text, at most 100 characters.
fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default();
    line.chars().take(100).collect()
}

fn summary(r: &TestReport) -> Summary {
    let c = r.counts();
    Summary {
        suites: r.suites.len(),
        tests: c.tests,
        passed: c.passed,
        failed: c.failed,
        errors: c.errors,
        skipped: c.skipped,
        flaky: c.flaky,
        reruns: r.cases().map(|c| c.reruns.len()).sum(),
        duration: format!("{:.3}", r.duration()),
        first_problems: r
            .cases()
            .filter(|c| c.outcome != Outcome::Passed)
            .take(3)
            .map(|c| Problem {
                outcome: c.outcome,
                classname: c.classname.clone(),
                name: c.name.clone(),
                file: c.file.clone(),
                time: c.time,
                message: c.message.as_deref().map(first_line),
                text: c.text.as_deref().map(first_line),
            })
            .collect(),
    }
}

#[test]
fn corpus_reports_parse_with_snapshots() {
    let files = junit_files();
    assert!(files.len() >= 19, "corpus has {} JUnit files", files.len());
    for path in files {
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let stem = name.trim_end_matches(".xml").to_owned();
        let bytes = fs::read(&path).unwrap();
        match parse(&bytes) {
            Ok(report) => {
                assert!(
                    !REJECTED.contains(&name.as_str()),
                    "{name} should be rejected"
                );
                insta::assert_yaml_snapshot!(format!("junit-{stem}"), summary(&report));
            }
            Err(e) => {
                assert!(REJECTED.contains(&name.as_str()), "{name}: {e}");
                let mut chain = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    chain.push_str(&format!(": {s}"));
                    source = s.source();
                }
                insta::assert_snapshot!(format!("junit-{stem}"), chain);
            }
        }
    }
}

#[test]
fn pytest_report_matches_expected_json() {
    let dir = corpus().join("junit");
    let report = parse(&fs::read(dir.join("pytest-junit-fail.xml")).unwrap()).unwrap();
    let expected: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("pytest-junit-fail.expected.json")).unwrap())
            .unwrap();
    let stats = &expected["stats"];
    let c = report.counts();
    assert_eq!(stats["suites"], report.suites.len());
    assert_eq!(stats["tests"], c.tests);
    assert_eq!(stats["tests_succ"], c.passed);
    assert_eq!(stats["tests_skip"], c.skipped);
    assert_eq!(stats["tests_fail"], c.failed);
    assert_eq!(stats["tests_error"], c.errors);
    assert_eq!(stats["duration"], report.duration().floor() as u64);
    assert_eq!(expected["conclusion"], "failure");
    assert!(!report.is_success());

    // The failure annotation: file, name and class, duration, and the full text.
    let failure = &expected["annotations"][0];
    let failed: Vec<_> = report
        .cases()
        .filter(|c| c.outcome == Outcome::Failed)
        .collect();
    assert_eq!(failed.len(), 1);
    let case = failed[0];
    assert_eq!(failure["path"], case.file.as_deref().unwrap());
    assert_eq!(
        failure["title"],
        format!("{} ({}) failed", case.name, case.classname)
    );
    assert!(
        failure["message"]
            .as_str()
            .unwrap()
            .ends_with(&format!("[took {}s]", case.time.floor() as u64))
    );
    assert_eq!(failure["raw_details"], case.text.as_deref().unwrap());

    // The skipped-test and all-tests annotations list `classname ‑ name`.
    let listed = |outcome: Option<Outcome>| {
        let mut v: Vec<String> = report
            .cases()
            .filter(|c| outcome.is_none_or(|o| c.outcome == o))
            .map(|c| format!("{} \u{2011} {}", c.classname, c.name))
            .collect();
        v.sort();
        v.join("\n")
    };
    assert_eq!(
        expected["annotations"][1]["raw_details"],
        listed(Some(Outcome::Skipped))
    );
    assert_eq!(expected["annotations"][2]["raw_details"], listed(None));
}

#[test]
fn entities_are_decoded() {
    let report = parse(&fs::read(corpus().join("junit/edge-xml-entities.xml")).unwrap()).unwrap();
    let names: Vec<_> = report.cases().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Test with \"quotes\" in the test name",
            "Test with 'apostrophe' in the test name",
            "Test with & in the test name",
            "Test with < and > in the test name",
        ]
    );
    let texts: Vec<_> = report.cases().map(|c| c.text.as_deref().unwrap()).collect();
    assert_eq!(texts[3], "Content with < and >");
}

#[test]
fn nested_suites_are_flattened_with_inherited_files() {
    let report = parse(&fs::read(corpus().join("junit/edge-nested-suites.xml")).unwrap()).unwrap();
    let suites: Vec<_> = report
        .suites
        .iter()
        .map(|s| (s.name.as_str(), s.depth, s.cases.len()))
        .collect();
    assert_eq!(
        suites,
        [
            ("Project Test Suite", 0, 1),
            ("TestSuite1", 1, 2),
            ("TestSuite2", 1, 1),
            ("TestSuite2.1", 2, 1),
        ]
    );
    assert_eq!(report.counts().tests, 5);
}

#[test]
fn no_cases_is_an_empty_report() {
    let report = parse(&fs::read(corpus().join("junit/edge-no-cases.xml")).unwrap()).unwrap();
    assert_eq!(report, TestReport::default());
}

#[test]
fn flaky_surefire_case_passed_with_a_rerun() {
    let report = parse(&fs::read(corpus().join("junit/surefire-flaky.xml")).unwrap()).unwrap();
    let case = report.cases().next().unwrap();
    assert_eq!(case.outcome, Outcome::Passed);
    assert!(case.is_flaky());
    assert!(
        case.reruns[0]
            .text
            .as_deref()
            .unwrap()
            .starts_with("java.lang.AssertionError")
    );
}

#[test]
fn truncations_of_a_report_never_panic() {
    let bytes = fs::read(corpus().join("junit/quick-junit-basic.xml")).unwrap();
    for end in 0..bytes.len() {
        let _ = parse(&bytes[..end]);
    }
}
