//! The YAML value tree with source positions that every later stage works on.

use crate::diag::Span;
use indexmap::IndexMap;
use std::fmt;

/// A YAML value and where it starts in the source.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Where the value starts.
    pub span: Span,
    /// The value.
    pub value: Value,
}

/// A YAML value. Plain scalars are resolved with the YAML 1.2 core schema (`true`/`false` in any
/// case are booleans); YAML 1.1 words (`yes`, `on`, ...) stay strings and are accepted as
/// booleans only where a boolean is expected (see [`Node::as_bool_lenient`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating point number.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping with string keys, in source order.
    Map(Map),
}

/// A mapping with string keys kept in insertion order, each key with its own position.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Map {
    entries: IndexMap<String, Entry>,
}

/// One key of a [`Map`] with its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Where the key is written.
    pub key_span: Span,
    /// The value under the key.
    pub value: Node,
}

impl Map {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries.get(key).map(|e| &e.value)
    }

    /// The value under `key`, mutable.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.entries.get_mut(key).map(|e| &mut e.value)
    }

    /// The key's entry (with the key's own position).
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// Sets `key` to `value`, keeping the key's place if it was present. Returns the old value.
    pub fn insert(&mut self, key: impl Into<String>, key_span: Span, value: Node) -> Option<Node> {
        self.entries
            .insert(key.into(), Entry { key_span, value })
            .map(|e| e.value)
    }

    /// Removes `key`, keeping the order of the others.
    pub fn remove(&mut self, key: &str) -> Option<Node> {
        self.entries.shift_remove(key).map(|e| e.value)
    }

    /// Keys and values in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.entries.iter().map(|(k, e)| (k.as_str(), &e.value))
    }

    /// Keys, values and key positions in order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries.iter().map(|(k, e)| (k.as_str(), e))
    }

    /// Entries in order, mutable (keys stay as they are).
    pub fn entries_mut(&mut self) -> impl Iterator<Item = &mut Entry> {
        self.entries.values_mut()
    }

    /// Keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sorts keys alphabetically (the processed config prints maps this way).
    pub fn sort_keys(&mut self) {
        self.entries.sort_keys();
    }
}

impl IntoIterator for Map {
    type Item = (String, Entry);
    type IntoIter = indexmap::map::IntoIter<String, Entry>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl Node {
    /// A node at `span`.
    pub fn new(span: Span, value: Value) -> Self {
        Node { span, value }
    }

    /// A string node.
    pub fn str(span: Span, s: impl Into<String>) -> Self {
        Node::new(span, Value::Str(s.into()))
    }

    /// A map node.
    pub fn map(span: Span, map: Map) -> Self {
        Node::new(span, Value::Map(map))
    }

    /// A sequence node.
    pub fn seq(span: Span, items: Vec<Node>) -> Self {
        Node::new(span, Value::Seq(items))
    }

    /// A null node.
    pub fn null(span: Span) -> Self {
        Node::new(span, Value::Null)
    }

    /// The map inside, if this is a map.
    pub fn as_map(&self) -> Option<&Map> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The map inside, mutable.
    pub fn as_map_mut(&mut self) -> Option<&mut Map> {
        match &mut self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The items, if this is a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is null.
    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// The boolean, accepting YAML 1.1 words (`yes/no/on/off/y/n`, any case) and `true`/`false`
    /// strings, as CircleCI does for boolean parameters and flags.
    pub fn as_bool_lenient(&self) -> Option<bool> {
        match &self.value {
            Value::Bool(b) => Some(*b),
            Value::Str(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "y" => Some(true),
                "false" | "no" | "off" | "n" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// The integer, if this is one (or an integral float).
    pub fn as_int(&self) -> Option<i64> {
        match &self.value {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            _ => None,
        }
    }

    /// A short name of the value's kind, for messages ("a string", "a map", ...).
    pub fn kind_name(&self) -> &'static str {
        self.value.kind_name()
    }

    /// The scalar rendered as text the way it is substituted into strings; `None` for
    /// sequences and maps.
    pub fn scalar_text(&self) -> Option<String> {
        self.value.scalar_text()
    }

    /// This node and every node below it, re-positioned at `span` (values copied from a
    /// definition into the place that used it).
    pub fn with_span(mut self, span: Span) -> Self {
        self.span = span;
        self
    }

    /// Counts this node and every node below it.
    pub fn count_nodes(&self) -> usize {
        1 + match &self.value {
            Value::Seq(items) => items.iter().map(Node::count_nodes).sum(),
            Value::Map(m) => m.iter().map(|(_, v)| 1 + v.count_nodes()).sum(),
            _ => 0,
        }
    }
}

impl Value {
    /// A short name of the value's kind, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a map",
        }
    }

    /// The scalar as text; `None` for sequences and maps.
    pub fn scalar_text(&self) -> Option<String> {
        match self {
            Value::Null => Some(String::new()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(format_float(*f)),
            Value::Str(s) => Some(s.clone()),
            Value::Seq(_) | Value::Map(_) => None,
        }
    }

    /// Whether this is a scalar (not a list or map).
    pub fn is_scalar(&self) -> bool {
        !matches!(self, Value::Seq(_) | Value::Map(_))
    }
}

/// Formats a float the way YAML writers do: integral values keep one decimal (`2.0`).
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        ".nan".to_string()
    } else if f.is_infinite() {
        if f > 0.0 { ".inf" } else { "-.inf" }.to_string()
    } else if f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scalar_text() {
            Some(t) => f.write_str(&t),
            None => f.write_str(self.kind_name()),
        }
    }
}
