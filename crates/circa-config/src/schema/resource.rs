//! Resource classes: where they are set, and whether a class of a known platform family
//! fits the executor.
//!
//! Deliberately absent: checking names against CircleCI cloud's offerings. A self-hosted
//! server maps resource classes to its own runners, so an unknown name (`toto`,
//! `myorg/runner`) is accepted. Only a class that plainly names another platform
//! (`windows.*` on a Linux image, `large` on macOS) is refused.

use super::helpers::{Ctx, has_template};
use crate::yaml::{Map, Node};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Platform {
    Linux,
    Windows,
    MacOs,
}

impl Platform {
    fn name(self) -> &'static str {
        match self {
            Platform::Linux => "Linux",
            Platform::Windows => "Windows",
            Platform::MacOs => "macOS",
        }
    }
}

/// The platform a cloud-style resource class name belongs to; `None` for names the server
/// does not know (self-hosted runner classes and custom names).
fn class_platform(rc: &str) -> Option<Platform> {
    const LINUX: &[&str] = &[
        "small", "medium", "medium+", "large", "xlarge", "2xlarge", "2xlarge+",
    ];
    if rc.starts_with("windows.") {
        Some(Platform::Windows)
    } else if ["macos.", "m4pro.", "m2pro.", "m1."]
        .iter()
        .any(|p| rc.starts_with(p))
    {
        Some(Platform::MacOs)
    } else if LINUX.contains(&rc)
        || rc.starts_with("arm.")
        || rc.starts_with("gpu.")
        || LINUX
            .iter()
            .any(|b| [".gen2", ".gen3"].iter().any(|g| rc == format!("{b}{g}")))
    {
        Some(Platform::Linux)
    } else {
        None
    }
}

/// The platform the executor of `m` runs on, when it can be told from the raw config.
fn executor_platform(m: &Map) -> Option<Platform> {
    if m.contains_key("docker") {
        Some(Platform::Linux)
    } else if m.contains_key("macos") {
        Some(Platform::MacOs)
    } else if m.contains_key("windows") {
        Some(Platform::Windows)
    } else {
        let image = m.get("machine")?.as_map()?.get("image")?.as_str()?;
        if has_template(image) {
            None
        } else if image.starts_with("windows") {
            Some(Platform::Windows)
        } else {
            Some(Platform::Linux)
        }
    }
}

/// Checks `resource_class` of a job or executor body `m` named `what`.
pub(crate) fn check_resource_class(cx: &mut Ctx, m: &Map, what: &str) {
    let top = m.get("resource_class");
    if let Some(v) = top {
        cx.want_text(v, &format!("`resource_class` of {what}"));
    }
    let nested = ["machine", "macos"]
        .iter()
        .find_map(|k| m.get(k)?.as_map()?.entry("resource_class").map(|e| (*k, e)));
    if let (Some(_), Some((kind, entry))) = (top, nested) {
        cx.err(
            entry.key_span,
            format!(
                "{what} sets `resource_class` both in `{kind}` and on the {}; keep one",
                owner_word(what)
            ),
        );
    }
    let class = top.or(nested.map(|(_, e)| &e.value));
    let Some((class_node, rc)) = class.and_then(|n| Some((n, n.as_str()?))) else {
        return;
    };
    if has_template(rc) {
        return;
    }
    let (Some(want), Some(have)) = (class_platform(rc), executor_platform(m)) else {
        return;
    };
    if want != have {
        report_mismatch(cx, m, class_node, rc, want, have, what);
    }
}

fn owner_word(what: &str) -> &'static str {
    if what.starts_with("job") {
        "job"
    } else {
        "executor"
    }
}

fn report_mismatch(
    cx: &mut Ctx,
    m: &Map,
    class_node: &Node,
    rc: &str,
    want: Platform,
    have: Platform,
    what: &str,
) {
    let xcode = m
        .get("macos")
        .and_then(Node::as_map)
        .and_then(|mac| mac.get("xcode"))
        .and_then(Node::scalar_text);
    let message = match (have, xcode) {
        (Platform::MacOs, Some(x)) => format!(
            "Invalid resource class \"{rc}\" for Xcode version \"{x}\" in {what}: `{rc}` is a {} resource class",
            want.name()
        ),
        _ => format!(
            "resource class `{rc}` of {what} is not available for {}: it is a {} resource class",
            have.name(),
            want.name()
        ),
    };
    cx.err(class_node.span, message);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_of_cloud_classes() {
        assert_eq!(class_platform("windows.medium"), Some(Platform::Windows));
        assert_eq!(class_platform("m4pro.medium"), Some(Platform::MacOs));
        assert_eq!(class_platform("medium+.gen2"), Some(Platform::Linux));
        assert_eq!(class_platform("arm.large"), Some(Platform::Linux));
        assert_eq!(class_platform("myorg/runner"), None);
        assert_eq!(class_platform("toto"), None);
    }
}
