//! `<< ... >>` interpolation: parameters, pipeline values, pipeline parameters, matrix values and
//! expressions, substituted into every string of a tree.
//!
//! A string that is exactly one `<< x >>` takes the value's own type (a list of steps, a
//! boolean); anywhere else the value's text is spliced in. `\<<` stands for a literal `<<`.
//! Text between `<<` and `>>` that names no parameter, pipeline or matrix value (a shell
//! here-document, say) is left as it is.
//!
//! What interpolation makes is charged to the compile's [`Budget`] as it is made; a string is
//! refused before it would grow past the limit on one value, and a whole value before it is
//! copied.

use crate::budget::{Budget, NODE_BYTES, OverBudget};
use crate::diag::Diagnostic;
use crate::pipeline::PipelineValues;
use crate::yaml::{Map, Node, Value};
use indexmap::IndexMap;
use std::borrow::Cow;

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

    /// Looks a dotted name up (parameters and matrix values are borrowed, not copied); `Err`
    /// says why it is not available.
    pub fn lookup(&self, name: &str) -> Result<Cow<'a, Value>, String> {
        if let Some(rest) = name.strip_prefix("parameters.") {
            let Some(params) = self.params else {
                return Err(format!(
                    "`<< {name} >>` is used outside of a job, command or executor"
                ));
            };
            return match params.get(rest) {
                Some(node) => Ok(Cow::Borrowed(&node.value)),
                None => Err(format!("{} has no parameter `{rest}`", self.owner_name())),
            };
        }
        if let Some(rest) = name.strip_prefix("matrix.") {
            return match self.matrix.and_then(|m| m.get(rest)) {
                Some(node) => Ok(Cow::Borrowed(&node.value)),
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
                .map(Cow::Owned)
                .ok_or_else(|| format!("pipeline parameter `{rest}` is not declared"));
        }
        self.pipeline
            .get(name)
            .map(Cow::Owned)
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
fn evaluate<'a>(inner: &str, vars: &Vars<'a>) -> Result<Cow<'a, Value>, String> {
    let inner = inner.trim();
    let is_name = inner
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if is_name {
        return vars.lookup(inner);
    }
    evaluate_expression(inner, vars)
        .map(Cow::Owned)
        .map_err(|e| format!("in `<< {inner} >>`: {e}"))
}

/// Evaluates an expression (operators, literals) over the visible values.
fn evaluate_expression(inner: &str, vars: &Vars<'_>) -> Result<Value, String> {
    let expr = crate::expr::parse(inner).map_err(|e| e.to_string())?;
    let missing = std::cell::RefCell::new(None);
    let lookup = |name: &str| match vars.lookup(name) {
        Ok(v) => Some(v.into_owned()),
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

/// Why a string could not be interpolated.
#[derive(Clone, Debug, PartialEq)]
pub enum InterpError {
    /// A mistake in the config, with where it is.
    Invalid(Diagnostic),
    /// What the string would make passes the compile's budget: expansion stops.
    OverBudget(OverBudget),
}

impl From<OverBudget> for InterpError {
    fn from(over: OverBudget) -> Self {
        InterpError::OverBudget(over)
    }
}

/// Interpolates one string found at `at`. Returns `None` when it holds nothing to replace.
/// What it makes is charged to `budget`; a string is refused before it grows past the limit on
/// one value.
///
/// Besides `<< name >>` and expressions, strings may hold sections: text between
/// `<< #parameters.x >>` and `<< /parameters.x >>` is kept only when `x` is truthy, and between
/// `<< ^parameters.x >>` and `<< /parameters.x >>` only when it is not.
pub fn interpolate_str(
    s: &str,
    at: &Node,
    vars: &Vars<'_>,
    budget: &Budget,
) -> Result<Option<Node>, InterpError> {
    if !s.contains("<<") {
        return Ok(None);
    }
    let pieces = split(s);
    if !pieces.iter().any(|p| matches!(p, Piece::Expr(_))) && !s.contains("\\<<") {
        return Ok(None);
    }
    let fail = |m: String| InterpError::Invalid(Diagnostic::error(at.span, m));
    let non_empty: Vec<&Piece<'_>> = pieces
        .iter()
        .filter(|p| !matches!(p, Piece::Text(t) if t.is_empty()))
        .collect();
    if let [Piece::Expr(inner)] = non_empty.as_slice()
        && section_marker(inner).is_none()
    {
        let value = evaluate(inner, vars).map_err(fail)?;
        budget.charge_copy(&value, at.span)?;
        return Ok(Some(Node::new(at.span, value.into_owned())));
    }
    let mut out = String::with_capacity(s.len());
    // Checks, before `text` is added, that the string stays within the limit on one value.
    let push = |out: &mut String, text: &str| -> Result<(), InterpError> {
        budget.check_value(out.len().saturating_add(text.len()), at.span)?;
        out.push_str(text);
        Ok(())
    };
    // Open sections: (name, whether their text is kept).
    let mut sections: Vec<(&str, bool)> = Vec::new();
    for piece in &pieces {
        let keep = sections.iter().all(|(_, k)| *k);
        match piece {
            Piece::Text(t) => {
                if keep {
                    push(&mut out, t)?;
                }
            }
            Piece::Expr(inner) => match section_marker(inner) {
                Some((Section::Open, name)) | Some((Section::Inverted, name)) => {
                    let inverted = matches!(section_marker(inner), Some((Section::Inverted, _)));
                    let truthy = crate::expr::is_truthy(&*evaluate(name, vars).map_err(fail)?);
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
                    match &*value {
                        Value::Str(text) => push(&mut out, text)?,
                        other => match other.scalar_text() {
                            Some(text) => push(&mut out, &text)?,
                            None => {
                                return Err(fail(format!(
                                    "`<< {} >>` is {} and cannot be part of a longer string",
                                    inner.trim(),
                                    other.kind_name()
                                )));
                            }
                        },
                    }
                }
            },
        }
    }
    if let Some((open, _)) = sections.last() {
        return Err(fail(format!("section `<< #{open} >>` is never closed")));
    }
    budget.charge(NODE_BYTES + out.len())?;
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

/// Interpolates every string (values and keys) of `node`, reporting each mistake in `diags` and
/// charging what it makes to `budget`. `Err` when the budget would be passed: the tree is not
/// finished then, and expansion stops.
pub fn interpolate(
    node: &Node,
    vars: &Vars<'_>,
    budget: &Budget,
    diags: &mut Vec<Diagnostic>,
) -> Result<Node, OverBudget> {
    let copied = |node: &Node| -> Result<Node, OverBudget> {
        let text = node.as_str().map_or(0, str::len);
        budget.charge(NODE_BYTES + text)?;
        Ok(node.clone())
    };
    match &node.value {
        Value::Str(s) => match interpolate_str(s, node, vars, budget) {
            Ok(Some(n)) => Ok(n),
            Ok(None) => copied(node),
            Err(InterpError::Invalid(d)) => {
                diags.push(d);
                copied(node)
            }
            Err(InterpError::OverBudget(over)) => Err(over),
        },
        Value::Seq(items) => {
            budget.charge(NODE_BYTES)?;
            let items = items
                .iter()
                .map(|i| interpolate(i, vars, budget, diags))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Node::seq(node.span, items))
        }
        Value::Map(m) => {
            budget.charge(NODE_BYTES)?;
            let mut out = Map::new();
            for (k, e) in m.entries() {
                let key = interpolate_key(k, e.key_span, vars, budget, diags)?;
                budget.charge(NODE_BYTES + key.len())?;
                out.insert(key, e.key_span, interpolate(&e.value, vars, budget, diags)?);
            }
            Ok(Node::map(node.span, out))
        }
        _ => copied(node),
    }
}

/// Interpolates a map key written at `span`; a mistake is reported and leaves the key as written.
fn interpolate_key(
    k: &str,
    span: crate::diag::Span,
    vars: &Vars<'_>,
    budget: &Budget,
    diags: &mut Vec<Diagnostic>,
) -> Result<String, OverBudget> {
    let key_node = Node::str(span, k);
    match interpolate_str(k, &key_node, vars, budget) {
        Ok(Some(n)) => Ok(n.scalar_text().unwrap_or_else(|| k.to_string())),
        Ok(None) => Ok(k.to_string()),
        Err(InterpError::Invalid(d)) => {
            diags.push(d);
            Ok(k.to_string())
        }
        Err(InterpError::OverBudget(over)) => Err(over),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::{MAX_BUILT_BYTES, MAX_VALUE_BYTES};
    use crate::diag::Span;

    fn run(s: &str, vars: &Vars<'_>) -> Result<Option<Node>, Diagnostic> {
        let budget = Budget::new(MAX_VALUE_BYTES, MAX_BUILT_BYTES);
        match interpolate_str(s, &Node::str(Span::new(1, 1), s), vars, &budget) {
            Ok(n) => Ok(n),
            Err(InterpError::Invalid(d)) => Err(d),
            Err(InterpError::OverBudget(over)) => panic!("over budget: {over:?}"),
        }
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

    #[test]
    fn a_string_is_refused_before_it_passes_the_value_limit() {
        let pv = PipelineValues::new();
        let mut params = IndexMap::new();
        params.insert("s".to_string(), Node::str(Span::NONE, "abcd"));
        let vars = Vars {
            pipeline: &pv,
            params: Some(&params),
            matrix: None,
            owner: "command `c`",
        };
        let text = "<< parameters.s >><< parameters.s >>";
        let at = Node::str(Span::new(2, 5), text);
        let budget = Budget::new(8, 1_000);
        let n = interpolate_str(text, &at, &vars, &budget)
            .expect("at the limit")
            .expect("some");
        assert_eq!(n.as_str(), Some("abcdabcd"));
        assert_eq!(budget.used(), NODE_BYTES + 8);
        let budget = Budget::new(7, 1_000);
        let e = interpolate_str(text, &at, &vars, &budget).expect_err("past the limit");
        assert_eq!(
            e,
            InterpError::OverBudget(OverBudget::Value {
                at: Span::new(2, 5),
                bytes: 8
            })
        );
        assert_eq!(budget.used(), 0, "nothing was built");
    }

    #[test]
    fn a_whole_value_copy_is_charged_before_it_is_made() {
        let pv = PipelineValues::new();
        let steps = Node::seq(Span::NONE, vec![Node::str(Span::NONE, "checkout")]);
        let mut params = IndexMap::new();
        params.insert("steps".to_string(), steps);
        let vars = Vars {
            pipeline: &pv,
            params: Some(&params),
            matrix: None,
            owner: "job `j`",
        };
        let text = "<< parameters.steps >>";
        let at = Node::str(Span::new(4, 9), text);
        let weight = 2 * NODE_BYTES + "checkout".len();
        let budget = Budget::new(weight, 1_000);
        let n = interpolate_str(text, &at, &vars, &budget).expect("ok");
        assert_eq!(n.and_then(|n| n.as_seq().map(<[Node]>::len)), Some(1));
        assert_eq!(budget.used(), weight);
        let budget = Budget::new(weight, weight - 1);
        let e = interpolate_str(text, &at, &vars, &budget).expect_err("past the total");
        assert_eq!(e, InterpError::OverBudget(OverBudget::Total));
    }

    #[test]
    fn interpolating_a_tree_stops_at_the_total() {
        let pv = PipelineValues::new();
        let vars = Vars::pipeline(&pv);
        let items = (0..3).map(|_| Node::str(Span::NONE, "x")).collect();
        let tree = Node::seq(Span::NONE, items);
        let weight = NODE_BYTES + 3 * (NODE_BYTES + 1);
        let mut diags = Vec::new();
        let budget = Budget::new(10, weight);
        let out = interpolate(&tree, &vars, &budget, &mut diags).expect("at the total");
        assert_eq!(out, tree);
        let budget = Budget::new(10, weight - 1);
        let e = interpolate(&tree, &vars, &budget, &mut diags).expect_err("past the total");
        assert_eq!(e, OverBudget::Total);
        assert!(diags.is_empty());
    }
}
