//! Evaluating an [`Expr`], truthiness, and equality of values.

use super::{BinaryOp, Expr, ExprError, ExprKind};
use crate::yaml::Value;
use std::cmp::Ordering;

/// Whether a value counts as true in a condition. Falsy: `false`, `null`, `0`, `0.0`, `NaN`,
/// the empty string, an empty list and an empty map; everything else is truthy — including the
/// strings `"false"` and `"0"` (CircleCI's docs list only `""` among falsy strings).
pub fn is_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::Float(f) => !(f.is_nan() || *f == 0.0),
        Value::Str(s) => !s.is_empty(),
        Value::Seq(items) => !items.is_empty(),
        Value::Map(m) => !m.is_empty(),
    }
}

/// Equality by value, ignoring source positions. Values of different types are unequal
/// (`1` and `"1"` differ), except that an integer equals a float of the same number.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Int(i), Value::Float(f)) | (Value::Float(f), Value::Int(i)) => (*i as f64) == *f,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(p, q)| values_equal(&p.value, &q.value))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(&v.value, &w.value)))
        }
        _ => false,
    }
}

impl Expr {
    /// Computes the expression's value. `lookup` resolves a dotted name; a name it does not
    /// know is an error. `and`/`or` short-circuit and return the deciding operand's value;
    /// `not`, comparisons, `starts-with` and `matches` return booleans.
    pub fn eval(&self, lookup: &dyn Fn(&str) -> Option<Value>) -> Result<Value, ExprError> {
        match &self.kind {
            ExprKind::Name(name) => lookup(name).ok_or_else(|| ExprError {
                offset: self.offset,
                message: format!("unknown value `{name}`"),
            }),
            ExprKind::Literal(v) => Ok(v.clone()),
            ExprKind::Not(inner) => Ok(Value::Bool(!is_truthy(&inner.eval(lookup)?))),
            ExprKind::Binary { op, left, right } => {
                let l = left.eval(lookup)?;
                let r = right.eval(lookup)?;
                binary(*op, &l, &r, self.offset).map(Value::Bool)
            }
            ExprKind::Matches { value, pattern } => match value.eval(lookup)? {
                Value::Str(s) => Ok(Value::Bool(pattern.is_match(&s))),
                other => Err(ExprError {
                    offset: value.offset,
                    message: format!("`matches` needs a string, found {}", other.kind_name()),
                }),
            },
            ExprKind::And(items) => short_circuit(items, lookup, false),
            ExprKind::Or(items) => short_circuit(items, lookup, true),
        }
    }
}

/// Evaluates operands in order and returns the first whose truthiness is `stop_when`, or the
/// last one.
fn short_circuit(
    items: &[Expr],
    lookup: &dyn Fn(&str) -> Option<Value>,
    stop_when: bool,
) -> Result<Value, ExprError> {
    let mut last = Value::Null;
    for item in items {
        last = item.eval(lookup)?;
        if is_truthy(&last) == stop_when {
            break;
        }
    }
    Ok(last)
}

fn binary(op: BinaryOp, l: &Value, r: &Value, offset: usize) -> Result<bool, ExprError> {
    match op {
        BinaryOp::Eq => Ok(values_equal(l, r)),
        BinaryOp::Ne => Ok(!values_equal(l, r)),
        BinaryOp::StartsWith => match (l, r) {
            (Value::Str(a), Value::Str(b)) => Ok(a.starts_with(b.as_str())),
            _ => Err(type_error(op, "strings", l, r, offset)),
        },
        BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            let ordering = match (l, r) {
                (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
                (Value::Int(a), Value::Float(b)) => (*a as f64).partial_cmp(b),
                (Value::Float(a), Value::Int(b)) => a.partial_cmp(&(*b as f64)),
                (Value::Float(a), Value::Float(b)) => a.partial_cmp(b),
                _ => return Err(type_error(op, "numbers", l, r, offset)),
            };
            // A NaN operand compares false with everything.
            Ok(ordering.is_some_and(|o| match op {
                BinaryOp::Lt => o == Ordering::Less,
                BinaryOp::Le => o != Ordering::Greater,
                BinaryOp::Gt => o == Ordering::Greater,
                _ => o != Ordering::Less,
            }))
        }
    }
}

fn type_error(op: BinaryOp, wanted: &str, l: &Value, r: &Value, offset: usize) -> ExprError {
    ExprError {
        offset,
        message: format!(
            "`{op}` compares {wanted} only, found {} and {}",
            l.kind_name(),
            r.kind_name()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Span;
    use crate::expr::parse;
    use crate::yaml::{Map, Node};

    fn lookup(name: &str) -> Option<Value> {
        Some(match name {
            "pipeline.git.branch" => Value::Str("main".into()),
            "pipeline.git.tag" => Value::Null,
            "pipeline.number" => Value::Int(42),
            "pipeline.parameters.run-tests" => Value::Bool(true),
            "pipeline.parameters.skip" => Value::Bool(false),
            "pipeline.parameters.ratio" => Value::Float(2.5),
            "pipeline.parameters.nan" => Value::Float(f64::NAN),
            "pipeline.parameters.empty" => Value::Str(String::new()),
            "matrix.os" => Value::Str("linux".into()),
            _ => return None,
        })
    }

    fn eval(src: &str) -> Value {
        let expr = match parse(src) {
            Ok(e) => e,
            Err(e) => panic!("`{src}` failed to parse: {}", e.message),
        };
        match expr.eval(&lookup) {
            Ok(v) => v,
            Err(e) => panic!("`{src}` failed at {}: {}", e.offset, e.message),
        }
    }

    fn eval_err(src: &str) -> ExprError {
        let expr = match parse(src) {
            Ok(e) => e,
            Err(e) => panic!("`{src}` failed to parse: {}", e.message),
        };
        match expr.eval(&lookup) {
            Ok(v) => panic!("`{src}` evaluated to {v:?}"),
            Err(e) => e,
        }
    }

    fn t(src: &str) {
        assert_eq!(eval(src), Value::Bool(true), "{src}");
    }

    fn f(src: &str) {
        assert_eq!(eval(src), Value::Bool(false), "{src}");
    }

    #[test]
    fn names_and_literals() {
        assert_eq!(eval("pipeline.git.branch"), Value::Str("main".into()));
        assert_eq!(eval("pipeline.number"), Value::Int(42));
        assert_eq!(eval("pipeline.git.tag"), Value::Null);
        assert_eq!(eval("'x'"), Value::Str("x".into()));
        assert_eq!(eval("1.25"), Value::Float(1.25));
        assert_eq!(eval("null"), Value::Null);
    }

    #[test]
    fn equality() {
        t("pipeline.git.branch == \"main\"");
        t("pipeline.git.branch == 'main'");
        f("pipeline.git.branch != 'main'");
        t("pipeline.git.branch != 'dev'");
        t("pipeline.number == 42");
        t("pipeline.number == 42.0");
        f("pipeline.number == \"42\"");
        t("pipeline.number != \"42\"");
        f("true == 1");
        t("null == pipeline.git.tag");
        f("null == \"\"");
        t("pipeline.parameters.run-tests == true");
        f("pipeline.parameters.nan == pipeline.parameters.nan");
    }

    #[test]
    fn numeric_comparisons() {
        t("pipeline.number > 41");
        f("pipeline.number > 42");
        t("pipeline.number >= 42");
        t("pipeline.number < 42.5");
        t("pipeline.number <= 42");
        f("pipeline.number <= 41");
        t("pipeline.parameters.ratio > 2");
        t("-1 < 0");
        f("pipeline.parameters.nan < 1");
        f("pipeline.parameters.nan >= 1");
    }

    #[test]
    fn comparing_non_numbers_is_an_error() {
        let e = eval_err("pipeline.git.branch < 3");
        assert_eq!(e.offset, 20);
        assert_eq!(
            e.message,
            "`<` compares numbers only, found a string and an integer"
        );
        let e = eval_err("true >= false");
        assert_eq!(
            e.message,
            "`>=` compares numbers only, found a boolean and a boolean"
        );
    }

    #[test]
    fn starts_with() {
        t("pipeline.git.branch starts-with \"ma\"");
        t("pipeline.git.branch starts-with \"\"");
        f("pipeline.git.branch starts-with \"release\"");
        let e = eval_err("pipeline.number starts-with \"4\"");
        assert_eq!(e.offset, 16);
        assert_eq!(
            e.message,
            "`starts-with` compares strings only, found an integer and a string"
        );
    }

    #[test]
    fn matches_is_a_full_match() {
        t("pipeline.git.branch matches /ma.n/");
        t("pipeline.git.branch matches /main|dev/");
        f("pipeline.git.branch matches /ma/");
        f("pipeline.git.branch matches /ai/");
        f("pipeline.git.branch matches /dev|ma/");
        t("'a/b' matches /a\\/b/");
        f("'main\n' matches /main/");
        let e = eval_err("pipeline.number matches /4./");
        assert_eq!(e.offset, 0);
        assert_eq!(e.message, "`matches` needs a string, found an integer");
    }

    #[test]
    fn not_negates_truthiness() {
        f("not pipeline.parameters.run-tests");
        t("not pipeline.parameters.skip");
        t("not pipeline.git.tag");
        t("not pipeline.parameters.empty");
        f("not pipeline.git.branch");
        t("not not pipeline.git.branch");
        // `not` binds tighter than `==` (docs: `not foo and bar` is false for foo=true, bar=false).
        t("not pipeline.parameters.skip == true");
        f("not pipeline.parameters.run-tests and pipeline.parameters.skip");
        t("not (pipeline.parameters.run-tests and pipeline.parameters.skip)");
    }

    #[test]
    fn and_or_return_the_deciding_operand() {
        assert_eq!(eval("\"main\" == \"main\" and 10 or 1"), Value::Int(10));
        assert_eq!(
            eval("pipeline.git.branch == \"main\" and 10 or 1"),
            Value::Int(10)
        );
        assert_eq!(
            eval("pipeline.git.branch == \"dev\" and 10 or 1"),
            Value::Int(1)
        );
        assert_eq!(
            eval("pipeline.git.tag or \"unknown branch\""),
            Value::Str("unknown branch".into())
        );
        assert_eq!(
            eval("pipeline.git.branch or 'x'"),
            Value::Str("main".into())
        );
        assert_eq!(eval("0 and 'x'"), Value::Int(0));
        assert_eq!(eval("1 and '' and 2"), Value::Str(String::new()));
        assert_eq!(eval("1 and 2 and 3"), Value::Int(3));
        assert_eq!(eval("0 or '' or null"), Value::Null);
        t("pipeline.git.branch == 'dev' or pipeline.git.branch == 'main'");
    }

    #[test]
    fn and_or_short_circuit_before_errors() {
        // The unknown name on the right is never looked up.
        assert_eq!(eval("false and pipeline.foo"), Value::Bool(false));
        assert_eq!(eval("true or pipeline.foo"), Value::Bool(true));
        let e = eval_err("true and pipeline.foo");
        assert_eq!(e.offset, 9);
    }

    #[test]
    fn unknown_names_are_errors() {
        let e = eval_err("pipeline.git.branch == 'main' and pipeline.foo");
        assert_eq!(e.offset, 34);
        assert_eq!(e.message, "unknown value `pipeline.foo`");
        assert_eq!(e.to_string(), "unknown value `pipeline.foo`");
    }

    #[test]
    fn docs_examples() {
        t("pipeline.git.branch == \"main\" or pipeline.git.branch starts-with \"release/\"");
        f("pipeline.git.tag == \"v1\" and pipeline.git.branch == \"main\"");
        t("matrix.os == 'linux' and not (pipeline.git.branch starts-with \"api\")");
    }

    #[test]
    fn names_and_plain_name() {
        let e = parse("a.b == 'x' and (c or a.b) and not d matches /x/").ok();
        assert_eq!(
            e.map(|e| e.names()),
            Some(vec!["a.b".to_string(), "c".into(), "d".into()])
        );
        let plain = parse(" pipeline.parameters.run-tests ").ok();
        assert_eq!(
            plain.as_ref().and_then(Expr::is_plain_name),
            Some("pipeline.parameters.run-tests")
        );
        assert_eq!(plain.map(|p| p.has_operator()), Some(false));
        let not_plain = parse("not x").ok();
        assert_eq!(not_plain.as_ref().and_then(Expr::is_plain_name), None);
        assert_eq!(not_plain.map(|p| p.has_operator()), Some(true));
        assert_eq!(parse("'x'").ok().map(|p| p.has_operator()), Some(false));
    }

    #[test]
    fn truthiness() {
        let node = |v| Node::new(Span::NONE, v);
        let mut one = Map::new();
        one.insert("k", Span::NONE, node(Value::Null));
        for v in [
            Value::Bool(false),
            Value::Null,
            Value::Int(0),
            Value::Float(0.0),
            Value::Float(-0.0),
            Value::Float(f64::NAN),
            Value::Str(String::new()),
            Value::Seq(vec![]),
            Value::Map(Map::new()),
        ] {
            assert!(!is_truthy(&v), "{v:?}");
        }
        for v in [
            Value::Bool(true),
            Value::Int(-1),
            Value::Float(0.5),
            Value::Str("false".into()),
            Value::Str("0".into()),
            Value::Seq(vec![node(Value::Null)]),
            Value::Map(one),
        ] {
            assert!(is_truthy(&v), "{v:?}");
        }
    }

    #[test]
    fn equality_of_collections_ignores_positions() {
        let a = Value::Seq(vec![Node::new(Span::new(1, 1), Value::Int(1))]);
        let b = Value::Seq(vec![Node::new(Span::new(9, 9), Value::Float(1.0))]);
        assert!(values_equal(&a, &b));
        let mut m1 = Map::new();
        m1.insert("x", Span::new(1, 1), Node::str(Span::new(1, 4), "y"));
        m1.insert("z", Span::new(2, 1), Node::null(Span::new(2, 4)));
        let mut m2 = Map::new();
        m2.insert("z", Span::NONE, Node::null(Span::NONE));
        m2.insert("x", Span::NONE, Node::str(Span::NONE, "y"));
        assert!(values_equal(&Value::Map(m1.clone()), &Value::Map(m2)));
        assert!(!values_equal(&Value::Map(m1), &a));
        assert!(!values_equal(&Value::Int(1), &Value::Str("1".into())));
    }
}
