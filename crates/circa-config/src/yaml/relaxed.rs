//! What libyaml (and so PyYAML, Ruby's Psych and CircleCI's own parser) reads although the YAML
//! specification refuses it: lines that continue a quoted scalar or a flow collection (`[ … ]`,
//! `{ … }`) at an indentation no deeper than the block they sit in.
//!
//! libyaml checks no indentation inside flow context and none on the continuation lines of a
//! quoted scalar (only a document marker, `---` or `...` at column 1, ends them); the YAML
//! specification, and saphyr, require those lines to be indented more than the enclosing block.
//! When a config fails to parse, [`reindent`] finds such lines and indents them just enough;
//! the loader parses the result, moves every position back to the original columns with
//! [`Shifts`], and warns at each line it had to accept this way.
//!
//! The scan is a small lexer that knows what changes the meaning of indentation: comments,
//! quoted scalars (only where a scalar may start), flow brackets and block scalars (`|`, `>`),
//! whose content is text. It is used only after a parse failed, so valid files never pay for it.

use crate::diag::Span;

/// Lines the relaxed reading indented: 1-based line number and how many spaces went in front.
#[derive(Debug, Default)]
pub struct Shifts {
    lines: Vec<(u32, u32)>,
}

impl Shifts {
    /// Whether no line was changed.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The lines changed, in order, with the spaces added to each.
    pub fn lines(&self) -> &[(u32, u32)] {
        &self.lines
    }

    /// A position in the indented text moved back to the original text.
    pub fn unshift(&self, span: Span) -> Span {
        match self.lines.binary_search_by_key(&span.line, |(l, _)| *l) {
            Ok(i) => {
                let added = self.lines[i].1;
                Span::new(span.line, span.col.saturating_sub(added).max(1))
            }
            Err(_) => span,
        }
    }
}

/// Open flow brackets: how many, and the indentation their lines need.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Flow {
    depth: usize,
    need: usize,
}

/// Where the scan is, between lines.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Context {
    /// Block context: indentation is structure.
    Block,
    /// Inside a quoted scalar whose lines need `need` columns of indentation, opened inside
    /// `flow` or in block context.
    Quoted {
        quote: u8,
        need: usize,
        flow: Option<Flow>,
    },
    /// Inside flow brackets.
    Flow(Flow),
    /// Inside a block scalar whose parent line is indented `parent` columns.
    BlockScalar { parent: usize },
}

impl Context {
    /// The indentation a continuation line needs here, if this context has a rule for it.
    fn need(self) -> Option<usize> {
        match self {
            Context::Quoted { need, .. } | Context::Flow(Flow { need, .. }) => Some(need),
            Context::Block | Context::BlockScalar { .. } => None,
        }
    }
}

/// The text with every continuation line of a quoted scalar or flow collection that sits at
/// too small an indentation indented just enough, and what was moved; `None` when no line
/// needed it.
pub fn reindent(text: &str) -> Option<(String, Shifts)> {
    let mut out = String::with_capacity(text.len() + 64);
    let mut shifts = Shifts::default();
    let mut cx = Context::Block;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let indent = line.bytes().take_while(|b| *b == b' ').count();
        let body = line.trim_end_matches(['\n', '\r']);
        let blank = body.trim().is_empty();
        if let Context::BlockScalar { parent } = cx {
            if blank || indent > parent {
                out.push_str(line);
                continue;
            }
            cx = Context::Block;
        }
        if let Some(need) = cx.need()
            && !blank
            && indent < need
            && !is_document_marker(body)
        {
            let added = need - indent;
            out.extend(std::iter::repeat_n(' ', added));
            shifts.lines.push((i as u32 + 1, added as u32));
        }
        out.push_str(line);
        cx = scan_line(body.as_bytes(), indent, cx);
    }
    (!shifts.is_empty()).then_some((out, shifts))
}

fn is_document_marker(line: &str) -> bool {
    (line.starts_with("---") || line.starts_with("..."))
        && line[3..].chars().next().is_none_or(char::is_whitespace)
}

/// The column where a line's block content starts: after its indentation and any `- `
/// sequence entries that open it.
fn content_column(line: &[u8], indent: usize) -> usize {
    let mut at = indent;
    while line.get(at) == Some(&b'-') && matches!(line.get(at + 1), Some(b' ') | None) {
        at += 1;
        while line.get(at) == Some(&b' ') {
            at += 1;
        }
    }
    at
}

/// Scans one line's bytes from `cx`, returning the context at its end.
fn scan_line(line: &[u8], indent: usize, mut cx: Context) -> Context {
    let block_need = content_column(line, indent) + 1;
    let mut i = if cx == Context::Block { indent } else { 0 };
    // Whether a scalar may start at `i` (after indentation, `- `, `: `, `? `, `[`, `{`, `,`).
    let mut at_token_start = true;
    while i < line.len() {
        let c = line[i];
        match cx {
            Context::Quoted { quote, flow, .. } => {
                if quote == b'"' && c == b'\\' {
                    i += 2;
                    continue;
                }
                if c == quote {
                    if quote == b'\'' && line.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    cx = flow.map_or(Context::Block, Context::Flow);
                    at_token_start = false;
                }
            }
            Context::Block | Context::Flow(_) => {
                if c == b'#' && (i == 0 || matches!(line[i - 1], b' ' | b'\t')) {
                    break;
                }
                let in_flow = match cx {
                    Context::Flow(f) => Some(f),
                    _ => None,
                };
                match c {
                    b'"' | b'\'' if at_token_start => {
                        cx = Context::Quoted {
                            quote: c,
                            need: in_flow.map_or(block_need, |f| f.need),
                            flow: in_flow,
                        };
                    }
                    b'[' | b'{' if at_token_start || in_flow.is_some() => {
                        cx = Context::Flow(match in_flow {
                            Some(f) => Flow {
                                depth: f.depth + 1,
                                ..f
                            },
                            None => Flow {
                                depth: 1,
                                need: block_need,
                            },
                        });
                    }
                    b']' | b'}' => {
                        if let Some(f) = in_flow {
                            cx = match f.depth {
                                1 => Context::Block,
                                d => Context::Flow(Flow { depth: d - 1, ..f }),
                            };
                        }
                    }
                    b'|' | b'>'
                        if at_token_start
                            && in_flow.is_none()
                            && is_block_scalar_header(&line[i + 1..]) =>
                    {
                        return Context::BlockScalar { parent: indent };
                    }
                    _ => {}
                }
                at_token_start = match c {
                    b' ' | b'\t' => at_token_start || is_indicator_before(line, i),
                    b',' | b'[' | b'{' => matches!(cx, Context::Flow(_)),
                    _ => false,
                };
            }
            Context::BlockScalar { .. } => return cx,
        }
        i += 1;
    }
    cx
}

/// Whether the byte before the blank at `i` is an indicator after which a value starts
/// (`-`, `:`, `?`, `,`).
fn is_indicator_before(line: &[u8], i: usize) -> bool {
    i > 0 && matches!(line[i - 1], b'-' | b':' | b'?' | b',')
}

/// Whether what follows `|` or `>` is a block scalar header: indentation and chomping
/// indicators, then nothing or a comment.
fn is_block_scalar_header(rest: &[u8]) -> bool {
    let indicators = rest
        .iter()
        .take_while(|b| b.is_ascii_digit() || **b == b'-' || **b == b'+')
        .count();
    let tail = &rest[indicators..];
    let after_blanks = tail.iter().position(|b| *b != b' ' && *b != b'\t');
    match after_blanks {
        None => true,
        Some(at) => tail[at] == b'#' && at > 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(text: &str) -> Option<String> {
        reindent(text).map(|(t, _)| t)
    }

    #[test]
    fn quoted_continuation_under_its_key_is_indented_past_the_key() {
        let text = "a:\n  name: \"one\n two\"\n  b: 1\n";
        assert_eq!(
            fixed(text).as_deref(),
            Some("a:\n  name: \"one\n   two\"\n  b: 1\n")
        );
    }

    #[test]
    fn flow_lines_and_closing_bracket_are_indented_past_the_key() {
        let text = "w:\n  jobs: [\n  build,\n test\n]\nx: 1\n";
        let (out, shifts) = reindent(text).expect("changed");
        assert_eq!(out, "w:\n  jobs: [\n   build,\n   test\n   ]\nx: 1\n");
        assert_eq!(shifts.lines(), &[(3, 1), (4, 2), (5, 3)]);
        assert_eq!(shifts.unshift(Span::new(4, 4)), Span::new(4, 2));
        assert_eq!(shifts.unshift(Span::new(2, 4)), Span::new(2, 4));
    }

    #[test]
    fn items_of_a_sequence_need_the_column_after_the_dash() {
        let text = "s:\n  - name: 'a\n  b'\n";
        assert_eq!(fixed(text).as_deref(), Some("s:\n  - name: 'a\n     b'\n"));
    }

    #[test]
    fn block_scalars_comments_and_plain_quotes_are_left_alone() {
        let text = "a: |\n  echo \"[\n  x\nb: don't [x\nc: 1 # \"quote\n";
        assert_eq!(fixed(text), None);
    }

    #[test]
    fn escaped_and_doubled_quotes_do_not_end_a_string() {
        let text = "a: \"x \\\" y\nz\"\nb: 'it''s\nq'\n";
        assert_eq!(
            fixed(text).as_deref(),
            Some("a: \"x \\\" y\n z\"\nb: 'it''s\n q'\n")
        );
    }

    #[test]
    fn nothing_to_do_is_none() {
        assert_eq!(fixed("a: [1,\n  2]\n"), None);
    }
}
