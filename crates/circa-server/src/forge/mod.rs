//! Commit statuses for the forges: what Circa reports about one job, and the HTTP request that
//! reports it to a forge's API.
//!
//! This module is pure: it builds values (a [`StatusState`], a context name, a
//! [`StatusRequest`]) and does no IO. Delivery, retries and authentication belong to the caller:
//! a [`StatusRequest`] never carries a token.
//!
//! The request shapes follow the forges' own API descriptions, extracted under
//! `shared/corpus/forge-apis/` (its `SOURCES.md` names the upstream files); `spec_tests` checks
//! every request this module can make against them.

mod context;
mod state;
mod status;

#[cfg(test)]
mod spec_tests;

use serde::{Deserialize, Serialize};

pub use context::{JobKind, status_context};
pub use state::{StatusState, job_description};
pub use status::{CommitStatus, StatusRequest, StatusRequestError, forge_state, status_request};

use crate::webhooks::Forge;

/// A forge's commit status API Circa can report to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForgeKind {
    /// GitHub.com (API root `https://api.github.com`) or GitHub Enterprise Server (API root
    /// `https://HOST/api/v3`).
    GitHub,
    /// GitLab.com or self-managed GitLab (API root `https://HOST/api/v4`).
    GitLab,
    /// Gitea or Forgejo, which keeps Gitea's API (API root `https://HOST/api/v1`).
    Gitea,
    /// Bitbucket Cloud (API root `https://api.bitbucket.org/2.0`).
    Bitbucket,
}

impl ForgeKind {
    /// Every forge kind.
    pub const ALL: [ForgeKind; 4] = [
        ForgeKind::GitHub,
        ForgeKind::GitLab,
        ForgeKind::Gitea,
        ForgeKind::Bitbucket,
    ];

    /// The API root of the forge's hosted service, if it has one (Gitea has none).
    pub fn hosted_api_base(self) -> Option<&'static str> {
        match self {
            ForgeKind::GitHub => Some("https://api.github.com"),
            ForgeKind::GitLab => Some("https://gitlab.com/api/v4"),
            ForgeKind::Gitea => None,
            ForgeKind::Bitbucket => Some("https://api.bitbucket.org/2.0"),
        }
    }
}

impl From<Forge> for ForgeKind {
    fn from(forge: Forge) -> Self {
        match forge {
            Forge::GitHub => ForgeKind::GitHub,
            Forge::GitLab => ForgeKind::GitLab,
            Forge::Gitea => ForgeKind::Gitea,
            Forge::Bitbucket => ForgeKind::Bitbucket,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forge_kinds_are_lower_case_in_json() {
        let names: Vec<String> = ForgeKind::ALL
            .iter()
            .map(|k| serde_json::to_string(k).unwrap())
            .collect();
        assert_eq!(
            names,
            [r#""github""#, r#""gitlab""#, r#""gitea""#, r#""bitbucket""#]
        );
        let back: ForgeKind = serde_json::from_str(r#""gitea""#).unwrap();
        assert_eq!(back, ForgeKind::Gitea);
        assert!(serde_json::from_str::<ForgeKind>(r#""GitHub""#).is_err());
    }

    #[test]
    fn webhook_forges_map_to_the_same_kind() {
        assert_eq!(ForgeKind::from(Forge::GitHub), ForgeKind::GitHub);
        assert_eq!(ForgeKind::from(Forge::GitLab), ForgeKind::GitLab);
        assert_eq!(ForgeKind::from(Forge::Gitea), ForgeKind::Gitea);
        assert_eq!(ForgeKind::from(Forge::Bitbucket), ForgeKind::Bitbucket);
    }
}
