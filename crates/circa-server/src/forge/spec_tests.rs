//! Every request [`status_request`] makes, for each forge and each state, checked against the
//! forge's own API description: the extracts in `shared/corpus/forge-apis/` (upstream files and
//! commits in its `SOURCES.md`). The path must match one of the description's operations with
//! the request's method, the body must validate against that operation's request schema, and
//! the state must be one the schema lists (an `enum`, or Gitea's `x-extract-known-values`, taken
//! from Gitea's Go source because its swagger gives no enum).

use std::path::PathBuf;

use serde_json::Value;

use super::{CommitStatus, ForgeKind, StatusRequest, StatusState, status_request};

/// The host every request in this test is built for.
const HOST: &str = "https://forge.example";

fn spec_file(forge: ForgeKind) -> &'static str {
    match forge {
        ForgeKind::GitHub => "github.openapi.json",
        ForgeKind::GitLab => "gitlab.swagger.json",
        ForgeKind::Gitea => "gitea.swagger.json",
        ForgeKind::Bitbucket => "bitbucket-cloud.openapi.json",
    }
}

/// The API root a deployment of `forge` on [`HOST`] has.
fn api_root(forge: ForgeKind) -> &'static str {
    match forge {
        ForgeKind::GitHub => "",
        ForgeKind::GitLab => "/api/v4",
        ForgeKind::Gitea => "/api/v1",
        ForgeKind::Bitbucket => "/2.0",
    }
}

fn load_spec(forge: ForgeKind) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/forge-apis")
        .join(spec_file(forge));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The path every operation of `spec` sits under: Swagger 2.0's `basePath`, or the path of
/// OpenAPI 3's first server URL.
fn spec_prefix(spec: &Value) -> String {
    if let Some(base) = spec["basePath"].as_str() {
        return base.trim_end_matches('/').to_string();
    }
    let server = spec["servers"][0]["url"].as_str().unwrap_or("");
    let after_scheme = server.split_once("://").map_or(server, |(_, rest)| rest);
    after_scheme.find('/').map_or(String::new(), |i| {
        after_scheme[i..].trim_end_matches('/').to_string()
    })
}

/// Whether `path` fits `template`, where each `{name}` stands for one non-empty segment.
fn path_matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len()
        && t.iter().zip(&p).all(|(t, p)| {
            if t.starts_with('{') && t.ends_with('}') {
                !p.is_empty()
            } else {
                t == p
            }
        })
}

/// The operation of `spec` that `request` calls.
fn operation<'s>(spec: &'s Value, forge: ForgeKind, request: &StatusRequest) -> &'s Value {
    let path = request
        .url
        .strip_prefix(HOST)
        .unwrap_or_else(|| panic!("{forge:?}: {} is not on {HOST}", request.url));
    let prefix = spec_prefix(spec);
    let method = request.method.as_str().to_ascii_lowercase();
    let paths = spec["paths"].as_object().unwrap();
    let found: Vec<&Value> = paths
        .iter()
        .filter(|(template, _)| path_matches(&format!("{prefix}{template}"), path))
        .filter_map(|(_, item)| item.get(&method))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{forge:?}: {method} {path} matches {} operations",
        found.len()
    );
    found[0]
}

/// The JSON request schema of `op`: OpenAPI 3's `requestBody`, or Swagger 2.0's body parameter.
fn request_schema(op: &Value) -> Value {
    if let Some(body) = op.get("requestBody") {
        return body["content"]["application/json"]["schema"].clone();
    }
    op["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["in"] == "body"))
        .map(|p| p["schema"].clone())
        .expect("a body parameter")
}

/// `schema` without `discriminator` keywords, which OpenAPI validators reject here (SOURCES.md).
fn strip_discriminators(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            map.remove("discriminator");
            map.values_mut().for_each(strip_discriminators);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_discriminators),
        _ => {}
    }
}

/// The state values the schema lists for its `state` property.
fn known_states(schema: &Value) -> Vec<String> {
    let mut parts = vec![schema];
    if let Some(all) = schema["allOf"].as_array() {
        parts.extend(all);
    }
    let state = parts
        .iter()
        .map(|s| &s["properties"]["state"])
        .find(|s| s.is_object())
        .expect("a state property");
    let values = state["enum"]
        .as_array()
        .or_else(|| state["x-extract-known-values"]["values"].as_array())
        .expect("the state's known values");
    values
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn accepts_json(spec: &Value, op: &Value) -> bool {
    if let Some(content) = op["requestBody"]["content"].as_object() {
        return content.contains_key("application/json");
    }
    let consumes = op["consumes"]
        .as_array()
        .or_else(|| spec["consumes"].as_array());
    consumes.is_none_or(|c| c.iter().any(|m| m == "application/json"))
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
            let op = operation(&spec, forge, &request);
            assert!(accepts_json(&spec, op), "{forge:?} does not take JSON");

            let mut schema = request_schema(op);
            strip_discriminators(&mut schema);
            let validator = jsonschema::validator_for(&schema)
                .unwrap_or_else(|e| panic!("{forge:?}: schema does not compile: {e}"));
            let errors: Vec<String> = validator
                .iter_errors(&request.body)
                .map(|e| e.to_string())
                .collect();
            assert!(
                errors.is_empty(),
                "{forge:?} {state:?}: {errors:?} in {}",
                request.body
            );

            let sent = request.body["state"].as_str().unwrap();
            let known = known_states(&schema);
            assert!(
                known.iter().any(|k| k == sent),
                "{forge:?}: {sent} not in {known:?}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, ForgeKind::ALL.len() * StatusState::ALL.len());
}

#[test]
fn a_body_the_description_refuses_is_caught() {
    let spec = load_spec(ForgeKind::GitHub);
    let op = &spec["paths"]["/repos/{owner}/{repo}/statuses/{sha}"]["post"];
    let validator = jsonschema::validator_for(&request_schema(op)).unwrap();
    assert!(!validator.is_valid(&serde_json::json!({"state": "canceled"})));
    assert!(!validator.is_valid(&serde_json::json!({"context": "ci/circleci: build"})));
    assert!(validator.is_valid(&serde_json::json!({"state": "success"})));
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
