//! `<< ... >>` interpolation: parameters, pipeline values, pipeline parameters, matrix values and
//! expressions, substituted into every string of a tree.
//!
//! A string that is exactly one `<< x >>` takes the value's own type (a list of steps, a
//! boolean); anywhere else the value's text is spliced in. `\<<` stands for a literal `<<`.
//! Text between `<<` and `>>` that names no parameter, pipeline or matrix value (a shell
//! here-document, say) is left as it is.

use crate::diag::Diagnostic;
use crate::pipeline::PipelineValues;
use crate::yaml::{Map, Node, Value};
use indexmap::IndexMap;

/// What `<< >>` can see at one place of a config.
#[derive(Clone, Copy)]
pub struct Vars<'a> {
    /// `pipeline.*` values and `pipeline.parameters.*`.
    pub pipeline: &'a PipelineValues,
    /// `parameters.*` of the job, command or executor being expanded; `None` outside of one.
    pub params: Option<&'a IndexMap<String, Node>>,
    /// `matrix.*` of a matrix job invocation.
    pub matrix: Option<&'a IndexMap<String, Node>>,
    /// What the parameters belong to, for messages ("job `build`").
    pub owner: &'a str,
}

impl<'a> Vars<'a> {
    /// Only pipeline values.
    pub fn pipeline(pipeline: &'a PipelineValues) -> Self {
        Vars {
            pipeline,
            params: None,
            matrix: None,
            owner: "",
        }
    }

    /// Looks a dotted name up; `Err` says why it is not available.
    pub fn lookup(&self, name: &str) -> Result<Value, String> {
        if let Some(rest) = name.strip_prefix("parameters.") {
            let Some(params) = self.params else {
                return Err(format!(
                    "`<< {name} >>` is used outside of a job, command or executor"
                ));
            };
            return match params.get(rest) {
                Some(node) => Ok(node.value.clone()),
                None => Err(format!("{} has no parameter `{rest}`", self.owner_name())),
            };
        }
        if let Some(rest) = name.strip_prefix("matrix.") {
            return match self.matrix.and_then(|m| m.get(rest)) {
                Some(node) => Ok(node.value.clone()),
                None if self.matrix.is_none() => Err(format!(
                    "`<< {name} >>` is used outside of a matrix job invocation"
                )),
                None => Err(format!("the matrix has no parameter `{rest}`")),
            };
        }
        if let Some(rest) = name.strip_prefix("pipeline.parameters.") {
            return self
                .pipeline
                .get(name)
                .ok_or_else(|| format!("pipeline parameter `{rest}` is not declared"));
        }
        self.pipeline
            .get(name)
            .ok_or_else(|| format!("unknown pipeline value `{name}`"))
    }

    fn owner_name(&self) -> &str {
        if self.owner.is_empty() {
            "this definition"
        } else {
            self.owner
        }
    }
}

/// Whether the text between `<<` and `>>` is meant for interpolation.
fn is_candidate(inner: &str) -> bool {
    if inner.contains('\n') {
        return false;
    }
    ["parameters.", "pipeline.", "matrix."].iter().any(|p| {
        inner.match_indices(p).any(|(at, _)| {
            at == 0 || {
                let before = inner[..at].chars().next_back().unwrap_or(' ');
                !(before.is_ascii_alphanumeric() || before == '_' || before == '.' || before == '-')
            }
        })
    })
}

/// Evaluates the text between `<<` and `>>`.
fn evaluate(inner: &str, vars: &Vars<'_>) -> Result<Value, String> {
    let inner = inner.trim();
    let is_name = inner
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if is_name {
        return vars.lookup(inner);
    }
    evaluate_expression(inner, vars).map_err(|e| format!("in `<< {inner} >>`: {e}"))
}

/// Evaluates an expression (operators, literals) over the visible values.
fn evaluate_expression(inner: &str, vars: &Vars<'_>) -> Result<Value, String> {
    let expr = crate::expr::parse(inner).map_err(|e| e.to_string())?;
    let missing = std::cell::RefCell::new(None);
    let lookup = |name: &str| match vars.lookup(name) {
        Ok(v) => Some(v),
        Err(why) => {
            missing.borrow_mut().get_or_insert(why);
            None
        }
    };
    expr.eval(&lookup)
        .map_err(|e| missing.borrow_mut().take().unwrap_or_else(|| e.to_string()))
}

/// The `<<` … `>>` pieces of a string, in order.
enum Piece<'s> {
    Text(&'s str),
    Expr(&'s str),
}

fn split(s: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("<<") {
        if rest[..start].ends_with('\\') {
            pieces.push(Piece::Text(&rest[..start - 1]));
            pieces.push(Piece::Text("<<"));
            rest = &rest[start + 2..];
            continue;
        }
        let after = &rest[start + 2..];
        match after.find(">>") {
            Some(end) if is_candidate(&after[..end]) => {
                pieces.push(Piece::Text(&rest[..start]));
                pieces.push(Piece::Expr(&after[..end]));
                rest = &after[end + 2..];
            }
            _ => {
                pieces.push(Piece::Text(&rest[..start + 2]));
                rest = after;
            }
        }
    }
    pieces.push(Piece::Text(rest));
    pieces
}

/// Interpolates one string found at `at`. Returns `None` when it holds nothing to replace.
///
/// Besides `<< name >>` and expressions, strings may hold sections: text between
/// `<< #parameters.x >>` and `<< /parameters.x >>` is kept only when `x` is truthy, and between
/// `<< ^parameters.x >>` and `<< /parameters.x >>` only when it is not.
pub fn interpolate_str(s: &str, at: &Node, vars: &Vars<'_>) -> Result<Option<Node>, Diagnostic> {
    if !s.contains("<<") {
        return Ok(None);
    }
    let pieces = split(s);
    if !pieces.iter().any(|p| matches!(p, Piece::Expr(_))) && !s.contains("\\<<") {
        return Ok(None);
    }
    let fail = |m: String| Diagnostic::error(at.span, m);
    let non_empty: Vec<&Piece<'_>> = pieces
        .iter()
        .filter(|p| !matches!(p, Piece::Text(t) if t.is_empty()))
        .collect();
    if let [Piece::Expr(inner)] = non_empty.as_slice()
        && section_marker(inner).is_none()
    {
        let value = evaluate(inner, vars).map_err(fail)?;
        return Ok(Some(Node::new(at.span, value)));
    }
    let mut out = String::with_capacity(s.len());
    // Open sections: (name, whether their text is kept).
    let mut sections: Vec<(&str, bool)> = Vec::new();
    for piece in &pieces {
        let keep = sections.iter().all(|(_, k)| *k);
        match piece {
            Piece::Text(t) => {
                if keep {
                    out.push_str(t);
                }
            }
            Piece::Expr(inner) => match section_marker(inner) {
                Some((Section::Open, name)) | Some((Section::Inverted, name)) => {
                    let inverted = matches!(section_marker(inner), Some((Section::Inverted, _)));
                    let truthy = crate::expr::is_truthy(&evaluate(name, vars).map_err(fail)?);
                    sections.push((name, truthy != inverted));
                }
                Some((Section::Close, name)) => match sections.pop() {
                    Some((open, _)) if open == name => {}
                    Some((open, _)) => {
                        return Err(fail(format!(
                            "section `<< #{open} >>` is closed by `<< /{name} >>`"
                        )));
                    }
                    None => {
                        return Err(fail(format!(
                            "`<< /{name} >>` closes a section that was never opened"
                        )));
                    }
                },
                None => {
                    if !keep {
                        continue;
                    }
                    let value = evaluate(inner, vars).map_err(fail)?;
                    match value.scalar_text() {
                        Some(text) => out.push_str(&text),
                        None => {
                            return Err(fail(format!(
                                "`<< {} >>` is {} and cannot be part of a longer string",
                                inner.trim(),
                                value.kind_name()
                            )));
                        }
                    }
                }
            },
        }
    }
    if let Some((open, _)) = sections.last() {
        return Err(fail(format!("section `<< #{open} >>` is never closed")));
    }
    Ok(Some(Node::str(at.span, out)))
}

/// The kinds of section markers.
#[derive(Clone, Copy)]
enum Section {
    Open,
    Inverted,
    Close,
}

/// `#name`, `^name` or `/name` (spaces allowed around the sigil) and the name.
fn section_marker(inner: &str) -> Option<(Section, &str)> {
    let t = inner.trim();
    let kind = match t.chars().next()? {
        '#' => Section::Open,
        '^' => Section::Inverted,
        '/' => Section::Close,
        _ => return None,
    };
    Some((kind, t[1..].trim()))
}

/// Interpolates every string (values and keys) of `node`, reporting each failure.
pub fn interpolate(node: &Node, vars: &Vars<'_>, diags: &mut Vec<Diagnostic>) -> Node {
    match &node.value {
        Value::Str(s) => match interpolate_str(s, node, vars) {
            Ok(Some(n)) => n,
            Ok(None) => node.clone(),
            Err(d) => {
                diags.push(d);
                node.clone()
            }
        },
        Value::Seq(items) => Node::seq(
            node.span,
            items.iter().map(|i| interpolate(i, vars, diags)).collect(),
        ),
        Value::Map(m) => {
            let mut out = Map::new();
            for (k, e) in m.entries() {
                let key_node = Node::str(e.key_span, k);
                let key = match interpolate_str(k, &key_node, vars) {
                    Ok(Some(n)) => n.scalar_text().unwrap_or_else(|| k.to_string()),
                    Ok(None) => k.to_string(),
                    Err(d) => {
                        diags.push(d);
                        k.to_string()
                    }
                };
                out.insert(key, e.key_span, interpolate(&e.value, vars, diags));
            }
            Node::map(node.span, out)
        }
        _ => node.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Span;

    fn run(s: &str, vars: &Vars<'_>) -> Result<Option<Node>, Diagnostic> {
        interpolate_str(s, &Node::str(Span::new(1, 1), s), vars)
    }

    #[test]
    fn substitutes_names_and_keeps_types_for_whole_strings() {
        let mut pv = PipelineValues::new();
        pv.set("git.branch", "main");
        let mut params = IndexMap::new();
        params.insert("n".to_string(), Node::new(Span::NONE, Value::Int(3)));
        params.insert("flag".to_string(), Node::new(Span::NONE, Value::Bool(true)));
        let vars = Vars {
            pipeline: &pv,
            params: Some(&params),
            matrix: None,
            owner: "job `a`",
        };
        let n = run("<< parameters.n >>", &vars).expect("ok").expect("some");
        assert_eq!(n.value, Value::Int(3));
        let n = run("x-<<parameters.n>>-<< pipeline.git.branch >>", &vars)
            .expect("ok")
            .expect("some");
        assert_eq!(n.as_str(), Some("x-3-main"));
        let n = run("flag=<< parameters.flag >>", &vars)
            .expect("ok")
            .expect("some");
        assert_eq!(n.as_str(), Some("flag=true"));
    }

    #[test]
    fn leaves_heredocs_and_escapes_alone() {
        let pv = PipelineValues::new();
        let vars = Vars::pipeline(&pv);
        assert!(
            run("cat <<EOF >> out\nx\nEOF", &vars)
                .expect("ok")
                .is_none()
        );
        let n = run("echo \\<< parameters.x >>", &vars)
            .expect("ok")
            .expect("some");
        assert_eq!(n.as_str(), Some("echo << parameters.x >>"));
    }

    #[test]
    fn sections_keep_or_drop_their_text() {
        let pv = PipelineValues::new();
        let mut params = IndexMap::new();
        params.insert("on".to_string(), Node::new(Span::NONE, Value::Bool(true)));
        params.insert("off".to_string(), Node::new(Span::NONE, Value::Bool(false)));
        params.insert("v".to_string(), Node::str(Span::NONE, "x"));
        let vars = Vars {
            pipeline: &pv,
            params: Some(&params),
            matrix: None,
            owner: "command `c`",
        };
        let s = "a-<<# parameters.on >>on-<< parameters.v >>-<</ parameters.on >><< #parameters.off >>off<< /parameters.off >><<^parameters.off>>not-off<</parameters.off>>";
        let n = run(s, &vars).expect("ok").expect("some");
        assert_eq!(n.as_str(), Some("a-on-x-not-off"));
        let e = run("<< #parameters.on >>x", &vars).expect_err("unclosed");
        assert!(e.message.contains("never closed"));
    }

    #[test]
    fn unknown_names_are_errors() {
        let pv = PipelineValues::new();
        let vars = Vars::pipeline(&pv);
        let e = run("<< parameters.x >>", &vars).expect_err("outside");
        assert!(e.message.contains("outside of a job"));
        let e = run("<< pipeline.parameters.nope >>", &vars).expect_err("undeclared");
        assert!(e.message.contains("not declared"));
        let e = run("<< pipeline.nope >>", &vars).expect_err("unknown");
        assert!(e.message.contains("unknown pipeline value"));
    }
}
