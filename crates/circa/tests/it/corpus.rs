//! Every real config of the corpus: it validates and processes (its processed output is a
//! snapshot), or it fails only because orbs it imports are not in the corpus registry — with the
//! exceptions listed, each with its reason, in `tests/corpus_exceptions.tsv`.

use super::corpus;
use circa::engine::{local_pipeline_values, process};
use circa::orb_dir::OrbDir;
use circa_config::{CompileOptions, diag};
use std::collections::BTreeMap;

fn exceptions() -> BTreeMap<String, String> {
    let text = include_str!("../corpus_exceptions.tsv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
        .map(|(f, why)| (f.to_string(), why.to_string()))
        .collect()
}

/// True when `message` says an orb reference (`namespace/name@version`) is not in the registry.
pub(crate) fn is_missing_orb(message: &str) -> bool {
    let Some(rest) = message.strip_prefix("orb `") else {
        return false;
    };
    let Some((reference, tail)) = rest.split_once('`') else {
        return false;
    };
    reference.contains('/') && reference.contains('@') && tail.starts_with(" not found")
}

#[test]
fn corpus_configs_process_or_fail_only_for_missing_orbs() {
    let root = corpus();
    let orbs = OrbDir::new(root.join("orbs"));
    let mut options = CompileOptions::new(&orbs);
    options.pipeline = local_pipeline_values(None, None);
    let exceptions = exceptions();
    let mut files: Vec<_> = std::fs::read_dir(root.join("configs"))
        .expect("configs")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "corpus has {} configs", files.len());
    let (mut processed_count, mut orb_missing_count) = (0, 0);
    for file in &files {
        let name = file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let bytes = std::fs::read(file).expect("read");
        let result = process(&bytes, &options);
        let errors: Vec<_> = result.diagnostics.iter().filter(|d| d.is_error()).collect();
        // Messages name the registry folder; where the corpus lives differs between machines.
        let rendered = diag::render(&name, &String::from_utf8_lossy(&bytes), &result.diagnostics)
            .replace(&root.display().to_string(), "<corpus>");
        if let Some(reason) = exceptions.get(&name) {
            assert!(
                !errors.is_empty() && errors.iter().any(|d| !is_missing_orb(&d.message)),
                "{name} is listed as an exception ({reason}) but no longer fails for another reason:\n{rendered}"
            );
            continue;
        }
        if errors.is_empty() {
            let yaml = result.compiled.processed_yaml().expect("processed");
            insta::assert_snapshot!(format!("processed__{name}"), yaml);
            processed_count += 1;
        } else {
            assert!(
                errors.iter().all(|d| is_missing_orb(&d.message)),
                "{name} fails for something other than a missing orb:\n{rendered}"
            );
            insta::assert_snapshot!(format!("missing_orbs__{name}"), rendered);
            orb_missing_count += 1;
        }
    }
    println!(
        "corpus: {processed_count} processed, {orb_missing_count} missing orbs only, {} listed exceptions",
        exceptions.len()
    );
    assert!(
        processed_count >= 20,
        "only {processed_count} corpus configs processed"
    );
}
