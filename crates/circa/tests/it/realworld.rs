//! The real-world corpus (`tests/realworld`): CircleCI configs of public projects, processed
//! against an orb registry made of the shared corpus's orbs and `tests/realworld/orbs`. Every
//! config processes (with warnings where a linter would flag what CircleCI runs) or fails only
//! because orbs it imports are not in that registry. Configs CircleCI itself refuses are not in
//! the corpus; `tests/realworld/EXCLUDED.tsv` lists them with the reason.

use super::corpus::is_missing_orb;
use circa::engine::{local_pipeline_values, process};
use circa::orb_dir::OrbDir;
use circa_config::{CompileOptions, diag};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Configs whose processed output is snapshotted, chosen for variety: anchors and merge keys,
/// commands and executors with parameters, matrices, `when`/`unless`, scheduled workflows,
/// approvals, inline orbs, orb imports, setup configs, macOS and Windows executors, 2.0 and 2.1.
const SNAPSHOT_SAMPLE: &[&str] = &[
    "DataDog__dd-trace-rb.yml",
    "Moya__Moya.yml",
    "OpenAPITools__openapi-generator.yml",
    "api-platform__core.yml",
    "apollographql__apollo-client.yml",
    "checkstyle__checkstyle.yml",
    "clojure-emacs__cider-nrepl.yml",
    "elixir-circuits__circuits_gpio.yml",
    "emscripten-core__emscripten.yml",
    "facebook__facebook-ios-sdk.yml",
    "facebook__react-native.yml",
    "facebookresearch__ParlAI.yml",
    "facebookresearch__detectron2.yml",
    "gruntwork-io__cloud-nuke.yml",
    "gruntwork-io__terratest.yml",
    "hashicorp__terraform.yml",
    "hashicorp__vault-helm.yml",
    "influxdata__telegraf.yml",
    "matplotlib__matplotlib.yml",
    "mozilla__bigquery-etl.yml",
    "nipy__nipype.yml",
    "pandas-dev__pandas.yml",
    "scikit-learn__scikit-learn.yml",
    "sfackler__rust-openssl.yml",
    "solidusio__solidus.yml",
    "spotify__scio.yml",
    "stripe__stripe-ios.yml",
    "ucsd-progsys__liquidhaskell.yml",
    "yarnpkg__yarn.yml",
    "zio__zio.yml",
];

/// Fewest configs the corpus may hold.
const MIN_CONFIGS: usize = 250;
/// Smallest share of the corpus, in percent, that must process without any error.
const MIN_PROCESSED_PERCENT: usize = 60;

/// How one config fared.
enum Outcome {
    /// Processed without errors; the processed YAML.
    Processed(String),
    /// Failed, and every error is an orb missing from the registry.
    MissingOrbs,
    /// Failed for something else; the rendered diagnostics.
    Refused(String),
}

fn realworld() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/realworld")
}

/// Copies every `NAMESPACE/NAME/VERSION.yml` below `from` into `to`.
fn copy_orbs(from: &Path, to: &Path) {
    for namespace in std::fs::read_dir(from).expect("orb folder") {
        let namespace = namespace.expect("entry").path();
        if !namespace.is_dir() {
            continue;
        }
        for orb in std::fs::read_dir(&namespace).expect("namespace") {
            let orb = orb.expect("entry").path();
            let target = to
                .join(namespace.file_name().expect("namespace name"))
                .join(orb.file_name().expect("orb name"));
            std::fs::create_dir_all(&target).expect("create orb folder");
            for version in std::fs::read_dir(&orb).expect("orb") {
                let version = version.expect("entry").path();
                std::fs::copy(&version, target.join(version.file_name().expect("file")))
                    .expect("copy orb");
            }
        }
    }
}

fn outcome(path: &Path, options: &CompileOptions) -> Outcome {
    let name = path.file_name().expect("name").to_string_lossy();
    let bytes = std::fs::read(path).expect("read config");
    let result = process(&bytes, options);
    let errors: Vec<_> = result.diagnostics.iter().filter(|d| d.is_error()).collect();
    if errors.is_empty() {
        return Outcome::Processed(result.compiled.processed_yaml().expect("processed"));
    }
    if errors.iter().all(|d| is_missing_orb(&d.message)) {
        return Outcome::MissingOrbs;
    }
    let source = String::from_utf8_lossy(&bytes);
    Outcome::Refused(diag::render(&name, &source, &result.diagnostics))
}

fn config_files() -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(realworld().join("configs"))
        .expect("configs")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    files.sort();
    files
}

#[test]
fn realworld_configs_process_or_fail_only_for_missing_orbs() {
    let registry = tempfile::tempdir().expect("temp dir");
    copy_orbs(&super::corpus().join("orbs"), registry.path());
    copy_orbs(&realworld().join("orbs"), registry.path());
    let orbs = OrbDir::new(registry.path());
    let mut options = CompileOptions::new(&orbs);
    options.pipeline = local_pipeline_values(None, None);
    let files = config_files();
    assert!(
        files.len() >= MIN_CONFIGS,
        "corpus has {} configs",
        files.len()
    );
    let (mut processed, mut missing_orbs) = (BTreeMap::new(), 0);
    for path in &files {
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        match outcome(path, &options) {
            Outcome::Refused(rendered) => {
                panic!("{name} fails for something other than a missing orb:\n{rendered}")
            }
            Outcome::MissingOrbs => missing_orbs += 1,
            Outcome::Processed(yaml) => {
                processed.insert(name, yaml);
            }
        }
    }
    println!(
        "realworld: {} configs, {} processed, {missing_orbs} missing orbs only",
        files.len(),
        processed.len()
    );
    for name in SNAPSHOT_SAMPLE {
        let yaml = processed
            .get(*name)
            .unwrap_or_else(|| panic!("sample config {name} did not process"));
        insta::assert_snapshot!(format!("processed__{name}"), yaml);
    }
    assert!(
        processed.len() * 100 >= MIN_PROCESSED_PERCENT * files.len(),
        "only {} of {} real-world configs processed",
        processed.len(),
        files.len()
    );
}

#[test]
fn missing_orb_messages_are_recognised_by_their_shape() {
    assert!(is_missing_orb(
        "orb `circleci/bats@1.0.0` not found (no folder circleci/bats in /tmp/orbs)"
    ));
    assert!(is_missing_orb(
        "orb `circleci/jq@3.0.2` not found in /tmp/orbs/circleci/jq: available versions are 2.2, 3.0"
    ));
    assert!(!is_missing_orb("orb `circleci/jq@3.0.2` has no job `x`"));
    assert!(!is_missing_orb("unknown step or command `docker/build`"));
    assert!(!is_missing_orb("orb `jq` not found"));
}
