//! `POST /api/v2/compile-config-with-defaults`: what `circleci config validate|process
//! --host` calls. The config is processed as a pipeline would process it (orbs from the
//! server's registry folder); problems come back as `errors` with `valid: false`, not as an
//! HTTP error, as CircleCI answers.

use axum::Json;
use axum::extract::State;
use circa_config::CompileOptions;
use circa_model::engine;
use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::auth::Person;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::orchestrator::compile::json_to_node;
use crate::state::AppState;

/// The request body.
#[derive(Debug, Deserialize)]
pub struct CompileBody {
    config_yaml: String,
    #[serde(default)]
    options: CompileBodyOptions,
}

/// `options`: the organization (unused: one registry serves all) and the pipeline's values.
#[derive(Debug, Default, Deserialize)]
pub struct CompileBodyOptions {
    #[serde(default)]
    #[allow(dead_code)]
    owner_id: Option<String>,
    /// A map, or a JSON or YAML text holding one (the CLI sends either).
    #[serde(default)]
    pipeline_parameters: Option<Value>,
    #[serde(default)]
    pipeline_values: Option<Map<String, Value>>,
}

/// Pipeline parameters as a map, from a map or a text holding one.
fn parameters(value: Option<Value>) -> ApiResult<Map<String, Value>> {
    let bad = |why: String| ApiError::bad_request(format!("options.pipeline_parameters: {why}"));
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(Map::new()),
        Some(Value::String(text)) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(bad("not a map".into())),
            Err(e) => Err(bad(format!("not a JSON map: {e}"))),
        },
        Some(_) => Err(bad("not a map".into())),
    }
}

/// `POST /api/v2/compile-config-with-defaults`.
pub async fn compile(
    State(state): State<AppState>,
    _person: Person,
    ApiJson(body): ApiJson<CompileBody>,
) -> ApiResult<Json<Value>> {
    let params = parameters(body.options.pipeline_parameters)?;
    let values = body.options.pipeline_values.unwrap_or_default();
    let orbs = state.config.orbs.clone();
    let source = body.config_yaml;
    let out = state.dispatch.compiles.run(move || {
        let mut pipeline = engine::local_pipeline_values(None, None);
        for (k, v) in &values {
            let key = k.strip_prefix("pipeline.").unwrap_or(k);
            match v {
                Value::String(s) => pipeline.set(key, s.as_str()),
                Value::Number(n) if n.is_i64() => pipeline.set(key, n.as_i64().unwrap_or_default()),
                other => pipeline.set(key, other.to_string().as_str()),
            }
        }
        let mut options = CompileOptions::new(orbs.as_ref());
        options.pipeline = pipeline;
        let mut parameters = IndexMap::new();
        for (k, v) in &params {
            parameters.insert(k.clone(), json_to_node(v));
        }
        options.parameters = parameters;
        let processed = engine::process(source.as_bytes(), &options);
        let errors: Vec<Value> = processed
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| {
                let text = circa_config::diag::render(
                    crate::vcs::CONFIG_PATH,
                    &source,
                    std::slice::from_ref(d),
                );
                json!({ "message": text.trim_end() })
            })
            .collect();
        let valid = errors.is_empty();
        json!({
            "valid": valid,
            "source-yaml": source,
            "output-yaml": if valid { processed.compiled.processed_yaml().unwrap_or_default() } else { String::new() },
            "errors": errors,
        })
    })
    .await
    ?;
    Ok(Json(out))
}
