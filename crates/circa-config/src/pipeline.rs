//! Pipeline values (`<< pipeline.* >>`) and pipeline parameters (`<< pipeline.parameters.* >>`).

use crate::diag::{Diagnostic, Span};
use crate::params::{self, ParamType};
use crate::yaml::{Map, Node, Value};
use indexmap::IndexMap;

/// The pipeline values CircleCI defines. A known value that a trigger did not set reads as an
/// empty string (as `pipeline.git.tag` does on a branch build); an unknown name is an error.
pub const KNOWN_VALUES: &[&str] = &[
    "pipeline.id",
    "pipeline.number",
    "pipeline.name",
    "pipeline.definition.id",
    "pipeline.project.git_url",
    "pipeline.project.type",
    "pipeline.project.slug",
    "pipeline.integration_source",
    "pipeline.git.tag",
    "pipeline.git.branch",
    "pipeline.git.branch.is_default",
    "pipeline.git.revision",
    "pipeline.git.base_revision",
    "pipeline.git.repo_url",
    "pipeline.git.repo_owner",
    "pipeline.git.repo_name",
    "pipeline.git.repo_id",
    "pipeline.git.commit.url",
    "pipeline.git.commit.subject",
    "pipeline.git.commit.body",
    "pipeline.git.commit.author_login",
    "pipeline.git.commit.author_name",
    "pipeline.git.commit.author_email",
    "pipeline.config.repository.name",
    "pipeline.config.repository.url",
    "pipeline.config.file_path",
    "pipeline.config.ref",
    "pipeline.config.sha",
    "pipeline.trigger.received_at",
    "pipeline.trigger.id",
    "pipeline.trigger.type",
    "pipeline.trigger_source",
    "pipeline.schedule.name",
    "pipeline.schedule.id",
    "pipeline.event.name",
    "pipeline.event.action",
    "pipeline.in_setup",
];

/// Prefixes under which any name is accepted (webhook event bodies and similar open-ended data).
const OPEN_PREFIXES: &[&str] = &[
    "pipeline.event.",
    "pipeline.trigger_parameters.",
    "pipeline.deploy.",
];

/// The values a pipeline is processed with: `pipeline.*` values and pipeline parameters.
#[derive(Clone, Debug, Default)]
pub struct PipelineValues {
    values: IndexMap<String, Value>,
}

impl PipelineValues {
    /// No values set (every known value reads as empty).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a `pipeline.*` value, e.g. `set("pipeline.git.branch", "main")`. A key given without
    /// the `pipeline.` prefix gets it.
    pub fn set(&mut self, key: &str, value: impl Into<Value>) {
        let key = if key.starts_with("pipeline.") {
            key.to_string()
        } else {
            format!("pipeline.{key}")
        };
        self.values.insert(key, value.into());
    }

    /// The value of a dotted name, `None` when the name is not a pipeline value at all.
    pub fn get(&self, name: &str) -> Option<Value> {
        if let Some(v) = self.values.get(name) {
            return Some(v.clone());
        }
        if KNOWN_VALUES.contains(&name) || OPEN_PREFIXES.iter().any(|p| name.starts_with(p)) {
            return Some(Value::Str(String::new()));
        }
        None
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

/// Pipeline parameter values given for a pipeline at most: CircleCI accepts 100 entries, keys
/// of at most 128 characters and values of at most 512.
pub const MAX_GIVEN_PARAMETERS: usize = 100;

/// Applies given pipeline parameters to the config's declarations (`parameters:` at the top):
/// each declared parameter takes its given value or its default, typed; an undeclared or
/// mistyped value is a diagnostic. The result goes into `values` as `pipeline.parameters.*`.
pub fn apply_parameters(
    decls: Option<&Node>,
    given: &IndexMap<String, Node>,
    values: &mut PipelineValues,
    diags: &mut Vec<Diagnostic>,
) {
    let declared = params::read_decls(decls, diags);
    if given.len() > MAX_GIVEN_PARAMETERS {
        diags.push(Diagnostic::error(
            Span::NONE,
            format!(
                "{} pipeline parameters were given; at most {MAX_GIVEN_PARAMETERS} are accepted",
                given.len()
            ),
        ));
        return;
    }
    let mut args = Map::new();
    for (k, v) in given {
        if k.chars().count() > 128 {
            diags.push(Diagnostic::error(
                Span::NONE,
                format!("pipeline parameter name `{k}` is longer than 128 characters"),
            ));
            continue;
        }
        if v.scalar_text().is_some_and(|t| t.chars().count() > 512) {
            diags.push(Diagnostic::error(
                Span::NONE,
                format!("value of pipeline parameter `{k}` is longer than 512 characters"),
            ));
            continue;
        }
        // A value given over the API has no position: errors about it point at the parameter's
        // declaration, or at the `parameters:` block when it declares no such parameter.
        let at = if v.span.is_known() {
            v.span
        } else {
            declared
                .iter()
                .find(|d| d.name == *k)
                .map(|d| d.span)
                .or_else(|| decls.map(|n| n.span).filter(|s| s.is_known()))
                .unwrap_or(Span::new(1, 1))
        };
        args.insert(k.clone(), at, v.clone().with_span(at));
    }
    for d in &declared {
        if matches!(d.ty, ParamType::Steps | ParamType::Executor) {
            diags.push(Diagnostic::error(
                d.span,
                format!(
                    "pipeline parameter `{}` may only be of type string, boolean, integer or enum",
                    d.name
                ),
            ));
        }
    }
    let bound = params::bind(&declared, &args, "the pipeline", Span::NONE, diags);
    for (name, node) in bound {
        values
            .values
            .insert(format!("pipeline.parameters.{name}"), node.value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_but_unset_values_read_empty_and_unknown_ones_are_none() {
        let mut v = PipelineValues::new();
        v.set("git.branch", "main");
        assert_eq!(
            v.get("pipeline.git.branch"),
            Some(Value::Str("main".into()))
        );
        assert_eq!(v.get("pipeline.git.tag"), Some(Value::Str(String::new())));
        assert_eq!(v.get("pipeline.bogus"), None);
    }

    #[test]
    fn errors_about_given_values_point_into_the_config() {
        let decls = crate::yaml::load(
            "n:\n  type: integer\n  default: 1\n",
            &crate::yaml::Limits::default(),
        )
        .root
        .expect("yaml");
        let mut given = IndexMap::new();
        given.insert("n".to_string(), Node::str(Span::NONE, "lots"));
        given.insert("nope".to_string(), Node::str(Span::NONE, "x"));
        let mut values = PipelineValues::new();
        let mut diags = Vec::new();
        apply_parameters(Some(&decls), &given, &mut values, &mut diags);
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert!(diags.iter().all(|d| d.span.is_known()), "{diags:?}");
        assert!(
            diags
                .iter()
                .any(|d| d.span == Span::new(1, 1) && d.message.contains("`n`"))
        );
    }
}
