//! The rows of a project's git access besides its checkout keys: the SSH host keys its
//! remote is checked against and an HTTPS token. The token arrives sealed by the server
//! ([`SealedValue`]); the store never sees it in clear.

use crate::ids::ProjectId;
use crate::secret_records::SealedValue;

/// An HTTPS access token and the user name given with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoToken {
    /// The user name (`x-access-token`, `x-token-auth`, …).
    pub user: String,
    /// The token, sealed.
    pub token: SealedValue,
}

/// What a project holds to reach its repository (empty when nothing was given).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitAccessRecord {
    /// The project.
    pub project_id: ProjectId,
    /// `known_hosts` lines, in order.
    pub known_hosts: Vec<String>,
    /// The HTTPS token, if one was given.
    pub repo_token: Option<RepoToken>,
}

impl GitAccessRecord {
    /// What a project holds before anything is given.
    pub fn empty(project_id: ProjectId) -> GitAccessRecord {
        GitAccessRecord {
            project_id,
            known_hosts: Vec::new(),
            repo_token: None,
        }
    }
}
