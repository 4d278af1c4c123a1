//! The runner API: what a runner sends to the server and what it gets back, as JSON.
//!
//! Routes (all under `/api/runner/v1`, JSON bodies):
//!
//! | route | token | body → answer |
//! |---|---|---|
//! | `POST /claims` | runner | [`ClaimRequest`] → 200 [`ClaimedTasks`] (1 to `max_tasks` tasks, claimed in one transaction), or 204 |
//! | `POST /claims/grow` | runner | [`ClaimGrowth`] → 200 [`ClaimGrown`], or 404 when that claim is not waiting here |
//! | `POST /tasks/{id}/heartbeat` | task | [`HeartbeatRequest`] → [`HeartbeatReply`] (held up to `hold_ms`, answered at once on cancel) |
//! | `POST /tasks/{id}/events` | task | [`EventBatch`] → [`EventAck`] |
//! | `PUT /tasks/{id}/artifacts/{path}` | task | the file's bytes → 204 |
//! | `PUT /tasks/{id}/test-results/{path}` | task | a JUnit file's bytes → 204 |
//! | `PUT /tasks/{id}/workspace/{layer}` | task | a workspace layer (tar + zstd) → 204 |
//! | `GET /tasks/{id}/workspace/{layer}` | task | → the layer's bytes (only layers named in the assignment) |
//! | `POST /tasks/{id}/complete` | task | [`CompleteRequest`] → 204 |
//!
//! A runner token belongs to one resource class and can only claim; a task token (given in the
//! assignment) reaches only that task's routes. Tokens travel as `Authorization: Bearer`.
//!
//! Events carry sequence numbers from 1 upwards per task. The server stores an event only if
//! it is the next one it expects, and acknowledges the highest number stored, so a resend after
//! a lost answer or a server restart never duplicates a log line.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::status::JobStatus;
use crate::task::JobSpec;

/// The longest lease a task may have; heartbeats extend it.
pub const LEASE_MAX_MS: u64 = 60_000;

/// The longest a claim may wait for work.
pub const CLAIM_WAIT_MAX_MS: u64 = 60_000;

/// Prefix of the runner API's routes.
pub const RUNNER_API_PREFIX: &str = "/api/runner/v1";

/// The most tasks one `POST /claims` takes.
pub const CLAIM_MAX_TASKS: u32 = 100;

/// A runner asks for work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRequest {
    /// The runner's name (shown in the UI and in a job's details).
    pub runner: String,
    /// How long the server may hold the request when nothing is queued (at most
    /// [`CLAIM_WAIT_MAX_MS`]).
    pub wait_ms: u64,
    /// The resource class the runner means to serve; when given it must be its token's
    /// (the token decides; this catches a runner started with the wrong token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_class: Option<String>,
    /// The most tasks to take at once (the runner's free slots; 1 to [`CLAIM_MAX_TASKS`],
    /// 400 otherwise).
    #[serde(default = "one_task", skip_serializing_if = "is_one_task")]
    pub max_tasks: u32,
    /// `POST /claims`: an id the runner picks for this claim (1 to [`CLAIM_ID_MAX_LEN`]
    /// bytes; 400 otherwise), so that slots it frees while the claim waits can be
    /// added to it ([`ClaimGrowth`]) instead of waiting in a claim of their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_id: Option<String>,
}

/// The longest claim id, in bytes.
pub const CLAIM_ID_MAX_LEN: usize = 64;

/// `POST /claims/grow`: more slots for a claim that is waiting. The runner sets them aside
/// for the claim before it asks, so the claim may take up to that many more tasks whenever
/// the server accepts; slots the answer leaves unused are the runner's to claim again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimGrowth {
    /// The waiting claim's [`ClaimRequest::claim_id`].
    pub claim_id: String,
    /// How many slots to add (the claim never exceeds [`CLAIM_MAX_TASKS`]).
    pub slots: u32,
}

/// What a waiting claim may take now, after a [`ClaimGrowth`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimGrown {
    /// The claim's most tasks.
    pub max_tasks: u32,
}

fn one_task() -> u32 {
    1
}

fn is_one_task(n: &u32) -> bool {
    *n == 1
}

/// The tasks one `POST /claims` took, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClaimedTasks {
    /// At least one.
    pub tasks: Vec<TaskAssignment>,
}

/// The code a task builds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskVcs {
    /// The branch (`CIRCLE_BRANCH`), unless a tag is built.
    pub branch: Option<String>,
    /// The tag (`CIRCLE_TAG`).
    pub tag: Option<String>,
    /// The commit (`CIRCLE_SHA1`).
    pub sha1: String,
    /// Where `checkout` fetches from (`CIRCLE_REPOSITORY_URL`): a URL or a path on the runner.
    pub repository_url: String,
    /// `CIRCLE_PROJECT_USERNAME`.
    pub project_username: String,
    /// `CIRCLE_PROJECT_REPONAME`.
    pub project_reponame: String,
    /// `CIRCLE_USERNAME`: who started the pipeline.
    pub username: String,
    /// `CIRCLE_PULL_REQUEST`, when building a pull request.
    pub pull_request: Option<String>,
    /// `CIRCLE_PR_NUMBER`, `CIRCLE_PR_USERNAME` and `CIRCLE_PR_REPONAME`: set only when
    /// building a pull request from a fork, as CircleCI sets them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork_pull_request: Option<ForkPullRequest>,
}

/// A pull request from a fork, as its job's variables name it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkPullRequest {
    /// `CIRCLE_PR_NUMBER`: the pull request's number.
    pub number: u64,
    /// `CIRCLE_PR_USERNAME`: the login of who opened it.
    pub username: String,
    /// `CIRCLE_PR_REPONAME`: the fork's repository name.
    pub reponame: String,
}

/// One of a project's additional SSH keys, opened for a job that runs `add_ssh_keys`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshKeyGrant {
    /// The host it is for; empty for every host (`Host *`).
    pub hostname: String,
    /// The MD5 fingerprint, colon-separated hex, as CircleCI shows it.
    pub fingerprint: String,
    /// The SHA256 fingerprint (`SHA256:…`).
    pub sha256: String,
    /// The private key (also in the task's masked secrets).
    pub private_key: String,
}

impl SshKeyGrant {
    /// Whether a fingerprint as a config gives it names this key: MD5 colon hex (any case,
    /// `MD5:` prefix optional) or SHA256 (`SHA256:…`, or its base64 alone).
    pub fn matches(&self, given: &str) -> bool {
        let given = given.trim();
        let md5 = given.strip_prefix("MD5:").unwrap_or(given);
        if md5.eq_ignore_ascii_case(&self.fingerprint) {
            return true;
        }
        let sha = given.strip_prefix("SHA256:").unwrap_or(given);
        !sha.is_empty() && self.sha256.strip_prefix("SHA256:") == Some(sha)
    }
}

impl std::fmt::Debug for SshKeyGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshKeyGrant")
            .field("hostname", &self.hostname)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// Identifiers of what a task belongs to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskIds {
    /// `CIRCLE_PIPELINE_ID`.
    pub pipeline_id: String,
    /// `CIRCLE_WORKFLOW_ID` (also names the workspace).
    pub workflow_id: String,
    /// `CIRCLE_WORKFLOW_JOB_ID`.
    pub workflow_job_id: String,
    /// `CIRCLE_PROJECT_ID`.
    pub project_id: String,
    /// `CIRCLE_ORGANIZATION_ID`.
    pub organization_id: String,
    /// `CIRCLE_BUILD_NUM`.
    pub build_num: u64,
    /// `CIRCLE_BUILD_URL`.
    pub build_url: String,
}

/// One task: one node of one job, as a runner receives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskAssignment {
    /// The task's id.
    pub task_id: String,
    /// The token for this task's routes (and nothing else).
    pub task_token: String,
    /// How long the lease lasts without a heartbeat, in milliseconds.
    pub lease_ms: u64,
    /// The job.
    pub spec: JobSpec,
    /// The job's name in its workflow (`CIRCLE_JOB`).
    pub job_name: String,
    /// This node's index (`CIRCLE_NODE_INDEX`).
    pub node: u32,
    /// The code.
    pub vcs: TaskVcs,
    /// Identifiers.
    pub ids: TaskIds,
    /// Project variables (lowest precedence).
    pub project_env: BTreeMap<String, String>,
    /// Context variables, later contexts merged over earlier ones.
    pub context_env: BTreeMap<String, String>,
    /// Extra variables the server sets (`CIRCLE_CONTINUATION_KEY` in a setup workflow).
    pub extra_env: BTreeMap<String, String>,
    /// Values to mask in all output.
    pub secrets: Vec<String>,
    /// The project's additional SSH keys, for a job that runs `add_ssh_keys` (none for a
    /// pull request from a fork unless the project gives forks secrets).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ssh_keys: Vec<SshKeyGrant>,
    /// The jobs whose workspace layers `attach_workspace` sees (this job's ancestors).
    pub upstream: Vec<String>,
    /// Workspace layers of the upstream jobs, oldest first, by file name
    /// (`<time>-<job hash>.tar.zst`), to fetch before the job starts.
    pub workspace_layers: Vec<String>,
    /// The largest log a step may keep, in bytes; output past it is dropped with a marker.
    pub step_log_limit: u64,
    /// What `checkout` needs to fetch a private repository (absent from older servers, and
    /// when the job has no `checkout` or the project nothing to give).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_access: Option<GitAccess>,
}

/// The credentials `checkout` fetches with on the runner host. Every value here that is
/// private is also in [`TaskAssignment::secrets`], so output masks it.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitAccess {
    /// The project's checkout key (OpenSSH PEM) for SSH remotes.
    #[serde(default)]
    pub ssh_private_key: Option<String>,
    /// The `known_hosts` lines SSH remotes are checked against (strictly).
    #[serde(default)]
    pub known_hosts: Vec<String>,
    /// The user name given with the token to HTTPS remotes.
    #[serde(default)]
    pub https_user: Option<String>,
    /// The access token given as the password to HTTPS remotes.
    #[serde(default)]
    pub https_token: Option<String>,
}

/// Never prints a private value.
impl std::fmt::Debug for GitAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "<hidden>");
        f.debug_struct("GitAccess")
            .field("ssh_private_key", &hidden(&self.ssh_private_key))
            .field("known_hosts", &self.known_hosts)
            .field("https_user", &self.https_user)
            .field("https_token", &hidden(&self.https_token))
            .finish()
    }
}

/// A runner's heartbeat for a running task.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatRequest {
    /// How long the server may hold the answer waiting for a cancel, in milliseconds.
    pub hold_ms: u64,
}

/// The server's answer to a heartbeat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatReply {
    /// Whether the task must stop now.
    pub cancel: bool,
    /// The lease, renewed from when the heartbeat arrived, in milliseconds.
    pub lease_ms: u64,
}

/// Events of one task, in sequence order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EventBatch {
    /// The events; their `seq` numbers are consecutive.
    pub events: Vec<TaskEvent>,
}

/// One event with its sequence number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskEvent {
    /// 1 for the task's first event, then one more for each.
    pub seq: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: TaskEventKind,
}

/// What happened in a task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TaskEventKind {
    /// Something slow is under way or done (an image pull, a cache upload).
    Progress {
        /// What, in a few words.
        message: String,
        /// Whether this closes the progress line.
        done: bool,
    },
    /// The environment is ready.
    EnvironmentReady {
        /// A one-line description (`docker: image (+1 service)`).
        description: String,
    },
    /// A step began.
    StepStarted {
        /// The step's index in the job (0-based).
        step: u32,
        /// Its display name.
        name: String,
        /// Whether it runs in the background.
        background: bool,
        /// When it began, by the runner's clock (milliseconds since the Unix epoch); absent
        /// from runners that do not say.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at_ms: Option<i64>,
    },
    /// Output of a step, masked, as UTF-8 (invalid bytes replaced).
    Output {
        /// The step's index.
        step: u32,
        /// The text.
        text: String,
    },
    /// A step ended.
    StepFinished {
        /// The step's index.
        step: u32,
        /// `success`, `failed`, `timedout`, `canceled` or `skipped`.
        status: String,
        /// The exit code of a `run` step.
        exit_code: Option<i64>,
        /// Wall time in milliseconds.
        duration_ms: u64,
        /// Why it failed, when it is not a plain exit code.
        message: Option<String>,
    },
    /// Something the person should know.
    Notice {
        /// The message.
        message: String,
        /// Whether it is a warning rather than information.
        warning: bool,
    },
    /// Test results were stored.
    TestResults {
        /// The step's index.
        step: u32,
        /// Test cases found.
        tests: u64,
        /// Failed or errored.
        failures: u64,
        /// Skipped.
        skipped: u64,
    },
}

/// The server's answer to an [`EventBatch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventAck {
    /// The highest sequence number stored; everything up to it may be forgotten.
    pub acked: u64,
}

/// A task ended on the runner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompleteRequest {
    /// How it ended.
    pub status: JobStatus,
    /// Why, when not success.
    pub message: Option<String>,
    /// The number of the task's last event (the server checks it has them all).
    pub last_seq: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_travel_with_their_sequence_number_and_tag() {
        let batch = EventBatch {
            events: vec![TaskEvent {
                seq: 7,
                kind: TaskEventKind::Output {
                    step: 2,
                    text: "hello\n".into(),
                },
            }],
        };
        let json = serde_json::to_string(&batch).unwrap();
        assert_eq!(
            json,
            r#"{"events":[{"seq":7,"event":"output","step":2,"text":"hello\n"}]}"#
        );
        let back: EventBatch = serde_json::from_str(&json).unwrap();
        assert_eq!(back, batch);
    }

    #[test]
    fn completion_names_the_status_as_circleci_does() {
        let done = CompleteRequest {
            status: JobStatus::InfrastructureFail,
            message: None,
            last_seq: 3,
        };
        let json = serde_json::to_value(&done).unwrap();
        assert_eq!(json["status"], "infrastructure_fail");
    }
}

#[cfg(test)]
mod ssh_key_tests {
    use super::SshKeyGrant;

    #[test]
    fn a_key_is_named_by_either_fingerprint_as_circleci_accepts_them() {
        let key = SshKeyGrant {
            hostname: String::new(),
            fingerprint: "6a:a8:0d:a5:6a:12:af:22:55:77:cb:9a:c3:e8:e2:7a".into(),
            sha256: "SHA256:Cn/7aPfct3xpv9AxLKNaNrbY8xBa5WtVywVGLi/QeTA".into(),
            private_key: "secret".into(),
        };
        for given in [
            "6a:a8:0d:a5:6a:12:af:22:55:77:cb:9a:c3:e8:e2:7a",
            "6A:A8:0D:A5:6A:12:AF:22:55:77:CB:9A:C3:E8:E2:7A",
            "MD5:6a:a8:0d:a5:6a:12:af:22:55:77:cb:9a:c3:e8:e2:7a",
            " SHA256:Cn/7aPfct3xpv9AxLKNaNrbY8xBa5WtVywVGLi/QeTA ",
            "Cn/7aPfct3xpv9AxLKNaNrbY8xBa5WtVywVGLi/QeTA",
        ] {
            assert!(key.matches(given), "{given}");
        }
        for given in [
            "",
            "SHA256:",
            "6a:a8:0d:a5:6a:12:af:22:55:77:cb:9a:c3:e8:e2:7b",
            "SHA256:cn/7aPfct3xpv9AxLKNaNrbY8xBa5WtVywVGLi/QeTA",
        ] {
            assert!(!key.matches(given), "{given}");
        }
        assert!(!format!("{key:?}").contains("secret"));
    }
}
