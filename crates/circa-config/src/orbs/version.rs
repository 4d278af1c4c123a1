//! Which of the versions a registry holds a reference means, the way CircleCI decides it.
//!
//! Registry versions are file names. Full versions (`x.y.z`) are compared numerically, so
//! `1.10.0` is above `1.9.0`. Partial names (`5`, `4.7`) come from registries that store an orb
//! under the version a config wrote; they are used only when no full version matches, and then
//! only for exactly that spec (`5` for `@5`), since the full version they hold is unknown.
//! Other names are ignored except `dev:LABEL`, which only `dev:LABEL` finds.

use super::reference::{VersionSpec, numeric_parts};

/// The registry version `spec` resolves to among `available`, or `None`.
pub fn resolve_version(available: &[String], spec: &VersionSpec) -> Option<String> {
    if let VersionSpec::Dev(label) = spec {
        let wanted = format!("dev:{label}");
        return available.iter().find(|v| **v == wanted).cloned();
    }
    let numbered: Vec<(Vec<u64>, &String)> = available
        .iter()
        .filter_map(|v| numeric_parts(v).map(|parts| (parts, v)))
        .collect();
    let full = numbered.iter().filter(|(parts, _)| parts.len() == 3);
    let best_full = match spec {
        VersionSpec::Exact {
            major,
            minor,
            patch,
        } => {
            let wanted = [*major, *minor, *patch];
            let written = spec.to_string();
            // Prefer the canonical spelling when `1.2.3` and `01.2.3` are both present.
            full.filter(|(parts, _)| parts.as_slice() == wanted)
                .max_by_key(|(_, name)| **name == written)
        }
        VersionSpec::Minor { major, minor } => full
            .filter(|(parts, _)| parts[..2] == [*major, *minor])
            .max_by(|a, b| a.0.cmp(&b.0)),
        VersionSpec::Major { major } => full
            .filter(|(parts, _)| parts[0] == *major)
            .max_by(|a, b| a.0.cmp(&b.0)),
        VersionSpec::Volatile => full.max_by(|a, b| a.0.cmp(&b.0)),
        VersionSpec::Dev(_) => None,
    };
    if let Some((_, name)) = best_full {
        return Some((*name).clone());
    }
    // No full version: fall back to a partial name for exactly this spec.
    let fallback = match spec {
        VersionSpec::Minor { major, minor } => numbered
            .iter()
            .find(|(parts, _)| parts.as_slice() == [*major, *minor]),
        VersionSpec::Major { major } => numbered
            .iter()
            .find(|(parts, _)| parts.as_slice() == [*major]),
        VersionSpec::Volatile => numbered.iter().max_by(|a, b| a.0.cmp(&b.0)),
        VersionSpec::Exact { .. } | VersionSpec::Dev(_) => None,
    };
    fallback.map(|(_, name)| (*name).clone())
}

/// Sorts registry versions for messages: numbered ones in numeric order, then the rest by name.
pub fn sort_versions(versions: &mut [String]) {
    versions.sort_by(|a, b| match (numeric_parts(a), numeric_parts(b)) {
        (Some(x), Some(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(available: &[&str], spec: &str) -> Option<String> {
        let available: Vec<String> = available.iter().map(|s| s.to_string()).collect();
        let spec = VersionSpec::parse(spec).unwrap();
        resolve_version(&available, &spec)
    }

    const NODE: &[&str] = &[
        "4.0.1", "4.2.0", "4.7.0", "5.0.0", "5.0.2", "5.1.0", "7.1.0", "7.2.1",
    ];

    #[test]
    fn exact_versions() {
        assert_eq!(resolve(NODE, "5.0.2").as_deref(), Some("5.0.2"));
        assert_eq!(resolve(NODE, "5.0.1"), None);
        assert_eq!(resolve(NODE, "7.2.1").as_deref(), Some("7.2.1"));
        assert_eq!(
            resolve(&["01.2.3", "1.2.3"], "1.2.3").as_deref(),
            Some("1.2.3")
        );
        assert_eq!(resolve(&["01.2.3"], "1.2.3").as_deref(), Some("01.2.3"));
    }

    #[test]
    fn minor_picks_the_highest_patch() {
        assert_eq!(resolve(NODE, "5.0").as_deref(), Some("5.0.2"));
        assert_eq!(resolve(NODE, "4.7").as_deref(), Some("4.7.0"));
        assert_eq!(resolve(NODE, "5.2"), None);
    }

    #[test]
    fn major_picks_the_highest_minor_and_patch() {
        assert_eq!(resolve(NODE, "5").as_deref(), Some("5.1.0"));
        assert_eq!(resolve(NODE, "4").as_deref(), Some("4.7.0"));
        assert_eq!(resolve(NODE, "7").as_deref(), Some("7.2.1"));
        assert_eq!(resolve(NODE, "6"), None);
        assert_eq!(resolve(NODE, "0"), None);
    }

    #[test]
    fn volatile_picks_the_highest() {
        assert_eq!(resolve(NODE, "volatile").as_deref(), Some("7.2.1"));
        assert_eq!(resolve(&[], "volatile"), None);
    }

    #[test]
    fn comparison_is_numeric() {
        let v = &["1.9.0", "1.10.0", "1.2.0", "1.9.12", "1.9.9"];
        assert_eq!(resolve(v, "1").as_deref(), Some("1.10.0"));
        assert_eq!(resolve(v, "1.9").as_deref(), Some("1.9.12"));
        assert_eq!(resolve(v, "volatile").as_deref(), Some("1.10.0"));
        assert_eq!(
            resolve(&["9.0.0", "10.0.0"], "volatile").as_deref(),
            Some("10.0.0")
        );
    }

    #[test]
    fn other_names_are_ignored() {
        let v = &[
            "latest",
            "1.2.3-beta",
            "v1.3.0",
            "1.2.0",
            "README",
            "dev:1.4.0",
        ];
        assert_eq!(resolve(v, "1").as_deref(), Some("1.2.0"));
        assert_eq!(resolve(v, "volatile").as_deref(), Some("1.2.0"));
        assert_eq!(resolve(v, "1.3.0"), None);
    }

    #[test]
    fn dev_labels_match_exactly() {
        let v = &["1.0.0", "dev:alpha", "dev:abc123"];
        assert_eq!(resolve(v, "dev:alpha").as_deref(), Some("dev:alpha"));
        assert_eq!(resolve(v, "dev:abc123").as_deref(), Some("dev:abc123"));
        assert_eq!(resolve(v, "dev:beta"), None);
        assert_eq!(resolve(v, "dev:1.0.0"), None);
    }

    #[test]
    fn partial_names_are_a_fallback_for_the_same_spec() {
        // `5.yml` is what a config asking for `@5` got; a full 5.x.y wins over it.
        assert_eq!(resolve(&["5", "5.0.2"], "5").as_deref(), Some("5.0.2"));
        assert_eq!(resolve(&["2"], "2").as_deref(), Some("2"));
        assert_eq!(resolve(&["2"], "2.0"), None);
        assert_eq!(resolve(&["2"], "2.0.0"), None);
        assert_eq!(resolve(&["4.7"], "4.7").as_deref(), Some("4.7"));
        assert_eq!(resolve(&["4.7"], "4"), None);
        assert_eq!(resolve(&["3.0", "2.2"], "volatile").as_deref(), Some("3.0"));
    }

    #[test]
    fn versions_sort_numerically_for_messages() {
        let mut v: Vec<String> = ["dev:x", "1.10.0", "5", "1.9.0", "abc"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        sort_versions(&mut v);
        assert_eq!(v, ["1.9.0", "1.10.0", "5", "abc", "dev:x"]);
    }
}
