//! Splits an expression into tokens, each with the character offset where it starts.
//!
//! Names follow CircleCI's rule for parameter names usable in expressions: a letter, then
//! letters, digits, `_`, `.` and `-`, never `..`. Because `-` belongs to names, the keyword
//! `starts-with` is only an operator when it stands as a token of its own (`a starts-with "b"`);
//! `pipeline.parameters.run-tests` or `x.starts-with` are single names.

use super::ExprError;
use std::fmt;

/// One token of an expression.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TokenKind {
    /// A dotted name such as `pipeline.git.branch`.
    Name(String),
    /// A string literal, escapes already resolved.
    Str(String),
    /// An integer literal.
    Int(i64),
    /// A floating point literal.
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// A regex literal `/.../`, holding the pattern between the slashes.
    Regex(String),
    /// `not`.
    Not,
    /// `and`.
    And,
    /// `or`.
    Or,
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `starts-with`.
    StartsWith,
    /// `matches`.
    Matches,
    /// `(`.
    LParen,
    /// `)`.
    RParen,
}

impl TokenKind {
    /// Whether the token is an operator (anything that makes a text more than a single value).
    pub(crate) fn is_operator(&self) -> bool {
        matches!(
            self,
            TokenKind::Not
                | TokenKind::And
                | TokenKind::Or
                | TokenKind::Eq
                | TokenKind::Ne
                | TokenKind::Lt
                | TokenKind::Le
                | TokenKind::Gt
                | TokenKind::Ge
                | TokenKind::StartsWith
                | TokenKind::Matches
        )
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenKind::Name(n) => write!(f, "name `{n}`"),
            TokenKind::Str(s) => write!(f, "string {s:?}"),
            TokenKind::Int(i) => write!(f, "number `{i}`"),
            TokenKind::Float(x) => write!(f, "number `{x}`"),
            TokenKind::Bool(b) => write!(f, "`{b}`"),
            TokenKind::Null => f.write_str("`null`"),
            TokenKind::Regex(r) => write!(f, "regex `/{r}/`"),
            TokenKind::Not => f.write_str("`not`"),
            TokenKind::And => f.write_str("`and`"),
            TokenKind::Or => f.write_str("`or`"),
            TokenKind::Eq => f.write_str("`==`"),
            TokenKind::Ne => f.write_str("`!=`"),
            TokenKind::Lt => f.write_str("`<`"),
            TokenKind::Le => f.write_str("`<=`"),
            TokenKind::Gt => f.write_str("`>`"),
            TokenKind::Ge => f.write_str("`>=`"),
            TokenKind::StartsWith => f.write_str("`starts-with`"),
            TokenKind::Matches => f.write_str("`matches`"),
            TokenKind::LParen => f.write_str("`(`"),
            TokenKind::RParen => f.write_str("`)`"),
        }
    }
}

/// A token and the character offset where it starts.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token {
    /// What the token is.
    pub(crate) kind: TokenKind,
    /// Character offset of its first character.
    pub(crate) offset: usize,
}

/// The tokens read before the first error, and that error if there was one. Callers that only
/// want to know whether a text *looks* like an expression use the tokens even when lexing failed.
pub(crate) struct Lexed {
    /// Tokens up to the error (all of them when there is none).
    pub(crate) tokens: Vec<Token>,
    /// The first error.
    pub(crate) error: Option<ExprError>,
}

/// Tokenizes `src`, stopping at the first error.
pub(crate) fn lex(src: &str) -> Lexed {
    let chars: Vec<char> = src.chars().collect();
    let mut lexer = Lexer {
        chars: &chars,
        pos: 0,
    };
    let mut tokens = Vec::new();
    loop {
        match lexer.next_token() {
            Ok(Some(token)) => tokens.push(token),
            Ok(None) => {
                return Lexed {
                    tokens,
                    error: None,
                };
            }
            Err(error) => {
                return Lexed {
                    tokens,
                    error: Some(error),
                };
            }
        }
    }
}

struct Lexer<'a> {
    chars: &'a [char],
    pos: usize,
}

impl Lexer<'_> {
    fn peek_at(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }

    fn next_token(&mut self) -> Result<Option<Token>, ExprError> {
        while self.peek_at(self.pos).is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(c) = self.peek_at(start) else {
            return Ok(None);
        };
        let next = self.peek_at(start + 1);
        let (kind, len) = match c {
            '(' => (TokenKind::LParen, 1),
            ')' => (TokenKind::RParen, 1),
            '=' if next == Some('=') => (TokenKind::Eq, 2),
            '=' => return Err(err(start, "unexpected `=`; compare with `==`")),
            '!' if next == Some('=') => (TokenKind::Ne, 2),
            '!' => return Err(err(start, "unexpected `!`; negate with `not`")),
            '<' if next == Some('=') => (TokenKind::Le, 2),
            '<' => (TokenKind::Lt, 1),
            '>' if next == Some('=') => (TokenKind::Ge, 2),
            '>' => (TokenKind::Gt, 1),
            '"' | '\'' => return self.string(c).map(Some),
            '/' => return self.regex().map(Some),
            c if c.is_ascii_digit() => return self.number().map(Some),
            '-' if next.is_some_and(|n| n.is_ascii_digit()) => return self.number().map(Some),
            c if c.is_ascii_alphabetic() => return self.word().map(Some),
            other => return Err(err(start, format!("unexpected character `{other}`"))),
        };
        self.pos += len;
        Ok(Some(Token {
            kind,
            offset: start,
        }))
    }

    /// A quoted string; `\\` and an escaped quote are resolved, other backslashes are kept.
    fn string(&mut self, quote: char) -> Result<Token, ExprError> {
        let start = self.pos;
        self.pos += 1;
        let mut text = String::new();
        loop {
            match self.peek_at(self.pos) {
                None => return Err(err(start, "unterminated string literal")),
                Some(c) if c == quote => {
                    self.pos += 1;
                    break;
                }
                Some('\\') => match self.peek_at(self.pos + 1) {
                    Some(e @ ('\\' | '"' | '\'')) => {
                        text.push(e);
                        self.pos += 2;
                    }
                    _ => {
                        text.push('\\');
                        self.pos += 1;
                    }
                },
                Some(c) => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
        Ok(Token {
            kind: TokenKind::Str(text),
            offset: start,
        })
    }

    /// A regex literal; `\/` stands for `/`, every other escape is left to the regex engine.
    fn regex(&mut self) -> Result<Token, ExprError> {
        let start = self.pos;
        self.pos += 1;
        let mut pattern = String::new();
        loop {
            match self.peek_at(self.pos) {
                None => return Err(err(start, "unterminated regex literal")),
                Some('/') => {
                    self.pos += 1;
                    break;
                }
                Some('\\') => match self.peek_at(self.pos + 1) {
                    Some('/') => {
                        pattern.push('/');
                        self.pos += 2;
                    }
                    Some(e) => {
                        pattern.push('\\');
                        pattern.push(e);
                        self.pos += 2;
                    }
                    None => return Err(err(start, "unterminated regex literal")),
                },
                Some(c) => {
                    pattern.push(c);
                    self.pos += 1;
                }
            }
        }
        Ok(Token {
            kind: TokenKind::Regex(pattern),
            offset: start,
        })
    }

    /// `-?digits` or `-?digits.digits`.
    fn number(&mut self) -> Result<Token, ExprError> {
        let start = self.pos;
        if self.peek_at(self.pos) == Some('-') {
            self.pos += 1;
        }
        self.skip_digits();
        let mut is_float = false;
        if self.peek_at(self.pos) == Some('.')
            && self
                .peek_at(self.pos + 1)
                .is_some_and(|c| c.is_ascii_digit())
        {
            is_float = true;
            self.pos += 1;
            self.skip_digits();
        }
        if self
            .peek_at(self.pos)
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
        {
            return Err(err(start, "invalid number"));
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        let kind = if is_float {
            text.parse::<f64>()
                .map(TokenKind::Float)
                .map_err(|_| err(start, format!("invalid number `{text}`")))?
        } else {
            text.parse::<i64>()
                .map(TokenKind::Int)
                .map_err(|_| err(start, format!("integer `{text}` is out of range")))?
        };
        Ok(Token {
            kind,
            offset: start,
        })
    }

    fn skip_digits(&mut self) {
        while self.peek_at(self.pos).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    /// A name or a keyword.
    fn word(&mut self) -> Result<Token, ExprError> {
        let start = self.pos;
        while self
            .peek_at(self.pos)
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        let kind = match text.as_str() {
            "not" => TokenKind::Not,
            "and" => TokenKind::And,
            "or" => TokenKind::Or,
            "starts-with" => TokenKind::StartsWith,
            "matches" => TokenKind::Matches,
            "true" => TokenKind::Bool(true),
            "false" => TokenKind::Bool(false),
            "null" => TokenKind::Null,
            _ => {
                if text.contains("..") {
                    return Err(err(start, format!("name `{text}` contains `..`")));
                }
                if text.ends_with('.') {
                    return Err(err(start, format!("name `{text}` ends with `.`")));
                }
                TokenKind::Name(text)
            }
        };
        Ok(Token {
            kind,
            offset: start,
        })
    }
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

    fn kinds(src: &str) -> Vec<TokenKind> {
        let lexed = lex(src);
        assert_eq!(lexed.error, None, "{src}");
        lexed.tokens.into_iter().map(|t| t.kind).collect()
    }

    fn error(src: &str) -> ExprError {
        match lex(src).error {
            Some(e) => e,
            None => panic!("`{src}` lexed without error"),
        }
    }

    #[test]
    fn names_keep_dashes_and_dots() {
        assert_eq!(
            kinds("pipeline.parameters.run-tests starts-with x.starts-with"),
            vec![
                TokenKind::Name("pipeline.parameters.run-tests".into()),
                TokenKind::StartsWith,
                TokenKind::Name("x.starts-with".into()),
            ]
        );
    }

    #[test]
    fn operators_and_literals() {
        assert_eq!(
            kinds("(1 <= -2.5) != true == null > 'a' >= \"b\" < /c/"),
            vec![
                TokenKind::LParen,
                TokenKind::Int(1),
                TokenKind::Le,
                TokenKind::Float(-2.5),
                TokenKind::RParen,
                TokenKind::Ne,
                TokenKind::Bool(true),
                TokenKind::Eq,
                TokenKind::Null,
                TokenKind::Gt,
                TokenKind::Str("a".into()),
                TokenKind::Ge,
                TokenKind::Str("b".into()),
                TokenKind::Lt,
                TokenKind::Regex("c".into()),
            ]
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(
            kinds(r#""a\"b\\c\n" 'it\'s' /a\/b\.c/"#),
            vec![
                TokenKind::Str("a\"b\\c\\n".into()),
                TokenKind::Str("it's".into()),
                TokenKind::Regex("a/b\\.c".into()),
            ]
        );
    }

    #[test]
    fn offsets_count_characters() {
        let lexed = lex("\"é\" == x");
        let offsets: Vec<usize> = lexed.tokens.iter().map(|t| t.offset).collect();
        assert_eq!(offsets, vec![0, 4, 7]);
    }

    #[test]
    fn errors_carry_offsets() {
        assert_eq!(error("a = b").offset, 2);
        assert_eq!(error("a ! b").offset, 2);
        assert_eq!(error("x == \"abc").offset, 5);
        assert_eq!(error("x matches /abc").offset, 10);
        assert_eq!(error("x matches /abc\\").offset, 10);
        assert_eq!(error("a..b").offset, 0);
        assert_eq!(error("1 == a.").offset, 5);
        assert_eq!(error("12abc").offset, 0);
        assert_eq!(error("1.2.3").offset, 0);
        assert_eq!(error("a # b").offset, 2);
        assert_eq!(
            error("99999999999999999999").message,
            "integer `99999999999999999999` is out of range"
        );
    }
}
