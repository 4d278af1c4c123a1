//! Secret masking: any chunking gives the same output as masking the whole text.

use circa_exec::mask::Masker;
use proptest::prelude::*;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Splits `text` at the given cut points (taken modulo its length).
fn chunks(text: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|c| {
            if text.is_empty() {
                0
            } else {
                c % (text.len() + 1)
            }
        })
        .collect();
    points.push(0);
    points.push(text.len());
    points.sort_unstable();
    points
        .windows(2)
        .map(|w| text[w[0]..w[1]].to_vec())
        .collect()
}

proptest! {
    #[test]
    fn chunked_equals_whole_and_hides_secrets(
        secrets in prop::collection::vec("[abc]{1,7}", 0..5),
        pieces in prop::collection::vec(prop_oneof!["[abcx ]{0,6}", "[abc]{4,7}"], 0..12),
        cuts in prop::collection::vec(any::<usize>(), 0..10),
        late in prop::option::of("[abc]{4,6}"),
    ) {
        // Make secrets appear in the text, including next to each other.
        let mut text = Vec::new();
        for (i, p) in pieces.iter().enumerate() {
            text.extend_from_slice(p.as_bytes());
            if let Some(s) = secrets.get(i % (secrets.len().max(1)))
                && i.is_multiple_of(2)
            {
                text.extend_from_slice(s.as_bytes());
            }
        }
        let whole = Masker::new(secrets.clone()).mask_all(&text);

        let mut m = Masker::new(secrets.clone());
        let mut out = Vec::new();
        for chunk in chunks(&text, &cuts) {
            out.extend(m.push(&chunk));
        }
        out.extend(m.finish());
        prop_assert_eq!(&out, &whole);

        for s in secrets.iter().filter(|s| s.len() >= 4) {
            prop_assert!(!contains(&out, s.as_bytes()), "{s} in {:?}", String::from_utf8_lossy(&out));
        }
        // Unmasked text is unchanged.
        if secrets.iter().all(|s| s.len() < 4) {
            prop_assert_eq!(&out, &text);
        }

        // A secret added before any output behaves like one given up front.
        if let Some(late) = late {
            let mut m = Masker::new(secrets.clone());
            m.add_secret(late.clone());
            let mut all = secrets.clone();
            all.push(late);
            let mut out = Vec::new();
            for chunk in chunks(&text, &cuts) {
                out.extend(m.push(&chunk));
            }
            out.extend(m.finish());
            prop_assert_eq!(out, Masker::new(all).mask_all(&text));
        }
    }

    #[test]
    fn hold_back_never_exceeds_longest_secret(
        secrets in prop::collection::vec("[ab]{4,9}", 1..4),
        text in prop::collection::vec(prop::sample::select(vec![b'a', b'b', 0u8, 0xff]), 0..200),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let longest = secrets.iter().map(String::len).max().unwrap_or(0);
        let mut m = Masker::new(secrets);
        for chunk in chunks(&text, &cuts) {
            let _ = m.push(&chunk);
            prop_assert!(m.held_back() < longest, "held back {} bytes", m.held_back());
        }
        let _ = m.finish();
        prop_assert_eq!(m.held_back(), 0);
    }
}
