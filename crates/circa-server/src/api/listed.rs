//! What a list page carries of each pipeline's trigger parameters and errors: at most
//! [`LISTED_PARAMETER_BYTES`] and [`LISTED_ERROR_BYTES`] of text, so a page's size is bounded
//! whatever was stored (a pipeline's own route has them whole). Parameters are taken in order
//! while they fit: a text value longer than what is left is cut and ends with `…`, any other
//! value that does not fit is left out, as is everything after it; error messages likewise.

use std::borrow::Cow;

use circa_store::PipelineError;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};

/// Most bytes of parameter names and values one listed pipeline carries.
pub const LISTED_PARAMETER_BYTES: usize = 16 * 1024;
/// Most bytes of error messages one listed pipeline carries.
pub const LISTED_ERROR_BYTES: usize = 16 * 1024;

/// The marker that ends a cut text.
const CUT: &str = "…";

/// `text` within `max` bytes: whole, or cut at a character boundary and ended with `…`.
fn cut(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max.saturating_sub(CUT.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}{CUT}", &text[..end]))
}

/// A pipeline's parameters as a list page carries them.
pub struct ListedParameters<'a>(pub &'a Map<String, Value>);

impl Serialize for ListedParameters<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut left = LISTED_PARAMETER_BYTES;
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in self.0 {
            let Some(room) = left.checked_sub(name.len()) else {
                break;
            };
            let used = match value {
                Value::String(text) => {
                    if text.len() > room && room < CUT.len() {
                        break;
                    }
                    let text = cut(text, room);
                    map.serialize_entry(name, &text)?;
                    text.len()
                }
                other => {
                    let size = other.to_string().len();
                    if size > room {
                        break;
                    }
                    map.serialize_entry(name, other)?;
                    size
                }
            };
            left = room - used;
        }
        map.end()
    }
}

/// A pipeline's errors as a list page carries them.
pub struct ListedErrors<'a>(pub &'a [PipelineError]);

impl Serialize for ListedErrors<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut left = LISTED_ERROR_BYTES;
        let mut seq = serializer.serialize_seq(None)?;
        for error in self.0 {
            if left == 0 {
                break;
            }
            let message = cut(&error.message, left);
            left -= message.len().min(left);
            seq.serialize_element(&PipelineError {
                kind: error.kind,
                message: message.into_owned(),
            })?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn small_parameters_and_errors_are_listed_whole() {
        let params = json!({ "a": "x", "n": 3, "b": true });
        let listed = serde_json::to_value(ListedParameters(params.as_object().unwrap())).unwrap();
        assert_eq!(listed, params);
        let errors = vec![PipelineError {
            kind: circa_store::PipelineErrorKind::Config,
            message: "line 3: bad".into(),
        }];
        let listed = serde_json::to_value(ListedErrors(&errors)).unwrap();
        assert_eq!(
            listed,
            json!([{ "type": "config", "message": "line 3: bad" }])
        );
    }

    #[test]
    fn a_listed_pipeline_carries_a_bounded_size_whatever_was_stored() {
        let mut params = Map::new();
        for i in 0..20 {
            params.insert(format!("p{i}"), json!("é".repeat(4 * 1024 * 1024)));
        }
        params.insert("list".into(), json!(vec![1; 100_000]));
        let listed = serde_json::to_string(&ListedParameters(&params)).unwrap();
        assert!(
            listed.len() <= LISTED_PARAMETER_BYTES + 64,
            "{}",
            listed.len()
        );
        assert!(listed.contains(CUT), "the first value is cut and marked");
        let errors: Vec<PipelineError> = (0..100)
            .map(|_| PipelineError {
                kind: circa_store::PipelineErrorKind::Config,
                message: "x".repeat(1024 * 1024),
            })
            .collect();
        let listed = serde_json::to_string(&ListedErrors(&errors)).unwrap();
        assert!(listed.len() <= LISTED_ERROR_BYTES + 64, "{}", listed.len());
    }

    #[test]
    fn cuts_fall_on_character_boundaries() {
        assert_eq!(cut("héllo", 100), "héllo");
        let text = "é".repeat(10);
        let cut_text = cut(&text, 8);
        assert!(cut_text.len() <= 8 && cut_text.ends_with(CUT), "{cut_text}");
    }
}
