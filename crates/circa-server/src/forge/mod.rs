//! Commit statuses for the forges: what Circa reports about one job, and the HTTP request that
//! reports it to a forge's API.
//!
//! Its pure part builds values (a [`StatusState`], a context name, a [`StatusRequest`], which
//! never carries a token) and checks the settings a client gives (`settings`). The IO is in
//! `send` (one request with its token, the answer read as delivered, retry or refused) and
//! `outbox` (the worker that sends the statuses the store's outbox holds).
//!
//! The request shapes follow the forges' own API descriptions, extracted under
//! `shared/corpus/forge-apis/` (its `SOURCES.md` names the upstream files); `spec_tests` checks
//! every request this module can make against them.

pub mod configure;
mod context;
mod deploy_key;
pub mod outbox;
pub mod send;
pub mod settings;
mod state;
mod status;

#[cfg(any(test, feature = "spec-check"))]
pub mod spec_check;
#[cfg(test)]
mod spec_tests;

pub use context::{JobKind, status_context};
pub use deploy_key::deploy_key_request;
pub use state::{StatusState, job_description};
pub use status::{CommitStatus, StatusRequest, StatusRequestError, forge_state, status_request};

/// A forge's commit status API Circa can report to (kept by the store with each project's
/// forge settings).
pub use circa_store::ForgeKind;

use crate::webhooks::Forge;

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
