//! What a name means at one place of a config: the config's own commands, jobs and executors, or
//! an orb's, with each orb's imports visible as `alias/name`.

use crate::diag::Diagnostic;
use crate::yaml::{Map, Node};
use indexmap::IndexMap;
use std::rc::Rc;

/// The kinds of reusable definitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `commands:`
    Command,
    /// `jobs:`
    Job,
    /// `executors:`
    Executor,
}

/// The definitions of one config or one orb.
#[derive(Debug, Default)]
pub struct Scope {
    /// The file the definitions come from when it is not the main config (an orb file).
    pub origin: Option<String>,
    /// The orb's reference or alias path for messages (`node`, `node/inner`); empty for the config.
    pub label: String,
    /// `commands:` by name.
    pub commands: IndexMap<String, Node>,
    /// `jobs:` by name.
    pub jobs: IndexMap<String, Node>,
    /// `executors:` by name.
    pub executors: IndexMap<String, Node>,
    /// Imported orbs by alias.
    pub orbs: IndexMap<String, Rc<Scope>>,
    /// Aliases of orbs that could not be loaded (already reported): names under them are not
    /// reported again.
    pub missing_orbs: Vec<String>,
}

impl Scope {
    /// Reads the definitions of a config or orb map (orbs are filled in by the caller).
    pub fn from_map(map: &Map, origin: Option<String>, label: String) -> Scope {
        let section = |key: &str| -> IndexMap<String, Node> {
            map.get(key)
                .and_then(Node::as_map)
                .map(|m| m.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
                .unwrap_or_default()
        };
        Scope {
            origin,
            label,
            commands: section("commands"),
            jobs: section("jobs"),
            executors: section("executors"),
            orbs: IndexMap::new(),
            missing_orbs: Vec::new(),
        }
    }

    /// The definitions of one kind.
    pub fn of(&self, kind: Kind) -> &IndexMap<String, Node> {
        match kind {
            Kind::Command => &self.commands,
            Kind::Job => &self.jobs,
            Kind::Executor => &self.executors,
        }
    }

    /// Finds `name` (`x` or `alias/x`, nested `a/b/x`) and the scope its definition lives in.
    pub fn find<'s>(&'s self, kind: Kind, name: &str) -> Option<(&'s Scope, &'s Node)> {
        if let Some(def) = self.of(kind).get(name) {
            return Some((self, def));
        }
        let (alias, rest) = name.split_once('/')?;
        self.orbs.get(alias)?.find(kind, rest)
    }

    /// Whether `name` lives in an orb that could not be loaded (so its absence is no news).
    pub fn in_missing_orb(&self, name: &str) -> bool {
        let Some((alias, rest)) = name.split_once('/') else {
            return false;
        };
        self.missing_orbs.iter().any(|m| m == alias)
            || self.orbs.get(alias).is_some_and(|o| o.in_missing_orb(rest))
    }

    /// Attaches this scope's file to a diagnostic about one of its nodes.
    pub fn tag(&self, d: Diagnostic) -> Diagnostic {
        match &self.origin {
            Some(o) => d.in_origin(o.clone()),
            None => d,
        }
    }

    /// Names of the definitions of one kind visible here, for "did you mean" hints.
    pub fn names(&self, kind: Kind) -> Vec<String> {
        let mut out: Vec<String> = self.of(kind).keys().cloned().collect();
        for (alias, orb) in &self.orbs {
            out.extend(orb.of(kind).keys().map(|k| format!("{alias}/{k}")));
        }
        out
    }
}
