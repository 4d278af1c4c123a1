//! A validator for the subset of OpenAPI 3.0 schemas CircleCI's document uses: `$ref`, `type`,
//! `required`, `properties`, `additionalProperties`, `items`, `enum`, `nullable` /
//! `x-nullable`, `allOf` / `anyOf` / `oneOf`, and the `uuid` and `date-time` formats.

use serde_json::Value;

/// CircleCI's API v2 OpenAPI document from the shared corpus.
pub fn document() -> Value {
    let path = crate::corpus().join("api/circleci-api-v2.openapi.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The schema of an operation's answer with `status` (or `default`), if the document has one.
pub fn response_schema<'a>(
    doc: &'a Value,
    method: &str,
    path: &str,
    status: u16,
) -> Option<&'a Value> {
    let op = &doc["paths"][path][method.to_ascii_lowercase()];
    assert!(op.is_object(), "the document has no {method} {path}");
    let responses = &op["responses"];
    let response = responses
        .get(status.to_string())
        .or_else(|| responses.get("default"))?;
    let response = resolve(doc, response);
    response["content"]["application/json"]
        .get("schema")
        .map(|s| resolve(doc, s))
}

/// Whether the document lists `status` for the operation (explicitly, not as `default`).
pub fn documents_status(doc: &Value, method: &str, path: &str, status: u16) -> bool {
    doc["paths"][path][method.to_ascii_lowercase()]["responses"]
        .get(status.to_string())
        .is_some()
}

fn resolve<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    for _ in 0..32 {
        let Some(r) = v.get("$ref").and_then(Value::as_str) else {
            return v;
        };
        let mut target = doc;
        for part in r.trim_start_matches("#/").split('/') {
            target = &target[part.replace("~1", "/").replace("~0", "~")];
        }
        v = target;
    }
    v
}

/// Every way `value` breaks `schema`, as `PATH: problem` lines (empty when it conforms).
pub fn validate(doc: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(doc, schema, value, "$", &mut errors);
    errors
}

fn nullable(schema: &Value) -> bool {
    schema["nullable"] == true || schema["x-nullable"] == true
}

fn check(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if value.is_null() && nullable(schema) {
        return;
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            check(doc, s, value, at, errors);
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let fits = options
                .iter()
                .filter(|s| validate(doc, s, value).is_empty())
                .count();
            let ok = if key == "anyOf" { fits >= 1 } else { fits == 1 };
            if !ok {
                errors.push(format!("{at}: matches {fits} of the {key} schemas"));
            }
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    let ty = schema.get("type").and_then(Value::as_str);
    let type_ok = match ty {
        None => true,
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        Some(_) => true,
    };
    if !type_ok {
        errors.push(format!(
            "{at}: {value} is not of type {}",
            ty.unwrap_or("?")
        ));
        return;
    }
    if let (Some(format), Some(text)) =
        (schema.get("format").and_then(Value::as_str), value.as_str())
    {
        let ok = match format {
            "uuid" => uuid_like(text),
            "date-time" => text.parse::<jiff::Timestamp>().is_ok(),
            _ => true,
        };
        if !ok {
            errors.push(format!("{at}: {text:?} is not a {format}"));
        }
    }
    if let Some(object) = value.as_object() {
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for r in required.iter().filter_map(Value::as_str) {
                if !object.contains_key(r) {
                    errors.push(format!("{at}: required field `{r}` is missing"));
                }
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (k, v) in object {
            match properties.and_then(|p| p.get(k)) {
                Some(s) => check(doc, s, v, &format!("{at}.{k}"), errors),
                None => {
                    if let Some(extra) = schema.get("additionalProperties")
                        && extra.is_object()
                    {
                        check(doc, extra, v, &format!("{at}.{k}"), errors);
                    }
                }
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, v) in array.iter().enumerate() {
            check(doc, items, v, &format!("{at}[{i}]"), errors);
        }
    }
}

fn uuid_like(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

#[test]
fn the_validator_finds_what_a_body_lacks_or_gets_wrong() {
    let doc = document();
    let schema = response_schema(&doc, "GET", "/workflow/{id}", 200).unwrap();
    let good = serde_json::json!({
        "id": "5034460f-c7c4-4c43-9457-de07e2029e7b", "name": "build", "status": "success",
        "created_at": "2026-01-01T00:00:00Z", "stopped_at": null,
        "pipeline_id": "5034460f-c7c4-4c43-9457-de07e2029e7b", "pipeline_number": 3,
        "project_slug": "gh/a/b", "started_by": "5034460f-c7c4-4c43-9457-de07e2029e7b",
        "tag": null,
    });
    assert_eq!(validate(&doc, schema, &good), Vec::<String>::new());
    let mut bad = good.clone();
    bad.as_object_mut().unwrap().remove("name");
    bad["status"] = "great".into();
    bad["id"] = "not-a-uuid".into();
    bad["pipeline_number"] = "3".into();
    bad["created_at"] = "yesterday".into();
    bad["started_by"] = serde_json::Value::Null;
    let errors = validate(&doc, schema, &bad);
    for needle in [
        "`name` is missing",
        "$.status",
        "$.id",
        "$.pipeline_number",
        "$.created_at",
        "$.started_by",
    ] {
        assert!(
            errors.iter().any(|e| e.contains(needle)),
            "{needle} in {errors:?}"
        );
    }
    assert_eq!(errors.len(), 6, "{errors:?}");
}
