//! Webhook deliveries as forges send them: a signed delivery sent again starts nothing, and
//! GitHub's form-encoded deliveries build like JSON ones.

use serde_json::{Value, json};

use crate::server_harness::{Api, Repo, ServerProc, github_push, sign};

const CONFIG: &str = r#"
version: 2.1
jobs:
  build:
    machine: true
    steps:
      - run: echo hi
workflows:
  main:
    jobs: [build]
"#;

/// Posts a signed GitHub push with `content_type` and an optional delivery id → (status, JSON).
async fn deliver(
    project: &Value,
    content_type: &str,
    delivery: Option<&str>,
    body: Vec<u8>,
) -> (u16, Value) {
    let secret = project["webhook"]["secret"].as_str().unwrap();
    let signature = format!("sha256={}", sign(secret, &body));
    let mut request = reqwest::Client::new()
        .post(project["webhook"]["url"].as_str().unwrap())
        .header("content-type", content_type)
        .header("x-github-event", "push")
        .header("x-hub-signature-256", signature)
        .body(body);
    if let Some(id) = delivery {
        request = request.header("x-github-delivery", id);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

async fn pipeline_count(api: &Api, slug: &str) -> usize {
    let (_, body) = api.get(&format!("/api/v2/project/{slug}/pipeline")).await;
    body["items"].as_array().map_or(0, Vec::len)
}

/// `application/x-www-form-urlencoded` of one field.
fn form_field(name: &str, value: &[u8]) -> Vec<u8> {
    let mut out = format!("{name}=").into_bytes();
    for &b in value {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b);
        } else {
            out.extend(format!("%{b:02X}").into_bytes());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_delivery_starts_nothing_and_form_encoded_ones_build() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), 30);
    let api = server.client();
    let repo = Repo::new(CONFIG);
    let sha = repo.git(&["rev-parse", "HEAD"]);
    let project = api
        .add_project("gh/acme/hooked", repo.path(), json!({}))
        .await;
    let body = github_push(repo.path(), "refs/heads/main", &sha, "first");

    let (status, first) = deliver(&project, "application/json", Some("d-1"), body.clone()).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(pipeline_count(&api, "gh/acme/hooked").await, 1);
    // The same signed delivery again: acknowledged, nothing made.
    let (status, again) = deliver(&project, "application/json", Some("d-1"), body.clone()).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["pipeline"], Value::Null, "{again}");
    assert!(
        again["message"]
            .as_str()
            .is_some_and(|m| m.contains("d-1") && m.contains("received already")),
        "{again}"
    );
    assert_eq!(pipeline_count(&api, "gh/acme/hooked").await, 1);
    // Another delivery of the same push builds.
    let (status, other) = deliver(&project, "application/json", Some("d-2"), body.clone()).await;
    assert_eq!(status, 201, "{other}");
    assert_eq!(pipeline_count(&api, "gh/acme/hooked").await, 2);

    // Form-encoded: `payload=<JSON>`, signed over the raw body.
    let form = form_field("payload", &body);
    let (status, formed) = deliver(
        &project,
        "application/x-www-form-urlencoded",
        Some("d-3"),
        form,
    )
    .await;
    assert_eq!(status, 201, "{formed}");
    assert_eq!(pipeline_count(&api, "gh/acme/hooked").await, 3);
    let (status, refused) = deliver(
        &project,
        "application/x-www-form-urlencoded",
        Some("d-4"),
        b"other=1".to_vec(),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("payload")),
        "{refused}"
    );
}
