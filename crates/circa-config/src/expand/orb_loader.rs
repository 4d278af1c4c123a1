//! Loading the orbs a config (or an orb) imports into [`Scope`]s: inline orb maps, and
//! `namespace/name@version` references through the caller's [`OrbSource`].

use super::scope::Scope;
use crate::compile::CompileOptions;
use crate::diag::{Diagnostic, Diagnostics};
use crate::interp::{self, Vars};
use crate::orbs::OrbRef;
use crate::pipeline::PipelineValues;
use crate::yaml::{self, Node, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Orbs already loaded, by reference (`circleci/node@5.1`): the outcome (the orb's scope, or
/// nothing when it failed) with the diagnostics loading it produced, which are reported again
/// each time it is used. Published orb versions do not change, so a long-lived caller (a
/// server, a benchmark) keeps one cache for many compiles.
#[derive(Debug, Default)]
pub struct OrbCache {
    scopes: RefCell<HashMap<String, CachedOrb>>,
}

/// A cached outcome: the orb's scope (or nothing when it failed) and its diagnostics.
type CachedOrb = (Option<Rc<Scope>>, Vec<Diagnostic>);

impl OrbCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many orbs are cached.
    pub fn len(&self) -> usize {
        self.scopes.borrow().len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.scopes.borrow().is_empty()
    }
}

/// Loads every orb named in `orbs` (an `orbs:` map) into `scope.orbs`. Failures are reported
/// once, and the alias is remembered as missing so that its uses are not reported again.
pub fn load_orbs(
    orbs: Option<&Node>,
    scope: &mut Scope,
    options: &CompileOptions<'_>,
    pipeline: &PipelineValues,
    depth: usize,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(map) = orbs.and_then(Node::as_map) else {
        return;
    };
    for (alias, entry) in map.entries() {
        let at = entry.value.span;
        if depth >= options.expand_limits.max_orb_depth {
            diags.push(scope.tag(Diagnostic::error(
                at,
                format!(
                    "orbs import orbs deeper than {} levels at `{alias}`",
                    options.expand_limits.max_orb_depth
                ),
            )));
            scope.missing_orbs.push(alias.to_string());
            continue;
        }
        let label = if scope.label.is_empty() {
            alias.to_string()
        } else {
            format!("{}/{alias}", scope.label)
        };
        let loaded = match &entry.value.value {
            Value::Map(m) => {
                let mut child = Scope::from_map(m, scope.origin.clone(), label);
                load_orbs(
                    m.get("orbs"),
                    &mut child,
                    options,
                    pipeline,
                    depth + 1,
                    diags,
                );
                Some(Rc::new(child))
            }
            Value::Str(_) => load_reference(
                alias,
                &entry.value,
                scope,
                label,
                options,
                pipeline,
                depth,
                diags,
            ),
            _ => {
                diags.push(scope.tag(Diagnostic::error(
                    at,
                    format!(
                        "orb `{alias}` must be a reference like `circleci/node@5.1` or an inline orb map, not {}",
                        entry.value.kind_name()
                    ),
                )));
                None
            }
        };
        match loaded {
            Some(child) => {
                scope.orbs.insert(alias.to_string(), child);
            }
            None => scope.missing_orbs.push(alias.to_string()),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn load_reference(
    alias: &str,
    node: &Node,
    scope: &Scope,
    label: String,
    options: &CompileOptions<'_>,
    pipeline: &PipelineValues,
    depth: usize,
    diags: &mut Vec<Diagnostic>,
) -> Option<Rc<Scope>> {
    let vars = Vars::pipeline(pipeline);
    let mut ds = Vec::new();
    // A reference is a short string: it is held to the limit on one value on its own.
    let max = options.expand_limits.max_value_bytes;
    let budget = crate::budget::Budget::new(max, max);
    let interpolated = interp::interpolate(node, &vars, &budget, &mut ds);
    diags.extend(ds.into_iter().map(|d| scope.tag(d)));
    let Ok(reference) = interpolated else {
        diags.push(scope.tag(Diagnostic::error(
            node.span,
            format!("orb `{alias}`: the reference is longer than {max} bytes once interpolated"),
        )));
        return None;
    };
    let text = reference.scalar_text().unwrap_or_default();
    if text.starts_with("https://") || text.starts_with("http://") {
        diags.push(scope.tag(Diagnostic::error(
            node.span,
            format!(
                "orb `{alias}` is a URL orb ({text}); Circa does not fetch orbs over the network: \
                 import it with `circa orb import` and refer to it as namespace/name@version"
            ),
        )));
        return None;
    }
    let orb_ref = match OrbRef::parse(&text) {
        Ok(r) => r,
        Err(e) => {
            diags.push(scope.tag(Diagnostic::error(node.span, format!("orb `{alias}`: {e}"))));
            return None;
        }
    };
    let cache_key = orb_ref.to_string();
    if let Some((cached, cached_diags)) = options
        .orb_cache
        .and_then(|c| c.scopes.borrow().get(&cache_key).cloned())
    {
        diags.extend(cached_diags.into_iter().map(|d| scope.tag(d)));
        return cached;
    }
    let mut own = Vec::new();
    let loaded = load_from_source(
        &orb_ref, node.span, label, options, pipeline, depth, &mut own,
    );
    if let Some(cache) = options.orb_cache {
        cache
            .scopes
            .borrow_mut()
            .insert(cache_key, (loaded.clone(), own.clone()));
    }
    diags.extend(own.into_iter().map(|d| scope.tag(d)));
    loaded
}

/// Loads and checks one referenced orb; diagnostics about the reference itself carry no origin
/// (the caller tags them with the importing file).
fn load_from_source(
    orb_ref: &OrbRef,
    at: crate::diag::Span,
    label: String,
    options: &CompileOptions<'_>,
    pipeline: &PipelineValues,
    depth: usize,
    diags: &mut Vec<Diagnostic>,
) -> Option<Rc<Scope>> {
    let found = match options.orbs.load(orb_ref) {
        Ok(found) => found,
        Err(e) => {
            diags.push(Diagnostic::error(at, e.to_string()));
            return None;
        }
    };
    let origin = found.origin.clone();
    let in_orb = |d: Diagnostic| d.in_origin(origin.clone());
    let loaded = yaml::load(&found.text, &options.limits);
    let had_errors = loaded.diagnostics.iter().any(Diagnostic::is_error);
    diags.extend(loaded.diagnostics.into_iter().map(in_orb));
    let mut root = loaded.root?;
    if had_errors {
        return None;
    }
    let mut checks = Diagnostics::new();
    crate::schema::rewrite_legacy_steps(&mut root, &mut checks);
    let Some(map) = root.as_map() else {
        diags.push(in_orb(Diagnostic::error(
            root.span,
            format!("orb `{orb_ref}` must be a map, not {}", root.kind_name()),
        )));
        return None;
    };
    crate::schema::check_orb(&root, &mut checks);
    let checks = checks.into_vec();
    let broken = checks.iter().any(Diagnostic::is_error);
    diags.extend(checks.into_iter().map(in_orb));
    if broken {
        diags.push(Diagnostic::error(
            at,
            format!("orb `{orb_ref}` ({origin}) has errors"),
        ));
        return None;
    }
    let mut child = Scope::from_map(map, Some(origin), label);
    load_orbs(
        map.get("orbs"),
        &mut child,
        options,
        pipeline,
        depth + 1,
        diags,
    );
    Some(Rc::new(child))
}
