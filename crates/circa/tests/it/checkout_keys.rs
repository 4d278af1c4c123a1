//! Checkout keys over the API: a project is added with a deploy key; keys are listed, read by
//! either fingerprint, made and deleted; fingerprints are those `ssh-keygen -l` prints; no
//! answer and no stored byte holds a private key in clear.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::server_harness::{Api, Repo, ServerProc};

const CONFIG: &str = "version: 2.1\njobs:\n  build: {machine: true, steps: [{run: echo hi}]}\n";
const SLUG: &str = "gh/acme/keys";

/// The SHA256 and MD5 fingerprints of a public key line, from `ssh-keygen -l` when it is
/// installed, else from the key's wire encoding (base64 in the line) hashed here.
fn fingerprints(public_key: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("key.pub");
    std::fs::write(&file, format!("{public_key}\n")).unwrap();
    let keygen = |hash: &str| -> Option<String> {
        let out = Command::new("ssh-keygen")
            .args(["-l", "-E", hash, "-f"])
            .arg(&file)
            .output()
            .ok()?;
        let text = String::from_utf8(out.stdout).ok()?;
        text.split_whitespace().nth(1).map(str::to_string)
    };
    if let (Some(sha), Some(md5)) = (keygen("sha256"), keygen("md5")) {
        return (sha, md5.trim_start_matches("MD5:").to_string());
    }
    use base64::Engine as _;
    use sha2::Digest as _;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(public_key.split_whitespace().nth(1).unwrap())
        .unwrap();
    let sha = base64::engine::general_purpose::STANDARD_NO_PAD.encode(sha2::Sha256::digest(&blob));
    let md5: Vec<String> = md5::Md5::digest(&blob)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (format!("SHA256:{sha}"), md5.join(":"))
}

/// Asserts an answer holds no private key.
fn no_private_key(body: &Value) {
    let text = body.to_string();
    assert!(
        !text.contains("PRIVATE KEY") && !text.contains("b3BlbnNzaC1rZXktdjE"),
        "{text}"
    );
}

/// Asserts no file of the data folder holds a private key in clear.
pub(crate) fn no_private_key_stored(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            no_private_key_stored(&path);
        } else if let Ok(bytes) = std::fs::read(&path) {
            let found = bytes.windows(11).any(|w| w == b"PRIVATE KEY");
            assert!(!found, "{} holds a private key in clear", path.display());
        }
    }
}

async fn keys(api: &Api) -> Vec<Value> {
    let (status, body) = api
        .get(&format!("/api/v2/project/{SLUG}/checkout-key"))
        .await;
    assert_eq!(status, 200, "{body}");
    no_private_key(&body);
    assert_eq!(body["next_page_token"], Value::Null);
    body["items"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_keys_round_trip() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), 30);
    let api = server.client();
    let repo = Repo::new(CONFIG);
    let added = api.add_project(SLUG, repo.path(), json!({})).await;
    no_private_key(&added);

    // The project came with one preferred deploy key, the one its answer named.
    let listed = keys(&api).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let first = &listed[0];
    assert_eq!(first, &added["checkout_key"]);
    assert_eq!(first["type"], "deploy-key");
    assert_eq!(first["preferred"], true);
    assert!(first["created-at"].as_str().unwrap().ends_with('Z'));
    let public = first["public-key"].as_str().unwrap();
    assert!(public.starts_with("ssh-ed25519 AAAA"), "{public}");
    let (sha256, md5) = fingerprints(public);
    assert_eq!(first["fingerprint"], json!(md5));

    // Read by either fingerprint (SHA256 url-encoded, as CircleCI asks).
    let base = format!("/api/v2/project/{SLUG}/checkout-key");
    let encoded = sha256
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace(':', "%3A");
    for fp in [md5.clone(), encoded.clone()] {
        let (status, body) = api.get(&format!("{base}/{fp}")).await;
        assert_eq!(status, 200, "{fp}: {body}");
        assert_eq!(&body, first);
    }

    // A second key: new fingerprints, not preferred, listed first.
    let (status, second) = api.post(&base, json!({ "type": "deploy-key" })).await;
    assert_eq!(status, 201, "{second}");
    no_private_key(&second);
    assert_eq!(second["preferred"], false);
    let (_, second_md5) = fingerprints(second["public-key"].as_str().unwrap());
    assert_eq!(second["fingerprint"], json!(second_md5));
    assert_ne!(second["fingerprint"], first["fingerprint"]);
    assert_eq!(keys(&api).await, vec![second.clone(), first.clone()]);

    // Refused, naming the field: user keys (no forge account to act as), unknown types (400),
    // a missing type (422, as every body without a required field).
    for (body, want) in [
        (json!({ "type": "user-key" }), 400),
        (json!({ "type": "rsa" }), 400),
        (json!({}), 422),
    ] {
        let (status, answer) = api.post(&base, body.clone()).await;
        assert_eq!(status, want, "{body}: {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains("type"),
            "{answer}"
        );
    }
    assert_eq!(keys(&api).await.len(), 2, "nothing was made");

    // Deleting the preferred key by its SHA256 fingerprint makes the other one preferred.
    let (status, body) = api
        .call("DELETE", &format!("{base}/{encoded}"), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"], "Checkout key deleted.");
    let left = keys(&api).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["fingerprint"], second["fingerprint"]);
    assert_eq!(left[0]["preferred"], true);
    let (status, body) = api.get(&format!("{base}/{md5}")).await;
    assert_eq!(status, 404, "{body}");
    let status = api.delete(&format!("{base}/{md5}")).await;
    assert_eq!(status, 404);
    let (status, _) = api.get("/api/v2/project/gh/acme/none/checkout-key").await;
    assert_eq!(status, 404);

    no_private_key_stored(data.path());
}
