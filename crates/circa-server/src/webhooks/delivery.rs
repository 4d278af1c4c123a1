//! The id a forge gives each delivery, the same when the delivery is sent again: what tells a
//! replayed or redelivered webhook from a new one.

use super::{Forge, Headers};

/// The longest delivery id kept; a longer header is not taken for an id.
const MAX_DELIVERY_ID: usize = 200;

/// The headers that carry a forge's delivery id, in the order they are read.
fn headers_of(forge: Forge) -> &'static [&'static str] {
    match forge {
        Forge::GitHub => &["X-GitHub-Delivery"],
        Forge::GitLab => &["X-Gitlab-Event-UUID"],
        Forge::Gitea => &["X-Gitea-Delivery", "X-Forgejo-Delivery"],
        Forge::Bitbucket => &["X-Request-UUID"],
    }
}

/// The delivery's id, when the forge sent one of usable length.
pub fn delivery_id<'a>(forge: Forge, headers: &Headers<'a>) -> Option<&'a str> {
    headers_of(forge)
        .iter()
        .find_map(|name| headers.get(name))
        .filter(|id| !id.is_empty() && id.len() <= MAX_DELIVERY_ID)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_forge_names_its_delivery_in_its_own_header() {
        let headers = Headers::from_pairs(&[
            ("x-github-delivery", "gh-1"),
            ("X-Gitlab-Event-UUID", "gl-1"),
            ("X-Forgejo-Delivery", "fj-1"),
            ("X-Request-UUID", "bb-1"),
        ]);
        assert_eq!(delivery_id(Forge::GitHub, &headers), Some("gh-1"));
        assert_eq!(delivery_id(Forge::GitLab, &headers), Some("gl-1"));
        assert_eq!(delivery_id(Forge::Gitea, &headers), Some("fj-1"));
        assert_eq!(delivery_id(Forge::Bitbucket, &headers), Some("bb-1"));
        let long = "x".repeat(201);
        let headers = Headers::from_pairs(&[("X-GitHub-Delivery", long.as_str())]);
        assert_eq!(delivery_id(Forge::GitHub, &headers), None);
        assert_eq!(delivery_id(Forge::GitHub, &Headers::default()), None);
    }
}
