//! Forge webhooks: which forge sent a request, whether it is genuine, and what it asks to build.
//!
//! This module is pure: it sees header pairs, the raw body and the project's webhook secret, and
//! returns values. The HTTP layer owns body size limits, project lookup (by
//! [`WebhookTrigger::clone_urls`]), de-duplication (by [`delivery_id`]) and responses.
//!
//! The flow for one request is [`detect`] → [`verify`] (before trusting anything in the body) →
//! [`parse`]. `parse` answers [`WebhookOutcome::Build`] with a [`WebhookTrigger`], or
//! [`WebhookOutcome::Ignored`] with a reason for events that start no pipeline (pings, deletions,
//! closed pull requests, `[ci skip]`, unknown events).
//!
//! Choices (see each forge's file for details):
//! - A pull request from a fork builds with the branch `pull/<number>`, as CircleCI does, so
//!   branch filters and branch-scoped settings of the base repository never match a fork's
//!   branch that happens to share their name. [`PullRequestInfo::head_branch`] keeps the real name.
//! - `create` events (GitHub, Gitea/Forgejo) are ignored: both forges also send a `push` for the
//!   new branch or tag, and that push is what builds, so a new tag makes one pipeline, not two.
//! - Skip rules follow CircleCI's documentation; see [`skip`].
//!
//! Architecture Invariant: nothing here panics, whatever the input; errors name the header or
//! the JSON field at fault.

mod bitbucket;
mod delivery;
mod form;
mod gitea;
mod github;
mod gitlab;
mod json;
pub mod skip;
mod verify;

#[cfg(test)]
mod tests;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use delivery::delivery_id;
pub use verify::verify;

/// A forge that sends webhooks Circa understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Forge {
    /// GitHub (github.com or GitHub Enterprise Server).
    GitHub,
    /// GitLab (gitlab.com or self-managed).
    GitLab,
    /// Gitea, and Forgejo, which keeps Gitea's webhook format.
    Gitea,
    /// Bitbucket Cloud. Bitbucket Server / Data Center requests are detected as this forge too
    /// (same signature scheme) and [`parse`] ignores their events as unsupported.
    Bitbucket,
}

impl Forge {
    /// The forge's display name.
    pub fn name(self) -> &'static str {
        match self {
            Forge::GitHub => "GitHub",
            Forge::GitLab => "GitLab",
            Forge::Gitea => "Gitea",
            Forge::Bitbucket => "Bitbucket",
        }
    }
}

impl fmt::Display for Forge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Request headers as (name, value) pairs, looked up without regard to the case of names.
///
/// Build it from whatever the HTTP layer has, for example from an `http::HeaderMap` (values that
/// are not visible ASCII can be left out; no forge puts such bytes in the headers read here):
/// `map.iter().filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?))).collect()`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Headers<'a> {
    /// Headers from a slice of (name, value) pairs.
    pub fn from_pairs(pairs: &[(&'a str, &'a str)]) -> Self {
        Self {
            pairs: pairs.to_vec(),
        }
    }

    /// Adds one header; an existing header of the same name stays first.
    pub fn push(&mut self, name: &'a str, value: &'a str) {
        self.pairs.push((name, value));
    }

    /// The value of the first header named `name` (any case), without surrounding whitespace.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.pairs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }

    /// Whether a header named `name` (any case) is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for Headers<'a> {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(iter: I) -> Self {
        Self {
            pairs: iter.into_iter().collect(),
        }
    }
}

/// Why a webhook request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The signature or token header the forge sends is absent (unauthorized).
    #[error("webhook signature missing: no {header} header")]
    MissingSignature {
        /// The header that was expected.
        header: &'static str,
    },
    /// The signature or token does not match the body and the secret, or is not in the forge's
    /// format (unauthorized).
    #[error("webhook signature does not match ({header})")]
    BadSignature {
        /// The header that was checked.
        header: &'static str,
    },
    /// The project has no webhook secret, so no request can be authenticated (unauthorized).
    #[error("no webhook secret is set for the project")]
    NoSecret,
    /// The request is not what the forge sends for its event: not JSON, a field missing or of
    /// the wrong type (named by its JSON path), or the event header missing.
    #[error("malformed webhook: {reason}")]
    Malformed {
        /// What is wrong, naming the header or JSON field.
        reason: String,
    },
}

impl WebhookError {
    /// Whether the request failed authentication (answer 401), as opposed to being malformed
    /// (answer 400).
    pub fn is_unauthorized(&self) -> bool {
        matches!(
            self,
            WebhookError::MissingSignature { .. }
                | WebhookError::BadSignature { .. }
                | WebhookError::NoSecret
        )
    }

    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        WebhookError::Malformed {
            reason: reason.into(),
        }
    }
}

/// What a webhook asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
// One value per request, moved once: not worth a box in every caller's pattern.
#[allow(clippy::large_enum_variant)]
pub enum WebhookOutcome {
    /// Start a pipeline.
    Build(WebhookTrigger),
    /// Start nothing; answer success so the forge does not retry.
    Ignored {
        /// Why, for logs and the forge's delivery view.
        reason: String,
    },
}

impl WebhookOutcome {
    pub(crate) fn ignored(reason: impl Into<String>) -> Self {
        WebhookOutcome::Ignored {
            reason: reason.into(),
        }
    }
}

/// What to build, read from a webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookTrigger {
    /// The branch to build: the pushed branch, a pull request's head branch, or `pull/<number>`
    /// for a pull request from a fork. `None` for tags.
    pub branch: Option<String>,
    /// The pushed tag, without `refs/tags/`.
    pub tag: Option<String>,
    /// The commit to build, as the forge wrote it: 40 hex digits (64 for SHA-256
    /// repositories), except Bitbucket Cloud pull requests, whose payloads carry only an
    /// abbreviated hash (12 digits) that the server resolves after fetching.
    pub revision: String,
    /// The first line of the head commit's message, when the payload carries it (pushes and
    /// GitLab merge requests; not GitHub, Gitea or Bitbucket pull requests).
    pub subject: Option<String>,
    /// The rest of the head commit's message after the first line, if any.
    pub body: Option<String>,
    /// Who pushed or acted: the forge login (GitLab: username; Bitbucket: nickname).
    pub actor: String,
    /// Set when the trigger is a pull request (GitLab: merge request).
    pub pull_request: Option<PullRequestInfo>,
    /// The (base) repository's clone and web URLs as the payload gives them, without
    /// duplicates; never empty. The server finds the project by them.
    pub clone_urls: Vec<String>,
    /// `push` (branches and tags, on every forge) or `pull_request` (pull and merge requests).
    pub event: String,
}

/// The pull request a trigger builds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequestInfo {
    /// The pull request's number (GitLab: the merge request's project-scoped `iid`).
    pub number: u64,
    /// The pull request's web page.
    pub url: String,
    /// The head (source) branch, in the fork when `from_fork`.
    pub head_branch: String,
    /// The base (target) branch.
    pub base_branch: String,
    /// Whether the head lives in another repository than the base. Treated as true when the
    /// payload does not let us tell (the safe side: no secrets for forks).
    pub from_fork: bool,
    /// Who opened it (the forge login), when the payload says (`CIRCLE_PR_USERNAME`).
    pub author: Option<String>,
    /// The head repository's name, without its owner, when the payload says
    /// (`CIRCLE_PR_REPONAME`).
    pub head_repo: Option<String>,
}

impl PullRequestInfo {
    /// What a job of a pull request from a fork is told of it (`CIRCLE_PR_*`); `None` when
    /// the head is not in a fork, as CircleCI sets those variables only for forks.
    pub fn fork(&self) -> Option<circa_model::protocol::ForkPullRequest> {
        self.from_fork
            .then(|| circa_model::protocol::ForkPullRequest {
                number: self.number,
                username: self.author.clone().unwrap_or_default(),
                reponame: self.head_repo.clone().unwrap_or_default(),
            })
    }
}

/// Which forge sent the request, from the event header present.
///
/// Gitea and Forgejo also send `X-GitHub-Event` for compatibility, so their own headers are
/// checked first. Bitbucket's `X-Event-Key` counts only with a second Bitbucket header
/// (`X-Hub-Signature`, `X-Request-UUID`, `X-Hook-UUID`, `X-Request-Id`, or a user agent naming
/// Bitbucket), so that a stray `X-Event-Key` is not taken for Bitbucket.
pub fn detect(headers: &Headers<'_>) -> Option<Forge> {
    if headers.contains("X-Gitea-Event") || headers.contains("X-Forgejo-Event") {
        Some(Forge::Gitea)
    } else if headers.contains("X-GitHub-Event") {
        Some(Forge::GitHub)
    } else if headers.contains("X-Gitlab-Event") {
        Some(Forge::GitLab)
    } else if headers.contains("X-Event-Key") && bitbucket::looks_like_bitbucket(headers) {
        Some(Forge::Bitbucket)
    } else {
        None
    }
}

/// Parses the payload into what to build. Call it after [`verify`].
///
/// The payload is the body, JSON, or the `payload` field of a form-encoded body (GitHub's
/// and Gitea's other content type). Unknown events are [`WebhookOutcome::Ignored`]; a known
/// event whose payload lacks what a build needs is [`WebhookError::Malformed`], naming the
/// JSON field path.
pub fn parse(
    forge: Forge,
    headers: &Headers<'_>,
    body: &[u8],
) -> Result<WebhookOutcome, WebhookError> {
    let payload = form::json_payload(headers, body)?;
    let body = payload.as_ref();
    match forge {
        Forge::GitHub => github::parse(headers, body),
        Forge::GitLab => gitlab::parse(headers, body),
        Forge::Gitea => gitea::parse(headers, body),
        Forge::Bitbucket => bitbucket::parse(headers, body),
    }
}

/// The event header's value, or Malformed naming the header.
fn event_header<'a>(headers: &Headers<'a>, names: &[&str]) -> Result<&'a str, WebhookError> {
    names.iter().find_map(|n| headers.get(n)).ok_or_else(|| {
        WebhookError::malformed(format!("missing event header {}", names.join(" or ")))
    })
}

/// The reason given for an event that starts no pipeline. The event name comes from a header,
/// so it is cut short.
fn unknown_event(forge: Forge, event: &str) -> WebhookOutcome {
    let shown: String = event.chars().take(80).collect();
    WebhookOutcome::ignored(format!("{forge} event `{shown}` does not start a pipeline"))
}

/// A git ref, split.
#[derive(Debug, PartialEq, Eq)]
enum GitRef<'a> {
    Branch(&'a str),
    Tag(&'a str),
}

/// `refs/heads/x` → branch `x`, `refs/tags/x` → tag `x`; anything else → `None`.
fn split_ref(r: &str) -> Option<GitRef<'_>> {
    if let Some(b) = r.strip_prefix("refs/heads/").filter(|b| !b.is_empty()) {
        Some(GitRef::Branch(b))
    } else {
        r.strip_prefix("refs/tags/")
            .filter(|t| !t.is_empty())
            .map(GitRef::Tag)
    }
}

/// Whether a hash is all zeros: the "no commit" of a created or deleted ref.
fn is_zero_hash(hash: &str) -> bool {
    !hash.is_empty() && hash.bytes().all(|b| b == b'0')
}

/// What every forge's parser gathers before the common finishing steps.
struct Gathered {
    branch: Option<String>,
    tag: Option<String>,
    revision: String,
    message: Option<String>,
    actor: String,
    pull_request: Option<PullRequestInfo>,
    clone_urls: Vec<String>,
    event: &'static str,
}

impl Gathered {
    /// A push of `git_ref` at `revision`.
    fn push(
        git_ref: GitRef<'_>,
        revision: String,
        message: Option<String>,
        actor: String,
        clone_urls: Vec<String>,
    ) -> Self {
        let (branch, tag) = match git_ref {
            GitRef::Branch(b) => (Some(b.to_owned()), None),
            GitRef::Tag(t) => (None, Some(t.to_owned())),
        };
        Gathered {
            branch,
            tag,
            revision,
            message,
            actor,
            pull_request: None,
            clone_urls,
            event: "push",
        }
    }

    /// A pull request building `revision`; the branch is `pull/<n>` for forks.
    fn pull_request(
        pr: PullRequestInfo,
        revision: String,
        message: Option<String>,
        actor: String,
        clone_urls: Vec<String>,
    ) -> Self {
        let branch = if pr.from_fork {
            format!("pull/{}", pr.number)
        } else {
            pr.head_branch.clone()
        };
        Gathered {
            branch: Some(branch),
            tag: None,
            revision,
            message,
            actor,
            pull_request: Some(pr),
            clone_urls,
            event: "pull_request",
        }
    }

    /// Applies the skip rules and builds the outcome.
    fn finish(self) -> WebhookOutcome {
        let (subject, body) = match self.message.as_deref() {
            Some(m) => skip::split_message(m),
            None => (None, None),
        };
        let skip_applies =
            self.tag.is_none() && !self.pull_request.as_ref().is_some_and(|pr| pr.from_fork);
        if skip_applies && let Some(tag) = skip::skip_tag(subject.as_deref(), body.as_deref()) {
            return WebhookOutcome::ignored(format!(
                "head commit {} asks to skip CI with {tag}",
                self.revision
            ));
        }
        WebhookOutcome::Build(WebhookTrigger {
            branch: self.branch,
            tag: self.tag,
            revision: self.revision,
            subject,
            body,
            actor: self.actor,
            pull_request: self.pull_request,
            clone_urls: self.clone_urls,
            event: self.event.to_owned(),
        })
    }
}
