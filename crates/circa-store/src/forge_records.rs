//! The rows of forge integration: a project's forge (its API, its sealed token, whether
//! commit statuses are reported) and the outbox of commit statuses waiting to be sent.
//!
//! The store never sees a forge token in clear: it arrives sealed by the server
//! ([`SealedValue`]).

use std::fmt;

use circa_model::JobStatus;
use serde::{Deserialize, Serialize};

use crate::ids::{JobId, ProjectId};
use crate::records::Millis;
use crate::secret_records::SealedValue;

/// A forge's API Circa can report commit statuses to.
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

    /// The stored and JSON spelling: `github`, `gitlab`, `gitea`, `bitbucket`.
    pub fn as_str(self) -> &'static str {
        match self {
            ForgeKind::GitHub => "github",
            ForgeKind::GitLab => "gitlab",
            ForgeKind::Gitea => "gitea",
            ForgeKind::Bitbucket => "bitbucket",
        }
    }

    /// The kind a stored name spells, if any.
    pub fn parse(text: &str) -> Option<ForgeKind> {
        ForgeKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

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

impl fmt::Display for ForgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A project's forge: where its commit statuses go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectForge {
    /// The project.
    pub project_id: ProjectId,
    /// Which forge's API.
    pub kind: ForgeKind,
    /// The API root (`https://api.github.com`, `https://HOST/api/v4`, …).
    pub api_url: String,
    /// The repository on the forge: `OWNER/REPO` (GitLab: the project's full path).
    pub repo: String,
    /// The API token, sealed; none set yet.
    pub token: Option<SealedValue>,
    /// Whether job states are reported as commit statuses.
    pub statuses: bool,
    /// The last delivery error, until a delivery succeeds.
    pub last_error: Option<String>,
    /// When the last delivery error happened.
    pub last_error_at: Option<Millis>,
    /// When the settings last changed.
    pub updated_at: Millis,
}

/// A commit status waiting in the outbox: a job's new state, written in the transaction that
/// changed the job. Rows of one key (project, sha, context) are sent newest only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxStatus {
    /// The row's number: later changes have larger numbers.
    pub id: i64,
    /// The project.
    pub project_id: ProjectId,
    /// The commit the pipeline built.
    pub sha: String,
    /// The status context (`ci/circleci: JOB`, `ci/circleci: WORKFLOW/JOB` for approvals).
    pub context: String,
    /// The job.
    pub job_id: JobId,
    /// The job's status the row reports.
    pub job_status: JobStatus,
    /// The job's number, if it has one (its web page's address).
    pub job_number: Option<i64>,
    /// The pipeline's number (the page of a job without a number).
    pub pipeline_number: i64,
    /// When the job changed.
    pub created_at: Millis,
    /// When the row may next be sent.
    pub due_at: Millis,
}
