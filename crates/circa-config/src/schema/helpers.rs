//! Small checks shared by every part of the schema: value kinds, unknown keys, names.

use crate::diag::{Diagnostics, Span};
use crate::yaml::{Map, Node, Value};
use std::collections::HashSet;

/// What the walk knows while it checks one file.
pub(crate) struct Ctx<'a> {
    /// Where findings go.
    pub diags: &'a mut Diagnostics,
    /// Whether 2.1 features are allowed (a `version: 2.1` config or an orb).
    pub v21: bool,
    /// Names of the commands defined in the same file: a step with such a name is an
    /// invocation even when it shadows a built-in step.
    pub commands: HashSet<String>,
    /// Names of the job groups defined in the same file.
    pub groups: HashSet<String>,
}

impl Ctx<'_> {
    /// Records an error.
    pub fn err(&mut self, span: Span, message: impl Into<String>) {
        self.diags.error(span, message);
    }

    /// Records a warning.
    pub fn warn(&mut self, span: Span, message: impl Into<String>) {
        self.diags.warning(span, message);
    }

    /// Reports `feature` at `span` when the file is not version 2.1.
    pub fn need_v21(&mut self, span: Span, feature: &str) {
        if !self.v21 {
            self.err(span, format!("{feature} requires `version: 2.1`"));
        }
    }

    /// Reports every key of `map` not in `allowed`, at the key, with a suggestion.
    pub fn unknown_keys(&mut self, map: &Map, allowed: &[&str], what: &str) {
        for (span, message) in unknown_key_messages(map, allowed, what) {
            self.err(span, message);
        }
    }

    /// Warns at every key of `map` not in `allowed`: CircleCI's compiler ignores such keys,
    /// so the config runs, but the key is probably a mistake.
    pub fn ignored_keys(&mut self, map: &Map, allowed: &[&str], what: &str) {
        for (span, message) in unknown_key_messages(map, allowed, what) {
            self.warn(span, format!("{message}; CircleCI ignores it"));
        }
    }

    /// The map inside `node`, or an error saying `what` must be a map.
    pub fn want_map<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n Map> {
        match &node.value {
            Value::Map(m) => Some(m),
            _ => {
                self.err(
                    node.span,
                    format!("{what} must be a map, not {}", node.kind_name()),
                );
                None
            }
        }
    }

    /// Checks that `key` is present in `map`; reports at `at` otherwise.
    pub fn require(&mut self, map: &Map, key: &str, at: Span, what: &str) -> bool {
        if map.contains_key(key) {
            true
        } else {
            self.err(at, format!("{what} needs `{key}`"));
            false
        }
    }

    /// A string-like scalar (numbers are accepted as their text; booleans and null are not).
    pub fn want_text(&mut self, node: &Node, what: &str) {
        if !is_text(node) {
            self.err(
                node.span,
                format!("{what} must be a string, not {}", node.kind_name()),
            );
        }
    }

    /// A boolean (YAML 1.1 words accepted) or a `<< >>` template.
    pub fn want_bool(&mut self, node: &Node, what: &str) {
        if node.as_bool_lenient().is_none() && !is_template(node) {
            self.err(
                node.span,
                format!("{what} must be a boolean, not {}", describe(node)),
            );
        }
    }

    /// An integer within `min..=max` or a `<< >>` template.
    pub fn want_int_range(&mut self, node: &Node, min: i64, max: i64, what: &str) {
        if is_template(node) {
            return;
        }
        match node.as_int() {
            Some(i) if i < min => self.err(
                node.span,
                format!("{what} must be greater than or equal to {min}, not {i}"),
            ),
            Some(i) if i > max => self.err(
                node.span,
                format!("{what} must be less than or equal to {max}, not {i}"),
            ),
            Some(_) => {}
            None => self.err(
                node.span,
                format!(
                    "{what} must be an integer (greater than or equal to {min}), not {}",
                    describe(node)
                ),
            ),
        }
    }

    /// A list of strings (or a template). A single string is taken as a one-item list, as
    /// CircleCI takes it, with a warning.
    pub fn want_text_list(&mut self, node: &Node, what: &str) {
        if is_template(node) {
            return;
        }
        match &node.value {
            Value::Seq(items) => {
                for item in items {
                    self.want_text(item, &format!("an item of {what}"));
                }
            }
            _ if is_text(node) => self.warn(
                node.span,
                format!("{what} should be a list of strings; the single string is taken as a one-item list"),
            ),
            _ => self.err(
                node.span,
                format!("{what} must be a list of strings, not {}", node.kind_name()),
            ),
        }
    }

    /// A string or a list of strings.
    pub fn want_text_or_list(&mut self, node: &Node, what: &str) {
        if let Value::Seq(items) = &node.value {
            for item in items {
                self.want_text(item, &format!("an item of {what}"));
            }
        } else if !is_text(node) {
            self.err(
                node.span,
                format!(
                    "{what} must be a string or a list of strings, not {}",
                    node.kind_name()
                ),
            );
        }
    }

    /// An environment: a map of scalars, a list of such maps, null or a template.
    pub fn want_env(&mut self, node: &Node, what: &str) {
        match &node.value {
            Value::Null => {}
            Value::Str(_) if is_template(node) => {}
            Value::Map(m) => self.env_map(m, what),
            Value::Seq(items) => {
                for item in items {
                    match &item.value {
                        Value::Map(m) => self.env_map(m, what),
                        _ if is_text(item) => {}
                        _ => self.err(
                            item.span,
                            format!(
                                "an item of {what} must be a map of variables, not {}",
                                item.kind_name()
                            ),
                        ),
                    }
                }
            }
            _ => self.err(
                node.span,
                format!(
                    "{what} must be a map of variable names to values, not {}",
                    node.kind_name()
                ),
            ),
        }
    }

    fn env_map(&mut self, map: &Map, what: &str) {
        for (name, value) in map.iter() {
            if !value.value.is_scalar() {
                self.err(
                    value.span,
                    format!(
                        "variable `{name}` in {what} must be a scalar, not {}",
                        value.kind_name()
                    ),
                );
            }
        }
    }

    /// Checks a definition name (command, executor, parameter, orb) against CircleCI's
    /// pattern: a letter, then letters, digits, `_` and `-` (and spaces where `allow_spaces`).
    pub fn check_name(&mut self, name: &str, span: Span, what: &str, allow_spaces: bool) {
        if !is_name(name, allow_spaces) {
            let rest = if allow_spaces {
                "letters, digits, spaces, `_` or `-`"
            } else {
                "letters, digits, `_` or `-`"
            };
            self.err(
                span,
                format!("invalid {what} name `{name}`: it must start with a letter, then {rest}"),
            );
        }
    }

    /// Checks a job or job-group name. The language server's pattern is CircleCI's advice,
    /// not its rule: CircleCI runs jobs named `ruby-2.7-spec`, `py3.11` or (2.0)
    /// `golang:1.21` every day, so a name of letters, digits, spaces, `_`, `-`, `.` and `:`
    /// outside the pattern is a warning. Other characters (`/` marks an orb's job; SchemaStore
    /// refuses `,`) and an empty name are errors.
    pub fn check_job_name(&mut self, name: &str, span: Span, what: &str) {
        let allowed = |c: char| c.is_ascii_alphanumeric() || " _-.:".contains(c);
        if name.trim().is_empty() || !name.chars().all(allowed) {
            self.err(
                span,
                format!(
                    "invalid {what} name `{name}`: use letters, digits, spaces, `_`, `-`, `.` or `:`"
                ),
            );
        } else if !is_name(name, true) {
            self.warn(
                span,
                format!(
                    "{what} name `{name}` is outside the recommended pattern (a letter, then letters, digits, spaces, `_` or `-`); CircleCI runs it"
                ),
            );
        }
    }
}

/// Each key of `map` not in `allowed`: its position and a message with a suggestion.
fn unknown_key_messages<'m>(
    map: &'m Map,
    allowed: &'m [&str],
    what: &'m str,
) -> impl Iterator<Item = (Span, String)> + 'm {
    map.entries()
        .filter(|(key, _)| !allowed.contains(key))
        .map(move |(key, entry)| {
            let hint = suggest(key, allowed);
            (
                entry.key_span,
                format!("unknown key `{key}` in {what}{hint}"),
            )
        })
}

/// Whether `name` is a valid definition name.
pub(crate) fn is_name(name: &str, allow_spaces: bool) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || (allow_spaces && c == ' '))
}

/// Whether the node is a string holding a `<< ... >>` template, which stands for any type
/// until parameters are substituted.
pub(crate) fn is_template(node: &Node) -> bool {
    node.as_str().is_some_and(has_template)
}

/// Whether a string holds a `<< ... >>` template.
pub(crate) fn has_template(s: &str) -> bool {
    s.find("<<").is_some_and(|i| s[i..].contains(">>"))
}

/// Whether the node is a string-like scalar.
pub(crate) fn is_text(node: &Node) -> bool {
    matches!(node.value, Value::Str(_) | Value::Int(_) | Value::Float(_))
}

/// The node for messages: its text for scalars, its kind otherwise.
pub(crate) fn describe(node: &Node) -> String {
    match &node.value {
        Value::Str(s) => format!("`{s}`"),
        Value::Null => "null".to_string(),
        Value::Seq(_) | Value::Map(_) => node.kind_name().to_string(),
        v => format!("`{v}`"),
    }
}

/// ` (did you mean `x`?)` when one of `candidates` is close to `word`, else empty.
pub(crate) fn suggest(word: &str, candidates: &[&str]) -> String {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

/// Levenshtein distance between two strings, counted in characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_pick_the_closest_key() {
        assert_eq!(
            suggest("imagee", &["image", "name"]),
            " (did you mean `image`?)"
        );
        assert_eq!(suggest("zzz", &["image"]), "");
    }

    #[test]
    fn names_follow_the_pattern() {
        assert!(is_name("build-1_x", false));
        assert!(!is_name("1build", false));
        assert!(is_name("Unit Tests", true));
        assert!(!is_name("Unit Tests", false));
        assert!(!is_name("a.b", true));
    }

    #[test]
    fn templates_are_recognised() {
        assert!(has_template("<< parameters.x >>"));
        assert!(has_template("a-<<pipeline.id>>"));
        assert!(!has_template(">> <<"));
    }
}
