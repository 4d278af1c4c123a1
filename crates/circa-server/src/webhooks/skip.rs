//! CircleCI's `[ci skip]` rules.
//!
//! From CircleCI's "Skip CI and cancel workflows" page (circleci-docs,
//! `docs/guides/modules/orchestrate/pages/skip-build.adoc`, <https://circleci.com/docs/skip-build/>):
//! - the tags are `[ci skip]` and `[skip ci]`, found "within the first 250 characters of the body
//!   or title of the latest commit you pushed";
//! - only the latest (head) commit of a push counts, and it skips the whole push;
//! - "not supported for fork PRs": a pull request from a fork always builds.
//!
//! CircleCI's support article "Why is [ci skip] or [skip ci] not working?" adds that a build
//! "triggered via a tag" is not skipped, so tag pushes always build here too.
//!
//! The documentation lists the tags in lower case only and says nothing of other cases, so the
//! match is exact: `[CI SKIP]` does not skip. A tag counts when it lies wholly inside the first
//! 250 characters (Unicode scalar values) of the title (the first line) or of the body (the rest
//! of the message).
//!
//! Pull requests whose payload has no head commit message (GitHub, Gitea, Bitbucket) cannot be
//! checked here; the push of the same commit, which those forges also send for branches of the
//! same repository, is.

/// The tags that skip a pipeline.
pub const SKIP_TAGS: [&str; 2] = ["[ci skip]", "[skip ci]"];

/// How many characters at the start of the title and of the body are searched for a tag.
pub const SKIP_WINDOW: usize = 250;

/// The skip tag found in the title or the body of a commit message, if any.
pub fn skip_tag(subject: Option<&str>, body: Option<&str>) -> Option<&'static str> {
    [subject, body].into_iter().flatten().find_map(|text| {
        let window = prefix_chars(text, SKIP_WINDOW);
        SKIP_TAGS.into_iter().find(|tag| window.contains(tag))
    })
}

/// Splits a commit message into its title (first line) and body (what follows, without the
/// blank lines that separate it from the title and without trailing whitespace). Empty parts
/// are `None`.
pub fn split_message(message: &str) -> (Option<String>, Option<String>) {
    let (title, rest) = message.split_once('\n').unwrap_or((message, ""));
    let title = title.trim_end();
    let body = rest.trim_start_matches(['\r', '\n']).trim_end();
    let some = |s: &str| (!s.trim().is_empty()).then(|| s.to_owned());
    (some(title), some(body))
}

/// The first `n` characters of `s`.
fn prefix_chars(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skips(message: &str) -> Option<&'static str> {
        let (s, b) = split_message(message);
        skip_tag(s.as_deref(), b.as_deref())
    }

    #[test]
    fn tags_in_title_or_body_skip() {
        assert_eq!(skips("fix misspelling [ci skip]"), Some("[ci skip]"));
        assert_eq!(skips("[skip ci] docs"), Some("[skip ci]"));
        assert_eq!(
            skips(
                "A large feature with squashed commits\n\n[skip ci] Fix bug in feature\nRefactor feature code"
            ),
            Some("[skip ci]")
        );
    }

    #[test]
    fn no_tag_or_other_spellings_build() {
        assert_eq!(skips("fix the skip ci logic"), None);
        assert_eq!(skips("[ci-skip] and [skip-ci] and [ci  skip]"), None);
        assert_eq!(skips("[CI SKIP] shouting"), None);
        assert_eq!(skips("[Skip CI]"), None);
        assert_eq!(skips(""), None);
    }

    #[test]
    fn only_the_first_250_characters_of_each_part_count() {
        let pad = "x".repeat(241);
        // Ends at character 250: counts.
        assert_eq!(skips(&format!("{pad}[ci skip]")), Some("[ci skip]"));
        // Ends at character 251: does not.
        assert_eq!(skips(&format!("{pad}y[ci skip]")), None);
        // The body has its own window.
        assert_eq!(
            skips(&format!("{pad}yyyy\n\n{pad}[skip ci]")),
            Some("[skip ci]")
        );
        assert_eq!(skips(&format!("title\n\n{pad}yy[skip ci]")), None);
        // Characters, not bytes.
        let wide = "é".repeat(241);
        assert_eq!(skips(&format!("{wide}[ci skip]")), Some("[ci skip]"));
    }

    #[test]
    fn split_message_parts() {
        assert_eq!(split_message("one line\n"), (Some("one line".into()), None));
        assert_eq!(
            split_message("title\r\n\r\nbody line 1\nbody line 2\n\n"),
            (
                Some("title".into()),
                Some("body line 1\nbody line 2".into())
            )
        );
        assert_eq!(split_message("\n\nbody"), (None, Some("body".into())));
        assert_eq!(split_message("   "), (None, None));
    }
}
