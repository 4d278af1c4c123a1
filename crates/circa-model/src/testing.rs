//! Helpers shared by the unit tests: YAML in, workflows out, and a tiny expression evaluator.

use crate::trigger::{ExpressionEval, Trigger, TriggerSource};
use crate::workflow::{Workflow, read_workflows};
use circa_config::Diagnostic;
use circa_config::yaml::{Limits, Node, Value, load};

/// Loads YAML text into a node tree.
pub fn yaml(text: &str) -> Node {
    let loaded = load(text, &Limits::default());
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    loaded.root.unwrap()
}

/// Reads workflows, returning them with the diagnostics' messages.
pub fn read(text: &str) -> (Vec<Workflow>, Vec<Diagnostic>) {
    read_workflows(&yaml(text))
}

/// Reads workflows that must be free of diagnostics.
pub fn read_clean(text: &str) -> Vec<Workflow> {
    let (workflows, diagnostics) = read(text);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    workflows
}

/// A push of `branch`.
pub fn push(branch: &str) -> Trigger {
    Trigger {
        branch: Some(branch.into()),
        revision: "abc123".into(),
        ..Trigger::default()
    }
}

/// A push of `tag`.
pub fn tag_push(tag: &str) -> Trigger {
    Trigger {
        tag: Some(tag.into()),
        revision: "abc123".into(),
        ..Trigger::default()
    }
}

/// A schedule named `name` on `branch`.
pub fn schedule(name: &str, branch: &str) -> Trigger {
    Trigger {
        source: TriggerSource::Schedule { name: name.into() },
        ..push(branch)
    }
}

/// Understands `true`, `false` and `pipeline.git.branch == "x"`, nothing else.
pub struct FakeEval {
    /// The branch `pipeline.git.branch` stands for.
    pub branch: String,
}

impl FakeEval {
    /// An evaluator for a push of `branch`.
    pub fn on(branch: &str) -> Self {
        FakeEval {
            branch: branch.into(),
        }
    }
}

impl ExpressionEval for FakeEval {
    fn eval_condition(&self, node: &Node) -> Result<bool, String> {
        match &node.value {
            Value::Bool(b) => Ok(*b),
            Value::Str(s) => self.eval_expression(s),
            other => Err(format!("the fake cannot evaluate {}", other.kind_name())),
        }
    }

    fn eval_expression(&self, expr: &str) -> Result<bool, String> {
        match expr.trim() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => match other.strip_prefix("pipeline.git.branch == ") {
                Some(quoted) => Ok(quoted.trim_matches('"') == self.branch),
                None => Err(format!("the fake cannot evaluate `{other}`")),
            },
        }
    }
}
