//! Temporary seams, replaced when the schema checks and orb loading land.

use crate::compile::CompileOptions;
use crate::diag::{Diagnostic, Diagnostics};
use crate::expand::scope::Scope;
use crate::pipeline::PipelineValues;
use crate::yaml::Node;

pub(crate) fn check_config(_root: &Node, _diags: &mut Diagnostics) {}

pub(crate) fn load_orbs(
    orbs: Option<&Node>,
    scope: &mut Scope,
    _options: &CompileOptions<'_>,
    _pipeline: &PipelineValues,
    _depth: usize,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(map) = orbs.and_then(Node::as_map) else {
        return;
    };
    for (alias, entry) in map.entries() {
        if let Some(m) = entry.value.as_map() {
            let s = Scope::from_map(m, None, alias.to_string());
            scope.orbs.insert(alias.to_string(), std::rc::Rc::new(s));
        } else {
            diags.push(Diagnostic::error(
                entry.value.span,
                format!("orb `{alias}` not found"),
            ));
            scope.missing_orbs.push(alias.to_string());
        }
    }
}
