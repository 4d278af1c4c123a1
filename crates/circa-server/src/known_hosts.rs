//! `known_hosts` lines as an admin gives them: each non-blank line that is not a comment must
//! be an OpenSSH `known_hosts` entry (host patterns, key type, base64 key, optional comment,
//! optional `@cert-authority`/`@revoked` marker), read with the `ssh-key` crate.

use std::str::FromStr;

use ssh_key::known_hosts::Entry;

/// The most lines a project's known hosts may hold.
pub const MAX_LINES: usize = 1000;

/// Why given `known_hosts` text was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KnownHostsError {
    /// A line is not an entry (1-based, as an editor counts).
    #[error("known_hosts: line {line} is not a known_hosts entry ({reason}): {text:?}")]
    BadLine {
        /// The line's number.
        line: usize,
        /// What the parser said.
        reason: String,
        /// The line, cut to 80 characters.
        text: String,
    },
    /// Too many lines.
    #[error("known_hosts: at most {MAX_LINES} lines")]
    TooMany,
}

/// The entries of `text`, trimmed, blank lines and comments left out.
pub fn parse(text: &str) -> Result<Vec<String>, KnownHostsError> {
    let mut lines = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Err(e) = Entry::from_str(line) {
            return Err(KnownHostsError::BadLine {
                line: n + 1,
                reason: e.to_string(),
                text: line.chars().take(80).collect(),
            });
        }
        if lines.len() == MAX_LINES {
            return Err(KnownHostsError::TooMany);
        }
        lines.push(line.to_string());
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINIRALENFJ7rqqsgW8q9aVFPAlUs+lwwMbWVKwJnQ36W";

    #[test]
    fn entries_are_kept_and_comments_dropped() {
        let text = format!(
            "# github\n\n[127.0.0.1]:2222 {KEY}\n  github.com,140.82.112.3 {KEY} a comment \n\
             @cert-authority *.example.com {KEY}\n|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg= {KEY}\n"
        );
        let lines = parse(&text).unwrap();
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(lines[0], format!("[127.0.0.1]:2222 {KEY}"));
        assert_eq!(lines[1], format!("github.com,140.82.112.3 {KEY} a comment"));
        assert_eq!(parse("").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn a_bad_line_is_named() {
        let text = format!("h1 {KEY}\nh2 ssh-ed25519 not-base64!\n");
        let e = parse(&text).unwrap_err();
        assert!(
            matches!(&e, KnownHostsError::BadLine { line: 2, text, .. } if text.starts_with("h2 ")),
            "{e:?}"
        );
        assert!(e.to_string().starts_with("known_hosts: line 2 "), "{e}");
        for bad in ["just-a-host", "h1 ssh-ed25519", "h1 not-a-type AAAA"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let many = format!("h {KEY}\n").repeat(MAX_LINES + 1);
        assert_eq!(parse(&many), Err(KnownHostsError::TooMany));
    }
}
