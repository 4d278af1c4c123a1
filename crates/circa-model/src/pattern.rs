//! Branch and tag patterns of job filters and schedule triggers: an exact name, or `/regex/` that
//! must match the whole name.

use regex::Regex;
use std::fmt;

/// A pattern that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{pattern}` is not a valid regular expression: {reason}")]
pub struct PatternError {
    /// The pattern as written, slashes included.
    pub pattern: String,
    /// What the regex engine said.
    pub reason: String,
}

/// One branch or tag pattern.
#[derive(Clone, Debug)]
pub enum Pattern {
    /// The name must be exactly this.
    Exact(String),
    /// `/source/`: the regex must match the entire name.
    Regex {
        /// The regex between the slashes, as written.
        source: String,
        /// `source` anchored at both ends.
        regex: Regex,
    },
}

impl Pattern {
    /// Reads a pattern: text between slashes is a regex, anything else an exact name.
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        let inner = text
            .strip_prefix('/')
            .and_then(|rest| rest.strip_suffix('/'));
        match inner {
            Some(source) => {
                let regex = Regex::new(&format!("^(?:{source})$")).map_err(|e| PatternError {
                    pattern: text.to_string(),
                    reason: first_line(&e.to_string()),
                })?;
                Ok(Pattern::Regex {
                    source: source.to_string(),
                    regex,
                })
            }
            None => Ok(Pattern::Exact(text.to_string())),
        }
    }

    /// Whether `name` is matched (exactly, or by the regex over the whole name).
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Pattern::Exact(exact) => exact == name,
            Pattern::Regex { regex, .. } => regex.is_match(name),
        }
    }
}

/// The regex crate explains errors over several lines; the last line says what is wrong.
fn first_line(message: &str) -> String {
    message
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(message)
        .trim()
        .to_string()
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Pattern::Exact(a), Pattern::Exact(b)) => a == b,
            (Pattern::Regex { source: a, .. }, Pattern::Regex { source: b, .. }) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for Pattern {
    /// Regexes print between slashes, exact names between backticks.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::Exact(name) => write!(f, "`{name}`"),
            Pattern::Regex { source, .. } => write!(f, "/{source}/"),
        }
    }
}

/// `only` / `ignore` lists of patterns, for branches or for tags.
///
/// `only` wins over `ignore`: when `only` is given, a name is admitted exactly when it matches
/// one of `only`, whatever `ignore` says. An empty list counts as absent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PatternFilter {
    /// Names to admit; empty means "not given".
    pub only: Vec<Pattern>,
    /// Names to refuse; empty means "not given".
    pub ignore: Vec<Pattern>,
}

/// The branch filter of a legacy schedule trigger.
pub type BranchFilter = PatternFilter;

/// What a [`PatternFilter`] says about one name.
#[derive(Clone, Debug, PartialEq)]
pub enum FilterVerdict<'a> {
    /// The name passes.
    Admitted,
    /// `only` is given and no pattern of it matches.
    NotInOnly(&'a [Pattern]),
    /// No `only`, and this `ignore` pattern matches.
    Ignored(&'a Pattern),
}

impl PatternFilter {
    /// Whether neither `only` nor `ignore` is given.
    pub fn is_empty(&self) -> bool {
        self.only.is_empty() && self.ignore.is_empty()
    }

    /// Judges `name`; `only` is considered first and, when given, decides alone.
    pub fn judge(&self, name: &str) -> FilterVerdict<'_> {
        if !self.only.is_empty() {
            return if self.only.iter().any(|p| p.matches(name)) {
                FilterVerdict::Admitted
            } else {
                FilterVerdict::NotInOnly(&self.only)
            };
        }
        match self.ignore.iter().find(|p| p.matches(name)) {
            Some(pattern) => FilterVerdict::Ignored(pattern),
            None => FilterVerdict::Admitted,
        }
    }

    /// Whether `name` passes.
    pub fn admits(&self, name: &str) -> bool {
        self.judge(name) == FilterVerdict::Admitted
    }
}

/// Lists patterns for a message: one pattern alone, several as "any of a, b".
pub(crate) fn describe_patterns(patterns: &[Pattern]) -> String {
    let listed: Vec<String> = patterns.iter().map(ToString::to_string).collect();
    match listed.as_slice() {
        [one] => one.clone(),
        _ => format!("any of {}", listed.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patterns(texts: &[&str]) -> Vec<Pattern> {
        texts.iter().map(|t| Pattern::parse(t).unwrap()).collect()
    }

    #[test]
    fn exact_and_regex_patterns() {
        let exact = Pattern::parse("main").unwrap();
        assert!(exact.matches("main"));
        assert!(!exact.matches("main2"));
        let regex = Pattern::parse("/release-.*/").unwrap();
        assert!(regex.matches("release-1"));
        assert_eq!(regex.to_string(), "/release-.*/");
    }

    #[test]
    fn regex_must_match_the_whole_name() {
        let regex = Pattern::parse("/v[0-9]+/").unwrap();
        assert!(regex.matches("v12"));
        assert!(!regex.matches("v12-rc"));
        assert!(!regex.matches("xv12"));
        let alternation = Pattern::parse("/a|b/").unwrap();
        assert!(alternation.matches("a"));
        assert!(!alternation.matches("ab"));
    }

    #[test]
    fn a_lone_slash_is_an_exact_name() {
        assert_eq!(Pattern::parse("/").unwrap(), Pattern::Exact("/".into()));
    }

    #[test]
    fn bad_regex_is_an_error() {
        let err = Pattern::parse("/(unclosed/").unwrap_err();
        assert_eq!(err.pattern, "/(unclosed/");
        assert!(
            err.to_string().contains("not a valid regular expression"),
            "{err}"
        );
    }

    #[test]
    fn only_wins_over_ignore() {
        let filter = PatternFilter {
            only: patterns(&["main"]),
            ignore: patterns(&["/.*/"]),
        };
        assert!(filter.admits("main"));
        assert!(!filter.admits("dev"));
    }

    #[test]
    fn ignore_alone_refuses_matches() {
        let filter = PatternFilter {
            only: vec![],
            ignore: patterns(&["/wip-.*/", "scratch"]),
        };
        assert!(filter.admits("main"));
        assert_eq!(
            filter.judge("scratch"),
            FilterVerdict::Ignored(&Pattern::Exact("scratch".into()))
        );
        assert!(PatternFilter::default().admits("anything"));
    }

    #[test]
    fn describes_one_or_many_patterns() {
        assert_eq!(describe_patterns(&patterns(&["/a.*/"])), "/a.*/");
        assert_eq!(
            describe_patterns(&patterns(&["a", "/b/"])),
            "any of `a`, /b/"
        );
    }
}
