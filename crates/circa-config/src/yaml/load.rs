//! Text to [`Node`] tree: anchors and aliases, `<<` merge keys, positions, and the limits that keep
//! hostile input (huge files, alias bombs, deep nesting) from costing more than a moment.
//!
//! The builder is iterative (an explicit stack), so nesting depth never touches the call stack.

use super::node::{Map, Node, Value};
use crate::diag::{Diagnostic, Span};
use saphyr_parser::{Event, Parser, ScalarStyle, Span as YSpan};
use std::collections::HashMap;

/// The limits the loader enforces. Each refusal is a diagnostic, never a panic.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest accepted source, in bytes.
    pub max_bytes: usize,
    /// Most nodes the document may have once every alias is expanded.
    pub max_nodes: usize,
    /// Most bytes of text (strings and keys) the document may have once every alias is
    /// expanded: a long string repeated by aliases costs its length each time.
    pub max_text_bytes: usize,
    /// Deepest nesting of lists and maps.
    pub max_depth: usize,
}

impl Limits {
    /// 4 MiB of text.
    pub const DEFAULT_MAX_BYTES: usize = 4 * 1024 * 1024;
    /// One million nodes after alias expansion.
    pub const DEFAULT_MAX_NODES: usize = 1_000_000;
    /// 32 MiB of text after alias expansion: eight times the largest source and four times the
    /// largest processed config CircleCI accepts (8 MB), far more than anchors in real configs
    /// repeat.
    pub const DEFAULT_MAX_TEXT_BYTES: usize = 32 * 1024 * 1024;
    /// 200 levels of nesting.
    pub const DEFAULT_MAX_DEPTH: usize = 200;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: Self::DEFAULT_MAX_BYTES,
            max_nodes: Self::DEFAULT_MAX_NODES,
            max_text_bytes: Self::DEFAULT_MAX_TEXT_BYTES,
            max_depth: Self::DEFAULT_MAX_DEPTH,
        }
    }
}

/// The result of loading: the document (if it could be read) and what was found on the way.
#[derive(Debug)]
pub struct Loaded {
    /// The first document of the stream; `None` when the text could not be read.
    pub root: Option<Node>,
    /// Errors and warnings, with positions.
    pub diagnostics: Vec<Diagnostic>,
}

/// Checks that raw bytes can be a config at all (size, UTF-8, no NUL) and returns the text.
pub fn decode<'a>(bytes: &'a [u8], limits: &Limits) -> Result<&'a str, Diagnostic> {
    if bytes.len() > limits.max_bytes {
        return Err(Diagnostic::error(
            Span::new(1, 1),
            format!(
                "config is {} bytes; the limit is {} bytes",
                bytes.len(),
                limits.max_bytes
            ),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (line, col) = position_of_byte(bytes, e.valid_up_to());
        Diagnostic::error(
            Span::new(line, col),
            "config is not UTF-8 text (binary data?)",
        )
    })?;
    if let Some(at) = text.find('\0') {
        let (line, col) = position_of_byte(bytes, at);
        return Err(Diagnostic::error(
            Span::new(line, col),
            "config contains a NUL byte (binary data?)",
        ));
    }
    Ok(text)
}

fn position_of_byte(bytes: &[u8], at: usize) -> (u32, u32) {
    let before = &bytes[..at.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line as u32, col as u32)
}

/// Parses YAML text into a [`Node`] tree within `limits`.
pub fn load(text: &str, limits: &Limits) -> Loaded {
    let mut diagnostics = Vec::new();
    if text.len() > limits.max_bytes {
        diagnostics.push(Diagnostic::error(
            Span::new(1, 1),
            format!(
                "config is {} bytes; the limit is {} bytes",
                text.len(),
                limits.max_bytes
            ),
        ));
        return Loaded {
            root: None,
            diagnostics,
        };
    }
    let mut builder = Builder::new(limits);
    let root = match builder.run(text) {
        Ok(root) => root,
        Err(mut d) => match load_relaxed(text, limits) {
            Some((root, mut relaxed)) => {
                builder.warnings = Vec::new();
                diagnostics.append(&mut relaxed);
                root
            }
            None => {
                d.span = within_text(d.span, text);
                diagnostics.push(d);
                None
            }
        },
    };
    diagnostics.append(&mut builder.warnings);
    if root.is_none() && diagnostics.iter().all(|d| !d.is_error()) {
        diagnostics.push(Diagnostic::error(Span::new(1, 1), "config file is empty"));
    }
    Loaded { root, diagnostics }
}

/// Loads text that the strict reading refused as libyaml reads it (see [`super::relaxed`]):
/// the tree with original positions, and a warning per line accepted that way plus the
/// loader's own warnings. `None` when that reading fails too.
fn load_relaxed(text: &str, limits: &Limits) -> Option<(Option<Node>, Vec<Diagnostic>)> {
    let (indented, shifts) = super::relaxed::reindent(text)?;
    let mut builder = Builder::new(limits);
    let mut root = builder.run(&indented).ok()?;
    if let Some(root) = root.as_mut() {
        unshift_node(root, &shifts);
    }
    let mut diagnostics: Vec<Diagnostic> = shifts
        .lines()
        .iter()
        .map(|(line, _)| {
            Diagnostic::warning(
                Span::new(*line, 1),
                "this line continues a quoted string or a `[ ]`/`{ }` collection at no deeper indentation than its key; YAML requires it to be indented more (libyaml, which CircleCI uses, accepts it)",
            )
        })
        .collect();
    for mut w in builder.warnings {
        w.span = shifts.unshift(w.span);
        diagnostics.push(w);
    }
    Some((root, diagnostics))
}

/// Moves every position in `node` back to the original text's columns.
fn unshift_node(node: &mut Node, shifts: &super::relaxed::Shifts) {
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        n.span = shifts.unshift(n.span);
        match &mut n.value {
            Value::Seq(items) => stack.extend(items.iter_mut()),
            Value::Map(map) => {
                for entry in map.entries_mut() {
                    entry.key_span = shifts.unshift(entry.key_span);
                    stack.push(&mut entry.value);
                }
            }
            _ => {}
        }
    }
}

fn span_of(s: &YSpan) -> Span {
    Span::new(s.start.line() as u32, s.start.col() as u32 + 1)
}

/// A list or map under construction.
enum Frame {
    Seq {
        span: Span,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        span: Span,
        anchor: usize,
        items: Vec<MapItem>,
        key: Option<(String, Span, bool)>,
    },
}

/// A map's content in source order: explicit keys and `<<` merges, resolved at the map's end.
enum MapItem {
    Key(String, Span, Node),
    Merge(Node),
}

struct Builder<'l> {
    limits: &'l Limits,
    stack: Vec<Frame>,
    /// Anchored nodes with their node count and text bytes.
    anchors: HashMap<usize, (Node, usize, usize)>,
    nodes: usize,
    text_bytes: usize,
    warnings: Vec<Diagnostic>,
}

impl<'l> Builder<'l> {
    fn new(limits: &'l Limits) -> Self {
        Builder {
            limits,
            stack: Vec::new(),
            anchors: HashMap::new(),
            nodes: 0,
            text_bytes: 0,
            warnings: Vec::new(),
        }
    }

    fn run(&mut self, text: &str) -> Result<Option<Node>, Diagnostic> {
        let mut parser = Parser::new_from_str(text);
        let mut root: Option<Node> = None;
        let mut documents = 0;
        while let Some(event) = parser.next_event() {
            let (event, yspan) = event.map_err(|e| {
                let m = e.marker();
                let at = Span::new(m.line() as u32, m.col() as u32 + 1);
                if e.info().contains("recursion limit") {
                    self.too_deep(at)
                } else if e.info().contains("unknown anchor") {
                    Diagnostic::error(at, unknown_anchor_message(text, m.index()))
                } else {
                    Diagnostic::error(at, format!("YAML syntax error: {}", e.info()))
                }
            })?;
            let span = span_of(&yspan);
            let done = match event {
                Event::DocumentStart(_) => {
                    documents += 1;
                    if documents > 1 {
                        self.warnings.push(Diagnostic::warning(
                            span,
                            "only the first YAML document of the file is used",
                        ));
                        return Ok(root);
                    }
                    None
                }
                Event::Scalar(text, style, anchor, tag) => {
                    let bytes = text.len();
                    let is_str_tag = tag.as_ref().is_some_and(|t| t.suffix == "str");
                    let value = if style == ScalarStyle::Plain && !is_str_tag {
                        resolve_plain(&text)
                    } else {
                        Value::Str(text.into_owned())
                    };
                    let plain_merge =
                        style == ScalarStyle::Plain && value == Value::Str("<<".into());
                    self.count(1, bytes, span)?;
                    let node = Node::new(span, value);
                    if anchor > 0 {
                        self.anchors.insert(anchor, (node.clone(), 1, bytes));
                    }
                    Some((node, plain_merge))
                }
                Event::Alias(id) => {
                    let Some(&(_, size, bytes)) = self.anchors.get(&id) else {
                        return Err(Diagnostic::error(span, "alias refers to an unknown anchor"));
                    };
                    // Counted before the copy is made.
                    self.count(size, bytes, span)?;
                    let node = self.anchors.get(&id).map(|a| a.0.clone());
                    let node = node.unwrap_or_else(|| Node::null(span));
                    Some((node, false))
                }
                Event::SequenceStart(anchor, _) => {
                    self.push(
                        Frame::Seq {
                            span,
                            anchor,
                            items: Vec::new(),
                        },
                        span,
                    )?;
                    None
                }
                Event::MappingStart(anchor, _) => {
                    self.push(
                        Frame::Map {
                            span,
                            anchor,
                            items: Vec::new(),
                            key: None,
                        },
                        span,
                    )?;
                    None
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let node = self.pop()?;
                    Some((node, false))
                }
                Event::StreamEnd => break,
                _ => None,
            };
            if let Some((node, plain_merge)) = done
                && let Some(finished) = self.attach(node, plain_merge)?
            {
                root = Some(finished);
            }
        }
        Ok(root)
    }

    fn count(&mut self, n: usize, bytes: usize, span: Span) -> Result<(), Diagnostic> {
        self.nodes = self.nodes.saturating_add(n);
        self.text_bytes = self.text_bytes.saturating_add(bytes);
        if self.text_bytes > self.limits.max_text_bytes {
            return Err(Diagnostic::error(
                span,
                format!(
                    "config expands to more than {} bytes of text (a long value repeated by \
                     aliases?); refusing it",
                    self.limits.max_text_bytes
                ),
            ));
        }
        if self.nodes > self.limits.max_nodes {
            return Err(Diagnostic::error(
                span,
                format!(
                    "config expands to more than {} values (too many aliases?); refusing it",
                    self.limits.max_nodes
                ),
            ));
        }
        Ok(())
    }

    fn push(&mut self, frame: Frame, span: Span) -> Result<(), Diagnostic> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(self.too_deep(span));
        }
        self.count(1, 0, span)?;
        self.stack.push(frame);
        Ok(())
    }

    fn too_deep(&self, span: Span) -> Diagnostic {
        Diagnostic::error(
            span,
            format!(
                "config nests deeper than {} levels; refusing it",
                self.limits.max_depth
            ),
        )
    }

    fn pop(&mut self) -> Result<Node, Diagnostic> {
        let Some(frame) = self.stack.pop() else {
            return Err(Diagnostic::error(
                Span::new(1, 1),
                "unbalanced YAML structure",
            ));
        };
        let (node, anchor) = match frame {
            Frame::Seq {
                span,
                anchor,
                items,
            } => (Node::seq(span, items), anchor),
            Frame::Map {
                span,
                anchor,
                items,
                ..
            } => (Node::map(span, self.finish_map(items)), anchor),
        };
        if anchor > 0 {
            let size = node.count_nodes();
            let bytes = text_bytes(&node);
            self.anchors.insert(anchor, (node.clone(), size, bytes));
        }
        Ok(node)
    }

    /// Resolves a map's keys and merges: explicit keys win over merged ones wherever they stand,
    /// and among merges the earlier source wins. Merged keys take the place of their `<<`.
    fn finish_map(&mut self, items: Vec<MapItem>) -> Map {
        let mut explicit = std::collections::HashSet::new();
        for item in &items {
            if let MapItem::Key(k, _, _) = item {
                explicit.insert(k.clone());
            }
        }
        let mut map = Map::new();
        for item in items {
            match item {
                MapItem::Key(k, key_span, value) => {
                    if map.contains_key(&k) {
                        self.warnings.push(Diagnostic::warning(
                            key_span,
                            format!("key `{k}` appears twice in this map; the later one is used"),
                        ));
                    }
                    map.insert(k, key_span, value);
                }
                MapItem::Merge(source) => {
                    let sources: Vec<Node> = match source.value {
                        Value::Seq(items) => items,
                        _ => vec![source],
                    };
                    for s in sources {
                        if let Value::Map(m) = s.value {
                            for (k, e) in m {
                                if !explicit.contains(&k) && !map.contains_key(&k) {
                                    map.insert(k, e.key_span, e.value);
                                }
                            }
                        } else {
                            self.warnings.push(Diagnostic::warning(
                                s.span,
                                format!("`<<` merges maps only; {} is ignored", s.kind_name()),
                            ));
                        }
                    }
                }
            }
        }
        map
    }

    /// Attaches a finished node to the frame on top; returns it when it is the document root.
    fn attach(&mut self, node: Node, plain_merge: bool) -> Result<Option<Node>, Diagnostic> {
        match self.stack.last_mut() {
            None => Ok(Some(node)),
            Some(Frame::Seq { items, .. }) => {
                items.push(node);
                Ok(None)
            }
            Some(Frame::Map { items, key, .. }) => {
                match key.take() {
                    None => {
                        let text = match &node.value {
                            Value::Seq(_) | Value::Map(_) => {
                                return Err(Diagnostic::error(
                                    node.span,
                                    "a map key must be a plain value, not a list or map",
                                ));
                            }
                            Value::Null => "null".to_string(),
                            v => v.scalar_text().unwrap_or_default(),
                        };
                        *key = Some((text, node.span, plain_merge));
                    }
                    Some((k, key_span, is_merge)) => {
                        if is_merge {
                            items.push(MapItem::Merge(node));
                        } else {
                            items.push(MapItem::Key(k, key_span, node));
                        }
                    }
                }
                Ok(None)
            }
        }
    }
}

/// The bytes of text in `node`: its strings and keys (other scalars count as written, which
/// the loader has no record of here; they are short).
fn text_bytes(node: &Node) -> usize {
    match &node.value {
        Value::Str(s) => s.len(),
        Value::Seq(items) => items.iter().map(text_bytes).sum(),
        Value::Map(m) => m.iter().map(|(k, v)| k.len() + text_bytes(v)).sum(),
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => 0,
    }
}

/// How a plain scalar written by the emitter would read back.
pub(super) fn resolve_plain_for_emit(text: &str) -> Value {
    resolve_plain(text)
}

/// Resolves a plain scalar with the YAML 1.2 core schema.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let bytes = text.as_bytes();
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = text.parse::<i64>() {
            return Value::Int(i);
        }
        return Value::Str(text.to_string());
    }
    if let Some(hex) = text.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Value::Int(i);
    }
    if let Some(oct) = text.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Value::Int(i);
    }
    if is_float(bytes)
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::Str(text.to_string())
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_float(b: &[u8]) -> bool {
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = i - s;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s {
            return false;
        }
    }
    i == b.len()
}

/// `span`, or the end of the last line of `text` when the parser put it past the end (an error
/// at the end of input), so that it points at a line the file has.
fn within_text(span: Span, text: &str) -> Span {
    let lines = text.lines().count().max(1);
    if (span.line as usize) <= lines {
        return span;
    }
    let last = text.lines().last().map_or(0, |l| l.chars().count());
    Span::new(
        u32::try_from(lines).unwrap_or(u32::MAX),
        u32::try_from(last + 1).unwrap_or(u32::MAX),
    )
}

/// The message for an alias whose anchor is not defined, naming the alias written near
/// character `index` of `text` (where the parser stopped).
fn unknown_anchor_message(text: &str, index: usize) -> String {
    let before: Vec<char> = text.chars().take(index + 1).collect();
    let line_start = before.iter().rposition(|&c| c == '\n').map_or(0, |i| i + 1);
    let name: Option<String> = before[line_start..]
        .iter()
        .rposition(|&c| c == '*')
        .map(|star| {
            text.chars()
                .skip(line_start + star + 1)
                .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | '[' | ']' | '{' | '}'))
                .collect()
        })
        .filter(|n: &String| !n.is_empty());
    match name {
        Some(n) => format!("YAML syntax error: unknown anchor `{n}` referenced by alias `*{n}`"),
        None => "YAML syntax error: an alias refers to an unknown anchor".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_ok(text: &str) -> Node {
        let loaded = load(text, &Limits::default());
        assert!(
            loaded.diagnostics.iter().all(|d| !d.is_error()),
            "{:?}",
            loaded.diagnostics
        );
        loaded.root.expect("a document")
    }

    #[test]
    fn scalars_resolve_with_the_core_schema() {
        let n = load_ok("a: 1\nb: 2.5\nc: true\nd: yes\ne: ~\nf: '1'\ng: 2.1\nh: 0x1f\n");
        let m = n.as_map().expect("map");
        assert_eq!(m.get("a").map(|n| &n.value), Some(&Value::Int(1)));
        assert_eq!(m.get("b").map(|n| &n.value), Some(&Value::Float(2.5)));
        assert_eq!(m.get("c").map(|n| &n.value), Some(&Value::Bool(true)));
        assert_eq!(m.get("d").and_then(Node::as_bool_lenient), Some(true));
        assert!(m.get("e").is_some_and(Node::is_null));
        assert_eq!(m.get("f").and_then(Node::as_str), Some("1"));
        assert_eq!(m.get("g").map(|n| &n.value), Some(&Value::Float(2.1)));
        assert_eq!(m.get("h").map(|n| &n.value), Some(&Value::Int(31)));
    }

    #[test]
    fn positions_are_one_based() {
        let n = load_ok("version: 2.1\njobs:\n  build:\n    steps: []\n");
        let jobs = n.as_map().and_then(|m| m.entry("jobs")).expect("jobs");
        assert_eq!(jobs.key_span, Span::new(2, 1));
        let build = jobs
            .value
            .as_map()
            .and_then(|m| m.entry("build"))
            .expect("build");
        assert_eq!(build.key_span, Span::new(3, 3));
    }

    #[test]
    fn merge_keys_explicit_wins_and_earlier_merge_wins() {
        let n = load_ok(
            "base: &base {a: 1, b: 2}\nother: &other {b: 3, c: 4}\nx:\n  <<: [*base, *other]\n  a: 9\n",
        );
        let x = n
            .as_map()
            .and_then(|m| m.get("x"))
            .and_then(Node::as_map)
            .expect("x");
        assert_eq!(x.get("a").and_then(Node::as_int), Some(9));
        assert_eq!(x.get("b").and_then(Node::as_int), Some(2));
        assert_eq!(x.get("c").and_then(Node::as_int), Some(4));
        assert!(!x.contains_key("<<"));
    }

    #[test]
    fn a_redefined_anchor_uses_the_later_definition() {
        let n = load_ok("a: &x 1\nb: *x\nc: &x 2\nd: *x\n");
        let m = n.as_map().expect("map");
        assert_eq!(m.get("b").and_then(Node::as_int), Some(1));
        assert_eq!(m.get("d").and_then(Node::as_int), Some(2));
    }

    #[test]
    fn an_alias_bomb_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let loaded = load(&text, &Limits::default());
        assert!(loaded.root.is_none());
        assert!(loaded.diagnostics[0].message.contains("too many aliases"));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        let loaded = load(&text, &Limits::default());
        assert!(loaded.root.is_none());
        assert!(
            loaded.diagnostics[0].message.contains("nests deeper"),
            "{:?}",
            loaded.diagnostics
        );
    }

    #[test]
    fn empty_and_binary_input_are_refused() {
        let loaded = load("", &Limits::default());
        assert!(loaded.diagnostics[0].message.contains("empty"));
        let err = decode(b"version: 2\n\xff\xfe", &Limits::default()).expect_err("binary");
        assert_eq!(err.span, Span::new(2, 1));
        let err = decode(&vec![b'a'; 5 * 1024 * 1024], &Limits::default()).expect_err("large");
        assert!(err.message.contains("limit"));
    }

    #[test]
    fn unknown_anchors_are_named() {
        let loaded = load("test:\n  <<: *unknownAnchor\n", &Limits::default());
        let d = &loaded.diagnostics[0];
        assert_eq!(
            d.message,
            "YAML syntax error: unknown anchor `unknownAnchor` referenced by alias `*unknownAnchor`"
        );
        assert_eq!(d.span.line, 2);
        let loaded = load("a: [*x, 1]\n", &Limits::default());
        assert!(
            loaded.diagnostics[0].message.contains("`x`"),
            "{:?}",
            loaded.diagnostics
        );
    }

    #[test]
    fn syntax_errors_have_positions() {
        let loaded = load("a: [1, 2\nb: 3\n", &Limits::default());
        let d = &loaded.diagnostics[0];
        assert!(d.message.starts_with("YAML syntax error"));
        assert!(d.span.line >= 1);
    }

    #[test]
    fn errors_at_the_end_of_input_point_at_the_last_line() {
        for text in [": : [", ": : [\n", "a:\n  b: [1,\n"] {
            let loaded = load(text, &Limits::default());
            let d = &loaded.diagnostics[0];
            let lines = text.lines().count() as u32;
            assert_eq!(d.span.line, lines, "{text:?}: {d}");
            assert!(d.span.col >= 1);
        }
    }
}
