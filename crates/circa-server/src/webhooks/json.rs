//! Reading fields out of a payload by dotted path, with errors that name the path.

use serde_json::Value;

use super::WebhookError;

/// A field that is absent or not what a build needs.
#[derive(Debug)]
pub(super) struct FieldError {
    path: String,
    expected: &'static str,
}

impl FieldError {
    pub(super) fn new(path: impl Into<String>, expected: &'static str) -> Self {
        FieldError {
            path: path.into(),
            expected,
        }
    }

    /// The same error for a value found under `prefix` (e.g. `push.changes[2].new`).
    pub(super) fn under(self, prefix: &str) -> Self {
        FieldError {
            path: format!("{prefix}.{}", self.path),
            expected: self.expected,
        }
    }
}

impl From<FieldError> for WebhookError {
    fn from(e: FieldError) -> Self {
        WebhookError::malformed(format!(
            "field `{}` is missing or not {}",
            e.path, e.expected
        ))
    }
}

/// The body as JSON, which must be an object.
pub(super) fn parse_body(body: &[u8]) -> Result<Value, WebhookError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| WebhookError::malformed(format!("body is not JSON: {e}")))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(WebhookError::malformed("body is not a JSON object"))
    }
}

/// The value at a dotted path; `None` when absent or `null`.
pub(super) fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(v, |v, key| v.get(key))
        .filter(|v| !v.is_null())
}

/// The string at a dotted path, if it is one and is not empty.
pub(super) fn opt_str<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    get(v, path)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The non-empty string at a dotted path.
pub(super) fn req_str<'a>(v: &'a Value, path: &str) -> Result<&'a str, FieldError> {
    opt_str(v, path).ok_or_else(|| FieldError::new(path, "a non-empty string"))
}

/// The first non-empty string among `paths`; the error names the first path.
pub(super) fn first_str<'a>(v: &'a Value, paths: &[&str]) -> Result<&'a str, FieldError> {
    paths.iter().find_map(|p| opt_str(v, p)).ok_or_else(|| {
        FieldError::new(
            paths.first().copied().unwrap_or_default(),
            "a non-empty string",
        )
    })
}

/// The unsigned integer at a dotted path.
pub(super) fn req_u64(v: &Value, path: &str) -> Result<u64, FieldError> {
    get(v, path)
        .and_then(Value::as_u64)
        .ok_or_else(|| FieldError::new(path, "a non-negative integer"))
}

/// The boolean at a dotted path.
pub(super) fn opt_bool(v: &Value, path: &str) -> Option<bool> {
    get(v, path).and_then(Value::as_bool)
}

/// Whether the values at two paths are both present and equal; `None` when either is absent.
pub(super) fn same(v: &Value, a: &str, b: &str) -> Option<bool> {
    Some(get(v, a)? == get(v, b)?)
}

/// The commit hash at a dotted path: hex digits, at least `min_len` and at most 64 of them
/// (SHA-256 repositories). Returned as written.
pub(super) fn req_hash(v: &Value, path: &str, min_len: usize) -> Result<String, FieldError> {
    let s = opt_str(v, path).unwrap_or_default();
    if is_hash(s, min_len) {
        Ok(s.to_owned())
    } else {
        Err(FieldError::new(path, "a commit hash"))
    }
}

/// Whether `s` is a commit hash of `min_len` to 64 hex digits.
pub(super) fn is_hash(s: &str, min_len: usize) -> bool {
    (min_len..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The distinct non-empty strings at `paths`, in order.
pub(super) fn urls(v: &Value, paths: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in paths {
        if let Some(s) = opt_str(v, p)
            && !out.iter().any(|o| o == s)
        {
            out.push(s.to_owned());
        }
    }
    out
}

/// [`urls`], or an error naming the first path when there are none.
pub(super) fn req_urls(v: &Value, paths: &[&str]) -> Result<Vec<String>, FieldError> {
    let out = urls(v, paths);
    if out.is_empty() {
        Err(FieldError::new(
            paths.first().copied().unwrap_or_default(),
            "a repository URL",
        ))
    } else {
        Ok(out)
    }
}
