//! Every request [`status_request`] makes, for each forge and each state, checked against the
//! forge's own API description with `spec_check`: the path must match one of the
//! description's operations with the request's method, the body must validate against that
//! operation's request schema, the state must be one the schema lists, and the token must sit
//! where the forge's security scheme puts it.

use std::path::PathBuf;

use serde_json::json;

use super::send::auth_header;
use super::spec_check::{ForgeSpec, Received, api_root, path_matches, request_schema};
use super::{CommitStatus, ForgeKind, StatusRequest, StatusState, status_request};

/// The host every request in this test is built for.
const HOST: &str = "https://forge.example";

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/forge-apis")
}

fn load_spec(forge: ForgeKind) -> ForgeSpec {
    ForgeSpec::load(forge, &corpus()).unwrap()
}

/// `request` as a forge would receive it, with a token.
fn received(forge: ForgeKind, request: &StatusRequest) -> Received {
    let path = request
        .url
        .strip_prefix(HOST)
        .unwrap_or_else(|| panic!("{forge:?}: {} is not on {HOST}", request.url));
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let (name, value) = auth_header(forge, "secret-token");
    headers.push((name.to_string(), value));
    Received {
        method: request.method.as_str().to_string(),
        path: path.to_string(),
        headers,
        body: request.body.clone(),
    }
}

#[test]
fn every_status_request_fits_its_forges_api_description() {
    let mut checked = 0;
    for forge in ForgeKind::ALL {
        let spec = load_spec(forge);
        let repo = if forge == ForgeKind::GitLab {
            "group/project"
        } else {
            "owner/repo"
        };
        for state in StatusState::ALL {
            let status = CommitStatus {
                repo,
                sha: "18f3e63d05582537db6d183d9d557be09e1f90c8",
                context: "ci/circleci: deploy/hold",
                state,
                target_url: "https://circa.example/pipelines/1/workflows/2/jobs/3",
                description: "Waiting for approval",
            };
            let base = format!("{HOST}{}", api_root(forge));
            let request = status_request(forge, &base, &status).unwrap();
            let template = spec
                .check(&received(forge, &request))
                .unwrap_or_else(|e| panic!("{forge:?} {state:?}: {e}"));
            assert!(template.ends_with("/statuses/{sha}") || template.ends_with("/statuses/build"));
            checked += 1;
        }
    }
    assert_eq!(checked, ForgeKind::ALL.len() * StatusState::ALL.len());
}

#[test]
fn a_request_without_its_token_or_with_a_wrong_state_is_caught() {
    for forge in ForgeKind::ALL {
        let spec = load_spec(forge);
        let status = CommitStatus {
            repo: if forge == ForgeKind::GitLab {
                "g/p"
            } else {
                "o/r"
            },
            sha: "abc123",
            context: "ci/circleci: build",
            state: StatusState::Success,
            target_url: "https://circa.example/x",
            description: "ok",
        };
        let base = format!("{HOST}{}", api_root(forge));
        let request = status_request(forge, &base, &status).unwrap();
        let mut anonymous = received(forge, &request);
        anonymous
            .headers
            .retain(|(k, _)| k != "authorization" && k != "private-token");
        assert!(spec.check(&anonymous).is_err(), "{forge:?} without a token");
        let mut wrong = received(forge, &request);
        wrong.body["state"] = json!("exploded");
        assert!(
            spec.check(&wrong).is_err(),
            "{forge:?} with a made-up state"
        );
    }
    // GitHub's GHES root is one of its description's servers.
    let spec = load_spec(ForgeKind::GitHub);
    assert!(
        spec.operation("POST", "/api/v3/repos/o/r/statuses/abc")
            .is_ok()
    );
    assert!(
        spec.operation("POST", "/api/v9/repos/o/r/statuses/abc")
            .is_err()
    );
}

#[test]
fn a_body_the_description_refuses_is_caught() {
    let spec = load_spec(ForgeKind::GitHub);
    let (_, op) = spec.operation("POST", "/repos/o/r/statuses/abc").unwrap();
    let validator = jsonschema::validator_for(&request_schema(op).unwrap()).unwrap();
    assert!(!validator.is_valid(&json!({"state": "canceled"})));
    assert!(!validator.is_valid(&json!({"context": "ci/circleci: build"})));
    assert!(validator.is_valid(&json!({"state": "success"})));
}

#[test]
fn path_templates_match_whole_segments() {
    assert!(path_matches(
        "/repos/{owner}/{repo}/statuses/{sha}",
        "/repos/a/b/statuses/c"
    ));
    assert!(!path_matches(
        "/repos/{owner}/{repo}/statuses/{sha}",
        "/repos/a/statuses/c"
    ));
    assert!(!path_matches(
        "/repos/{owner}/{repo}/statuses/{sha}",
        "/repos/a//statuses/c"
    ));
    assert!(!path_matches(
        "/repos/{owner}/{repo}/keys",
        "/repos/a/b/statuses"
    ));
}
