//! Object keys: plain relative paths.

use object_store::path::Path;

use crate::error::BlobError;

/// The object path for `key`, if it is a plain relative path: not empty, not absolute, no
/// empty, `.` or `..` segments, no backslashes or control characters.
pub(super) fn object_path(key: &str) -> Result<Path, BlobError> {
    let invalid = || BlobError::InvalidKey(key.to_string());
    let plain_segments = key
        .split('/')
        .all(|segment| !matches!(segment, "" | "." | ".."));
    let plain_chars = !key.chars().any(|c| c == '\\' || c.is_control());
    if key.is_empty() || !plain_segments || !plain_chars {
        return Err(invalid());
    }
    Path::parse(key).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_relative_paths_are_keys() {
        for key in ["logs/t1/0.zst", "a", "artifacts/j/0/dir/file.txt", "x..y/z"] {
            assert_eq!(object_path(key).unwrap().as_ref(), key);
        }
    }

    #[test]
    fn other_keys_are_refused() {
        for key in [
            "", "/abs", "a//b", "a/", "../up", "a/../b", "./a", "a\\b", "a\nb",
        ] {
            assert!(
                matches!(object_path(key), Err(BlobError::InvalidKey(k)) if k == key),
                "{key:?}"
            );
        }
    }
}
