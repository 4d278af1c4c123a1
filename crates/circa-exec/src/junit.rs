//! JUnit XML test reports, as stored by `store_test_results`.
//!
//! # Design
//!
//! There is no single JUnit schema: every tool writes its own dialect (surefire, pytest,
//! jest-junit, go-junit-report, nextest/quick-junit, mocha, catch2, swift, bazel...). The
//! parser is therefore a small tolerant state machine over `quick-xml` events rather than a
//! strict schema binding:
//!
//! - the root must be `<testsuites>`, `<testsuite>` or `<testrun>`; anything else is
//!   [`JunitError::NotJunit`];
//! - suites may nest; they are flattened in document order, and a suite is kept only if it
//!   has at least one direct `<testcase>` (so a file without cases is an empty report);
//! - a case's `file` is its own `file` attribute, else the nearest enclosing suite's;
//! - the outcome is the most severe of `<error>` > `<failure>` > `<skipped>`, default passed;
//!   surefire/quick-junit `flaky*`/`rerun*` elements are kept as [`Rerun`]s and never change
//!   the outcome (a case with only `flakyFailure`s passed on a retry);
//! - unknown elements and attributes are ignored; numbers that do not parse are treated as
//!   absent instead of failing the whole report.
//!
//! Invariant: parsing never panics and never recurses, whatever the input; inputs larger than
//! [`MAX_INPUT_BYTES`] or nested deeper than [`MAX_DEPTH`] are rejected up front.

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use serde::{Deserialize, Serialize};

/// Largest report accepted by [`parse`], in bytes (64 MiB).
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;

/// Deepest element nesting accepted by [`parse`] (the root element is depth 1).
pub const MAX_DEPTH: usize = 64;

/// Why a JUnit report could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JunitError {
    /// The input is larger than [`MAX_INPUT_BYTES`].
    #[error("JUnit report is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The limit it exceeded.
        limit: usize,
    },
    /// Elements are nested deeper than [`MAX_DEPTH`].
    #[error("JUnit report nests elements deeper than {limit} levels (at byte {position})")]
    TooDeep {
        /// The limit it exceeded.
        limit: usize,
        /// Byte offset where the limit was hit.
        position: u64,
    },
    /// The document has no root element at all.
    #[error("not a JUnit report: the document has no root element")]
    Empty,
    /// The root element is not one of the JUnit roots.
    #[error("not a JUnit report: root element is <{root}>, expected <testsuites> or <testsuite>")]
    NotJunit {
        /// Local name of the root element found.
        root: String,
    },
    /// The document ends before its root element is closed.
    #[error("truncated JUnit report: end of input inside <{element}>")]
    Truncated {
        /// Local name of the innermost open element.
        element: String,
    },
    /// The XML itself is malformed.
    #[error("malformed XML in JUnit report at byte {position}")]
    Xml {
        /// Byte offset of the error.
        position: u64,
        /// What the XML reader reported.
        #[source]
        source: quick_xml::Error,
    },
}

/// Outcome of one test case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// No `<failure>`, `<error>` or `<skipped>` element.
    Passed,
    /// A `<failure>` element: an assertion failed.
    Failed,
    /// An `<error>` element: the test could not run or crashed.
    Error,
    /// A `<skipped>` element (or a `status` of `skipped`/`notrun`/`disabled`).
    Skipped,
}

/// Which retry element a [`Rerun`] came from (surefire's rerun extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RerunKind {
    /// `<flakyFailure>`: failed, then passed on a later attempt.
    FlakyFailure,
    /// `<flakyError>`: errored, then passed on a later attempt.
    FlakyError,
    /// `<rerunFailure>`: failed again on a rerun.
    RerunFailure,
    /// `<rerunError>`: errored again on a rerun.
    RerunError,
}

/// One earlier attempt of a test case that was retried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rerun {
    /// Which element it came from.
    pub kind: RerunKind,
    /// The `message` attribute.
    pub message: Option<String>,
    /// The `type` attribute.
    pub r#type: Option<String>,
    /// Text content plus any `<stackTrace>` content, trimmed.
    pub text: Option<String>,
}

/// One test case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestCase {
    /// The `classname` attribute (or `class`), empty when absent.
    pub classname: String,
    /// The `name` attribute, empty when absent.
    pub name: String,
    /// The case's `file` attribute, else the nearest enclosing suite's.
    pub file: Option<String>,
    /// The `line` attribute.
    pub line: Option<u64>,
    /// Duration in seconds (`time` attribute; 0 when absent or unparsable).
    pub time: f64,
    /// Passed, failed, error or skipped.
    pub outcome: Outcome,
    /// The `message` attribute of the result element.
    pub message: Option<String>,
    /// The `type` attribute of the result element.
    pub r#type: Option<String>,
    /// The text content of the result element, trimmed; `None` when empty.
    pub text: Option<String>,
    /// Earlier attempts (`flakyFailure`, `rerunError`, ...), in document order.
    pub reruns: Vec<Rerun>,
    /// `<system-out>` of the case.
    pub system_out: Option<String>,
    /// `<system-err>` of the case.
    pub system_err: Option<String>,
}

impl TestCase {
    /// True when the case passed but needed retries (it has flaky attempts).
    pub fn is_flaky(&self) -> bool {
        self.outcome == Outcome::Passed
            && self
                .reruns
                .iter()
                .any(|r| matches!(r.kind, RerunKind::FlakyFailure | RerunKind::FlakyError))
    }
}

/// One suite holding cases directly (nested suites are flattened).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestSuite {
    /// The `name` attribute, empty when absent.
    pub name: String,
    /// The suite's `file` attribute, else the nearest enclosing suite's.
    pub file: Option<String>,
    /// The `time` attribute in seconds, when present and numeric.
    pub time: Option<f64>,
    /// The `timestamp` attribute, verbatim.
    pub timestamp: Option<String>,
    /// Depth among suites: 0 for a suite directly under the root (or the root suite).
    pub depth: usize,
    /// Cases directly in this suite, in document order.
    pub cases: Vec<TestCase>,
    /// `<system-out>` of the suite.
    pub system_out: Option<String>,
    /// `<system-err>` of the suite.
    pub system_err: Option<String>,
}

/// Case counts of a report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// All cases.
    pub tests: usize,
    /// Passed cases (including flaky ones).
    pub passed: usize,
    /// Failed cases.
    pub failed: usize,
    /// Errored cases.
    pub errors: usize,
    /// Skipped cases.
    pub skipped: usize,
    /// Passed cases that needed retries.
    pub flaky: usize,
}

/// A parsed JUnit report: flattened suites with their cases.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TestReport {
    /// Suites with at least one direct case, in document order.
    pub suites: Vec<TestSuite>,
}

impl TestReport {
    /// Every case of every suite, in document order.
    pub fn cases(&self) -> impl Iterator<Item = &TestCase> {
        self.suites.iter().flat_map(|s| s.cases.iter())
    }

    /// Counts of cases by outcome.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for case in self.cases() {
            c.tests += 1;
            match case.outcome {
                Outcome::Passed => c.passed += 1,
                Outcome::Failed => c.failed += 1,
                Outcome::Error => c.errors += 1,
                Outcome::Skipped => c.skipped += 1,
            }
            if case.is_flaky() {
                c.flaky += 1;
            }
        }
        c
    }

    /// Wall time of the report in seconds: the sum of the top-level suites' `time`
    /// attributes when they all have one, else the sum of the case times.
    pub fn duration(&self) -> f64 {
        let top: Vec<_> = self.suites.iter().filter(|s| s.depth == 0).collect();
        if !top.is_empty() && top.iter().all(|s| s.time.is_some()) {
            // `fold` from +0.0: an empty `sum()` of floats is -0.0.
            top.iter().filter_map(|s| s.time).fold(0.0, |a, b| a + b)
        } else {
            self.cases().map(|c| c.time).fold(0.0, |a, b| a + b)
        }
    }

    /// True when no case failed or errored.
    pub fn is_success(&self) -> bool {
        let c = self.counts();
        c.failed == 0 && c.errors == 0
    }
}

/// Parses one JUnit XML document (UTF-8).
///
/// # Errors
///
/// [`JunitError`] when the input is too large or too deep, is not well-formed XML, or its
/// root element is not a JUnit root.
pub fn parse(bytes: &[u8]) -> Result<TestReport, JunitError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(JunitError::TooLarge {
            size: bytes.len(),
            limit: MAX_INPUT_BYTES,
        });
    }
    let mut parser = Parser::default();
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().allow_dangling_amp = true;
    loop {
        let event = reader.read_event().map_err(|source| JunitError::Xml {
            position: reader.error_position(),
            source,
        })?;
        let position = reader.buffer_position();
        match event {
            Event::Start(e) => parser.start(&e, false, position)?,
            Event::Empty(e) => parser.start(&e, true, position)?,
            Event::End(_) => parser.end(),
            Event::Text(t) => parser.text(&t.xml_content(XmlVersion::Implicit1_0)),
            Event::CData(t) => parser.text(&t.xml_content(XmlVersion::Implicit1_0)),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(ch)) => ch.to_string(),
                    _ => {
                        let name = r.into_inner();
                        match quick_xml::escape::resolve_predefined_entity(&name) {
                            Some(s) => s.to_owned(),
                            // Unknown entity: keep it verbatim rather than failing.
                            None => format!("&{name};"),
                        }
                    }
                };
                parser.text(&resolved);
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    parser.finish()
}

/// What an open element is, for routing text and closing state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Root,
    /// A suite, by index into `Parser::suites`.
    Suite(usize),
    Case,
    /// `<failure>`, `<error>` or `<skipped>` inside the current case.
    Result,
    /// A flaky/rerun element inside the current case.
    Rerun,
    /// `<stackTrace>` inside a result or rerun element.
    StackTrace,
    SystemOut,
    SystemErr,
    /// Anything else; its text is ignored.
    Other,
}

#[derive(Default)]
struct Parser {
    stack: Vec<Frame>,
    root_seen: bool,
    suites: Vec<TestSuite>,
    case: Option<CaseBuilder>,
    out: String,
    err: String,
}

struct CaseBuilder {
    case: TestCase,
    suite: Option<usize>,
    /// Text of the result element that decided the outcome.
    text: String,
    /// Text of the element currently being read (result or rerun).
    current: String,
    /// Whether the result element being read replaced the previous outcome.
    current_wins: bool,
}

fn severity(o: Outcome) -> u8 {
    match o {
        Outcome::Passed => 0,
        Outcome::Skipped => 1,
        Outcome::Failed => 2,
        Outcome::Error => 3,
    }
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

fn parse_f64(s: &str) -> Option<f64> {
    let s = s.trim();
    let v = s
        .parse::<f64>()
        .ok()
        .or_else(|| s.replace(',', "").parse::<f64>().ok())?;
    (v.is_finite() && v >= 0.0).then_some(v)
}

/// Attributes of an element as (local name, value) pairs; malformed ones are skipped.
fn attributes(e: &BytesStart<'_>) -> Vec<(String, String)> {
    e.attributes()
        .flatten()
        .map(|a| {
            let key = a.key.local_name().as_ref().to_owned();
            let value = match a.normalized_value(XmlVersion::Implicit1_0) {
                Ok(v) => v.into_owned(),
                Err(_) => a.value.clone().into_owned(),
            };
            (key, value)
        })
        .collect()
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

impl Parser {
    fn current_suite(&self) -> Option<usize> {
        self.stack.iter().rev().find_map(|f| match f {
            Frame::Suite(i) => Some(*i),
            _ => None,
        })
    }

    fn start(&mut self, e: &BytesStart<'_>, empty: bool, position: u64) -> Result<(), JunitError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(JunitError::TooDeep {
                limit: MAX_DEPTH,
                position,
            });
        }
        let name = e.local_name().as_ref().to_owned();
        let parent = self.stack.last().copied();
        let frame = match parent {
            None => {
                if self.root_seen {
                    // A second root element: not well-formed, but harmless; ignore it.
                    Frame::Other
                } else {
                    self.root_seen = true;
                    match name.as_str() {
                        "testsuites" | "testrun" => Frame::Root,
                        "testsuite" => self.open_suite(e, 0),
                        _ => return Err(JunitError::NotJunit { root: name }),
                    }
                }
            }
            Some(Frame::Root | Frame::Suite(_)) => match name.as_str() {
                "testsuite" => {
                    let depth = self
                        .stack
                        .iter()
                        .filter(|f| matches!(f, Frame::Suite(_)))
                        .count();
                    self.open_suite(e, depth)
                }
                "testcase" if self.case.is_none() => self.open_case(e),
                "system-out" => Frame::SystemOut,
                "system-err" => Frame::SystemErr,
                _ => Frame::Other,
            },
            Some(Frame::Case) => match name.as_str() {
                "failure" => self.open_result(e, Outcome::Failed),
                "error" => self.open_result(e, Outcome::Error),
                "skipped" => self.open_result(e, Outcome::Skipped),
                "flakyFailure" => self.open_rerun(e, RerunKind::FlakyFailure),
                "flakyError" => self.open_rerun(e, RerunKind::FlakyError),
                "rerunFailure" => self.open_rerun(e, RerunKind::RerunFailure),
                "rerunError" => self.open_rerun(e, RerunKind::RerunError),
                "system-out" => Frame::SystemOut,
                "system-err" => Frame::SystemErr,
                _ => Frame::Other,
            },
            Some(Frame::Result | Frame::Rerun) if name == "stackTrace" => Frame::StackTrace,
            Some(_) => Frame::Other,
        };
        self.stack.push(frame);
        if empty {
            self.end();
        }
        Ok(())
    }

    fn open_suite(&mut self, e: &BytesStart<'_>, depth: usize) -> Frame {
        let attrs = attributes(e);
        let inherited = self
            .current_suite()
            .and_then(|i| self.suites.get(i))
            .and_then(|s| s.file.clone());
        self.suites.push(TestSuite {
            name: attr(&attrs, "name").unwrap_or_default().to_owned(),
            file: attr(&attrs, "file").map(str::to_owned).or(inherited),
            time: attr(&attrs, "time").and_then(parse_f64),
            timestamp: attr(&attrs, "timestamp").map(str::to_owned),
            depth,
            cases: Vec::new(),
            system_out: None,
            system_err: None,
        });
        Frame::Suite(self.suites.len() - 1)
    }

    fn open_case(&mut self, e: &BytesStart<'_>) -> Frame {
        let attrs = attributes(e);
        let suite = self.current_suite();
        let inherited = suite
            .and_then(|i| self.suites.get(i))
            .and_then(|s| s.file.clone());
        let status = attr(&attrs, "status").map(str::to_ascii_lowercase);
        let outcome = match status.as_deref() {
            Some("skipped" | "notrun" | "disabled") => Outcome::Skipped,
            _ => Outcome::Passed,
        };
        self.case = Some(CaseBuilder {
            case: TestCase {
                classname: attr(&attrs, "classname")
                    .or_else(|| attr(&attrs, "class"))
                    .unwrap_or_default()
                    .to_owned(),
                name: attr(&attrs, "name").unwrap_or_default().to_owned(),
                file: attr(&attrs, "file").map(str::to_owned).or(inherited),
                line: attr(&attrs, "line").and_then(|l| l.trim().parse().ok()),
                time: attr(&attrs, "time").and_then(parse_f64).unwrap_or(0.0),
                outcome,
                message: None,
                r#type: None,
                text: None,
                reruns: Vec::new(),
                system_out: None,
                system_err: None,
            },
            suite,
            text: String::new(),
            current: String::new(),
            current_wins: false,
        });
        Frame::Case
    }

    fn open_result(&mut self, e: &BytesStart<'_>, outcome: Outcome) -> Frame {
        let Some(b) = self.case.as_mut() else {
            return Frame::Other;
        };
        let attrs = attributes(e);
        b.current.clear();
        b.current_wins = severity(outcome) > severity(b.case.outcome);
        if b.current_wins {
            b.case.outcome = outcome;
            b.case.message = attr(&attrs, "message").map(str::to_owned);
            b.case.r#type = attr(&attrs, "type").map(str::to_owned);
        }
        Frame::Result
    }

    fn open_rerun(&mut self, e: &BytesStart<'_>, kind: RerunKind) -> Frame {
        let Some(b) = self.case.as_mut() else {
            return Frame::Other;
        };
        let attrs = attributes(e);
        b.current.clear();
        b.case.reruns.push(Rerun {
            kind,
            message: attr(&attrs, "message").map(str::to_owned),
            r#type: attr(&attrs, "type").map(str::to_owned),
            text: None,
        });
        Frame::Rerun
    }

    fn text(&mut self, t: &str) {
        match self.stack.last() {
            Some(Frame::Result | Frame::Rerun | Frame::StackTrace) => {
                if let Some(b) = self.case.as_mut() {
                    b.current.push_str(t);
                }
            }
            Some(Frame::SystemOut) => self.out.push_str(t),
            Some(Frame::SystemErr) => self.err.push_str(t),
            _ => {}
        }
    }

    fn end(&mut self) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let parent = self.stack.last().copied();
        match frame {
            Frame::Result => {
                if let Some(b) = self.case.as_mut() {
                    if b.current_wins {
                        b.text = std::mem::take(&mut b.current);
                    }
                    b.current.clear();
                }
            }
            Frame::Rerun => {
                if let Some(b) = self.case.as_mut() {
                    let text = non_empty(&b.current);
                    if let Some(r) = b.case.reruns.last_mut() {
                        r.text = text;
                    }
                    b.current.clear();
                }
            }
            Frame::Case => {
                if let Some(mut b) = self.case.take() {
                    b.case.text = non_empty(&b.text);
                    match b.suite.and_then(|i| self.suites.get_mut(i)) {
                        Some(s) => s.cases.push(b.case),
                        None => {
                            // A case directly under <testsuites>: give it an anonymous suite.
                            self.suites.push(TestSuite {
                                name: String::new(),
                                file: None,
                                time: None,
                                timestamp: None,
                                depth: 0,
                                cases: vec![b.case],
                                system_out: None,
                                system_err: None,
                            });
                        }
                    }
                }
            }
            Frame::SystemOut | Frame::SystemErr => {
                let text = if frame == Frame::SystemOut {
                    std::mem::take(&mut self.out)
                } else {
                    std::mem::take(&mut self.err)
                };
                let text = non_empty(&text);
                match parent {
                    Some(Frame::Case) => {
                        if let Some(b) = self.case.as_mut() {
                            let slot = if frame == Frame::SystemOut {
                                &mut b.case.system_out
                            } else {
                                &mut b.case.system_err
                            };
                            append(slot, text);
                        }
                    }
                    Some(Frame::Suite(i)) => {
                        if let Some(s) = self.suites.get_mut(i) {
                            let slot = if frame == Frame::SystemOut {
                                &mut s.system_out
                            } else {
                                &mut s.system_err
                            };
                            append(slot, text);
                        }
                    }
                    _ => {}
                }
            }
            Frame::Root | Frame::Suite(_) | Frame::StackTrace | Frame::Other => {}
        }
    }

    fn finish(self) -> Result<TestReport, JunitError> {
        if !self.root_seen {
            return Err(JunitError::Empty);
        }
        if !self.stack.is_empty() {
            return Err(JunitError::Truncated {
                element: self.innermost_name(),
            });
        }
        Ok(TestReport {
            suites: self
                .suites
                .into_iter()
                .filter(|s| !s.cases.is_empty())
                .collect(),
        })
    }

    fn innermost_name(&self) -> String {
        match self.stack.last() {
            Some(Frame::Root) => "testsuites",
            Some(Frame::Suite(_)) => "testsuite",
            Some(Frame::Case) => "testcase",
            Some(Frame::Result) => "failure",
            Some(Frame::Rerun) => "flakyFailure",
            Some(Frame::StackTrace) => "stackTrace",
            Some(Frame::SystemOut) => "system-out",
            Some(Frame::SystemErr) => "system-err",
            Some(Frame::Other) | None => "element",
        }
        .to_owned()
    }
}

/// Appends `text` to an optional output slot (several `<system-out>` elements are joined).
fn append(slot: &mut Option<String>, text: Option<String>) {
    let Some(text) = text else { return };
    match slot {
        Some(existing) => {
            existing.push('\n');
            existing.push_str(&text);
        }
        None => *slot = Some(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_report() {
        let r = parse(br#"<testsuite name="s" file="a.py"><testcase name="t" classname="c" time="1.5"/></testsuite>"#).unwrap();
        assert_eq!(r.suites.len(), 1);
        let c = &r.suites[0].cases[0];
        assert_eq!(c.file.as_deref(), Some("a.py"));
        assert_eq!(c.time, 1.5);
        assert_eq!(c.outcome, Outcome::Passed);
    }

    #[test]
    fn error_beats_failure_and_skipped() {
        let r = parse(
            br#"<testsuite><testcase name="t"><skipped/><error message="boom">trace</error><failure message="f">x</failure></testcase></testsuite>"#,
        )
        .unwrap();
        let c = &r.suites[0].cases[0];
        assert_eq!(c.outcome, Outcome::Error);
        assert_eq!(c.message.as_deref(), Some("boom"));
        assert_eq!(c.text.as_deref(), Some("trace"));
    }

    #[test]
    fn too_deep_is_an_error() {
        let mut xml = String::from("<testsuites>");
        for _ in 0..100 {
            xml.push_str("<testsuite>");
        }
        assert!(matches!(
            parse(xml.as_bytes()),
            Err(JunitError::TooDeep { .. })
        ));
    }

    #[test]
    fn too_large_is_an_error() {
        let big = vec![b' '; MAX_INPUT_BYTES + 1];
        assert!(matches!(parse(&big), Err(JunitError::TooLarge { .. })));
    }

    #[test]
    fn empty_and_garbage_are_errors() {
        assert!(matches!(parse(b""), Err(JunitError::Empty)));
        assert!(matches!(parse(b"   "), Err(JunitError::Empty)));
        assert!(parse(b"\xff\xfe<x").is_err());
        assert!(matches!(
            parse(b"<testsuites><testsuite>"),
            Err(JunitError::Truncated { .. })
        ));
    }

    #[test]
    fn char_refs_and_unknown_entities() {
        let r = parse(
            br#"<testsuite><testcase name="a&#10;b"><failure>x &#x41; &nbsp; &lt;</failure></testcase></testsuite>"#,
        )
        .unwrap();
        let c = &r.suites[0].cases[0];
        assert_eq!(c.name, "a\nb");
        assert_eq!(c.text.as_deref(), Some("x A &nbsp; <"));
    }

    #[test]
    fn bad_numbers_are_ignored() {
        let r = parse(
            br#"<testsuite time="n/a"><testcase name="t" time="1,234.5" line="x"/></testsuite>"#,
        )
        .unwrap();
        assert_eq!(r.suites[0].time, None);
        assert_eq!(r.suites[0].cases[0].time, 1234.5);
        assert_eq!(r.suites[0].cases[0].line, None);
    }
}
