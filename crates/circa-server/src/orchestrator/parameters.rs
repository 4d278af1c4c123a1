//! Limits on the pipeline parameters a trigger carries (CircleCI's: 100 entries, names of at
//! most 128 characters, values of at most 512), checked before anything is stored, so a
//! refused trigger leaves no pipeline row behind and no stored pipeline carries a huge value.

use serde_json::{Map, Value};

use super::{OrchestratorError, OrchestratorResult};

/// Most parameters a trigger may carry.
pub const MAX_PARAMETERS: usize = 100;
/// The longest parameter name, in characters.
pub const MAX_NAME_CHARS: usize = 128;
/// The longest parameter value, in characters (a number or boolean counts as its JSON text).
pub const MAX_VALUE_CHARS: usize = 512;

/// `Ok` when `parameters` fit the limits; else the first field that does not.
pub fn check(parameters: &Map<String, Value>) -> OrchestratorResult<()> {
    let invalid = |field: String, message: String| OrchestratorError::Invalid { field, message };
    if parameters.len() > MAX_PARAMETERS {
        return Err(invalid(
            "parameters".into(),
            format!("at most {MAX_PARAMETERS} entries, not {}", parameters.len()),
        ));
    }
    for (name, value) in parameters {
        let shown: String = name.chars().take(40).collect();
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(invalid(
                format!("parameters.{shown}…"),
                format!("a name has at most {MAX_NAME_CHARS} characters"),
            ));
        }
        let chars = match value {
            Value::String(s) => s.chars().count(),
            other => other.to_string().chars().count(),
        };
        if chars > MAX_VALUE_CHARS {
            return Err(invalid(
                format!("parameters.{shown}"),
                format!("a value has at most {MAX_VALUE_CHARS} characters, not {chars}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn values_up_to_the_limits_pass() {
        let ok = map(json!({ "a": "x".repeat(MAX_VALUE_CHARS), "n": 3, "b": true }));
        assert!(check(&ok).is_ok());
        let wide = map(json!({ "é": "é".repeat(MAX_VALUE_CHARS) }));
        assert!(check(&wide).is_ok(), "characters are counted, not bytes");
    }

    #[test]
    fn a_long_value_names_its_parameter() {
        let long = map(json!({ "target": "x".repeat(MAX_VALUE_CHARS + 1) }));
        let e = check(&long).unwrap_err().to_string();
        assert!(e.starts_with("parameters.target: "), "{e}");
        let deep = map(json!({ "list": vec!["abcdefgh"; 100] }));
        assert!(check(&deep).is_err(), "a list is counted as its JSON text");
    }

    #[test]
    fn too_many_and_long_names_are_refused() {
        let many: Map<String, Value> = (0..=MAX_PARAMETERS)
            .map(|i| (format!("p{i}"), json!(i)))
            .collect();
        assert!(
            check(&many)
                .unwrap_err()
                .to_string()
                .starts_with("parameters: ")
        );
        let long_name = map(json!({ "n".repeat(MAX_NAME_CHARS + 1): 1 }));
        assert!(check(&long_name).is_err());
    }
}
