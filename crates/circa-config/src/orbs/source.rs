//! Where orb text comes from. This crate does no IO: the caller hands in an [`OrbSource`]
//! (a registry folder in the binary, [`MemoryOrbs`] in tests, [`NoOrbs`] when there is none).

use super::reference::OrbRef;
use super::version::{resolve_version, sort_versions};
use std::collections::BTreeMap;
use thiserror::Error;

/// A packed orb as found in a source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrbText {
    /// The packed orb's YAML.
    pub text: String,
    /// Where it was found (a file path, say), for diagnostics.
    pub origin: String,
    /// The version the reference resolved to.
    pub version: String,
}

/// Why an orb could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OrbError {
    /// The source has no orb of that name at all.
    #[error("orb `{orb}` not found ({searched})")]
    NotFound {
        /// The reference as written.
        orb: String,
        /// What was searched and why nothing matched.
        searched: String,
    },
    /// The source has the orb, but no version the reference resolves to.
    #[error("orb `{orb}` not found in {searched}: available versions are {}", list(.available))]
    VersionNotFound {
        /// The reference as written.
        orb: String,
        /// The versions the source has, in version order.
        available: Vec<String>,
        /// What was searched.
        searched: String,
    },
    /// The orb was found but could not be read.
    #[error("cannot read orb `{orb}` from {origin}: {reason}")]
    Unreadable {
        /// The reference as written.
        orb: String,
        /// Where it was found.
        origin: String,
        /// What went wrong.
        reason: String,
    },
}

fn list(versions: &[String]) -> String {
    if versions.is_empty() {
        "none".to_string()
    } else {
        versions.join(", ")
    }
}

/// Something that finds packed orbs by reference.
pub trait OrbSource {
    /// The packed text of `orb`, with the version it resolved to.
    fn load(&self, orb: &OrbRef) -> Result<OrbText, OrbError>;
}

/// A source without orbs: every reference is [`OrbError::NotFound`].
#[derive(Clone, Copy, Debug, Default)]
pub struct NoOrbs;

impl OrbSource for NoOrbs {
    fn load(&self, orb: &OrbRef) -> Result<OrbText, OrbError> {
        Err(OrbError::NotFound {
            orb: orb.to_string(),
            searched: "no orb registry configured".to_string(),
        })
    }
}

/// Orbs held in memory, keyed by `namespace/name`; for tests and embedders.
#[derive(Clone, Debug, Default)]
pub struct MemoryOrbs {
    orbs: BTreeMap<String, Vec<(String, String)>>,
}

impl MemoryOrbs {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) `version` of `orb` (`namespace/name`).
    pub fn insert(&mut self, orb: &str, version: &str, text: impl Into<String>) {
        let versions = self.orbs.entry(orb.to_string()).or_default();
        versions.retain(|(v, _)| v != version);
        versions.push((version.to_string(), text.into()));
    }

    /// The same source with `version` of `orb` added.
    pub fn with(mut self, orb: &str, version: &str, text: impl Into<String>) -> Self {
        self.insert(orb, version, text);
        self
    }
}

impl OrbSource for MemoryOrbs {
    fn load(&self, orb: &OrbRef) -> Result<OrbText, OrbError> {
        let full_name = orb.full_name();
        let Some(versions) = self.orbs.get(&full_name) else {
            return Err(OrbError::NotFound {
                orb: orb.to_string(),
                searched: format!("no orb {full_name} in memory"),
            });
        };
        let mut available: Vec<String> = versions.iter().map(|(v, _)| v.clone()).collect();
        let found = resolve_version(&available, orb.version())
            .and_then(|v| versions.iter().find(|(have, _)| *have == v));
        match found {
            Some((version, text)) => Ok(OrbText {
                text: text.clone(),
                origin: format!("memory:{full_name}@{version}"),
                version: version.clone(),
            }),
            None => {
                sort_versions(&mut available);
                Err(OrbError::VersionNotFound {
                    orb: orb.to_string(),
                    available,
                    searched: "memory".to_string(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> OrbRef {
        OrbRef::parse(s).unwrap()
    }

    #[test]
    fn memory_orbs_resolve_versions() {
        let orbs = MemoryOrbs::new()
            .with("circleci/node", "5.0.0", "a")
            .with("circleci/node", "5.1.0", "b")
            .with("circleci/node", "5.10.0", "c");
        let found = orbs.load(&r("circleci/node@5")).unwrap();
        assert_eq!(found.text, "c");
        assert_eq!(found.version, "5.10.0");
        assert_eq!(found.origin, "memory:circleci/node@5.10.0");
        assert_eq!(orbs.load(&r("circleci/node@5.1.0")).unwrap().text, "b");
    }

    #[test]
    fn missing_orbs_and_versions_are_explained() {
        let orbs = MemoryOrbs::new().with("circleci/node", "5.1.0", "b").with(
            "circleci/node",
            "5.0.0",
            "a",
        );
        let e = orbs.load(&r("circleci/node@9")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "orb `circleci/node@9` not found in memory: available versions are 5.0.0, 5.1.0"
        );
        let e = orbs.load(&r("circleci/go@1")).unwrap_err();
        assert!(matches!(e, OrbError::NotFound { .. }));
        let e = NoOrbs.load(&r("circleci/go@1")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "orb `circleci/go@1` not found (no orb registry configured)"
        );
    }
}
