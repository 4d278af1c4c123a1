//! Recursive-descent parser from tokens to [`Expr`].
//!
//! Grammar, loosest first:
//! ```text
//! or      := and ("or" and)*
//! and     := compare ("and" compare)*
//! compare := unary (("==" | "!=" | "<" | "<=" | ">" | ">=" | "starts-with") unary
//!                  | "matches" (regex | string))?
//! unary   := "not"* primary
//! primary := name | string | integer | float | true | false | null | "(" or ")"
//! ```
//! Comparisons do not chain (`a == b == c` is refused: say which you mean with parentheses).
//! Recursion only happens through parentheses, which are limited, so the stack stays small.

use super::lexer::{Token, TokenKind, lex};
use super::{BinaryOp, Expr, ExprError, ExprKind, MAX_EXPRESSION_CHARS, MAX_PAREN_DEPTH, Pattern};
use crate::yaml::Value;

/// Parses `src`; see [`super::parse`].
pub(crate) fn parse(src: &str) -> Result<Expr, ExprError> {
    let len = src.chars().count();
    if len > MAX_EXPRESSION_CHARS {
        return Err(err(
            MAX_EXPRESSION_CHARS,
            format!("expression is {len} characters long; the limit is {MAX_EXPRESSION_CHARS}"),
        ));
    }
    let lexed = lex(src);
    if let Some(error) = lexed.error {
        return Err(error);
    }
    if lexed.tokens.is_empty() {
        return Err(err(0, "empty expression"));
    }
    let mut parser = Parser {
        tokens: lexed.tokens,
        pos: 0,
        depth: 0,
        end: len,
    };
    let expr = parser.or()?;
    match parser.peek() {
        None => Ok(expr),
        Some(Token {
            kind: TokenKind::RParen,
            offset,
        }) => Err(err(*offset, "unmatched `)`")),
        Some(t) => Err(err(
            t.offset,
            format!("unexpected {} after a complete expression", t.kind),
        )),
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Parentheses currently open.
    depth: usize,
    /// Length of the source in characters (offset of "end of input").
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_kind(&self) -> Option<&TokenKind> {
        self.peek().map(|t| &t.kind)
    }

    fn eat(&mut self, kind: &TokenKind) -> bool {
        if self.peek_kind() == Some(kind) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        if token.is_some() {
            self.pos += 1;
        }
        token
    }

    fn or(&mut self) -> Result<Expr, ExprError> {
        let first = self.and()?;
        if self.peek_kind() != Some(&TokenKind::Or) {
            return Ok(first);
        }
        let offset = first.offset;
        let mut items = vec![first];
        while self.eat(&TokenKind::Or) {
            items.push(self.and()?);
        }
        Ok(Expr {
            offset,
            kind: ExprKind::Or(items),
        })
    }

    fn and(&mut self) -> Result<Expr, ExprError> {
        let first = self.compare()?;
        if self.peek_kind() != Some(&TokenKind::And) {
            return Ok(first);
        }
        let offset = first.offset;
        let mut items = vec![first];
        while self.eat(&TokenKind::And) {
            items.push(self.compare()?);
        }
        Ok(Expr {
            offset,
            kind: ExprKind::And(items),
        })
    }

    fn compare(&mut self) -> Result<Expr, ExprError> {
        let left = self.unary()?;
        let Some(token) = self.peek().cloned() else {
            return Ok(left);
        };
        let expr = if token.kind == TokenKind::Matches {
            self.pos += 1;
            let pattern = self.pattern(token.offset)?;
            Expr {
                offset: left.offset,
                kind: ExprKind::Matches {
                    value: Box::new(left),
                    pattern,
                },
            }
        } else if let Some(op) = binary_op(&token.kind) {
            self.pos += 1;
            let right = self.unary()?;
            Expr {
                offset: token.offset,
                kind: ExprKind::Binary {
                    op,
                    left: Box::new(left),
                    right: Box::new(right),
                },
            }
        } else {
            return Ok(left);
        };
        if let Some(next) = self.peek()
            && (next.kind == TokenKind::Matches || binary_op(&next.kind).is_some())
        {
            return Err(err(
                next.offset,
                format!(
                    "comparisons do not chain: add parentheses around one side of {}",
                    next.kind
                ),
            ));
        }
        Ok(expr)
    }

    /// The right side of `matches`: a regex literal (or a string holding the pattern).
    fn pattern(&mut self, matches_offset: usize) -> Result<Pattern, ExprError> {
        match self.next() {
            Some(Token {
                kind: TokenKind::Regex(source) | TokenKind::Str(source),
                offset,
            }) => Pattern::full_match(&source).map_err(|e| {
                err(
                    offset,
                    format!("invalid regex `/{source}/`: {}", one_line(&e)),
                )
            }),
            Some(t) => Err(err(
                t.offset,
                format!("`matches` needs a regex literal `/.../`, found {}", t.kind),
            )),
            None => Err(err(
                matches_offset,
                "`matches` needs a regex literal `/.../` after it",
            )),
        }
    }

    /// `not`* primary. A run of `not`s collapses to one or two, which mean the same because
    /// `not` always yields a boolean.
    fn unary(&mut self) -> Result<Expr, ExprError> {
        let mut nots = Vec::new();
        while let Some(Token {
            kind: TokenKind::Not,
            offset,
        }) = self.peek()
        {
            nots.push(*offset);
            self.pos += 1;
        }
        let mut expr = self.primary()?;
        let keep = match nots.len() {
            0 => 0,
            n if n % 2 == 1 => 1,
            _ => 2,
        };
        for offset in nots.iter().rev().take(keep) {
            expr = Expr {
                offset: *offset,
                kind: ExprKind::Not(Box::new(expr)),
            };
        }
        Ok(expr)
    }

    fn primary(&mut self) -> Result<Expr, ExprError> {
        let Some(token) = self.next() else {
            return Err(err(
                self.end,
                "unexpected end of expression; expected a value",
            ));
        };
        let offset = token.offset;
        let literal = |value| {
            Ok(Expr {
                offset,
                kind: ExprKind::Literal(value),
            })
        };
        match token.kind {
            TokenKind::Name(name) => Ok(Expr {
                offset,
                kind: ExprKind::Name(name),
            }),
            TokenKind::Str(s) => literal(Value::Str(s)),
            TokenKind::Int(i) => literal(Value::Int(i)),
            TokenKind::Float(f) => literal(Value::Float(f)),
            TokenKind::Bool(b) => literal(Value::Bool(b)),
            TokenKind::Null => literal(Value::Null),
            TokenKind::LParen => {
                self.depth += 1;
                if self.depth > MAX_PAREN_DEPTH {
                    return Err(err(
                        offset,
                        format!("parentheses nested deeper than {MAX_PAREN_DEPTH} levels"),
                    ));
                }
                let inner = self.or()?;
                if !self.eat(&TokenKind::RParen) {
                    let at = self.peek().map_or(self.end, |t| t.offset);
                    return Err(err(
                        at,
                        format!("expected `)` to close the `(` at character {}", offset + 1),
                    ));
                }
                self.depth -= 1;
                Ok(inner)
            }
            TokenKind::Regex(_) => Err(err(
                offset,
                "a regex literal is only allowed after `matches`",
            )),
            other => Err(err(offset, format!("expected a value, found {other}"))),
        }
    }
}

fn binary_op(kind: &TokenKind) -> Option<BinaryOp> {
    Some(match kind {
        TokenKind::Eq => BinaryOp::Eq,
        TokenKind::Ne => BinaryOp::Ne,
        TokenKind::Lt => BinaryOp::Lt,
        TokenKind::Le => BinaryOp::Le,
        TokenKind::Gt => BinaryOp::Gt,
        TokenKind::Ge => BinaryOp::Ge,
        TokenKind::StartsWith => BinaryOp::StartsWith,
        _ => return None,
    })
}

/// The regex crate's errors span several lines with a caret diagram; keep the last line, which
/// says what is wrong.
pub(crate) fn one_line(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid regex")
        .trim()
        .to_string()
}

fn err(offset: usize, message: impl Into<String>) -> ExprError {
    ExprError {
        offset,
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(src: &str) -> Expr {
        match parse(src) {
            Ok(e) => e,
            Err(e) => panic!("`{src}` failed at {}: {}", e.offset, e.message),
        }
    }

    fn fail(src: &str) -> ExprError {
        match parse(src) {
            Ok(e) => panic!("`{src}` parsed as {e:?}"),
            Err(e) => e,
        }
    }

    /// A compact rendering of the tree, to check shape and precedence.
    fn show(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Name(n) => n.clone(),
            ExprKind::Literal(Value::Str(s)) => format!("{s:?}"),
            ExprKind::Literal(v) => v.to_string(),
            ExprKind::Not(x) => format!("(not {})", show(x)),
            ExprKind::Binary { op, left, right } => {
                format!("({} {op} {})", show(left), show(right))
            }
            ExprKind::Matches { value, pattern } => {
                format!("({} matches /{}/)", show(value), pattern.as_str())
            }
            ExprKind::And(items) => format!(
                "(and {})",
                items.iter().map(show).collect::<Vec<_>>().join(" ")
            ),
            ExprKind::Or(items) => format!(
                "(or {})",
                items.iter().map(show).collect::<Vec<_>>().join(" ")
            ),
        }
    }

    fn shape(src: &str) -> String {
        show(&ok(src))
    }

    #[test]
    fn operands() {
        assert_eq!(shape("pipeline.git.branch"), "pipeline.git.branch");
        assert_eq!(shape("'it\\'s'"), "\"it's\"");
        assert_eq!(shape("\"a b\""), "\"a b\"");
        assert_eq!(shape("42"), "42");
        assert_eq!(shape("-1.5"), "-1.5");
        assert_eq!(shape("true"), "true");
        assert_eq!(shape("null"), "");
        assert_eq!(shape("(((x)))"), "x");
    }

    #[test]
    fn precedence() {
        assert_eq!(
            shape("a == 1 or b and not c"),
            "(or (a == 1) (and b (not c)))"
        );
        assert_eq!(shape("not a == b"), "((not a) == b)");
        assert_eq!(shape("not (a == b)"), "(not (a == b))");
        assert_eq!(shape("a and b or c and d"), "(or (and a b) (and c d))");
        assert_eq!(shape("a and (b or c)"), "(and a (or b c))");
        assert_eq!(
            shape("x starts-with \"r\" and y matches /v.*/"),
            "(and (x starts-with \"r\") (y matches /v.*/))"
        );
        assert_eq!(shape("a or b or c"), "(or a b c)");
    }

    #[test]
    fn runs_of_not_collapse() {
        assert_eq!(shape("not not not x"), "(not x)");
        assert_eq!(shape("not not not not x"), "(not (not x))");
    }

    #[test]
    fn matches_accepts_a_string_pattern() {
        assert_eq!(shape("x matches \"a|b\""), "(x matches /a|b/)");
    }

    #[test]
    fn syntax_errors_have_offsets() {
        let cases: &[(&str, usize, &str)] = &[
            ("", 0, "empty expression"),
            ("   ", 0, "empty expression"),
            ("a ==", 4, "unexpected end of expression; expected a value"),
            ("a == == b", 5, "expected a value, found `==`"),
            ("(a", 2, "expected `)` to close the `(` at character 1"),
            ("(a b)", 3, "expected `)` to close the `(` at character 1"),
            ("a)", 1, "unmatched `)`"),
            ("a b", 2, "unexpected name `b` after a complete expression"),
            ("/x/", 0, "a regex literal is only allowed after `matches`"),
            (
                "a == /x/",
                5,
                "a regex literal is only allowed after `matches`",
            ),
            (
                "a matches",
                2,
                "`matches` needs a regex literal `/.../` after it",
            ),
            (
                "a matches b",
                10,
                "`matches` needs a regex literal `/.../`, found name `b`",
            ),
            (
                "a == b == c",
                7,
                "comparisons do not chain: add parentheses around one side of `==`",
            ),
            ("and", 0, "expected a value, found `and`"),
            ("not", 3, "unexpected end of expression; expected a value"),
        ];
        for (src, offset, message) in cases {
            let e = fail(src);
            assert_eq!((e.offset, e.message.as_str()), (*offset, *message), "{src}");
        }
    }

    #[test]
    fn invalid_regex_is_reported_at_the_literal() {
        let e = fail("x matches /a(/");
        assert_eq!(e.offset, 10);
        assert!(
            e.message.starts_with("invalid regex `/a(/`: "),
            "{}",
            e.message
        );
        assert!(!e.message.contains('\n'));
    }

    #[test]
    fn length_limit() {
        let at_limit = format!("\"{}\"", "é".repeat(MAX_EXPRESSION_CHARS - 2));
        ok(&at_limit);
        let over = format!("\"{}\"", "a".repeat(MAX_EXPRESSION_CHARS - 1));
        let e = fail(&over);
        assert_eq!(e.offset, MAX_EXPRESSION_CHARS);
        assert_eq!(
            e.message,
            "expression is 4097 characters long; the limit is 4096"
        );
    }

    #[test]
    fn paren_depth_limit() {
        let nest = |n: usize| format!("{}x{}", "(".repeat(n), ")".repeat(n));
        assert_eq!(shape(&nest(MAX_PAREN_DEPTH)), "x");
        let e = fail(&nest(MAX_PAREN_DEPTH + 1));
        assert_eq!(e.offset, MAX_PAREN_DEPTH);
        assert_eq!(e.message, "parentheses nested deeper than 64 levels");
        // Unbalanced opening parentheses up to the length limit are refused, not overflowed.
        fail(&"(".repeat(MAX_EXPRESSION_CHARS));
        fail(&"not (".repeat(MAX_EXPRESSION_CHARS / 5));
    }

    #[test]
    fn long_flat_chains_parse() {
        let src = vec!["a"; 600].join(" and ");
        match ok(&src).kind {
            ExprKind::And(items) => assert_eq!(items.len(), 600),
            other => panic!("{other:?}"),
        }
        assert_eq!(shape(&format!("{}x", "not ".repeat(1000))), "(not (not x))");
    }
}
