//! Parameters of commands, jobs, executors and pipelines: declarations, type checks, defaults,
//! and binding an invocation's arguments to them.

use crate::diag::{Diagnostic, Span};
use crate::yaml::{Map, Node, Value};
use indexmap::IndexMap;

/// The type of a declared parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamType {
    /// Any scalar, used as text.
    String,
    /// `true`/`false` (YAML 1.1 words accepted).
    Boolean,
    /// A whole number.
    Integer,
    /// One of a fixed list of strings.
    Enum(Vec<String>),
    /// An executor reference: a name or `{name, ...args}`.
    Executor,
    /// A list of steps.
    Steps,
    /// The name of an environment variable.
    EnvVarName,
}

impl ParamType {
    fn name(&self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Boolean => "boolean",
            ParamType::Integer => "integer",
            ParamType::Enum(_) => "enum",
            ParamType::Executor => "executor",
            ParamType::Steps => "steps",
            ParamType::EnvVarName => "env_var_name",
        }
    }
}

/// One declared parameter.
#[derive(Clone, Debug)]
pub struct ParamDecl {
    /// The parameter's name.
    pub name: String,
    /// Its type.
    pub ty: ParamType,
    /// Its default, if it has one (no default means it is required).
    pub default: Option<Node>,
    /// Where it is declared.
    pub span: Span,
}

/// Reads a `parameters:` declaration map. Malformed declarations are reported and skipped
/// (the structural checks report them in more detail).
pub fn read_decls(decls: Option<&Node>, diags: &mut Vec<Diagnostic>) -> Vec<ParamDecl> {
    let Some(map) = decls.and_then(Node::as_map) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, entry) in map.entries() {
        let Some(body) = entry.value.as_map() else {
            diags.push(Diagnostic::error(
                entry.value.span,
                format!("parameter `{name}` must be a map with a `type`"),
            ));
            continue;
        };
        let ty = match body.get("type").and_then(Node::as_str) {
            Some("string") => ParamType::String,
            Some("boolean") => ParamType::Boolean,
            Some("integer") => ParamType::Integer,
            Some("executor") => ParamType::Executor,
            Some("steps") => ParamType::Steps,
            Some("env_var_name") => ParamType::EnvVarName,
            Some("enum") => ParamType::Enum(
                body.get("enum")
                    .and_then(Node::as_seq)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(Node::scalar_text)
                    .collect(),
            ),
            Some(other) => {
                diags.push(Diagnostic::error(
                    body.get("type").map_or(entry.key_span, |n| n.span),
                    format!("parameter `{name}` has unknown type `{other}`"),
                ));
                continue;
            }
            None => {
                diags.push(Diagnostic::error(
                    entry.key_span,
                    format!("parameter `{name}` needs a `type`"),
                ));
                continue;
            }
        };
        out.push(ParamDecl {
            name: name.to_string(),
            ty,
            default: body.get("default").cloned(),
            span: entry.key_span,
        });
    }
    out
}

/// Checks `value` against `ty` and returns it in canonical form (booleans as booleans, integers
/// as integers, enum and string values as strings). `what` names the parameter for messages.
pub fn coerce(ty: &ParamType, value: &Node, what: &str) -> Result<Node, Diagnostic> {
    let wrong = |expected: &str| {
        let given = match &value.value {
            Value::Seq(_) | Value::Map(_) => value.kind_name().to_string(),
            v => format!("{} `{v}`", value.kind_name()),
        };
        Diagnostic::error(
            value.span,
            format!("{what} is of type {expected}, but was given {given}"),
        )
    };
    let span = value.span;
    match ty {
        ParamType::String => match &value.value {
            Value::Str(_) | Value::Int(_) | Value::Float(_) => {
                Ok(Node::str(span, value.scalar_text().unwrap_or_default()))
            }
            Value::Null => Ok(Node::str(span, "")),
            _ => Err(wrong("string")),
        },
        ParamType::Boolean => value
            .as_bool_lenient()
            .map(|b| Node::new(span, Value::Bool(b)))
            .ok_or_else(|| wrong("boolean")),
        ParamType::Integer => match &value.value {
            Value::Int(i) => Ok(Node::new(span, Value::Int(*i))),
            Value::Str(s) => s
                .trim()
                .parse::<i64>()
                .map(|i| Node::new(span, Value::Int(i)))
                .map_err(|_| wrong("integer")),
            _ => value
                .as_int()
                .map(|i| Node::new(span, Value::Int(i)))
                .ok_or_else(|| wrong("integer")),
        },
        ParamType::Enum(allowed) => {
            let text = match &value.value {
                Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                    value.scalar_text().unwrap_or_default()
                }
                _ => return Err(wrong("enum")),
            };
            if allowed.contains(&text) {
                Ok(Node::str(span, text))
            } else {
                Err(Diagnostic::error(
                    span,
                    format!(
                        "{what} must be one of {}, but was given `{text}`",
                        allowed
                            .iter()
                            .map(|a| format!("`{a}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ))
            }
        }
        ParamType::EnvVarName => {
            let text = value.as_str().ok_or_else(|| wrong("env_var_name"))?;
            let mut chars = text.chars();
            let ok = chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
            if ok {
                Ok(value.clone())
            } else {
                Err(Diagnostic::error(
                    span,
                    format!("{what} must be an environment variable name, but was given `{text}`"),
                ))
            }
        }
        ParamType::Steps => match &value.value {
            Value::Seq(_) => Ok(value.clone()),
            Value::Null => Ok(Node::seq(span, Vec::new())),
            Value::Map(_) | Value::Str(_) => Ok(Node::seq(span, vec![value.clone()])),
            _ => Err(wrong("steps")),
        },
        ParamType::Executor => match &value.value {
            Value::Str(_) => Ok(value.clone()),
            Value::Map(m) if m.get("name").and_then(Node::as_str).is_some() => Ok(value.clone()),
            _ => Err(wrong("executor")),
        },
    }
}

/// Binds an invocation's arguments to declared parameters. Every declared parameter gets its
/// argument or default; a missing required one, an undeclared argument or a wrongly typed value
/// is a diagnostic. `owner` names what is invoked ("job `build`"), `at` is the invocation.
pub fn bind(
    decls: &[ParamDecl],
    args: &Map,
    owner: &str,
    at: Span,
    diags: &mut Vec<Diagnostic>,
) -> IndexMap<String, Node> {
    let mut bound = IndexMap::new();
    for decl in decls {
        let what = format!("parameter `{}` of {owner}", decl.name);
        let value = match args.get(&decl.name) {
            Some(v) => v,
            None => match &decl.default {
                Some(d) => d,
                None => {
                    diags.push(Diagnostic::error(
                        at,
                        format!(
                            "missing required parameter `{}` ({}) for {owner}",
                            decl.name,
                            decl.ty.name()
                        ),
                    ));
                    // Bound all the same, so that its uses are not reported a second time.
                    bound.insert(decl.name.clone(), Node::null(at));
                    continue;
                }
            },
        };
        match coerce(&decl.ty, value, &what) {
            Ok(v) => {
                bound.insert(decl.name.clone(), v);
            }
            Err(d) => {
                diags.push(d);
                // The value as given, so that uses of the parameter do not add a second error.
                bound.insert(decl.name.clone(), value.clone());
            }
        }
    }
    for (name, entry) in args.entries() {
        if !decls.iter().any(|d| d.name == name) {
            let known: Vec<&str> = decls.iter().map(|d| d.name.as_str()).collect();
            let hint = if known.is_empty() {
                format!("{owner} takes no parameters")
            } else {
                format!("its parameters are {}", known.join(", "))
            };
            diags.push(Diagnostic::error(
                entry.key_span,
                format!("parameter `{name}` is not defined in {owner}; {hint}"),
            ));
        }
    }
    bound
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Limits, load};

    fn node(text: &str) -> Node {
        load(text, &Limits::default()).root.expect("yaml")
    }

    #[test]
    fn binds_defaults_and_arguments() {
        let decls_node = node(
            "name: {type: string, default: x}\ncount: {type: integer}\nflag: {type: boolean, default: no}\n",
        );
        let mut diags = Vec::new();
        let decls = read_decls(Some(&decls_node), &mut diags);
        let args = node("count: '3'\n");
        let bound = bind(
            &decls,
            args.as_map().expect("map"),
            "job `a`",
            Span::NONE,
            &mut diags,
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(bound["name"].as_str(), Some("x"));
        assert_eq!(bound["count"].value, Value::Int(3));
        assert_eq!(bound["flag"].value, Value::Bool(false));
    }

    #[test]
    fn reports_missing_unknown_and_mistyped() {
        let decls_node = node(
            "count: {type: integer}\nmode: {type: enum, enum: [a, b], default: a}\ns: {type: string, default: ''}\n",
        );
        let mut diags = Vec::new();
        let decls = read_decls(Some(&decls_node), &mut diags);
        let args = node("mode: c\nextra: 1\ns: true\n");
        bind(
            &decls,
            args.as_map().expect("map"),
            "command `c`",
            Span::new(9, 9),
            &mut diags,
        );
        let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("missing required parameter `count`"))
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("must be one of `a`, `b`"))
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("parameter `extra` is not defined in command `c`"))
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("is of type string, but was given a boolean"))
        );
    }

    #[test]
    fn failed_parameters_stay_bound_so_their_uses_are_not_reported_again() {
        let decls_node =
            node("count: {type: integer}\nmode: {type: enum, enum: [a], default: a}\n");
        let mut diags = Vec::new();
        let decls = read_decls(Some(&decls_node), &mut diags);
        let args = node("mode: b\n");
        let bound = bind(
            &decls,
            args.as_map().expect("map"),
            "job `j`",
            Span::new(3, 3),
            &mut diags,
        );
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert!(bound.contains_key("count"));
        assert_eq!(bound["mode"].as_str(), Some("b"));
    }
}
