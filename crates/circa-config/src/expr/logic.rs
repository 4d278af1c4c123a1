//! Logic statements: the YAML form of conditions used by `when`/`unless` steps and workflows.
//!
//! | Form | True when |
//! | --- | --- |
//! | a literal | it is truthy ([`is_truthy`]) |
//! | `and: [s, ...]` / `or: [s, ...]` | all / any statements are true |
//! | `not: s` | the statement is false |
//! | `equal: [v, ...]` | all values are equal ([`values_equal`]) |
//! | `matches: {pattern: re, value: v}` | the whole of `v` matches `re` |
//!
//! Decisions where CircleCI's docs leave room:
//! - Strings are truthy unless empty, so the strings `"false"` and `"0"` are **true**: the
//!   docs' falsy list names only `false`, `null`, `0`, `NaN` and `""`. A boolean parameter
//!   must be substituted as a typed value (see [`super::Expr::is_plain_name`]) to be false.
//! - "Statements with no arguments" are false: an operator whose argument is null
//!   (`and:` with nothing after it, `not: ~`) evaluates to false; an empty list is an error.
//! - A literal list or map (not a one-key operator map) is judged by truthiness, as CircleCI
//!   judges it: `{}` and `[]` are false, any other list or map true. The schema check warns
//!   about such a map, since it is usually a misspelt operator.
//! - All operands are evaluated (no short-circuit) so that every mistake is reported.

use super::parser::one_line;
use super::{Pattern, is_truthy, mentions_operator, parse, values_equal};
use crate::diag::{Diagnostic, Span};
use crate::yaml::{Map, Node, Value};

/// Statements nested deeper than this are refused.
pub const MAX_DEPTH: usize = 100;

/// Evaluates an already-interpolated logic statement. Errors (unknown operator, several keys in
/// one statement, empty lists, bad `matches`, nesting deeper than [`MAX_DEPTH`]) point at the
/// offending node.
pub fn evaluate(node: &Node) -> Result<bool, Diagnostic> {
    statement(node, 1)
}

/// Evaluates a workflow `when:`/`unless:` value, which is either an expression string or a
/// logic statement. A string that parses as an expression using at least one operator is
/// evaluated as an expression with `lookup`; a string that mentions an operator but does not
/// parse is an error; anything else is a logic statement.
pub fn evaluate_expression_or_statement(
    node: &Node,
    lookup: &dyn Fn(&str) -> Option<Value>,
) -> Result<bool, Diagnostic> {
    if let Value::Str(text) = &node.value {
        match parse(text) {
            Ok(expr) if expr.has_operator() => {
                return expr
                    .eval(lookup)
                    .map(|v| is_truthy(&v))
                    .map_err(|e| expression_error(node.span, text, &e));
            }
            Err(e) if mentions_operator(text) => return Err(expression_error(node.span, text, &e)),
            _ => {}
        }
    }
    evaluate(node)
}

fn expression_error(span: Span, text: &str, e: &super::ExprError) -> Diagnostic {
    Diagnostic::error(
        span,
        format!(
            "in expression `{text}`: {} (at character {})",
            e.message,
            e.offset + 1
        ),
    )
}

fn statement(node: &Node, depth: usize) -> Result<bool, Diagnostic> {
    if depth > MAX_DEPTH {
        return Err(Diagnostic::error(
            node.span,
            format!("logic statement nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    let Value::Map(map) = &node.value else {
        return Ok(is_truthy(&node.value));
    };
    let mut entries = map.entries();
    let Some((key, entry)) = entries.next() else {
        return Ok(false);
    };
    if map.len() > 1 || !is_operator(key) {
        // Not a statement but a literal map, which CircleCI judges by its truthiness (the
        // schema check warns about it).
        return Ok(true);
    }
    let arg = &entry.value;
    if arg.is_null() && is_operator(key) {
        // A statement with no arguments is false.
        return Ok(false);
    }
    match key {
        "and" | "or" => {
            let items = list(arg, key, "logic statement")?;
            let mut results = Vec::with_capacity(items.len());
            for item in items {
                results.push(statement(item, depth + 1)?);
            }
            Ok(if key == "and" {
                results.iter().all(|r| *r)
            } else {
                results.iter().any(|r| *r)
            })
        }
        "not" => Ok(!statement(arg, depth + 1)?),
        "equal" => {
            let items = list(arg, key, "value")?;
            Ok(match items.split_first() {
                Some((first, rest)) => rest
                    .iter()
                    .all(|item| values_equal(&first.value, &item.value)),
                None => false,
            })
        }
        _ => matches(arg),
    }
}

fn is_operator(key: &str) -> bool {
    matches!(key, "and" | "or" | "not" | "equal" | "matches")
}

/// The non-empty list argument of `and`, `or` or `equal`.
fn list<'a>(arg: &'a Node, key: &str, what: &str) -> Result<&'a [Node], Diagnostic> {
    match arg.as_seq() {
        Some([]) => Err(Diagnostic::error(
            arg.span,
            format!("`{key}` needs at least one {what}; the list is empty"),
        )),
        Some(items) => Ok(items),
        None => Err(Diagnostic::error(
            arg.span,
            format!("`{key}` takes a list of {what}s, found {}", arg.kind_name()),
        )),
    }
}

/// `matches: {pattern: re, value: v}`: a full match of the value's text.
fn matches(arg: &Node) -> Result<bool, Diagnostic> {
    let Some(map) = arg.as_map() else {
        return Err(Diagnostic::error(
            arg.span,
            format!(
                "`matches` takes a map with `pattern` and `value`, found {}",
                arg.kind_name()
            ),
        ));
    };
    for (key, entry) in map.entries() {
        if key != "pattern" && key != "value" {
            return Err(Diagnostic::error(
                entry.key_span,
                format!("unknown key `{key}` in `matches`; expected `pattern` and `value`"),
            ));
        }
    }
    let pattern_node = required(map, arg.span, "pattern")?;
    let value_node = required(map, arg.span, "value")?;
    let Some(source) = pattern_node.as_str() else {
        return Err(Diagnostic::error(
            pattern_node.span,
            format!(
                "`pattern` must be a string, found {}",
                pattern_node.kind_name()
            ),
        ));
    };
    let pattern = Pattern::full_match(source).map_err(|e| {
        Diagnostic::error(
            pattern_node.span,
            format!("invalid regex `{source}`: {}", one_line(&e)),
        )
    })?;
    let Some(text) = value_node.scalar_text() else {
        return Err(Diagnostic::error(
            value_node.span,
            format!(
                "`value` of `matches` must be a scalar, found {}",
                value_node.kind_name()
            ),
        ));
    };
    Ok(pattern.is_match(&text))
}

fn required<'a>(map: &'a Map, span: Span, key: &str) -> Result<&'a Node, Diagnostic> {
    map.get(key)
        .ok_or_else(|| Diagnostic::error(span, format!("`matches` is missing `{key}`")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Limits, load};

    fn yaml(text: &str) -> Node {
        let loaded = load(text, &Limits::default());
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        match loaded.root {
            Some(root) => root,
            None => panic!("no document in {text}"),
        }
    }

    fn eval(text: &str) -> bool {
        match evaluate(&yaml(text)) {
            Ok(b) => b,
            Err(d) => panic!("{text}: {d}"),
        }
    }

    fn fail(text: &str) -> Diagnostic {
        match evaluate(&yaml(text)) {
            Ok(b) => panic!("{text} evaluated to {b}"),
            Err(d) => d,
        }
    }

    fn lookup(name: &str) -> Option<Value> {
        match name {
            "pipeline.git.branch" => Some(Value::Str("main".into())),
            "pipeline.number" => Some(Value::Int(7)),
            _ => None,
        }
    }

    fn when(text: &str) -> Result<bool, Diagnostic> {
        evaluate_expression_or_statement(&yaml(text), &lookup)
    }

    #[test]
    fn literals_by_truthiness() {
        for text in [
            "true", "42", "-1", "0.5", "a string", "'false'", "'0'", "[x]",
        ] {
            assert!(eval(text), "{text}");
        }
        for text in ["false", "~", "null", "0", "0.0", ".nan", "''", "[]", "{}"] {
            assert!(!eval(text), "{text}");
        }
    }

    #[test]
    fn and_or_not() {
        assert!(eval("and: [true, 1, x]"));
        assert!(!eval("and: [true, 0, x]"));
        assert!(eval("or: [false, 0, x]"));
        assert!(!eval("or: [false, 0, '']"));
        assert!(eval("not: false"));
        assert!(!eval("not: {or: [false, true]}"));
        assert!(eval(
            "and:\n  - not: {equal: [a, b]}\n  - or: [false, {equal: [c, c]}]\n"
        ));
    }

    #[test]
    fn statements_without_arguments_are_false() {
        assert!(!eval("and:"));
        assert!(!eval("or: ~"));
        assert!(!eval("not:"));
        assert!(!eval("equal:"));
        assert!(!eval("matches:"));
    }

    #[test]
    fn equal_by_value() {
        assert!(eval("equal: [main, main, main]"));
        assert!(eval("equal: [only-one]"));
        assert!(!eval("equal: [main, main, dev]"));
        assert!(!eval("equal: [1, '1']"));
        assert!(!eval("equal: [true, 'true']"));
        assert!(eval("equal: [1, 1.0]"));
        assert!(eval("equal: [~, null]"));
        assert!(eval("equal: [[a, {b: 1}], [a, {b: 1}]]"));
        assert!(!eval("equal: [[a], [b]]"));
        // Arguments of `equal` are values, not statements.
        assert!(!eval("equal: [{not: true}, false]"));
    }

    #[test]
    fn matches_full_match() {
        assert!(eval("matches: {pattern: '^feature-.+$', value: feature-x}"));
        assert!(eval("matches: {pattern: 'feature-.+', value: feature-x}"));
        assert!(!eval("matches: {pattern: feature, value: feature-x}"));
        assert!(!eval("matches: {pattern: 'a|feature', value: feature-x}"));
        assert!(eval("matches: {pattern: '4\\d', value: 42}"));
        assert!(eval("matches: {pattern: '', value: ~}"));
    }

    #[test]
    fn maps_that_are_not_statements_are_literals_judged_by_truthiness() {
        assert!(eval("when:\n  foo: true\n"));
        assert!(eval("and:\n  - true\n  - condition: x\n"));
        assert!(eval("or:\n  - {and: [true], or: [false]}\n"));
        assert!(!eval("not: {anything: false}\n"));
        assert!(!eval("and: [true, {}]\n"));
    }

    #[test]
    fn empty_and_wrong_lists_are_errors() {
        for (text, message) in [
            (
                "and: []",
                "`and` needs at least one logic statement; the list is empty",
            ),
            (
                "or: []",
                "`or` needs at least one logic statement; the list is empty",
            ),
            (
                "equal: []",
                "`equal` needs at least one value; the list is empty",
            ),
            (
                "and: true",
                "`and` takes a list of logic statements, found a boolean",
            ),
            (
                "equal: {a: 1}",
                "`equal` takes a list of values, found a map",
            ),
        ] {
            let d = fail(text);
            assert_eq!(d.message, message, "{text}");
            assert_eq!(d.span.line, 1, "{text}");
            assert!(d.span.col > 1, "{text}: {:?}", d.span);
        }
        // The error inside a nested statement points at it.
        let d = fail("not:\n  or: []\n");
        assert_eq!(d.span, Span::new(2, 7));
    }

    #[test]
    fn matches_errors() {
        let cases = [
            (
                "matches: [a]",
                "`matches` takes a map with `pattern` and `value`, found a list",
            ),
            ("matches: {value: x}", "`matches` is missing `pattern`"),
            ("matches: {pattern: x}", "`matches` is missing `value`"),
            (
                "matches: {pattern: x, value: x, flags: i}",
                "unknown key `flags` in `matches`; expected `pattern` and `value`",
            ),
            (
                "matches: {pattern: 1, value: x}",
                "`pattern` must be a string, found an integer",
            ),
            (
                "matches: {pattern: x, value: [x]}",
                "`value` of `matches` must be a scalar, found a list",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(fail(text).message, message, "{text}");
        }
        let d = fail("matches: {pattern: 'a(', value: x}");
        assert!(
            d.message.starts_with("invalid regex `a(`: "),
            "{}",
            d.message
        );
        assert_eq!(d.span, Span::new(1, 20));
        // Java features the regex crate lacks are reported, not ignored.
        assert!(
            fail("matches: {pattern: '(?=a)a', value: a}")
                .message
                .starts_with("invalid regex")
        );
    }

    #[test]
    fn nesting_limit() {
        let nested = |n: usize| format!("{}true{}", "{not: ".repeat(n), "}".repeat(n));
        // `n` nots plus the literal: `MAX_DEPTH - 1` nots make exactly `MAX_DEPTH` levels.
        assert!(!eval(&nested(MAX_DEPTH - 1)));
        let d = fail(&nested(MAX_DEPTH));
        assert_eq!(d.message, "logic statement nested deeper than 100 levels");
        assert_eq!(d.span, Span::new(1, 6 * MAX_DEPTH as u32 + 1));
    }

    #[test]
    fn expression_strings_in_when() {
        assert_eq!(
            when("pipeline.git.branch == \"main\" and pipeline.number > 5"),
            Ok(true)
        );
        assert_eq!(when("'pipeline.git.branch starts-with \"rel\"'"), Ok(false));
        assert_eq!(when("not pipeline.git.branch"), Ok(false));
        // The value of the expression is judged by truthiness.
        assert_eq!(when("pipeline.number > 100 or ''"), Ok(false));
        assert_eq!(when("pipeline.number > 100 or 'yes'"), Ok(true));
    }

    #[test]
    fn plain_strings_in_when_are_literals() {
        assert_eq!(when("pipeline.git.branch"), Ok(true));
        assert_eq!(when("hello world"), Ok(true));
        assert_eq!(when("'false'"), Ok(true));
        assert_eq!(when("''"), Ok(false));
        assert_eq!(when("false"), Ok(false));
        assert_eq!(when("or: [false, {equal: [a, a]}]"), Ok(true));
    }

    #[test]
    fn expression_errors_in_when() {
        let d = match when("pipeline.foo == 1") {
            Err(d) => d,
            Ok(b) => panic!("evaluated to {b}"),
        };
        assert_eq!(
            d.message,
            "in expression `pipeline.foo == 1`: unknown value `pipeline.foo` (at character 1)"
        );
        assert_eq!(d.span, Span::new(1, 1));
        // Looks like an expression but does not parse: reported, not taken as a literal.
        let d = match when("pipeline.git.branch == 'main") {
            Err(d) => d,
            Ok(b) => panic!("evaluated to {b}"),
        };
        assert_eq!(
            d.message,
            "in expression `pipeline.git.branch == 'main`: unterminated string literal \
             (at character 24)"
        );
        let d = match when("pipeline.number < 'x'") {
            Err(d) => d,
            Ok(b) => panic!("evaluated to {b}"),
        };
        assert!(d.message.contains("compares numbers only"), "{}", d.message);
    }
}
