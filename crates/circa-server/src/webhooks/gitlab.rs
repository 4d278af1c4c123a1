//! GitLab: `Push Hook`, `Tag Push Hook` and `Merge Request Hook` build.
//!
//! - Pushes: `ref` gives the branch or tag; `after` all zeros is a deletion. The revision is
//!   `checkout_sha` (for an annotated tag `after` names the tag object), else `after`. The head
//!   commit's message is that of the entry of `commits` whose id is the revision (GitLab lists at
//!   most 20 commits, oldest first; tag pushes list none).
//! - Merge requests: `open` and `reopen` build, and `update` when it brought new commits
//!   (`object_attributes.oldrev` is present); `close`, `merge`, `approved`, label or title edits
//!   and the rest build nothing. The revision is `object_attributes.last_commit.id`.

use serde_json::Value;

use super::json;
use super::{
    Forge, Gathered, Headers, PullRequestInfo, WebhookError, WebhookOutcome, event_header,
    is_zero_hash, split_ref, unknown_event,
};

/// The project URLs a GitLab payload gives, newest fields first.
const PROJECT_URLS: [&str; 7] = [
    "project.web_url",
    "project.git_http_url",
    "project.git_ssh_url",
    "repository.homepage",
    "repository.git_http_url",
    "repository.git_ssh_url",
    "repository.url",
];

pub(super) fn parse(headers: &Headers<'_>, body: &[u8]) -> Result<WebhookOutcome, WebhookError> {
    let event = event_header(headers, &["X-Gitlab-Event"])?;
    match event {
        "Push Hook" | "Tag Push Hook" => push(&json::parse_body(body)?),
        "Merge Request Hook" => merge_request(&json::parse_body(body)?),
        other => Ok(unknown_event(Forge::GitLab, other)),
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
    let revision = if json::get(v, "checkout_sha").is_some() {
        json::req_hash(v, "checkout_sha", 40)?
    } else {
        json::req_hash(v, "after", 40)?
    };
    let message = json::get(v, "commits")
        .and_then(Value::as_array)
        .and_then(|commits| {
            commits
                .iter()
                .find(|c| json::opt_str(c, "id") == Some(revision.as_str()))
        })
        .and_then(|c| json::opt_str(c, "message"))
        .map(str::to_owned);
    let actor = json::first_str(v, &["user_username", "user_name"])?.to_owned();
    let clone_urls = json::req_urls(v, &PROJECT_URLS)?;
    Ok(Gathered::push(parsed_ref, revision, message, actor, clone_urls).finish())
}

fn merge_request(v: &Value) -> Result<WebhookOutcome, WebhookError> {
    let action = json::req_str(v, "object_attributes.action")?;
    let builds = match action {
        "open" | "reopen" => true,
        "update" => json::get(v, "object_attributes.oldrev").is_some(),
        _ => false,
    };
    if !builds {
        let what = if action == "update" {
            "update without new commits".to_owned()
        } else {
            format!("action `{action}`")
        };
        return Ok(WebhookOutcome::ignored(format!(
            "GitLab merge request {what} does not start a pipeline"
        )));
    }
    let pr = PullRequestInfo {
        number: json::req_u64(v, "object_attributes.iid")?,
        url: json::req_str(v, "object_attributes.url")?.to_owned(),
        head_branch: json::req_str(v, "object_attributes.source_branch")?.to_owned(),
        base_branch: json::req_str(v, "object_attributes.target_branch")?.to_owned(),
        from_fork: from_fork(v),
        // The payload names the author by id only; the user acting is the one who opened it
        // or pushed to it.
        author: json::opt_str(v, "user.username").map(str::to_owned),
        head_repo: json::opt_str(v, "object_attributes.source.path_with_namespace")
            .and_then(|name| name.rsplit('/').next())
            .map(str::to_owned),
    };
    let revision = json::req_hash(v, "object_attributes.last_commit.id", 40)?;
    let message = json::opt_str(v, "object_attributes.last_commit.message").map(str::to_owned);
    let actor = json::req_str(v, "user.username")?.to_owned();
    let clone_urls = json::req_urls(v, &PROJECT_URLS)?;
    Ok(Gathered::pull_request(pr, revision, message, actor, clone_urls).finish())
}

/// Whether the source project differs from the target project; unknown counts as a fork.
fn from_fork(v: &Value) -> bool {
    let same = json::same(
        v,
        "object_attributes.source_project_id",
        "object_attributes.target_project_id",
    )
    .or_else(|| {
        json::same(
            v,
            "object_attributes.source.path_with_namespace",
            "object_attributes.target.path_with_namespace",
        )
    });
    !same.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{build, corpus, ignored, parse_with, rewrite};
    use super::super::{Forge, WebhookError, WebhookOutcome};
    use serde_json::json;

    fn gl(event: &str, body: &[u8]) -> Result<WebhookOutcome, WebhookError> {
        parse_with(Forge::GitLab, &[("X-Gitlab-Event", event)], body)
    }

    #[test]
    fn push_builds_the_branch_with_the_head_commit() {
        let t = build(gl("Push Hook", &corpus("gitlab/push-event.json")));
        assert_eq!(t.branch.as_deref(), Some("master"));
        assert_eq!(t.tag, None);
        assert_eq!(t.revision, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
        // The head commit is the second entry of `commits`, not the first.
        assert_eq!(t.subject.as_deref(), Some("fixed readme"));
        assert_eq!(t.actor, "John Smith");
        assert_eq!(t.event, "push");
        assert_eq!(
            t.clone_urls,
            [
                "http://example.com/mike/diaspora",
                "http://example.com/mike/diaspora.git",
                "git@example.com:mike/diaspora.git",
            ]
        );
    }

    #[test]
    fn username_is_preferred_to_the_display_name() {
        let body = rewrite("gitlab/push-event.json", |v| {
            v["user_username"] = json!("jsmith")
        });
        assert_eq!(build(gl("Push Hook", &body)).actor, "jsmith");
    }

    #[test]
    fn tag_push_builds_the_tag() {
        let t = build(gl("Tag Push Hook", &corpus("gitlab/tag-event.json")));
        assert_eq!(t.tag.as_deref(), Some("v1.0.0"));
        assert_eq!(t.branch, None);
        assert_eq!(t.revision, "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7");
        assert_eq!(t.subject, None);
        assert_eq!(t.actor, "John Smith");
        assert_eq!(t.clone_urls[0], "http://example.com/jsmith/example");
        assert!(
            t.clone_urls
                .contains(&"ssh://git@example.com/jsmith/example.git".to_owned())
        );
    }

    #[test]
    fn annotated_tag_uses_checkout_sha() {
        let body = rewrite("gitlab/tag-event.json", |v| {
            v["after"] = json!("1111111111111111111111111111111111111111");
        });
        let t = build(gl("Tag Push Hook", &body));
        assert_eq!(t.revision, "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7");
    }

    #[test]
    fn deletion_is_ignored() {
        let body = rewrite("gitlab/push-event.json", |v| {
            v["after"] = json!("0000000000000000000000000000000000000000");
            v["checkout_sha"] = json!(null);
            v["commits"] = json!([]);
        });
        assert!(ignored(gl("Push Hook", &body)).contains("deletes refs/heads/master"));
    }

    #[test]
    fn skip_rules_on_pushes() {
        let body = rewrite("gitlab/push-event.json", |v| {
            v["commits"][1]["message"] = json!("fixed readme\n\n[skip ci]\n");
        });
        assert!(ignored(gl("Push Hook", &body)).contains("[skip ci]"));
        // Only the head commit counts.
        let body = rewrite("gitlab/push-event.json", |v| {
            v["commits"][0]["message"] = json!("[ci skip] older");
        });
        build(gl("Push Hook", &body));
    }

    #[test]
    fn merge_request_opened_builds() {
        let t = build(gl(
            "Merge Request Hook",
            &corpus("gitlab/merge-request-event.json"),
        ));
        assert_eq!(t.branch.as_deref(), Some("ms-viewport"));
        assert_eq!(t.revision, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
        assert_eq!(t.subject.as_deref(), Some("fixed readme"));
        assert_eq!(t.actor, "root");
        assert_eq!(t.event, "pull_request");
        let pr = t.pull_request.unwrap();
        assert_eq!(pr.number, 1);
        assert_eq!(pr.url, "http://example.com/diaspora/merge_requests/1");
        assert_eq!(pr.head_branch, "ms-viewport");
        assert_eq!(pr.base_branch, "master");
        assert!(!pr.from_fork);
        assert_eq!(t.clone_urls[0], "http://example.com/gitlabhq/gitlab-test");
    }

    #[test]
    fn merge_request_actions() {
        let with = |action: &'static str, oldrev: Option<&'static str>| {
            rewrite("gitlab/merge-request-event.json", move |v| {
                v["object_attributes"]["action"] = json!(action);
                if let Some(r) = oldrev {
                    v["object_attributes"]["oldrev"] = json!(r);
                }
            })
        };
        build(gl("Merge Request Hook", &with("reopen", None)));
        build(gl(
            "Merge Request Hook",
            &with("update", Some("95790bf891e76fee5e1747ab589903a6a1f80f22")),
        ));
        assert!(
            ignored(gl("Merge Request Hook", &with("update", None)))
                .contains("without new commits")
        );
        for action in ["close", "merge", "approved", "unapproved", "approval"] {
            let reason = ignored(gl("Merge Request Hook", &with(action, None)));
            assert!(reason.contains(action), "{reason}");
        }
    }

    #[test]
    fn merge_request_from_a_fork_builds_pull_n_without_skip() {
        let body = rewrite("gitlab/merge-request-event.json", |v| {
            v["object_attributes"]["source_project_id"] = json!(99);
            v["object_attributes"]["last_commit"]["message"] = json!("[ci skip]");
        });
        let t = build(gl("Merge Request Hook", &body));
        assert_eq!(t.branch.as_deref(), Some("pull/1"));
        let fork = t.pull_request.unwrap().fork().unwrap();
        assert_eq!(
            (fork.number, fork.username.as_str(), fork.reponame.as_str()),
            (1, "root", "awesome_project")
        );

        // The same message from the project itself skips.
        let body = rewrite("gitlab/merge-request-event.json", |v| {
            v["object_attributes"]["last_commit"]["message"] = json!("wip [ci skip]");
        });
        assert!(ignored(gl("Merge Request Hook", &body)).contains("[ci skip]"));
    }

    #[test]
    fn missing_fields_and_other_events() {
        let body = rewrite("gitlab/merge-request-event.json", |v| {
            v["object_attributes"]["last_commit"] = json!(null);
        });
        let err = gl("Merge Request Hook", &body).unwrap_err();
        assert!(
            err.to_string()
                .contains("`object_attributes.last_commit.id`"),
            "{err}"
        );
        let body = rewrite("gitlab/push-event.json", |v| {
            v["user_name"] = json!(null);
        });
        let err = gl("Push Hook", &body).unwrap_err();
        assert!(err.to_string().contains("`user_username`"), "{err}");
        assert!(ignored(gl("Note Hook", b"{}")).contains("`Note Hook`"));
        assert!(ignored(gl("System Hook", b"")).contains("System Hook"));
    }
}
