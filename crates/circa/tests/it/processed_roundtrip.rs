//! `circa config process` output taken back, as CircleCI's CLI users do: `config validate`
//! accepts it, processing it again gives the same text, and `local execute -c` runs its jobs.

use super::corpus;
use super::local::{Repo, text};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Real configs of the shared corpus, chosen for orbs (node, cypress, aws-cli, codecov),
/// matrices with dotted names, anchors and merge keys, and 2.0 configs.
const CORPUS_SAMPLE: &[&str] = &[
    "CircleCI-Public__circleci-config-sdk-ts.yml",
    "cypress-io__cypress-realworld-app.yml",
    "CircleCI-Public__cd-config-examples__deploy_markers_aws_lambda_config.yml",
    "jestjs__jest.yml",
    "CircleCI-Public__circleci-cli.yml",
    "hashicorp__nomad.yml",
    "numpy__numpy.yml",
    "vuejs__vue.yml",
    "saleor__saleor.yml",
];

/// What processing leaves in the output that the processed config must take back: an orb's
/// job under `alias/job`, matrix names with dots, `\<<` escapes, a job whose only step a
/// `when` left out, pre-steps, approvals and scheduled triggers.
pub const FEATURES: &str = r#"
version: 2.1
orbs:
  tools:
    jobs:
      greet:
        parameters:
          who: {type: string, default: there}
        machine: true
        steps:
          - run: echo "hi << parameters.who >>"
parameters:
  deploy: {type: boolean, default: false}
jobs:
  test:
    parameters:
      v: {type: string}
    machine: true
    steps:
      - run: echo "v << parameters.v >> and \<< parameters.literal >>"
      - when:
          condition: << pipeline.parameters.deploy >>
          steps: [{run: echo deploying}]
  quiet:
    machine: true
    steps:
      - when:
          condition: << pipeline.parameters.deploy >>
          steps: [{run: echo deploying}]
workflows:
  main:
    jobs:
      - tools/greet
      - tools/greet: {name: greet-two, who: two}
      - quiet
      - test:
          matrix:
            parameters:
              v: ["1.21", "1.22"]
          requires: [tools/greet]
          pre-steps: [{run: echo pre}]
      - hold: {type: approval, requires: [test]}
  nightly:
    triggers:
      - schedule: {cron: "0 3 * * *", filters: {branches: {only: main}}}
    jobs: [quiet]
"#;

fn circa(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_circa"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("CIRCA_LOCAL_DIR")
        .output()
        .unwrap()
}

/// Processes `config` (with orbs from `orbs`), writes the output beside it, and checks that it
/// validates and processes to the same text; returns the processed file.
fn round_trip(config: &Path, orbs: &Path, out_dir: &Path) -> PathBuf {
    let name = config.file_name().unwrap().to_string_lossy().into_owned();
    let orb_dir = orbs.to_str().unwrap();
    let first = circa(
        &[
            "config",
            "process",
            "--orb-dir",
            orb_dir,
            config.to_str().unwrap(),
        ],
        out_dir,
    );
    assert_eq!(first.status.code(), Some(0), "{name}: {}", text(&first));
    let processed = out_dir.join(format!("processed-{name}"));
    std::fs::write(&processed, &first.stdout).unwrap();
    let shown = processed.to_str().unwrap();
    let valid = circa(
        &["config", "validate", "--orb-dir", orb_dir, shown],
        out_dir,
    );
    assert_eq!(valid.status.code(), Some(0), "{name}: {}", text(&valid));
    assert_eq!(
        String::from_utf8_lossy(&valid.stdout),
        format!("Config file at {shown} is valid.\n")
    );
    let again = circa(&["config", "process", "--orb-dir", orb_dir, shown], out_dir);
    assert_eq!(again.status.code(), Some(0), "{name}: {}", text(&again));
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        String::from_utf8_lossy(&first.stdout),
        "{name}: processing the processed config changed it"
    );
    processed
}

#[test]
fn processed_configs_validate_and_process_to_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let orbs = corpus().join("orbs");
    let mut configs: Vec<PathBuf> = CORPUS_SAMPLE
        .iter()
        .map(|name| corpus().join("configs").join(name))
        .collect();
    configs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/local/config.yml"));
    let features = dir.path().join("features.yml");
    std::fs::write(&features, FEATURES).unwrap();
    configs.push(features);
    for config in &configs {
        round_trip(config, &orbs, dir.path());
    }
    let processed = std::fs::read_to_string(dir.path().join("processed-features.yml")).unwrap();
    for kept in [
        "  tools/greet:",
        "  test-1.21:",
        "echo \"v 1.21 and << parameters.literal >>\"",
        "  quiet:\n    machine: true\n    steps: []",
    ] {
        assert!(processed.contains(kept), "{kept:?} not in\n{processed}");
    }
}

#[test]
fn local_execute_runs_jobs_from_a_processed_config() {
    let repo = Repo::new(FEATURES);
    let empty_orbs = tempfile::tempdir().unwrap();
    let processed = round_trip(
        &repo.path().join(".circleci/config.yml"),
        empty_orbs.path(),
        repo.path(),
    );
    let shown = processed.to_str().unwrap();
    for (job, says) in [
        ("test-1.22", "pre\nv 1.22 and << parameters.literal >>\n"),
        ("tools/greet", "hi there\n"),
        ("greet-two", "hi two\n"),
    ] {
        let out = repo.execute(&["-c", shown, "--job", job, "--json"]);
        assert_eq!(out.status.code(), Some(0), "{job}: {}", text(&out));
        let printed: String = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|e| e["event"] == "output")
            .filter_map(|e| e["text"].as_str().map(str::to_string))
            .collect();
        assert_eq!(printed, says, "{job}");
    }
    let out = repo.execute(&["-c", shown, "quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("`steps` of job `quiet` is empty; the job runs nothing"));

    // The README's example, processed, runs its build job.
    let top = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let work = tempfile::tempdir().unwrap();
    let example = round_trip(
        &top.join("examples/local/config.yml"),
        empty_orbs.path(),
        work.path(),
    );
    let data = work.path().join("data");
    let out = circa(
        &[
            "local",
            "execute",
            "--job",
            "build",
            "-c",
            example.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &top,
    );
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("BASH_ENV carried BUILD_ID=demo-"), "{log}");
}
