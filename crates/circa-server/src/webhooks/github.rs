//! GitHub: `push` and `pull_request` build; `ping` and `create` are acknowledged and ignored.
//!
//! - `push`: `ref` gives the branch or tag; a deletion (`deleted: true`, or `after` all zeros)
//!   builds nothing. The revision is `head_commit.id` (for an annotated tag `after` names the
//!   tag object, not the commit), else `after`.
//! - `pull_request`: actions `opened`, `synchronize` and `reopened` build the head commit; the
//!   payload has no commit message, so no skip check. Other actions build nothing.
//! - `create`: GitHub also sends a `push` for every new branch or tag, which builds.

use serde_json::Value;

use super::json;
use super::{
    Forge, Gathered, Headers, PullRequestInfo, WebhookError, WebhookOutcome, event_header,
    is_zero_hash, split_ref, unknown_event,
};

/// The repository URLs a GitHub payload gives (`url` is the API URL outside push events).
const REPO_URLS: [&str; 4] = [
    "repository.html_url",
    "repository.clone_url",
    "repository.ssh_url",
    "repository.git_url",
];

pub(super) fn parse(headers: &Headers<'_>, body: &[u8]) -> Result<WebhookOutcome, WebhookError> {
    let event = event_header(headers, &["X-GitHub-Event"])?;
    match event {
        "push" => push(&json::parse_body(body)?),
        "pull_request" => pull_request(&json::parse_body(body)?),
        "ping" => Ok(WebhookOutcome::ignored(
            "GitHub ping: the webhook is set up",
        )),
        "create" => Ok(WebhookOutcome::ignored(
            "GitHub create event: the push GitHub sends for the same ref builds",
        )),
        other => Ok(unknown_event(Forge::GitHub, other)),
    }
}

fn push(v: &Value) -> Result<WebhookOutcome, WebhookError> {
    let git_ref = json::req_str(v, "ref")?;
    let after = json::req_str(v, "after")?;
    if json::opt_bool(v, "deleted") == Some(true) || is_zero_hash(after) {
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
    let actor = json::first_str(v, &["sender.login", "pusher.name"])?.to_owned();
    let clone_urls = json::req_urls(v, &REPO_URLS)?;
    Ok(Gathered::push(parsed_ref, revision, message, actor, clone_urls).finish())
}

fn pull_request(v: &Value) -> Result<WebhookOutcome, WebhookError> {
    let action = json::req_str(v, "action")?;
    if !matches!(action, "opened" | "synchronize" | "reopened") {
        return Ok(WebhookOutcome::ignored(format!(
            "GitHub pull request action `{action}` does not start a pipeline"
        )));
    }
    let pr = PullRequestInfo {
        number: json::req_u64(v, "pull_request.number")?,
        url: json::req_str(v, "pull_request.html_url")?.to_owned(),
        head_branch: json::req_str(v, "pull_request.head.ref")?.to_owned(),
        base_branch: json::req_str(v, "pull_request.base.ref")?.to_owned(),
        from_fork: from_fork(v),
        author: json::opt_str(v, "pull_request.user.login").map(str::to_owned),
        head_repo: json::opt_str(v, "pull_request.head.repo.name").map(str::to_owned),
    };
    let revision = json::req_hash(v, "pull_request.head.sha", 40)?;
    let actor = json::req_str(v, "sender.login")?.to_owned();
    let clone_urls = json::req_urls(v, &REPO_URLS)?;
    Ok(Gathered::pull_request(pr, revision, None, actor, clone_urls).finish())
}

/// Whether the head repository differs from the base one. A missing head repository (a deleted
/// fork) or ids we cannot compare count as a fork.
fn from_fork(v: &Value) -> bool {
    let same =
        json::same(v, "pull_request.head.repo.id", "pull_request.base.repo.id").or_else(|| {
            json::same(
                v,
                "pull_request.head.repo.full_name",
                "pull_request.base.repo.full_name",
            )
        });
    !same.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{build, corpus, ignored, parse_with, rewrite};
    use super::super::{Forge, WebhookError, WebhookOutcome};
    use serde_json::json;

    /// An edit of a payload.
    type Edit = fn(&mut serde_json::Value);

    fn gh(event: &str, body: &[u8]) -> Result<WebhookOutcome, WebhookError> {
        parse_with(Forge::GitHub, &[("X-GitHub-Event", event)], body)
    }

    #[test]
    fn push_new_branch_builds() {
        let t = build(gh("push", &corpus("github/push-with-new-branch.json")));
        assert_eq!(t.branch.as_deref(), Some("master"));
        assert_eq!(t.tag, None);
        assert_eq!(t.revision, "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
        assert_eq!(t.subject.as_deref(), Some("Initial commit"));
        assert_eq!(t.body, None);
        assert_eq!(t.actor, "Codertocat");
        assert_eq!(t.pull_request, None);
        assert_eq!(t.event, "push");
        assert_eq!(
            t.clone_urls,
            [
                "https://github.com/Codertocat/Hello-World",
                "https://github.com/Codertocat/Hello-World.git",
                "git@github.com:Codertocat/Hello-World.git",
                "git://github.com/Codertocat/Hello-World.git",
            ]
        );
    }

    #[test]
    fn deleted_tag_pushes_are_ignored() {
        for f in [
            "github/push-payload.json",
            "github/push-with-installation.json",
        ] {
            let reason = ignored(gh("push", &corpus(f)));
            assert!(reason.contains("deletes refs/tags/simple-tag"), "{reason}");
        }
        // `after` all zeros without `deleted` is a deletion too.
        let body = rewrite("github/push-with-new-branch.json", |v| {
            v["after"] = json!("0000000000000000000000000000000000000000");
            v["deleted"] = json!(false);
        });
        assert!(ignored(gh("push", &body)).contains("deletes"));
    }

    #[test]
    fn tag_push_builds_the_tag_and_ignores_skip() {
        let body = rewrite("github/push-with-new-branch.json", |v| {
            v["ref"] = json!("refs/tags/v1.2.3");
            v["head_commit"]["message"] = json!("release [ci skip]");
        });
        let t = build(gh("push", &body));
        assert_eq!(t.tag.as_deref(), Some("v1.2.3"));
        assert_eq!(t.branch, None);
        assert_eq!(t.subject.as_deref(), Some("release [ci skip]"));
    }

    #[test]
    fn skip_rules_on_pushes() {
        let with = |msg: &'static str| {
            rewrite("github/push-with-new-branch.json", move |v| {
                v["head_commit"]["message"] = json!(msg);
                // Only the head commit counts: an earlier commit's tag changes nothing.
                v["commits"][0]["message"] = json!("older [ci skip]");
            })
        };
        let reason = ignored(gh("push", &with("docs [ci skip]")));
        assert!(reason.contains("[ci skip]"), "{reason}");
        let reason = ignored(gh("push", &with("Title\n\nbody says [skip ci]")));
        assert!(reason.contains("[skip ci]"), "{reason}");
        let t = build(gh("push", &with("Title\n\nA body\nmore")));
        assert_eq!(t.subject.as_deref(), Some("Title"));
        assert_eq!(t.body.as_deref(), Some("A body\nmore"));
    }

    #[test]
    fn other_refs_are_ignored() {
        let body = rewrite("github/push-with-new-branch.json", |v| {
            v["ref"] = json!("refs/notes/commits");
        });
        assert!(ignored(gh("push", &body)).contains("neither a branch nor a tag"));
    }

    #[test]
    fn pull_request_actions() {
        for f in [
            "github/pull_request-opened.json",
            "github/pull_request-synchronize.json",
            "github/pull_request-reopened.json",
        ] {
            let t = build(gh("pull_request", &corpus(f)));
            assert_eq!(t.branch.as_deref(), Some("changes"), "{f}");
            assert_eq!(t.revision, "ec26c3e57ca3a959ca5aad62de7213c562f8c821");
            assert_eq!(t.actor, "Codertocat");
            assert_eq!(t.event, "pull_request");
            assert_eq!(t.subject, None);
            let pr = t.pull_request.unwrap();
            assert_eq!(pr.number, 2);
            assert_eq!(pr.url, "https://github.com/Codertocat/Hello-World/pull/2");
            assert_eq!(pr.head_branch, "changes");
            assert_eq!(pr.base_branch, "master");
            assert!(!pr.from_fork);
            assert_eq!(pr.fork(), None, "CIRCLE_PR_* are for forks only");
            assert_eq!(t.clone_urls[0], "https://github.com/Codertocat/Hello-World");
        }
        let reason = ignored(gh(
            "pull_request",
            &corpus("github/pull_request-closed.json"),
        ));
        assert!(reason.contains("`closed`"), "{reason}");
    }

    #[test]
    fn pull_request_from_a_fork() {
        let body = rewrite("github/pull_request-opened.json", |v| {
            v["pull_request"]["head"]["repo"]["id"] = json!(42);
            v["pull_request"]["head"]["repo"]["full_name"] = json!("someone/Hello-World");
        });
        let t = build(gh("pull_request", &body));
        assert_eq!(t.branch.as_deref(), Some("pull/2"));
        let pr = t.pull_request.unwrap();
        assert!(pr.from_fork);
        assert_eq!(pr.head_branch, "changes");
        let fork = pr.fork().unwrap();
        assert_eq!(
            (fork.number, fork.username.as_str(), fork.reponame.as_str()),
            (2, "Codertocat", "Hello-World")
        );

        // The fork was deleted: head.repo is null.
        let body = rewrite("github/pull_request-opened.json", |v| {
            v["pull_request"]["head"]["repo"] = json!(null);
        });
        assert!(
            build(gh("pull_request", &body))
                .pull_request
                .unwrap()
                .from_fork
        );
    }

    #[test]
    fn ping_create_and_unknown_events_are_ignored() {
        assert!(ignored(gh("ping", &corpus("github/ping-payload.json"))).contains("ping"));
        assert!(ignored(gh("create", &corpus("github/create-payload.json"))).contains("push"));
        assert!(ignored(gh("issues", b"not even json")).contains("`issues`"));
    }

    #[test]
    fn missing_fields_are_named() {
        let cases: [(&str, &str, Edit); 5] = [
            ("push", "`ref`", |v| v["ref"] = json!(null)),
            ("push", "`head_commit.id`", |v| {
                v["head_commit"]["id"] = json!("xyz")
            }),
            ("push", "`sender.login`", |v| {
                v["sender"] = json!(null);
                v["pusher"] = json!(null);
            }),
            ("push", "`repository.html_url`", |v| {
                v["repository"] = json!({})
            }),
            ("push", "`after`", |v| v["after"] = json!(7)),
        ];
        for (event, field, edit) in cases {
            let body = rewrite("github/push-with-new-branch.json", edit);
            let err = gh(event, &body).unwrap_err();
            let WebhookError::Malformed { reason } = &err else {
                panic!("{err:?}")
            };
            assert!(reason.contains(field), "{field}: {reason}");
        }
        let pr_cases: [(&str, Edit); 3] = [
            ("`pull_request.head.sha`", |v| {
                v["pull_request"]["head"]["sha"] = json!(null)
            }),
            ("`pull_request.number`", |v| {
                v["pull_request"]["number"] = json!("2")
            }),
            ("`action`", |v| v["action"] = json!(null)),
        ];
        for (field, edit) in pr_cases {
            let body = rewrite("github/pull_request-opened.json", edit);
            let err = gh("pull_request", &body).unwrap_err();
            assert!(err.to_string().contains(field), "{field}: {err}");
        }
        let err = gh("push", b"{not json").unwrap_err();
        assert!(err.to_string().contains("not JSON"), "{err}");
        let err = gh("push", b"[1, 2]").unwrap_err();
        assert!(err.to_string().contains("not a JSON object"), "{err}");
        let err = parse_with(Forge::GitHub, &[], b"{}").unwrap_err();
        assert!(err.to_string().contains("X-GitHub-Event"), "{err}");
    }
}
