//! CircleCI expressions and logic statements.
//!
//! An *expression* is the little language inside `<< ... >>`, in workflow `when:`/`unless:`
//! strings and in string-form job `filters:`: dotted names (`pipeline.git.branch`), literals,
//! `not`, comparisons, `starts-with`, `matches /re/`, `and`, `or` and parentheses. [`parse`]
//! turns text into an [`Expr`]; [`Expr::eval`] computes its [`Value`] from a lookup of names.
//!
//! A *logic statement* is the YAML form (`and:`, `or:`, `not:`, `equal:`, `matches:`) used by
//! `when`/`unless` steps and workflows; see [`logic`].
//!
//! # Layout
//! - `lexer.rs`: text to tokens with character offsets.
//! - `parser.rs`: tokens to an [`Expr`], enforcing the size and nesting limits.
//! - `eval.rs`: evaluation, truthiness and value equality.
//! - `logic.rs`: logic statements over already-interpolated YAML.
//!
//! Invariant: nothing here recurses deeper than the parenthesis limit allows; `and`/`or`
//! chains are kept flat and runs of `not` are collapsed, so arbitrary input of the maximum
//! length cannot overflow the stack.

mod eval;
mod lexer;
pub mod logic;
mod parser;

pub use eval::{is_truthy, values_equal};

use crate::yaml::Value;
use regex::Regex;
use std::fmt;

/// Expressions longer than this many characters are refused.
pub const MAX_EXPRESSION_CHARS: usize = 4096;

/// Parentheses nested deeper than this are refused.
pub const MAX_PAREN_DEPTH: usize = 64;

/// Why an expression could not be parsed or evaluated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExprError {
    /// Character (not byte) offset in the expression text where the problem is.
    pub offset: usize,
    /// What is wrong, in one sentence.
    pub message: String,
}

/// A parsed expression: what it is and where it starts in the source text.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// Character offset of the expression's first token.
    pub offset: usize,
    /// The kind of expression.
    pub kind: ExprKind,
}

/// The shapes an [`Expr`] can take.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ExprKind {
    /// A dotted name resolved through the lookup (`pipeline.git.branch`).
    Name(String),
    /// A literal: string, integer, float, boolean or null.
    Literal(Value),
    /// `not x`: a boolean, the negated truthiness of `x`.
    Not(Box<Expr>),
    /// A comparison or `starts-with`.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// `value matches /pattern/` (a full match).
    Matches {
        /// The value tested.
        value: Box<Expr>,
        /// The pattern.
        pattern: Pattern,
    },
    /// `a and b and ...`: the first falsy operand, else the last one (kept flat).
    And(Vec<Expr>),
    /// `a or b or ...`: the first truthy operand, else the last one (kept flat).
    Or(Vec<Expr>),
}

/// The binary operators that are not `and`/`or`/`matches`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `==`: equal by value; different types are unequal.
    Eq,
    /// `!=`: the negation of `==`.
    Ne,
    /// `<`, numbers only.
    Lt,
    /// `<=`, numbers only.
    Le,
    /// `>`, numbers only.
    Gt,
    /// `>=`, numbers only.
    Ge,
    /// `starts-with`, strings only.
    StartsWith,
}

impl fmt::Display for BinaryOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::StartsWith => "starts-with",
        })
    }
}

/// A regex compiled for a full match, together with its source text.
#[derive(Clone, Debug)]
pub struct Pattern {
    source: String,
    regex: Regex,
}

impl Pattern {
    /// Compiles `source` so that it must match a whole value (as if wrapped in `^(?:...)$`).
    pub fn full_match(source: &str) -> Result<Self, regex::Error> {
        let regex = regex::RegexBuilder::new(&format!(r"\A(?:{source})\z"))
            .size_limit(1 << 20)
            .build()?;
        Ok(Pattern {
            source: source.to_string(),
            regex,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the whole of `text` matches.
    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

/// Parses an expression. Refuses texts longer than [`MAX_EXPRESSION_CHARS`] characters and
/// parentheses nested deeper than [`MAX_PAREN_DEPTH`]; regex literals are compiled here, so an
/// invalid regex is reported with its offset.
pub fn parse(src: &str) -> Result<Expr, ExprError> {
    parser::parse(src)
}

/// Whether `src` contains an operator token before any lexing error: a text that looks like an
/// expression, as opposed to a plain word or sentence.
pub(crate) fn mentions_operator(src: &str) -> bool {
    lexer::lex(src).tokens.iter().any(|t| t.kind.is_operator())
}

impl Expr {
    /// The dotted names the expression references, in order of first appearance, without
    /// duplicates.
    pub fn names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        self.collect_names(&mut out);
        out
    }

    fn collect_names(&self, out: &mut Vec<String>) {
        match &self.kind {
            ExprKind::Name(n) => {
                if !out.iter().any(|seen| seen == n) {
                    out.push(n.clone());
                }
            }
            ExprKind::Literal(_) => {}
            ExprKind::Not(inner) => inner.collect_names(out),
            ExprKind::Binary { left, right, .. } => {
                left.collect_names(out);
                right.collect_names(out);
            }
            ExprKind::Matches { value, .. } => value.collect_names(out),
            ExprKind::And(items) | ExprKind::Or(items) => {
                for item in items {
                    item.collect_names(out);
                }
            }
        }
    }

    /// The name, when the whole expression is a single name (possibly in parentheses). Callers
    /// use this to substitute a typed value instead of its text.
    pub fn is_plain_name(&self) -> Option<&str> {
        match &self.kind {
            ExprKind::Name(n) => Some(n),
            _ => None,
        }
    }

    /// Whether the expression uses any operator (it is more than one name or literal).
    pub fn has_operator(&self) -> bool {
        !matches!(self.kind, ExprKind::Name(_) | ExprKind::Literal(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TOKENS: &[&str] = &[
        "pipeline.git.branch",
        "pipeline.parameters.run-tests",
        "x",
        "a..b",
        "\"main\"",
        "'rel'",
        "\"unterminated",
        "42",
        "-1.5",
        "true",
        "false",
        "null",
        "/ma.n/",
        "/a(/",
        "/",
        "not",
        "and",
        "or",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "=",
        "!",
        "starts-with",
        "matches",
        "(",
        ")",
    ];

    fn lookup(name: &str) -> Option<Value> {
        match name {
            "x" => Some(Value::Int(3)),
            "pipeline.git.branch" => Some(Value::Str("main".into())),
            _ => None,
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics_on_arbitrary_text(src in any::<String>()) {
            let _ = parse(&src);
            let _ = mentions_operator(&src);
        }

        #[test]
        fn parse_and_eval_never_panic_on_token_soup(
            tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..40),
            glue in prop::sample::select(&[" ", "", "  \n"][..]),
        ) {
            let src = tokens.join(glue);
            if let Ok(expr) = parse(&src) {
                let _ = expr.names();
                let _ = expr.eval(&lookup);
            }
        }

        #[test]
        fn error_offsets_are_within_the_text(src in "[a-z()=!<> \"'/.0-9-]{0,60}") {
            if let Err(e) = parse(&src) {
                prop_assert!(e.offset <= src.chars().count());
            }
        }
    }
}
