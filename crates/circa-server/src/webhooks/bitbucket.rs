//! Bitbucket Cloud: `repo:push`, `pullrequest:created` and `pullrequest:updated` build.
//!
//! - `repo:push`: of `push.changes`, the last one with a `new` side decides (a change without
//!   `new` deletes a branch or tag). `new.type` `branch` builds the branch, `tag` (or
//!   `annotated_tag`) the tag; the revision and message are `new.target`'s.
//! - `pullrequest:created` / `pullrequest:updated`: build the source commit. Bitbucket puts
//!   only an abbreviated hash (12 digits) in pull request payloads, so the revision may be
//!   short; the server resolves it after fetching. `pullrequest:updated` also fires for title or
//!   description edits, which the payload does not tell apart from new commits. A pull request
//!   already merged or declined builds nothing.
//!
//! Bitbucket Server / Data Center sends `X-Event-Key` too, with its own event names
//! (`repo:refs_changed`, `pr:opened`, …) and payloads; those are recognised and ignored as
//! unsupported.

use serde_json::Value;

use super::json::{self, FieldError};
use super::{
    Forge, Gathered, GitRef, Headers, PullRequestInfo, WebhookError, WebhookOutcome, event_header,
    unknown_event,
};

/// Whether headers beside `X-Event-Key` say the request is Bitbucket's.
pub(super) fn looks_like_bitbucket(headers: &Headers<'_>) -> bool {
    [
        "X-Hub-Signature",
        "X-Request-UUID",
        "X-Hook-UUID",
        "X-Request-Id",
    ]
    .iter()
    .any(|h| headers.contains(h))
        || headers
            .get("User-Agent")
            .is_some_and(|ua| ua.to_ascii_lowercase().contains("bitbucket"))
}

/// Event keys of Bitbucket Server / Data Center, which Circa does not support.
fn is_server_event(key: &str) -> bool {
    key.starts_with("pr:")
        || key.starts_with("mirror:")
        || key.starts_with("repo:comment:")
        || matches!(
            key,
            "repo:refs_changed"
                | "repo:modified"
                | "repo:forked"
                | "repo:secret_detected"
                | "project:modified"
                | "diagnostics:ping"
        )
}

/// The repository URLs a Bitbucket Cloud payload gives.
const REPO_URLS: [&str; 1] = ["repository.links.html.href"];

pub(super) fn parse(headers: &Headers<'_>, body: &[u8]) -> Result<WebhookOutcome, WebhookError> {
    let event = event_header(headers, &["X-Event-Key"])?;
    match event {
        "repo:push" => push(&json::parse_body(body)?),
        "pullrequest:created" | "pullrequest:updated" => pull_request(&json::parse_body(body)?),
        key if is_server_event(key) => Ok(WebhookOutcome::ignored(format!(
            "Bitbucket Server / Data Center event `{}` is not supported (only Bitbucket Cloud)",
            key.chars().take(80).collect::<String>()
        ))),
        other => Ok(unknown_event(Forge::Bitbucket, other)),
    }
}

fn push(v: &Value) -> Result<WebhookOutcome, WebhookError> {
    let changes = json::get(v, "push.changes")
        .and_then(Value::as_array)
        .ok_or_else(|| FieldError::new("push.changes", "an array"))?;
    let Some((i, new)) = changes
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, c)| json::get(c, "new").map(|n| (i, n)))
    else {
        return Ok(WebhookOutcome::ignored(
            "push only deletes branches or tags",
        ));
    };
    let prefix = format!("push.changes[{i}].new");
    let kind = json::req_str(new, "type").map_err(|e| e.under(&prefix))?;
    let name = json::req_str(new, "name").map_err(|e| e.under(&prefix))?;
    let git_ref = match kind {
        "branch" => GitRef::Branch(name),
        "tag" | "annotated_tag" => GitRef::Tag(name),
        other => {
            return Ok(WebhookOutcome::ignored(format!(
                "push of a Bitbucket `{other}`, which is neither a branch nor a tag"
            )));
        }
    };
    let revision = json::req_hash(new, "target.hash", 40).map_err(|e| e.under(&prefix))?;
    let message = json::opt_str(new, "target.message").map(str::to_owned);
    let actor = actor(v)?;
    let clone_urls = json::req_urls(v, &REPO_URLS)?;
    Ok(Gathered::push(git_ref, revision, message, actor, clone_urls).finish())
}

fn pull_request(v: &Value) -> Result<WebhookOutcome, WebhookError> {
    if let Some(state @ ("MERGED" | "DECLINED" | "SUPERSEDED")) =
        json::opt_str(v, "pullrequest.state")
    {
        return Ok(WebhookOutcome::ignored(format!(
            "Bitbucket pull request is {}",
            state.to_ascii_lowercase()
        )));
    }
    let pr = PullRequestInfo {
        number: json::req_u64(v, "pullrequest.id")?,
        url: json::req_str(v, "pullrequest.links.html.href")?.to_owned(),
        head_branch: json::req_str(v, "pullrequest.source.branch.name")?.to_owned(),
        base_branch: json::req_str(v, "pullrequest.destination.branch.name")?.to_owned(),
        from_fork: from_fork(v),
        author: json::opt_str(v, "pullrequest.author.nickname").map(str::to_owned),
        head_repo: json::opt_str(v, "pullrequest.source.repository.full_name")
            .and_then(|name| name.rsplit('/').next())
            .map(str::to_owned),
    };
    let revision = json::req_hash(v, "pullrequest.source.commit.hash", 7)?;
    let actor = actor(v)?;
    let clone_urls = json::req_urls(v, &REPO_URLS)?;
    Ok(Gathered::pull_request(pr, revision, None, actor, clone_urls).finish())
}

/// The acting account: nickname, else display name, else account id.
fn actor(v: &Value) -> Result<String, FieldError> {
    json::first_str(
        v,
        &["actor.nickname", "actor.display_name", "actor.account_id"],
    )
    .map(str::to_owned)
}

/// Whether the source repository differs from the destination; unknown counts as a fork.
fn from_fork(v: &Value) -> bool {
    let same = json::same(
        v,
        "pullrequest.source.repository.uuid",
        "pullrequest.destination.repository.uuid",
    )
    .or_else(|| {
        json::same(
            v,
            "pullrequest.source.repository.full_name",
            "pullrequest.destination.repository.full_name",
        )
    });
    !same.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{build, corpus, ignored, parse_with, rewrite};
    use super::super::{Forge, Headers, WebhookError, WebhookOutcome, detect};
    use serde_json::json;

    fn bb(event: &str, body: &[u8]) -> Result<WebhookOutcome, WebhookError> {
        parse_with(Forge::Bitbucket, &[("X-Event-Key", event)], body)
    }

    #[test]
    fn push_builds_the_branch() {
        let t = build(bb("repo:push", &corpus("bitbucket/repo-push.json")));
        assert_eq!(t.branch.as_deref(), Some("name-of-branch"));
        assert_eq!(t.tag, None);
        assert_eq!(t.revision, "709d658dc5b6d6afcd46049c2f332ee3f515a67d");
        assert_eq!(t.subject.as_deref(), Some("new commit message"));
        assert_eq!(t.actor, "emmap1");
        assert_eq!(t.event, "push");
        assert_eq!(
            t.clone_urls,
            ["https://api.bitbucket.org/bitbucket/bitbucket"]
        );
    }

    #[test]
    fn the_last_change_with_a_new_side_decides() {
        let body = rewrite("bitbucket/repo-push.json", |v| {
            let first = v["push"]["changes"][0].clone();
            let mut tag = first.clone();
            tag["new"]["type"] = json!("tag");
            tag["new"]["name"] = json!("v9");
            tag["new"]["target"]["hash"] = json!("1e65c05c1d5171631d92438a13901ca7dae9618c");
            let mut deletion = first;
            deletion["new"] = json!(null);
            v["push"]["changes"] = json!([v["push"]["changes"][0].clone(), tag, deletion]);
        });
        let t = build(bb("repo:push", &body));
        assert_eq!(t.tag.as_deref(), Some("v9"));
        assert_eq!(t.branch, None);
        assert_eq!(t.revision, "1e65c05c1d5171631d92438a13901ca7dae9618c");
    }

    #[test]
    fn deletions_skip_and_bad_changes() {
        let body = rewrite("bitbucket/repo-push.json", |v| {
            v["push"]["changes"][0]["new"] = json!(null);
        });
        assert!(ignored(bb("repo:push", &body)).contains("deletes"));

        let body = rewrite("bitbucket/repo-push.json", |v| {
            v["push"]["changes"][0]["new"]["target"]["message"] =
                json!("new commit message\n\n[ci skip]");
        });
        assert!(ignored(bb("repo:push", &body)).contains("[ci skip]"));

        let body = rewrite("bitbucket/repo-push.json", |v| {
            v["push"]["changes"][0]["new"]["target"]["hash"] = json!("709d658");
        });
        let err = bb("repo:push", &body).unwrap_err();
        assert!(
            err.to_string()
                .contains("`push.changes[0].new.target.hash`"),
            "{err}"
        );

        let body = rewrite("bitbucket/repo-push.json", |v| v["push"] = json!({}));
        let err = bb("repo:push", &body).unwrap_err();
        assert!(err.to_string().contains("`push.changes`"), "{err}");

        let body = rewrite("bitbucket/repo-push.json", |v| {
            v["push"]["changes"][0]["new"]["type"] = json!("named_branch");
        });
        assert!(ignored(bb("repo:push", &body)).contains("named_branch"));
    }

    #[test]
    fn pull_requests_build_with_the_short_hash() {
        for f in [
            "bitbucket/pull-request-created.json",
            "bitbucket/pull-request-updated.json",
        ] {
            let event = if f.contains("created") {
                "pullrequest:created"
            } else {
                "pullrequest:updated"
            };
            let t = build(bb(event, &corpus(f)));
            assert_eq!(t.branch.as_deref(), Some("branch2"), "{f}");
            assert_eq!(t.revision, "d3022fc0ca3d");
            assert_eq!(t.actor, "emmap1");
            assert_eq!(t.event, "pull_request");
            let pr = t.pull_request.unwrap();
            assert_eq!(pr.number, 1);
            assert_eq!(pr.url, "https://api.bitbucket.org/pullrequest_id");
            assert_eq!(pr.head_branch, "branch2");
            assert_eq!(pr.base_branch, "master");
            assert!(!pr.from_fork);
        }
    }

    #[test]
    fn pull_request_from_a_fork_and_closed_ones() {
        let body = rewrite("bitbucket/pull-request-created.json", |v| {
            v["pullrequest"]["source"]["repository"]["uuid"] = json!("{other}");
        });
        let t = build(bb("pullrequest:created", &body));
        assert_eq!(t.branch.as_deref(), Some("pull/1"));
        let fork = t.pull_request.unwrap().fork().unwrap();
        assert_eq!(
            (fork.number, fork.username.as_str(), fork.reponame.as_str()),
            (1, "emmap1", "repo_name")
        );

        let body = rewrite("bitbucket/pull-request-updated.json", |v| {
            v["pullrequest"]["state"] = json!("MERGED");
        });
        assert!(ignored(bb("pullrequest:updated", &body)).contains("merged"));
        assert!(ignored(bb("pullrequest:fulfilled", b"{}")).contains("pullrequest:fulfilled"));
    }

    #[test]
    fn bitbucket_server_is_detected_and_ignored() {
        for (file, key) in [
            (
                "bitbucket-server/repo-refs-changed.json",
                "repo:refs_changed",
            ),
            ("bitbucket-server/pr-opened.json", "pr:opened"),
            ("bitbucket-server/pr-modified.json", "pr:modified"),
        ] {
            let request_id = "d7f4c5d0-0f2f-4a1c-9d6e-0c7d8e9f1a2b";
            let headers =
                Headers::from_pairs(&[("X-Event-Key", key), ("X-Request-Id", request_id)]);
            assert_eq!(detect(&headers), Some(Forge::Bitbucket));
            let reason = ignored(bb(key, &corpus(file)));
            assert!(reason.contains("Bitbucket Server"), "{reason}");
        }
    }
}
