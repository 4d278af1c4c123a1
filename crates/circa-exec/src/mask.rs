//! Secret masking of streamed step output.
//!
//! Every occurrence of a secret value in the output is replaced by [`MASK`]. Output arrives
//! in arbitrary chunks, so a secret may be split across chunks: the masker holds back the
//! shortest tail that could still be the start of a secret (at most the longest secret's
//! length − 1 bytes) and emits everything else at once.
//!
//! Which values are masked follows CircleCI's documented rule (`secrets-masking.adoc`):
//! values shorter than 4 characters, and the values `true`, `True`, `false` and `False`,
//! are not masked — they would mangle ordinary output without protecting anything.
//!
//! A secret's base64 forms are masked too (standard and URL-safe alphabets): the whole
//! encoding with its padding, and for each of the three alignments a value can have inside a
//! longer encoded stream, the run of characters that depends on the secret alone. So
//! `echo "$TOKEN" | base64` or a secret inside an encoded credential does not show it. Forms
//! shorter than [`MIN_ENCODED_CHARS`] are left out, as they would match ordinary text.
//!
//! Matching is on bytes (binary output is fine) and leftmost-longest: at each position
//! the longest secret starting there is masked, and scanning resumes after it. Invariant:
//! the output of any chunking equals masking the whole text at once, because a decision at
//! a position is only taken once enough bytes are known to be final.

/// What a secret is replaced with.
pub const MASK: &[u8] = b"********";

/// Secrets shorter than this many characters are not masked.
pub const MIN_SECRET_CHARS: usize = 4;

/// Encoded forms shorter than this many characters are not masked.
pub const MIN_ENCODED_CHARS: usize = 8;

/// The base64 forms of a secret that [`Masker`] masks besides the secret itself.
pub fn encoded_forms(secret: &[u8]) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    let mut forms: Vec<Vec<u8>> = Vec::new();
    for engine in [&STANDARD, &URL_SAFE] {
        forms.push(engine.encode(secret).into_bytes());
        for offset in 0..3usize {
            let mut shifted = vec![0u8; offset];
            shifted.extend_from_slice(secret);
            let encoded = engine.encode(&shifted).into_bytes();
            // Whole groups of three bytes map to four characters; keep the groups made only
            // of the secret's bytes.
            let first = if offset == 0 { 0 } else { 4 };
            let end = shifted.len() / 3 * 4;
            if end > first {
                forms.push(encoded[first..end].to_vec());
            }
        }
    }
    forms.retain(|f| f.len() >= MIN_ENCODED_CHARS);
    forms.sort();
    forms.dedup();
    forms
}

/// A streaming secret masker for one output stream.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    /// Secrets and their encoded forms as bytes, deduplicated.
    secrets: Vec<Vec<u8>>,
    /// How many secrets were given (their encoded forms not counted).
    given: usize,
    /// `first[b]` is true when some secret starts with byte `b`.
    first: Vec<bool>,
    /// Bytes received but not yet emitted (a possible secret prefix).
    pending: Vec<u8>,
}

/// True when `value` is long enough and not a boolean word, per CircleCI's rule.
pub fn is_maskable(value: &str) -> bool {
    value.chars().count() >= MIN_SECRET_CHARS
        && !matches!(value, "true" | "True" | "false" | "False")
}

impl Masker {
    /// A masker for `secrets`; values that are not [`is_maskable`] are ignored.
    pub fn new(secrets: Vec<String>) -> Self {
        let mut m = Self {
            secrets: Vec::new(),
            given: 0,
            first: vec![false; 256],
            pending: Vec::new(),
        };
        for s in secrets {
            m.add_secret(s);
        }
        m
    }

    /// Adds a secret at run time; it applies to all output not yet emitted, including
    /// bytes currently held back. Values that are not [`is_maskable`] are ignored.
    pub fn add_secret(&mut self, secret: String) {
        if !is_maskable(&secret) {
            return;
        }
        let bytes = secret.into_bytes();
        if self.secrets.contains(&bytes) {
            return;
        }
        self.given += 1;
        let forms = encoded_forms(&bytes);
        self.add_pattern(bytes);
        for form in forms {
            self.add_pattern(form);
        }
    }

    /// Adds one byte string to mask.
    fn add_pattern(&mut self, bytes: Vec<u8>) {
        if bytes.is_empty() || self.secrets.contains(&bytes) {
            return;
        }
        if self.first.len() != 256 {
            self.first = vec![false; 256];
        }
        if let Some(&b) = bytes.first() {
            self.first[usize::from(b)] = true;
        }
        self.secrets.push(bytes);
    }

    /// Number of secrets being masked (not counting their encoded forms).
    pub fn len(&self) -> usize {
        self.given
    }

    /// True when no secret is being masked (output passes through unchanged).
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// Number of bytes currently held back (always less than the longest secret's length).
    pub fn held_back(&self) -> usize {
        self.pending.len()
    }

    /// Feeds a chunk of output and returns what can be emitted now, masked.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        if self.secrets.is_empty() && self.pending.is_empty() {
            return chunk.to_vec();
        }
        self.pending.extend_from_slice(chunk);
        self.drain(false)
    }

    /// Ends the stream: returns the held-back bytes, masked.
    pub fn finish(&mut self) -> Vec<u8> {
        self.drain(true)
    }

    /// Masks a whole text at once.
    pub fn mask_all(&self, text: &[u8]) -> Vec<u8> {
        let mut m = self.clone();
        m.pending.clear();
        let mut out = m.push(text);
        out.extend(m.finish());
        out
    }

    /// Scans `pending`, emitting masked output; keeps a possible secret prefix unless `last`.
    fn drain(&mut self, last: bool) -> Vec<u8> {
        let buf = std::mem::take(&mut self.pending);
        let mut out = Vec::with_capacity(buf.len());
        let mut i = 0;
        while i < buf.len() {
            let b = buf[i];
            if !self.first.get(usize::from(b)).copied().unwrap_or(false) {
                out.push(b);
                i += 1;
                continue;
            }
            let rest = &buf[i..];
            // A longer secret might still match once more bytes arrive: wait for them.
            if !last
                && self
                    .secrets
                    .iter()
                    .any(|s| s.len() > rest.len() && s.starts_with(rest))
            {
                self.pending = rest.to_vec();
                return out;
            }
            let longest = self
                .secrets
                .iter()
                .filter(|s| rest.starts_with(s))
                .map(Vec::len)
                .max();
            match longest {
                Some(len) => {
                    out.extend_from_slice(MASK);
                    i += len;
                }
                None => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masker(secrets: &[&str]) -> Masker {
        Masker::new(secrets.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn masks_whole_and_split_values() {
        let mut m = masker(&["hunter22"]);
        let mut out = m.push(b"pass: hun");
        assert_eq!(out, b"pass: ");
        out.extend(m.push(b"te"));
        out.extend(m.push(b"r22 ok"));
        out.extend(m.finish());
        assert_eq!(out, b"pass: ******** ok");
    }

    #[test]
    fn short_and_boolean_values_are_ignored() {
        let m = masker(&["abc", "true", "False", "", "abcd"]);
        assert_eq!(m.len(), 1);
        assert_eq!(m.mask_all(b"abc true abcd"), b"abc true ********");
    }

    #[test]
    fn overlapping_secrets_take_the_longest_leftmost() {
        let m = masker(&["abcd", "abcdef", "cdefgh"]);
        assert_eq!(m.mask_all(b"xabcdefghy"), b"x********ghy");
        let m = masker(&["abcd", "cdef"]);
        assert_eq!(m.mask_all(b"abcdef"), b"********ef");
    }

    #[test]
    fn unfinished_prefix_is_released_on_finish() {
        let mut m = masker(&["secret"]);
        assert_eq!(m.push(b"a secr"), b"a ");
        assert_eq!(m.finish(), b"secr");
    }

    #[test]
    fn binary_output() {
        let m = Masker::new(vec!["\u{0}\u{1}zz".to_owned()]);
        assert_eq!(m.mask_all(&[0xff, 0, 1, b'z', b'z', 0xfe]), {
            let mut v = vec![0xff];
            v.extend_from_slice(MASK);
            v.push(0xfe);
            v
        });
    }

    #[test]
    fn secret_added_at_run_time_covers_held_back_bytes() {
        let mut m = masker(&["tokenXYZ"]);
        let mut out = m.push(b"tok");
        m.add_secret("tokabc1".to_owned());
        out.extend(m.push(b"abc1!"));
        out.extend(m.finish());
        assert_eq!(out, b"********!");
    }

    #[test]
    fn no_secrets_passes_through() {
        let mut m = Masker::new(Vec::new());
        assert!(m.is_empty());
        assert_eq!(m.push(b"anything"), b"anything");
        assert!(m.finish().is_empty());
    }

    #[test]
    fn base64_forms_are_masked_at_every_alignment() {
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::STANDARD;
        let secret = "s3cr3t-Value_42!";
        let m = masker(&[secret]);
        // The whole encoding, as `printf %s "$S" | base64` prints it.
        let plain = engine.encode(secret);
        assert_eq!(m.mask_all(plain.as_bytes()), MASK);
        // Inside a longer encoded text, at each alignment: none of the characters that
        // depend only on the secret survive.
        for prefix in ["", "a", "ab", "user:", "user:x"] {
            for suffix in ["", "\n", "tail"] {
                let text = format!("{prefix}{secret}{suffix}");
                let encoded = engine.encode(&text);
                let masked = String::from_utf8(m.mask_all(encoded.as_bytes())).unwrap();
                assert!(masked.contains("********"), "{text}: {masked}");
                // The longest run of characters that came from the secret alone is gone.
                let core = &engine.encode(secret)[4..16];
                assert!(!masked.contains(core), "{text}: {masked}");
            }
        }
        // URL-safe alphabet too.
        let url = base64::engine::general_purpose::URL_SAFE.encode("??>>??>>secret");
        let m = masker(&["??>>??>>secret"]);
        assert_eq!(m.mask_all(url.as_bytes()), MASK);
    }

    #[test]
    fn base64_forms_hold_across_chunk_edges() {
        use base64::Engine as _;
        let secret = "another-secret-value";
        let encoded = base64::engine::general_purpose::STANDARD.encode(secret);
        let text = format!("start {encoded} and {secret} end");
        let whole = masker(&[secret]).mask_all(text.as_bytes());
        assert_eq!(whole, b"start ******** and ******** end");
        for cut in 0..text.len() {
            let mut m = masker(&[secret]);
            let mut out = m.push(&text.as_bytes()[..cut]);
            out.extend(m.push(&text.as_bytes()[cut..]));
            out.extend(m.finish());
            assert_eq!(out, whole, "cut at {cut}");
        }
    }

    #[test]
    fn short_secrets_get_no_encoded_forms() {
        // Only the padded whole encoding of a 4-byte secret is long enough.
        assert_eq!(encoded_forms(b"abcd"), vec![b"YWJjZA==".to_vec()]);
        assert!(!encoded_forms(b"abcdefgh").is_empty());
        assert!(
            encoded_forms(b"abcdefgh")
                .iter()
                .all(|f| f.len() >= MIN_ENCODED_CHARS)
        );
    }

    #[test]
    fn hold_back_is_bounded() {
        let mut m = masker(&["abcdefgh"]);
        let out = m.push(b"xxabcdefg");
        assert_eq!(out, b"xx");
        assert_eq!(m.pending.len(), 7);
    }
}
