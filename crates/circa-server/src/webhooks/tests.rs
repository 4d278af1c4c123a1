//! Shared test helpers, detection, the whole corpus, and no-panic checks.

use std::path::Path;

use proptest::prelude::*;
use serde_json::Value;

use super::{Forge, Headers, WebhookError, WebhookOutcome, WebhookTrigger, detect, parse};

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpus/webhooks"
);

/// The forge each corpus folder belongs to.
const FOLDERS: [(&str, Forge); 5] = [
    ("github", Forge::GitHub),
    ("gitlab", Forge::GitLab),
    ("gitea", Forge::Gitea),
    ("bitbucket", Forge::Bitbucket),
    ("bitbucket-server", Forge::Bitbucket),
];

/// The events each forge sends that the parsers look at, plus one they do not.
const EVENTS: [(Forge, &str, &[&str]); 4] = [
    (
        Forge::GitHub,
        "X-GitHub-Event",
        &["push", "pull_request", "ping", "create", "issues"],
    ),
    (
        Forge::GitLab,
        "X-Gitlab-Event",
        &[
            "Push Hook",
            "Tag Push Hook",
            "Merge Request Hook",
            "Note Hook",
        ],
    ),
    (
        Forge::Gitea,
        "X-Gitea-Event",
        &[
            "push",
            "pull_request",
            "pull_request_sync",
            "create",
            "release",
        ],
    ),
    (
        Forge::Bitbucket,
        "X-Event-Key",
        &[
            "repo:push",
            "pullrequest:created",
            "pullrequest:updated",
            "pr:opened",
            "repo:refs_changed",
        ],
    ),
];

pub(super) fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A corpus payload by its path under `webhooks/`.
pub(super) fn corpus(rel: &str) -> Vec<u8> {
    read(&format!("{CORPUS}/{rel}"))
}

/// Every corpus payload with the forge whose folder holds it.
pub(super) fn all_payloads() -> Vec<(Forge, String)> {
    let mut out = Vec::new();
    for (folder, forge) in FOLDERS {
        let dir = format!("{CORPUS}/{folder}");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|e| e.unwrap().path().display().to_string())
            .filter(|p| p.ends_with(".json"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{dir} is empty");
        out.extend(files.into_iter().map(|f| (forge, f)));
    }
    out
}

/// A corpus payload, edited as JSON.
pub(super) fn rewrite(rel: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&corpus(rel)).unwrap();
    edit(&mut v);
    serde_json::to_vec(&v).unwrap()
}

pub(super) fn parse_with(
    forge: Forge,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<WebhookOutcome, WebhookError> {
    parse(forge, &Headers::from_pairs(headers), body)
}

#[track_caller]
pub(super) fn build(r: Result<WebhookOutcome, WebhookError>) -> WebhookTrigger {
    match r {
        Ok(WebhookOutcome::Build(t)) => t,
        other => panic!("expected a build, got {other:?}"),
    }
}

#[track_caller]
pub(super) fn ignored(r: Result<WebhookOutcome, WebhookError>) -> String {
    match r {
        Ok(WebhookOutcome::Ignored { reason }) => reason,
        other => panic!("expected ignored, got {other:?}"),
    }
}

/// Header pairs.
type Pairs<'a> = &'a [(&'a str, &'a str)];

#[test]
fn detect_by_event_header() {
    let cases: [(Pairs, Option<Forge>); 12] = [
        (&[("X-GitHub-Event", "push")], Some(Forge::GitHub)),
        (&[("x-github-event", "push")], Some(Forge::GitHub)),
        (&[("X-Gitlab-Event", "Push Hook")], Some(Forge::GitLab)),
        (&[("X-Gitea-Event", "push")], Some(Forge::Gitea)),
        (&[("X-Forgejo-Event", "push")], Some(Forge::Gitea)),
        // Gitea sends GitHub's and Gogs' headers too.
        (
            &[
                ("X-GitHub-Event", "push"),
                ("X-Gogs-Event", "push"),
                ("X-Gitea-Event", "push"),
            ],
            Some(Forge::Gitea),
        ),
        (
            &[
                ("X-Event-Key", "repo:push"),
                ("X-Hub-Signature", "sha256=00"),
            ],
            Some(Forge::Bitbucket),
        ),
        (
            &[
                ("X-Event-Key", "repo:push"),
                ("User-Agent", "Bitbucket-Webhooks/2.0"),
            ],
            Some(Forge::Bitbucket),
        ),
        (
            &[("X-Event-Key", "repo:push"), ("X-Request-UUID", "abc")],
            Some(Forge::Bitbucket),
        ),
        (&[("X-Event-Key", "repo:push")], None),
        (&[("Content-Type", "application/json")], None),
        (&[], None),
    ];
    for (headers, forge) in cases {
        assert_eq!(detect(&Headers::from_pairs(headers)), forge, "{headers:?}");
    }
}

#[test]
fn headers_lookup() {
    let mut h: Headers<'_> = [("Content-Type", " application/json ")]
        .into_iter()
        .collect();
    h.push("X-Thing", "1");
    h.push("x-thing", "2");
    assert_eq!(h.get("content-type"), Some("application/json"));
    assert_eq!(h.get("X-THING"), Some("1"));
    assert!(!h.contains("X-Other"));
}

/// Every corpus payload, sent with the event header its forge would use, and what it yields:
/// `Build(branch, tag, revision, actor, pull request number)` or `Ignored`.
#[test]
fn whole_corpus() {
    enum Want {
        Build(
            Option<&'static str>,
            Option<&'static str>,
            &'static str,
            &'static str,
            Option<u64>,
        ),
        Ignored,
    }
    use Want::{Build, Ignored};
    let table: [(&str, &str, Want); 22] = [
        ("bitbucket-server/pr-modified.json", "pr:modified", Ignored),
        ("bitbucket-server/pr-opened.json", "pr:opened", Ignored),
        (
            "bitbucket-server/repo-refs-changed.json",
            "repo:refs_changed",
            Ignored,
        ),
        (
            "bitbucket/pull-request-created.json",
            "pullrequest:created",
            Build(Some("branch2"), None, "d3022fc0ca3d", "emmap1", Some(1)),
        ),
        (
            "bitbucket/pull-request-updated.json",
            "pullrequest:updated",
            Build(Some("branch2"), None, "d3022fc0ca3d", "emmap1", Some(1)),
        ),
        (
            "bitbucket/repo-push.json",
            "repo:push",
            Build(
                Some("name-of-branch"),
                None,
                "709d658dc5b6d6afcd46049c2f332ee3f515a67d",
                "emmap1",
                None,
            ),
        ),
        ("gitea/create-event.json", "create", Ignored),
        (
            "gitea/pull-request-event.json",
            "pull_request",
            Build(
                Some("pull/2"),
                None,
                "48e773f892a831faa47c0a160d1b7f0cd369ae2a",
                "example2",
                Some(2),
            ),
        ),
        (
            "gitea/push-event.json",
            "push",
            Build(
                Some("master"),
                None,
                "67b56589a45103f891bdee7c0546e5d40bc02001",
                "example",
                None,
            ),
        ),
        ("gitea/release-event.json", "release", Ignored),
        ("github/create-payload.json", "create", Ignored),
        ("github/ping-payload.json", "ping", Ignored),
        ("github/pull_request-closed.json", "pull_request", Ignored),
        (
            "github/pull_request-opened.json",
            "pull_request",
            Build(
                Some("changes"),
                None,
                "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
                "Codertocat",
                Some(2),
            ),
        ),
        (
            "github/pull_request-reopened.json",
            "pull_request",
            Build(
                Some("changes"),
                None,
                "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
                "Codertocat",
                Some(2),
            ),
        ),
        (
            "github/pull_request-synchronize.json",
            "pull_request",
            Build(
                Some("changes"),
                None,
                "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
                "Codertocat",
                Some(2),
            ),
        ),
        ("github/push-payload.json", "push", Ignored),
        ("github/push-with-installation.json", "push", Ignored),
        (
            "github/push-with-new-branch.json",
            "push",
            Build(
                Some("master"),
                None,
                "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
                "Codertocat",
                None,
            ),
        ),
        (
            "gitlab/merge-request-event.json",
            "Merge Request Hook",
            Build(
                Some("ms-viewport"),
                None,
                "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
                "root",
                Some(1),
            ),
        ),
        (
            "gitlab/push-event.json",
            "Push Hook",
            Build(
                Some("master"),
                None,
                "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
                "John Smith",
                None,
            ),
        ),
        (
            "gitlab/tag-event.json",
            "Tag Push Hook",
            Build(
                None,
                Some("v1.0.0"),
                "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7",
                "John Smith",
                None,
            ),
        ),
    ];

    // The table covers every file in the corpus.
    let mut files: Vec<String> = all_payloads()
        .into_iter()
        .map(|(_, p)| {
            p.trim_start_matches(CORPUS)
                .trim_start_matches('/')
                .to_owned()
        })
        .collect();
    files.sort();
    let listed: Vec<&str> = table.iter().map(|(f, _, _)| *f).collect();
    assert_eq!(files, listed);

    for (file, event, want) in table {
        let folder = file.split('/').next().unwrap();
        let forge = FOLDERS.iter().find(|(f, _)| *f == folder).unwrap().1;
        let (_, header, _) = EVENTS.iter().find(|(f, _, _)| *f == forge).unwrap();
        // What the forge sends, so detection is checked on the way.
        let extra = match forge {
            Forge::Bitbucket => ("X-Request-UUID", "0b6f3ad2-8b9c-4a57-a1f3-6c1e5f5b7d10"),
            _ => ("Content-Type", "application/json"),
        };
        let headers = Headers::from_pairs(&[(header, event), extra]);
        assert_eq!(detect(&headers), Some(forge), "{file}");
        let outcome =
            parse(forge, &headers, &corpus(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        match (want, outcome) {
            (Build(branch, tag, revision, actor, pr), WebhookOutcome::Build(t)) => {
                assert_eq!(t.branch.as_deref(), branch, "{file}");
                assert_eq!(t.tag.as_deref(), tag, "{file}");
                assert_eq!(t.revision, revision, "{file}");
                assert_eq!(t.actor, actor, "{file}");
                assert_eq!(t.pull_request.map(|p| p.number), pr, "{file}");
                assert!(!t.clone_urls.is_empty(), "{file}");
            }
            (Ignored, WebhookOutcome::Ignored { reason }) => assert!(!reason.is_empty()),
            (_, other) => panic!("{file}: unexpected {other:?}"),
        }
    }
}

/// Parses `body` with every forge and event; only a panic would fail.
fn parse_everywhere(body: &[u8]) {
    for (forge, header, events) in EVENTS {
        for event in events {
            let _ = parse(forge, &Headers::from_pairs(&[(header, event)]), body);
        }
    }
}

#[test]
fn truncated_and_garbled_corpus_never_panics() {
    for (_, path) in all_payloads() {
        let body = read(&path);
        let step = (body.len() / 200).max(1);
        for cut in (0..body.len()).step_by(step) {
            parse_everywhere(&body[..cut]);
        }
        let mut garbled = body.clone();
        for i in (0..garbled.len()).step_by(7) {
            garbled[i] = garbled[i].wrapping_add(1);
        }
        parse_everywhere(&garbled);
        parse_everywhere(&body);
    }
}

/// Every JSON pointer inside `v`.
fn pointers(v: &Value, here: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = format!("{here}/{}", k.replace('~', "~0").replace('/', "~1"));
                pointers(child, p.clone(), out);
                out.push(p);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                let p = format!("{here}/{i}");
                pointers(child, p.clone(), out);
                out.push(p);
            }
        }
        _ => {}
    }
}

/// The corpus payloads as JSON, read once.
fn parsed_corpus() -> &'static [Value] {
    static PAYLOADS: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    PAYLOADS.get_or_init(|| {
        all_payloads()
            .iter()
            .map(|(_, p)| serde_json::from_slice(&read(p)).unwrap())
            .collect()
    })
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        Just(Value::String(
            "0000000000000000000000000000000000000000".into()
        )),
        Just(Value::String("refs/heads/main".into())),
        Just(Value::String("[ci skip]".into())),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        parse_everywhere(&body);
    }

    #[test]
    fn arbitrary_json_never_panics(v in any_json()) {
        parse_everywhere(&serde_json::to_vec(&v).unwrap());
    }

    #[test]
    fn corpus_with_one_field_replaced_never_panics(
        file in 0usize..22,
        which in any::<prop::sample::Index>(),
        replacement in any_json(),
    ) {
        let payloads = parsed_corpus();
        let mut v = payloads[file % payloads.len()].clone();
        let mut ptrs = Vec::new();
        pointers(&v, String::new(), &mut ptrs);
        if !ptrs.is_empty() {
            let p = which.get(&ptrs);
            if let Some(slot) = v.pointer_mut(p) {
                *slot = replacement;
            }
        }
        parse_everywhere(&serde_json::to_vec(&v).unwrap());
    }

    #[test]
    fn arbitrary_headers_never_panic(
        name in "[A-Za-z-]{0,20}",
        value in ".{0,40}",
        secret in ".{0,10}",
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let h = Headers::from_pairs(&[(name.as_str(), value.as_str())]);
        let _ = detect(&h);
        for forge in [Forge::GitHub, Forge::GitLab, Forge::Gitea, Forge::Bitbucket] {
            let _ = super::verify(forge, &h, &body, &secret);
            let _ = parse(forge, &h, &body);
        }
    }
}

#[test]
fn corpus_folder_exists() {
    assert!(Path::new(CORPUS).is_dir(), "{CORPUS}");
}
