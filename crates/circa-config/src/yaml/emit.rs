//! Writes a [`Node`] tree as block-style YAML, quoting strings only where YAML would read them
//! as something else.

use super::node::{Node, Value, format_float};

/// The tree as YAML text (ends with a newline).
pub fn to_yaml(node: &Node) -> String {
    let mut out = String::new();
    match &node.value {
        Value::Map(m) if !m.is_empty() => write_map_body(&mut out, node, 0),
        Value::Seq(s) if !s.is_empty() => write_seq_body(&mut out, node, 0),
        _ => {
            write_inline(&mut out, node, 0);
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn write_map_body(out: &mut String, node: &Node, level: usize) {
    let Value::Map(m) = &node.value else { return };
    for (key, value) in m.iter() {
        indent(out, level);
        write_string(out, key, level, true);
        out.push(':');
        write_value_after_key(out, value, level);
    }
}

fn write_seq_body(out: &mut String, node: &Node, level: usize) {
    let Value::Seq(items) = &node.value else {
        return;
    };
    for item in items {
        indent(out, level);
        out.push('-');
        match &item.value {
            Value::Map(m) if !m.is_empty() => {
                // The first key shares the dash's line; the rest line up under it.
                let mut first = true;
                for (key, value) in m.iter() {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        indent(out, level + 2);
                    }
                    write_string(out, key, level + 2, true);
                    out.push(':');
                    write_value_after_key(out, value, level + 2);
                }
            }
            Value::Seq(s) if !s.is_empty() => {
                out.push('\n');
                write_seq_body(out, item, level + 2);
            }
            _ => {
                out.push(' ');
                write_inline(out, item, level + 2);
                out.push('\n');
            }
        }
    }
}

fn write_value_after_key(out: &mut String, value: &Node, level: usize) {
    match &value.value {
        Value::Map(m) if !m.is_empty() => {
            out.push('\n');
            write_map_body(out, value, level + 2);
        }
        Value::Seq(s) if !s.is_empty() => {
            out.push('\n');
            write_seq_body(out, value, level + 2);
        }
        Value::Null => out.push('\n'),
        _ => {
            out.push(' ');
            write_inline(out, value, level + 2);
            out.push('\n');
        }
    }
}

fn write_inline(out: &mut String, node: &Node, level: usize) {
    match &node.value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&format_float(*f)),
        Value::Str(s) => write_string(out, s, level, false),
        Value::Seq(_) => out.push_str("[]"),
        Value::Map(_) => out.push_str("{}"),
    }
}

/// Writes a string plain, single-quoted, double-quoted or as a literal block, whichever reads
/// back as the same string.
fn write_string(out: &mut String, s: &str, level: usize, is_key: bool) {
    if needs_double_quotes(s) || (is_key && s.contains('\n')) {
        write_double_quoted(out, s);
    } else if s.contains('\n') {
        write_literal_block(out, s, level);
    } else if is_plain_safe(s) {
        out.push_str(s);
    } else {
        out.push('\'');
        out.push_str(&s.replace('\'', "''"));
        out.push('\'');
    }
}

fn needs_double_quotes(s: &str) -> bool {
    s.chars()
        .any(|c| (c.is_control() && c != '\n' && c != '\t') || c == '\u{feff}')
        || s.contains(" \n")
        || s.contains("\t\n")
        || s.ends_with(' ')
        || s.starts_with('\n')
}

fn write_double_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || c == '\u{feff}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_literal_block(out: &mut String, s: &str, level: usize) {
    let trailing = s.len() - s.trim_end_matches('\n').len();
    out.push('|');
    if s.starts_with(' ') {
        out.push('2');
    }
    match trailing {
        0 => out.push('-'),
        1 => {}
        _ => out.push('+'),
    }
    let body = s.strip_suffix('\n').unwrap_or(s);
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            indent(out, level);
            out.push_str(line);
        }
    }
}

fn is_plain_safe(s: &str) -> bool {
    if s.is_empty() || s.trim() != s {
        return false;
    }
    if !matches!(super::load::resolve_plain_for_emit(s), Value::Str(_)) {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "yes" | "no" | "on" | "off" | "y" | "n" | "<<"
    ) {
        return false;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        // "-foo" and ":foo" are plain-safe only when not followed by a space; keep it simple.
        let second = s.chars().nth(1);
        if !(matches!(first, '-' | '?' | ':') && second.is_some_and(|c| !c.is_whitespace())) {
            return false;
        }
    }
    !(s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.contains('\t'))
}

#[cfg(test)]
mod tests {
    use super::super::load::{Limits, load};
    use super::*;

    fn round_trip(text: &str) {
        let node = load(text, &Limits::default()).root.expect("loads");
        let yaml = to_yaml(&node);
        let again = load(&yaml, &Limits::default()).root.expect("reloads");
        assert_eq!(strip(&node), strip(&again), "emitted:\n{yaml}");
    }

    fn strip(n: &Node) -> String {
        format!("{:?}", n.value)
            .split("span: Span")
            .map(|p| p.split_once('}').map_or(p, |(_, rest)| rest))
            .collect()
    }

    #[test]
    fn strings_that_look_like_other_things_are_quoted() {
        round_trip(
            "a: 'true'\nb: '1'\nc: 'yes'\nd: 'x: y'\ne: '- x'\nf: ''\ng: \"a\\tb\"\nh: '#x'\ni: ' x'\nj: '2.1'\n",
        );
    }

    #[test]
    fn multi_line_strings_become_literal_blocks() {
        round_trip("a: |\n  one\n  two\nb: \"x\\n\"\nc: \"x\\n\\n\\n\"\nd: \"  lead\\nnext\"\n");
        let node = load("a: \"one\\ntwo\\n\"\n", &Limits::default())
            .root
            .expect("loads");
        assert_eq!(to_yaml(&node), "a: |\n  one\n  two\n");
    }

    #[test]
    fn nested_lists_and_maps() {
        round_trip(
            "jobs:\n  b:\n    steps:\n      - run: {command: x, name: y}\n      - [1, [2, 3]]\n      - {}\n",
        );
    }
}
