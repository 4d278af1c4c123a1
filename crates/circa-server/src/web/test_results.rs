//! A job's test results on its page: counts, the failures first (with their messages), then the
//! slowest tests.

use crate::api::tests_meta::JobTest;

/// Failures shown on the page; the rest are counted.
pub const MAX_FAILURES_SHOWN: usize = 200;
/// Slowest tests shown.
pub const SLOWEST_SHOWN: usize = 10;
/// A failure's message is cut to this many characters on the page.
const MAX_MESSAGE_CHARS: usize = 4000;

/// One test as the page shows it.
pub struct TestRow {
    /// `classname.name` (or the name alone).
    pub title: String,
    /// The file, when the report says.
    pub file: String,
    /// The node that ran it.
    pub node: u32,
    /// `success`, `failure`, `error` or `skipped`.
    pub result: String,
    /// How long it took, for people.
    pub took: String,
    /// The failure's message, cut to a readable length.
    pub message: Option<String>,
}

/// A job's test results as its page shows them.
pub struct TestResultsView {
    /// Test cases in all reports.
    pub total: usize,
    /// Cases that failed or errored.
    pub failed: usize,
    /// Cases skipped.
    pub skipped: usize,
    /// The failures, at most `MAX_FAILURES_SHOWN`, in report order.
    pub failures: Vec<TestRow>,
    /// Failures not shown.
    pub more_failures: usize,
    /// The slowest tests, slowest first.
    pub slowest: Vec<TestRow>,
}

fn row(test: &JobTest) -> TestRow {
    let title = if test.classname.is_empty() {
        test.name.clone()
    } else {
        format!("{}.{}", test.classname, test.name)
    };
    let message = test.message.as_ref().map(|m| {
        let mut text: String = m.chars().take(MAX_MESSAGE_CHARS).collect();
        if text.len() < m.len() {
            text.push_str("\n…");
        }
        text
    });
    TestRow {
        title,
        file: test.file.clone(),
        node: test.node,
        result: test.result.to_string(),
        took: seconds(test.run_time),
        message,
    }
}

/// A test's time for people: `12 ms`, `1.25 s`.
fn seconds(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        String::new()
    } else if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else {
        format!("{s:.2} s")
    }
}

/// The view of `tests`, or `None` when the job stored no test results.
pub fn view(tests: &[JobTest]) -> Option<TestResultsView> {
    if tests.is_empty() {
        return None;
    }
    let failing: Vec<&JobTest> = tests
        .iter()
        .filter(|t| matches!(t.result, "failure" | "error"))
        .collect();
    let mut by_time: Vec<&JobTest> = tests.iter().filter(|t| t.result != "skipped").collect();
    by_time.sort_by(|a, b| b.run_time.total_cmp(&a.run_time));
    Some(TestResultsView {
        total: tests.len(),
        failed: failing.len(),
        skipped: tests.iter().filter(|t| t.result == "skipped").count(),
        more_failures: failing.len().saturating_sub(MAX_FAILURES_SHOWN),
        failures: failing
            .iter()
            .take(MAX_FAILURES_SHOWN)
            .map(|t| row(t))
            .collect(),
        slowest: by_time.iter().take(SLOWEST_SHOWN).map(|t| row(t)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(name: &str, result: &'static str, time: f64, message: Option<&str>) -> JobTest {
        JobTest {
            node: 0,
            classname: "suite".into(),
            name: name.into(),
            file: String::new(),
            run_time: time,
            result,
            message: message.map(str::to_string),
            source: "junit".into(),
        }
    }

    #[test]
    fn failures_come_first_and_the_slowest_are_sorted() {
        let tests = vec![
            test("fast", "success", 0.01, None),
            test("broken", "failure", 0.2, Some("expected 1, got 2")),
            test("slow", "success", 3.5, None),
            test("skipped", "skipped", 9.0, None),
            test("crashed", "error", 0.0, Some("panic")),
        ];
        let v = view(&tests).unwrap();
        assert_eq!((v.total, v.failed, v.skipped), (5, 2, 1));
        let failures: Vec<&str> = v.failures.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(failures, ["suite.broken", "suite.crashed"]);
        assert_eq!(v.failures[0].message.as_deref(), Some("expected 1, got 2"));
        let slowest: Vec<&str> = v.slowest.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(
            slowest,
            ["suite.slow", "suite.broken", "suite.fast", "suite.crashed"]
        );
        assert_eq!(v.slowest[0].took, "3.50 s");
        assert_eq!(v.slowest[2].took, "10 ms");
    }

    #[test]
    fn no_tests_no_section_and_long_lists_are_cut() {
        assert!(view(&[]).is_none());
        let many: Vec<JobTest> = (0..MAX_FAILURES_SHOWN + 5)
            .map(|i| test(&format!("t{i}"), "failure", 0.0, Some(&"x".repeat(5000))))
            .collect();
        let v = view(&many).unwrap();
        assert_eq!(v.failures.len(), MAX_FAILURES_SHOWN);
        assert_eq!(v.more_failures, 5);
        assert_eq!(v.slowest.len(), SLOWEST_SHOWN);
        let message = v.failures[0].message.as_deref().unwrap();
        assert!(message.ends_with('…') && message.chars().count() < 4100);
    }
}
