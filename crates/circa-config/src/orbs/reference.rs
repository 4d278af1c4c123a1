//! Orb references as configs write them: `namespace/name@version`.

use std::fmt;
use thiserror::Error;

/// The version part of an orb reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum VersionSpec {
    /// `x.y.z`: exactly this version.
    Exact {
        /// Major version.
        major: u64,
        /// Minor version.
        minor: u64,
        /// Patch version.
        patch: u64,
    },
    /// `x.y`: the highest `x.y.*`.
    Minor {
        /// Major version.
        major: u64,
        /// Minor version.
        minor: u64,
    },
    /// `x`: the highest `x.*.*`.
    Major {
        /// Major version.
        major: u64,
    },
    /// `volatile`: the highest version there is.
    Volatile,
    /// `dev:LABEL`: a mutable development version, found by its label only.
    Dev(String),
}

impl VersionSpec {
    /// Reads a version as written after the `@`; `None` when it is none of the accepted forms.
    pub fn parse(s: &str) -> Option<VersionSpec> {
        if s == "volatile" {
            return Some(VersionSpec::Volatile);
        }
        if let Some(label) = s.strip_prefix("dev:") {
            return is_dev_label(label).then(|| VersionSpec::Dev(label.to_string()));
        }
        match numeric_parts(s)?.as_slice() {
            [major] => Some(VersionSpec::Major { major: *major }),
            [major, minor] => Some(VersionSpec::Minor {
                major: *major,
                minor: *minor,
            }),
            [major, minor, patch] => Some(VersionSpec::Exact {
                major: *major,
                minor: *minor,
                patch: *patch,
            }),
            _ => None,
        }
    }

    /// Whether this names one immutable published version (`x.y.z`).
    pub fn is_exact(&self) -> bool {
        matches!(self, VersionSpec::Exact { .. })
    }
}

impl fmt::Display for VersionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionSpec::Exact {
                major,
                minor,
                patch,
            } => write!(f, "{major}.{minor}.{patch}"),
            VersionSpec::Minor { major, minor } => write!(f, "{major}.{minor}"),
            VersionSpec::Major { major } => write!(f, "{major}"),
            VersionSpec::Volatile => f.write_str("volatile"),
            VersionSpec::Dev(label) => write!(f, "dev:{label}"),
        }
    }
}

/// `1`, `1.2` or `1.2.3` as numbers; `None` for anything else (a `v` prefix, a pre-release
/// suffix, an empty part, more than three parts).
pub(crate) fn numeric_parts(s: &str) -> Option<Vec<u64>> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() > 3 {
        return None;
    }
    parts
        .iter()
        .map(|p| {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                None
            } else {
                p.parse().ok()
            }
        })
        .collect()
}

/// Dev labels end up in file names (`dev:LABEL.yml`), so path separators and control
/// characters are refused; everything else CircleCI accepts is kept.
fn is_dev_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 200
        && !label
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_whitespace() || c.is_control())
}

/// A reference to a published orb: `namespace/name@version`.
///
/// Invariant: namespace and name hold only ASCII letters, digits, `-` and `_`, so they are safe
/// to use as folder names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OrbRef {
    namespace: String,
    name: String,
    version: VersionSpec,
}

impl OrbRef {
    /// Reads `namespace/name@version`.
    pub fn parse(s: &str) -> Result<OrbRef, OrbRefError> {
        let fail = |kind| OrbRefError {
            reference: s.to_string(),
            kind,
        };
        if s.contains("<<") {
            return Err(fail(OrbRefErrorKind::Interpolated));
        }
        let (path, version) = s
            .split_once('@')
            .ok_or(fail(OrbRefErrorKind::MissingVersion))?;
        let (namespace, name) = path
            .split_once('/')
            .ok_or(fail(OrbRefErrorKind::MissingNamespace))?;
        if !is_identifier(namespace) {
            return Err(fail(OrbRefErrorKind::BadNamespace(namespace.to_string())));
        }
        if !is_identifier(name) {
            return Err(fail(OrbRefErrorKind::BadName(name.to_string())));
        }
        let version =
            VersionSpec::parse(version).ok_or(fail(OrbRefErrorKind::BadVersion(version.into())))?;
        Ok(OrbRef {
            namespace: namespace.to_string(),
            name: name.to_string(),
            version,
        })
    }

    /// The namespace (`circleci` in `circleci/node@5`).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The orb's name within its namespace (`node` in `circleci/node@5`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The version as written.
    pub fn version(&self) -> &VersionSpec {
        &self.version
    }

    /// `namespace/name`, without the version.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

impl fmt::Display for OrbRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}@{}", self.namespace, self.name, self.version)
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A string that is not an orb reference.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("invalid orb reference `{reference}`: {kind}")]
pub struct OrbRefError {
    /// The text as written.
    pub reference: String,
    /// What is wrong with it.
    pub kind: OrbRefErrorKind,
}

/// What is wrong with an orb reference.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OrbRefErrorKind {
    /// No `@`.
    #[error("missing `@VERSION` (write it as `namespace/name@1.2.3`)")]
    MissingVersion,
    /// No `/` before the `@`.
    #[error("missing the namespace (write it as `namespace/name@1.2.3`)")]
    MissingNamespace,
    /// The namespace has characters outside letters, digits, `-` and `_`.
    #[error("namespace `{0}` must be letters, digits, `-` or `_`")]
    BadNamespace(String),
    /// The name has characters outside letters, digits, `-` and `_`.
    #[error("orb name `{0}` must be letters, digits, `-` or `_`")]
    BadName(String),
    /// The version is none of the accepted forms.
    #[error("version `{0}` must be `x.y.z`, `x.y`, `x`, `volatile` or `dev:LABEL`")]
    BadVersion(String),
    /// A `<< ... >>` parameter is still in the reference.
    #[error("it still contains `<< ... >>`; pipeline parameters must be substituted first")]
    Interpolated,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> OrbRefErrorKind {
        OrbRef::parse(s).unwrap_err().kind
    }

    #[test]
    fn parses_every_version_form() {
        for (text, version) in [
            (
                "circleci/node@5.1.0",
                VersionSpec::Exact {
                    major: 5,
                    minor: 1,
                    patch: 0,
                },
            ),
            (
                "circleci/node@5.1",
                VersionSpec::Minor { major: 5, minor: 1 },
            ),
            ("circleci/node@5", VersionSpec::Major { major: 5 }),
            ("circleci/node@volatile", VersionSpec::Volatile),
            ("circleci/node@dev:alpha", VersionSpec::Dev("alpha".into())),
            ("circleci/node@dev:1.2.3", VersionSpec::Dev("1.2.3".into())),
        ] {
            let r = OrbRef::parse(text).unwrap();
            assert_eq!(r.namespace(), "circleci");
            assert_eq!(r.name(), "node");
            assert_eq!(r.full_name(), "circleci/node");
            assert_eq!(r.version(), &version);
            assert_eq!(r.to_string(), text);
        }
        let r = OrbRef::parse("cypress-io/cypress_x@10.20.300").unwrap();
        assert_eq!(r.to_string(), "cypress-io/cypress_x@10.20.300");
        assert!(r.version().is_exact());
    }

    #[test]
    fn refuses_malformed_references() {
        assert_eq!(kind("circleci/node"), OrbRefErrorKind::MissingVersion);
        assert_eq!(kind("node@5"), OrbRefErrorKind::MissingNamespace);
        assert_eq!(
            kind("circle.ci/node@5"),
            OrbRefErrorKind::BadNamespace("circle.ci".into())
        );
        assert_eq!(
            kind("/node@5"),
            OrbRefErrorKind::BadNamespace(String::new())
        );
        assert_eq!(
            kind("../node@5"),
            OrbRefErrorKind::BadNamespace("..".into())
        );
        assert_eq!(
            kind("circleci/no de@5"),
            OrbRefErrorKind::BadName("no de".into())
        );
        assert_eq!(
            kind("circleci/a/b@5"),
            OrbRefErrorKind::BadName("a/b".into())
        );
        assert_eq!(
            kind("circleci/node@"),
            OrbRefErrorKind::BadVersion(String::new())
        );
        assert_eq!(
            kind("circleci/node@v5"),
            OrbRefErrorKind::BadVersion("v5".into())
        );
        assert_eq!(
            kind("circleci/node@1.2.3.4"),
            OrbRefErrorKind::BadVersion("1.2.3.4".into())
        );
        assert_eq!(
            kind("circleci/node@1.2.3-rc1"),
            OrbRefErrorKind::BadVersion("1.2.3-rc1".into())
        );
        assert_eq!(
            kind("circleci/node@1..3"),
            OrbRefErrorKind::BadVersion("1..3".into())
        );
        assert_eq!(
            kind("circleci/node@latest"),
            OrbRefErrorKind::BadVersion("latest".into())
        );
        assert_eq!(
            kind("circleci/node@dev:"),
            OrbRefErrorKind::BadVersion("dev:".into())
        );
        assert_eq!(
            kind("circleci/node@dev:a/b"),
            OrbRefErrorKind::BadVersion("dev:a/b".into())
        );
        assert_eq!(
            kind("cci-dev/ccc@<<pipeline.parameters.v>>"),
            OrbRefErrorKind::Interpolated
        );
    }

    #[test]
    fn error_messages_name_the_reference() {
        let e = OrbRef::parse("circleci/node").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid orb reference `circleci/node`: missing `@VERSION` (write it as `namespace/name@1.2.3`)"
        );
        let e = OrbRef::parse("circleci/node@next").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid orb reference `circleci/node@next`: version `next` must be `x.y.z`, `x.y`, `x`, `volatile` or `dev:LABEL`"
        );
    }
}
