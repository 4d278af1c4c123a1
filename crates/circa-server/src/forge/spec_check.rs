//! Checking a request against a forge's published API description (the extracts in
//! `shared/corpus/forge-apis/`, upstream files and commits in its `SOURCES.md`): the method
//! and path must match exactly one of the description's operations, the body must validate
//! against that operation's request schema (a commit status's `state` must be one the schema
//! lists: an `enum`, or Gitea's `x-extract-known-values`), the content type must be one the
//! operation takes, and the token must be in the header the forge's security scheme names.
//!
//! Test support only (the unit tests of `forge` and, through the `spec-check` feature, the
//! binary's integration tests, whose stand-in forges check every request they receive).

use std::path::Path;

use serde_json::Value;

use circa_store::ForgeKind;

/// A forge's API description, loaded.
pub struct ForgeSpec {
    /// Which forge.
    pub kind: ForgeKind,
    spec: Value,
}

/// A request as a stand-in forge received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The method, upper case.
    pub method: String,
    /// The path, still percent-encoded, without the query.
    pub path: String,
    /// The headers, names lower case.
    pub headers: Vec<(String, String)>,
    /// The body, as JSON.
    pub body: Value,
}

impl Received {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The description file of `kind` in the corpus.
pub fn spec_file(kind: ForgeKind) -> &'static str {
    match kind {
        ForgeKind::GitHub => "github.openapi.json",
        ForgeKind::GitLab => "gitlab.swagger.json",
        ForgeKind::Gitea => "gitea.swagger.json",
        ForgeKind::Bitbucket => "bitbucket-cloud.openapi.json",
    }
}

/// The API root a deployment of `kind` on a host has, before the description's paths: the
/// path the forge's hosted API or its server software serves them under.
pub fn api_root(kind: ForgeKind) -> &'static str {
    match kind {
        ForgeKind::GitHub => "",
        ForgeKind::GitLab => "/api/v4",
        ForgeKind::Gitea => "/api/v1",
        ForgeKind::Bitbucket => "/2.0",
    }
}

impl ForgeSpec {
    /// Loads `kind`'s description from the corpus folder `forge_apis`.
    pub fn load(kind: ForgeKind, forge_apis: &Path) -> Result<ForgeSpec, String> {
        let path = forge_apis.join(spec_file(kind));
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        let spec = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(ForgeSpec { kind, spec })
    }

    /// The paths every operation may sit under: Swagger 2.0's `basePath`, or the path of each
    /// of OpenAPI 3's server URLs (GitHub's `/api/v3` for GHES).
    pub fn prefixes(&self) -> Vec<String> {
        if let Some(base) = self.spec["basePath"].as_str() {
            return vec![base.trim_end_matches('/').to_string()];
        }
        let servers = self.spec["servers"].as_array().cloned().unwrap_or_default();
        let mut prefixes: Vec<String> = servers
            .iter()
            .filter_map(|s| s["url"].as_str())
            .map(url_path)
            .collect();
        if prefixes.is_empty() {
            prefixes.push(String::new());
        }
        prefixes
    }

    /// The operation `method path` calls, and its path template; an error unless exactly one
    /// operation matches.
    pub fn operation(&self, method: &str, path: &str) -> Result<(String, &Value), String> {
        let method = method.to_ascii_lowercase();
        let paths = self.spec["paths"]
            .as_object()
            .ok_or("the description has no paths")?;
        let prefixes = self.prefixes();
        let found: Vec<(String, &Value)> = paths
            .iter()
            .filter(|(template, _)| {
                prefixes
                    .iter()
                    .any(|p| path_matches(&format!("{p}{template}"), path))
            })
            .filter_map(|(template, item)| item.get(&method).map(|op| (template.clone(), op)))
            .collect();
        match found.as_slice() {
            [one] => Ok(one.clone()),
            _ => Err(format!(
                "{:?}: {method} {path} matches {} operations of the description",
                self.kind,
                found.len()
            )),
        }
    }

    /// Checks a received request; the path template of its operation.
    pub fn check(&self, request: &Received) -> Result<String, String> {
        let (template, op) = self.operation(&request.method, &request.path)?;
        let what = format!("{:?} {} {}", self.kind, request.method, request.path);
        if !self.accepts_json(op) {
            return Err(format!("{what}: the operation takes no JSON"));
        }
        let content_type = request.header("content-type").unwrap_or_default();
        if !content_type.starts_with("application/json") {
            return Err(format!("{what}: content-type {content_type:?}"));
        }
        self.check_auth(request)
            .map_err(|e| format!("{what}: {e}"))?;
        let mut schema = request_schema(op).ok_or_else(|| format!("{what}: no body schema"))?;
        strip_discriminators(&mut schema);
        let validator = jsonschema::validator_for(&schema)
            .map_err(|e| format!("{what}: the schema does not compile: {e}"))?;
        let errors: Vec<String> = validator
            .iter_errors(&request.body)
            .map(|e| e.to_string())
            .collect();
        if !errors.is_empty() {
            return Err(format!("{what}: {errors:?} in {}", request.body));
        }
        if let Some(state) = request.body.get("state") {
            let known = known_states(&schema).ok_or_else(|| format!("{what}: no states"))?;
            if !known.iter().any(|k| state == k.as_str()) {
                return Err(format!("{what}: state {state} not in {known:?}"));
            }
        }
        Ok(template)
    }

    /// Whether `op` takes a JSON body.
    pub fn accepts_json(&self, op: &Value) -> bool {
        if let Some(content) = op["requestBody"]["content"].as_object() {
            return content.contains_key("application/json");
        }
        if op.get("x-extract-observed-request-body").is_some() {
            return op["x-extract-observed-request-body"]["content-type"] == "application/json";
        }
        let consumes = op["consumes"]
            .as_array()
            .or_else(|| self.spec["consumes"].as_array());
        consumes.is_none_or(|c| c.iter().any(|m| m == "application/json"))
    }

    /// The token is where the description's security scheme puts it: an `apiKey` header
    /// (GitLab's `PRIVATE-TOKEN`, Gitea's `Authorization: token …`), else OAuth 2's bearer
    /// token (Bitbucket's upstream schemes; GitHub, whose extract names none, documents
    /// `Authorization: Bearer`).
    fn check_auth(&self, request: &Received) -> Result<(), String> {
        let schemes = self.spec["securityDefinitions"]
            .as_object()
            .or_else(|| self.spec["components"]["securitySchemes"].as_object());
        let header_keys: Vec<(&str, &str)> = schemes
            .into_iter()
            .flatten()
            .filter(|(_, s)| s["type"] == "apiKey" && s["in"] == "header")
            .filter_map(|(_, s)| {
                Some((s["name"].as_str()?, s["description"].as_str().unwrap_or("")))
            })
            .collect();
        if header_keys.is_empty() {
            return match request.header("authorization") {
                Some(v) if v.starts_with("Bearer ") && v.len() > 7 => Ok(()),
                other => Err(format!("no bearer token (authorization: {other:?})")),
            };
        }
        for (name, description) in header_keys {
            let Some(value) = request.header(name) else {
                continue;
            };
            let prefixed = description.contains("prepended with \"token\"");
            if !prefixed || (value.starts_with("token ") && value.len() > 6) {
                return Ok(());
            }
        }
        Err("no token in the header the security scheme names".into())
    }
}

/// The path part of a server URL (`https://api.bitbucket.org/2.0` → `/2.0`).
fn url_path(server: &str) -> String {
    let after_scheme = server.split_once("://").map_or(server, |(_, rest)| rest);
    after_scheme.find('/').map_or(String::new(), |i| {
        after_scheme[i..].trim_end_matches('/').to_string()
    })
}

/// Whether `path` fits `template`, where each `{name}` stands for one non-empty segment.
pub fn path_matches(template: &str, path: &str) -> bool {
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

/// The JSON request schema of `op`: OpenAPI 3's `requestBody`, Swagger 2.0's body parameter,
/// or the extract's observed body where upstream declares none.
pub fn request_schema(op: &Value) -> Option<Value> {
    if let Some(body) = op.get("requestBody") {
        return Some(body["content"]["application/json"]["schema"].clone());
    }
    if let Some(observed) = op.get("x-extract-observed-request-body") {
        return Some(observed["schema"].clone());
    }
    op["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["in"] == "body"))
        .map(|p| p["schema"].clone())
}

/// `schema` without `discriminator` keywords, which OpenAPI validators reject here (SOURCES.md).
pub fn strip_discriminators(schema: &mut Value) {
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
pub fn known_states(schema: &Value) -> Option<Vec<String>> {
    let mut parts = vec![schema];
    if let Some(all) = schema["allOf"].as_array() {
        parts.extend(all);
    }
    let state = parts
        .iter()
        .map(|s| &s["properties"]["state"])
        .find(|s| s.is_object())?;
    let values = state["enum"]
        .as_array()
        .or_else(|| state["x-extract-known-values"]["values"].as_array())?;
    Some(
        values
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
    )
}
