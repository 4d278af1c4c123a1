//! Gitea and Forgejo: `push` and `pull_request` build; `create` is acknowledged and ignored.
//!
//! - `push`: as GitHub's (`ref`, `after`, `head_commit`); tag pushes arrive here too.
//! - `create`: Gitea sends it beside the `push` of a new branch or tag. Building on `push` alone
//!   gives one pipeline per new tag or branch, and `push` carries the head commit (for the skip
//!   check and the subject) where `create` does not.
//! - `pull_request` (Gitea also names the synchronize case `pull_request_sync`): actions
//!   `opened`, `synchronized` and `reopened` build the head commit; no commit message in the
//!   payload, so no skip check. Other actions build nothing.
//!
//! The event is read from `X-Forgejo-Event`, else `X-Gitea-Event`.

use serde_json::Value;

use super::json;
use super::{
    Forge, Gathered, Headers, PullRequestInfo, WebhookError, WebhookOutcome, event_header,
    is_zero_hash, split_ref, unknown_event,
};

/// The repository URLs a Gitea payload gives.
const REPO_URLS: [&str; 3] = [
    "repository.html_url",
    "repository.clone_url",
    "repository.ssh_url",
];

pub(super) fn parse(headers: &Headers<'_>, body: &[u8]) -> Result<WebhookOutcome, WebhookError> {
    let event = event_header(headers, &["X-Forgejo-Event", "X-Gitea-Event"])?;
    match event {
        "push" => push(&json::parse_body(body)?),
        "pull_request" | "pull_request_sync" => pull_request(&json::parse_body(body)?),
        "create" => Ok(WebhookOutcome::ignored(
            "Gitea create event: the push Gitea sends for the same ref builds",
        )),
        other => Ok(unknown_event(Forge::Gitea, other)),
    }
}

fn push(v: &Value) -> Result<WebhookOutcome, WebhookError> {
    let git_ref = json::req_str(v, "ref")?;
    let after = json::req_str(v, "after")?;
    if is_zero_hash(after) {
        return Ok(WebhookOutcome::ignored(format!("push deletes {git_ref}")));
    }
    let Some(parsed_ref) = split_ref(git_ref) else {
        return Ok(WebhookOutcome::ignored(format!(
            "push to {git_ref}, which is neither a branch nor a tag"
        )));
    };
    let revision = if json::get(v, "head_commit.id").is_some() {
        json::req_hash(v, "head_commit.id", 40)?
    } else {
        json::req_hash(v, "after", 40)?
    };
    let message = json::opt_str(v, "head_commit.message").map(str::to_owned);
    let actor = json::first_str(
        v,
        &[
            "pusher.login",
            "pusher.username",
            "sender.login",
            "sender.username",
        ],
    )?
    .to_owned();
    let clone_urls = json::req_urls(v, &REPO_URLS)?;
    Ok(Gathered::push(parsed_ref, revision, message, actor, clone_urls).finish())
}

fn pull_request(v: &Value) -> Result<WebhookOutcome, WebhookError> {
    let action = json::req_str(v, "action")?;
    if !matches!(action, "opened" | "synchronized" | "reopened") {
        return Ok(WebhookOutcome::ignored(format!(
            "Gitea pull request action `{action}` does not start a pipeline"
        )));
    }
    let pr = PullRequestInfo {
        number: json::req_u64(v, "pull_request.number")?,
        url: json::first_str(v, &["pull_request.html_url", "pull_request.url"])?.to_owned(),
        head_branch: json::req_str(v, "pull_request.head.ref")?.to_owned(),
        base_branch: json::req_str(v, "pull_request.base.ref")?.to_owned(),
        from_fork: from_fork(v),
        author: json::opt_str(v, "pull_request.user.login").map(str::to_owned),
        head_repo: json::opt_str(v, "pull_request.head.repo.name").map(str::to_owned),
    };
    let revision = json::req_hash(v, "pull_request.head.sha", 40)?;
    let actor = json::first_str(v, &["sender.login", "sender.username"])?.to_owned();
    let clone_urls = json::req_urls(v, &REPO_URLS)?;
    Ok(Gathered::pull_request(pr, revision, None, actor, clone_urls).finish())
}

/// Whether the head repository differs from the base one; unknown counts as a fork.
fn from_fork(v: &Value) -> bool {
    let same = json::same(v, "pull_request.head.repo_id", "pull_request.base.repo_id")
        .or_else(|| json::same(v, "pull_request.head.repo.id", "pull_request.base.repo.id"));
    !same.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{build, corpus, ignored, parse_with, rewrite};
    use super::super::{Forge, WebhookError, WebhookOutcome};
    use serde_json::json;

    fn gitea(event: &str, body: &[u8]) -> Result<WebhookOutcome, WebhookError> {
        parse_with(Forge::Gitea, &[("X-Gitea-Event", event)], body)
    }

    #[test]
    fn push_builds() {
        let t = build(gitea("push", &corpus("gitea/push-event.json")));
        assert_eq!(t.branch.as_deref(), Some("master"));
        assert_eq!(t.tag, None);
        assert_eq!(t.revision, "67b56589a45103f891bdee7c0546e5d40bc02001");
        assert_eq!(t.subject.as_deref(), Some("example"));
        assert_eq!(t.body, None);
        assert_eq!(t.actor, "example");
        assert_eq!(t.event, "push");
        assert_eq!(
            t.clone_urls,
            [
                "http://localhost:3000/example/example",
                "http://localhost:3000/example/example.git",
                "git@localhost:example/example.git",
            ]
        );
    }

    #[test]
    fn forgejo_header_is_read_first() {
        let body = corpus("gitea/push-event.json");
        let headers = [("X-Forgejo-Event", "push"), ("X-Gitea-Event", "push")];
        build(parse_with(Forge::Gitea, &headers, &body));
        let headers = [("X-Forgejo-Event", "push")];
        build(parse_with(Forge::Gitea, &headers, &body));
    }

    #[test]
    fn tag_push_builds_and_create_is_ignored() {
        let body = rewrite("gitea/push-event.json", |v| {
            v["ref"] = json!("refs/tags/v2");
            v["head_commit"]["message"] = json!("[skip ci]");
        });
        let t = build(gitea("push", &body));
        assert_eq!(t.tag.as_deref(), Some("v2"));
        assert_eq!(t.branch, None);
        let reason = ignored(gitea("create", &corpus("gitea/create-event.json")));
        assert!(reason.contains("push"), "{reason}");
    }

    #[test]
    fn skip_and_deletion() {
        let body = rewrite("gitea/push-event.json", |v| {
            v["head_commit"]["message"] = json!("example [skip ci]\n");
        });
        assert!(ignored(gitea("push", &body)).contains("[skip ci]"));
        let body = rewrite("gitea/push-event.json", |v| {
            v["after"] = json!("0000000000000000000000000000000000000000");
            v["head_commit"] = json!(null);
        });
        assert!(ignored(gitea("push", &body)).contains("deletes"));
    }

    #[test]
    fn pull_request_from_a_fork() {
        let t = build(gitea(
            "pull_request",
            &corpus("gitea/pull-request-event.json"),
        ));
        // The head repository (id 2) is a fork of the base (id 1).
        assert_eq!(t.branch.as_deref(), Some("pull/2"));
        assert_eq!(t.revision, "48e773f892a831faa47c0a160d1b7f0cd369ae2a");
        assert_eq!(t.actor, "example2");
        assert_eq!(t.event, "pull_request");
        let pr = t.pull_request.unwrap();
        assert_eq!(pr.number, 2);
        assert_eq!(pr.url, "http://localhost:3000/example/example/pulls/2");
        assert_eq!(pr.head_branch, "master");
        assert_eq!(pr.base_branch, "master");
        assert!(pr.from_fork);
        let fork = pr.fork().unwrap();
        assert_eq!(
            (fork.number, fork.username.as_str(), fork.reponame.as_str()),
            (2, "example2", "example")
        );
        assert_eq!(t.clone_urls[1], "http://localhost:3000/example/example.git");
    }

    #[test]
    fn pull_request_actions() {
        let with = |action: &'static str| {
            rewrite("gitea/pull-request-event.json", move |v| {
                v["action"] = json!(action);
                v["pull_request"]["head"]["repo_id"] = json!(1);
                v["pull_request"]["head"]["repo"]["id"] = json!(1);
            })
        };
        for action in ["opened", "synchronized", "reopened"] {
            let t = build(gitea("pull_request", &with(action)));
            assert_eq!(t.branch.as_deref(), Some("master"));
            assert!(!t.pull_request.unwrap().from_fork);
        }
        build(gitea("pull_request_sync", &with("synchronized")));
        for action in ["closed", "edited", "label_updated", "assigned"] {
            assert!(ignored(gitea("pull_request", &with(action))).contains(action));
        }
    }

    #[test]
    fn release_and_missing_fields() {
        assert!(
            ignored(gitea("release", &corpus("gitea/release-event.json"))).contains("`release`")
        );
        let body = rewrite("gitea/pull-request-event.json", |v| {
            v["pull_request"]["head"]["ref"] = json!("");
        });
        let err = gitea("pull_request", &body).unwrap_err();
        assert!(err.to_string().contains("`pull_request.head.ref`"), "{err}");
        let err = parse_with(Forge::Gitea, &[("X-GitHub-Event", "push")], b"{}").unwrap_err();
        assert!(
            err.to_string().contains("X-Forgejo-Event or X-Gitea-Event"),
            "{err}"
        );
    }
}
