//! The language server's cases (`corpus/language-server`) through the whole engine: each
//! config's verdict (valid, warning-only, invalid) and, for errors, the words of its message.
//! Cases Circa judges differently are listed with the reason in
//! `tests/language_server_differences.tsv`.

use crate::corpus;
use circa::engine::{self, Processed};
use circa::orb_dir::OrbDir;
use circa_config::CompileOptions;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Least share of cases the engine must classify as the language server does.
const MIN_PASS_RATE: f64 = 0.90;

/// Rows of a tab-separated file, skipping comments and blank lines.
fn rows(path: &Path) -> Vec<Vec<String>> {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

fn differences_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/language_server_differences.tsv")
}

/// Words that carry no meaning of their own in an expected message; the rest must appear.
const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "is", "be", "for", "in", "of", "to", "on", "with", "and", "or", "but", "not",
    "can", "only", "this", "that", "it", "use", "must", "found", "please", "here",
];

/// The key words of one expected message part, lowercased.
fn key_words(part: &str) -> Vec<String> {
    part.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '.'))
        .map(|w| w.trim_matches(|c| c == '.' || c == '-').to_lowercase())
        .filter(|w| !w.is_empty() && !STOP_WORDS.contains(&w.as_str()))
        .collect()
}

/// Processes one case the way `circa config validate` does.
fn process(path: &Path, orbs: &OrbDir) -> Processed {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut options = CompileOptions::new(orbs);
    options.pipeline = engine::local_pipeline_values(None, None);
    engine::process(&bytes, &options)
}

/// Why a case is misclassified, or `None` when Circa agrees with the language server.
fn judge(processed: &Processed, expected: &str, severity: &str, message: &str) -> Option<String> {
    let errors: Vec<String> = processed
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.to_lowercase())
        .collect();
    match expected {
        "valid" | "warning-only" if errors.is_empty() => None,
        "valid" | "warning-only" => Some(format!("errors: {}", errors.join(" / "))),
        "invalid" if errors.is_empty() => Some("no error".to_string()),
        "invalid" if severity != "error" || message.is_empty() => None,
        "invalid" => {
            let unmatched: Vec<&str> = message
                .split(" | ")
                .filter(|part| {
                    let words = key_words(part);
                    !errors
                        .iter()
                        .any(|e| words.iter().all(|w| e.contains(w.as_str())))
                })
                .collect();
            (!unmatched.is_empty()).then(|| {
                format!(
                    "no error says {unmatched:?}; errors: {}",
                    errors.join(" / ")
                )
            })
        }
        other => panic!("unknown verdict `{other}`"),
    }
}

#[test]
fn language_server_verdicts() {
    let dir = corpus().join("language-server");
    let orbs = OrbDir::new(corpus().join("orbs"));
    let listed: BTreeMap<String, String> = rows(&differences_file())
        .into_iter()
        .skip(1)
        .map(|r| {
            assert_eq!(r.len(), 3, "file, our verdict, reason: {r:?}");
            assert!(
                matches!(r[1].as_str(), "valid" | "invalid") && !r[2].trim().is_empty(),
                "{r:?}"
            );
            (r[0].clone(), r[1].clone())
        })
        .collect();
    let verdicts = rows(&dir.join("verdicts.tsv"));
    assert_eq!(
        verdicts[0][..4],
        ["file", "expected", "severity", "message"]
    );
    let mut passed = 0;
    let mut unlisted = String::new();
    let mut misclassified = Vec::new();
    for row in &verdicts[1..] {
        let (file, expected, severity, message) = (&row[0], &row[1], &row[2], &row[3]);
        let processed = process(&dir.join("cases").join(file), &orbs);
        match judge(&processed, expected, severity, message) {
            None => passed += 1,
            Some(why) => {
                misclassified.push(file.clone());
                let ours = if processed.is_valid() {
                    "valid"
                } else {
                    "invalid"
                };
                match listed.get(file) {
                    None => unlisted.push_str(&format!("{file}: expected {expected}; {why}\n")),
                    Some(said) if said != ours => unlisted.push_str(&format!(
                        "{file}: listed as judged {said}, but Circa judges it {ours}; {why}\n"
                    )),
                    Some(_) => {}
                }
            }
        }
    }
    let total = verdicts.len() - 1;
    let rate = passed as f64 / total as f64;
    println!(
        "language-server verdicts: {passed}/{total} classified as the language server does ({:.1}%)",
        rate * 100.0
    );
    let stale: Vec<&String> = listed
        .keys()
        .filter(|f| !misclassified.contains(f))
        .collect();
    assert!(
        unlisted.is_empty(),
        "misclassified but not in {}:\n{unlisted}",
        differences_file().display()
    );
    assert!(
        stale.is_empty(),
        "listed as differences but classified correctly: {stale:?}"
    );
    assert!(rate >= MIN_PASS_RATE, "{passed}/{total} pass");
}
