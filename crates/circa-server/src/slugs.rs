//! Project slugs (`VCS/ORG/REPO`) as people write them. The VCS part is read without regard
//! to case and spelled as Circa stores it (`github` → `gh`, `bitbucket` → `bb`); the
//! organisation and repository keep their case when a project is added, and a lookup finds a
//! project whose slug differs only in their case, as forges (and CircleCI) treat those names
//! as one.

use circa_store::{Project, Store, StoreResult};

/// The VCS part of a slug as stored: lower case, `github` → `gh`, `bitbucket` → `bb`.
pub fn canonical_vcs(vcs: &str) -> String {
    let vcs = vcs.to_ascii_lowercase();
    match vcs.as_str() {
        "github" => "gh".to_string(),
        "bitbucket" => "bb".to_string(),
        _ => vcs,
    }
}

/// A slug from its parts, with the VCS part canonical.
pub fn normal_slug(vcs: &str, org: &str, repo: &str) -> String {
    format!("{}/{org}/{repo}", canonical_vcs(vcs))
}

/// A whole slug as written, with the VCS part canonical (a text without `/` is left as it is).
pub fn normal_slug_text(slug: &str) -> String {
    match slug.split_once('/') {
        Some((vcs, rest)) => format!("{}/{rest}", canonical_vcs(vcs)),
        None => slug.to_string(),
    }
}

/// The project with `slug` (its VCS part canonical): the one with exactly that slug, else the
/// only one whose slug differs from it just in case.
pub async fn project_by_slug(store: &dyn Store, slug: &str) -> StoreResult<Option<Project>> {
    if let Some(project) = store.project_by_slug(slug).await? {
        return Ok(Some(project));
    }
    let mut alike = store
        .projects_with_slug_ignoring_case(slug, 2)
        .await?
        .into_iter();
    Ok(match (alike.next(), alike.next()) {
        (Some(project), None) => Some(project),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vcs_part_is_canonical_whatever_its_case() {
        assert_eq!(normal_slug("GH", "Acme", "App"), "gh/Acme/App");
        assert_eq!(normal_slug("GitHub", "acme", "app"), "gh/acme/app");
        assert_eq!(normal_slug("BitBucket", "acme", "app"), "bb/acme/app");
        assert_eq!(normal_slug("Circleci", "acme", "app"), "circleci/acme/app");
        assert_eq!(normal_slug_text("GITHUB/Acme/App"), "gh/Acme/App");
        assert_eq!(normal_slug_text("nothing"), "nothing");
    }
}
