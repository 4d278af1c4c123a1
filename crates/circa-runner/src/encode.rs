//! Names that travel in URLs and on disk: percent-encoded path segments, safe folder names.

use std::fmt::Write;

/// Percent-encodes one URL path segment: everything but RFC 3986's unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`) becomes `%XX`, so `/`, `?`, `#`, `%` and spaces stay inside it.
pub fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Percent-encodes a relative `/`-separated path segment by segment, or `None` when it has
/// no segment or a segment that URLs would fold away (`.`, `..`, empty).
pub fn path(rel: &str) -> Option<String> {
    let mut parts = Vec::new();
    for part in rel.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return None;
        }
        parts.push(segment(part));
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// A name made safe for a folder or file name (letters, digits, `-`, `_`, `.`; others become
/// `_`; never empty, never starting with `.`).
pub fn file_name(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with('.') {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_keep_unreserved_characters_only() {
        assert_eq!(segment("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(segment("a b/c?d#e%f"), "a%20b%2Fc%3Fd%23e%25f");
        assert_eq!(segment("é"), "%C3%A9");
    }

    #[test]
    fn paths_are_encoded_per_segment() {
        assert_eq!(
            path("reports/my file.html").as_deref(),
            Some("reports/my%20file.html")
        );
        assert_eq!(
            path("a/b+c/100%.txt").as_deref(),
            Some("a/b%2Bc/100%25.txt")
        );
        assert_eq!(path("x"), Some("x".to_string()));
    }

    #[test]
    fn paths_that_urls_would_fold_are_refused() {
        for bad in ["", "a//b", "../x", "a/./b", "a/", "/a"] {
            assert_eq!(path(bad), None, "{bad}");
        }
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_name("3f2a-b.c_d"), "3f2a-b.c_d");
        assert_eq!(file_name("a/b c"), "a_b_c");
        assert_eq!(file_name(".."), "_..");
        assert_eq!(file_name(""), "_");
    }
}
