//! What CircleCI runs although a linter flags it: each class of leniency through the binary.
//! `circa config validate` exits 0 with a warning at the line and column of the thing flagged,
//! `circa config process` processes it, `--strict` refuses it with an error at the same place,
//! and a job of such a config runs with `circa local execute`.

use crate::local::{Repo, text};
use std::path::Path;
use std::process::{Command, Output};

/// Runs `circa config ARGS` with an empty orb registry.
fn config(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_circa"))
        .arg("config")
        .args(args)
        .env("CIRCA_ORB_DIR", dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run circa")
}

/// A config CircleCI runs: valid with a warning at each `(line, col, words)`, refused under
/// `--strict` at the same places, processed into YAML containing every item of `processed`.
fn lenient(label: &str, yaml: &str, warnings: &[(u32, u32, &str)], processed: &[&str]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.yml");
    std::fs::write(&path, yaml).expect("write");
    let shown = path.display().to_string();

    let out = config(&["validate", &shown], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{label}: {stderr}");
    assert!(!stderr.contains(": error: "), "{label}: {stderr}");
    for (line, col, words) in warnings {
        let prefix = format!("{shown}:{line}:{col}: warning: ");
        let found = stderr
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("{label}: no warning at {line}:{col} in\n{stderr}"));
        assert!(found.contains(words), "{label}: `{words}` not in {found}");
    }

    let strict = config(&["validate", "--strict", &shown], dir.path());
    let strict_err = String::from_utf8_lossy(&strict.stderr);
    assert_eq!(
        strict.status.code(),
        Some(1),
        "{label} --strict: {strict_err}"
    );
    for (line, col, _) in warnings {
        let prefix = format!("{shown}:{line}:{col}: error: ");
        assert!(
            strict_err.lines().any(|l| l.starts_with(&prefix)),
            "{label} --strict: no error at {line}:{col} in\n{strict_err}"
        );
    }

    let out = config(&["process", &shown], dir.path());
    let yaml_out = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{label} process: {}",
        text(&out)
    );
    for item in processed {
        assert!(
            yaml_out.contains(item),
            "{label}: `{item}` not in\n{yaml_out}"
        );
    }
}

#[test]
fn unknown_keys_inside_built_in_steps_and_docker_images_are_ignored() {
    lenient(
        "unknown keys",
        "version: 2.1
jobs:
  build:
    docker:
      - image: cimg/base:2024.01
        ports: [\"8080:8080\"]
    steps:
      - checkout:
          directory: src
      - restore_cache:
          key: v1
          paths: [node_modules]
      - attach_workspace:
          at: .
          paths: [dist]
      - when:
          name: Only on main
          condition: true
          steps: [{run: echo on main}]
workflows:
  main:
    description: Every push
    jobs: [build]
",
        &[
            (
                6,
                9,
                "unknown key `ports` in docker image; CircleCI ignores it",
            ),
            (9, 11, "unknown key `directory` in step `checkout`"),
            (12, 11, "unknown key `paths` in step `restore_cache`"),
            (15, 11, "unknown key `paths` in step `attach_workspace`"),
            (17, 11, "unknown key `name` in step `when`"),
            (22, 5, "unknown key `description` in workflow `main`"),
        ],
        &["restore_cache:\n          key: v1"],
    );
}

#[test]
fn job_names_with_dots_and_colons_run() {
    lenient(
        "job names 2.1",
        "version: 2.1
jobs:
  ruby-2.7-spec:
    docker: [{image: ruby}]
    steps: [checkout]
  py3.11:
    docker: [{image: python}]
    steps: [checkout]
workflows:
  main:
    jobs:
      - ruby-2.7-spec
      - py3.11:
          requires: [ruby-2.7-spec]
",
        &[
            (
                3,
                3,
                "job name `ruby-2.7-spec` is outside the recommended pattern",
            ),
            (6, 3, "job name `py3.11`"),
        ],
        &["- py3.11:\n          requires:\n            - ruby-2.7-spec"],
    );
    lenient(
        "job names 2.0",
        "version: 2
jobs:
  golang:1.21:
    docker: [{image: golang}]
    steps: [checkout]
workflows:
  version: 2
  main:
    jobs: [\"golang:1.21\"]
",
        &[(3, 3, "job name `golang:1.21`")],
        &["golang:1.21:"],
    );
}

#[test]
fn a_single_string_where_a_list_is_documented_is_a_one_item_list() {
    lenient(
        "string for list",
        "version: 2.1
jobs:
  build:
    docker: [{image: a}]
    steps:
      - add_ssh_keys:
          fingerprints: \"aa:bb:cc\"
      - save_cache:
          key: v1
          paths: node_modules
      - restore_cache:
          keys: v1
  deploy:
    docker: [{image: a}]
    steps: [checkout]
workflows:
  main:
    jobs:
      - build:
          context: org-global
          filters:
            branches:
              only: main
      - deploy:
          requires: build
",
        &[
            (
                7,
                25,
                "`fingerprints` of step `add_ssh_keys` in job `build` should be a list",
            ),
            (10, 18, "`paths` of step `save_cache`"),
            (12, 17, "`keys` of step `restore_cache`"),
        ],
        &["fingerprints: aa:bb:cc", "requires:\n            - build"],
    );
}

#[test]
fn yaml_that_libyaml_reads_is_read_the_same_with_a_warning() {
    lenient(
        "quoted and flow continuation lines",
        "version: 2.1
jobs:
  build:
    docker: [{image: a}]
    steps:
      - run:
          name: \"a long
  name here\"
          command: echo hi
workflows:
  main:
    jobs: [
  build
]
",
        &[
            (8, 1, "continues a quoted string"),
            (13, 1, "continues a quoted string"),
            (14, 1, "continues a quoted string"),
        ],
        &["name: a long name here", "jobs:\n      - build"],
    );
}

#[test]
fn values_of_another_form_than_documented_are_taken_as_circleci_takes_them() {
    lenient(
        "other forms",
        "version: 2.1
jobs:
  build:
    docker: [{image: a}]
    steps:
      - run:
          command: make
          no_output_timeout: 18000
      - when:
          condition: {equals: [a, b]}
          steps: [{run: echo literal}]
      - unless:
          condition: [1]
          steps: [{run: echo never}]
workflows:
  main:
    when: {always: true}
    jobs: [build]
",
        &[
            (8, 30, "taken as seconds"),
            (
                10,
                23,
                "`equals` in `condition` of step `when` in job `build` is not a logic operator (did you mean `equal`?)",
            ),
            (13, 22, "is a list, not a logic statement"),
            (
                17,
                12,
                "`always` in `when` of workflow `main` is not a logic operator",
            ),
        ],
        &["command: echo literal"],
    );
}

#[test]
fn empty_structures_run_the_rest_of_the_config() {
    lenient(
        "empty",
        "version: 2
parameters:
jobs:
  build:
    docker: [{image: a}]
    steps: [checkout]
  unused:
    docker: [{image: a}]
    steps: []
  named:
    docker: [{image: a}]
    steps:
      - run:
          name:
          command: make
workflows:
  version: 2
  nothing:
    jobs: []
  main:
    jobs: [build, named]
",
        &[
            (
                2,
                1,
                "`parameters` requires `version: 2.1`; this one is empty",
            ),
            (9, 12, "`steps` of job `unused` is empty"),
            (14, 15, "`name` of step `run` in job `named` is empty"),
            (19, 11, "`jobs` of workflow `nothing` is empty"),
        ],
        &["main:\n    jobs:\n      - build"],
    );
}

#[test]
fn early_form_steps_run_as_todays_steps() {
    lenient(
        "type: shell",
        "version: 2
jobs:
  build:
    docker: [{image: a}]
    steps:
      - type: checkout
      - type: shell
        command: make test
      - restore-cache:
          key: v1
",
        &[
            (6, 9, "`type: checkout`"),
            (7, 9, "early form of the `run` step"),
            (
                9,
                9,
                "step `restore-cache` is read as the built-in step `restore_cache`",
            ),
        ],
        &[
            "- checkout",
            "- run:\n          command: make test",
            "- restore_cache:\n          key: v1",
        ],
    );
}

#[test]
fn a_job_of_a_lenient_config_runs() {
    let repo = Repo::new(
        "version: 2.1
jobs:
  ruby-2.7-spec:
    machine: true
    steps:
      - restore_cache:
          key: v1
          paths: [x]
      - run:
          command: echo \"ran $CIRCLE_JOB\"
          no_output_timeout: 60
      - type: shell
        command: echo early form
workflows:
  main:
    jobs: [
  ruby-2.7-spec
]
",
    );
    let out = repo.execute(&["ruby-2.7-spec", "--executor", "shell"]);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("ran ruby-2.7-spec"), "{all}");
    assert!(all.contains("early form"), "{all}");
}

#[test]
fn job_keys_circleci_ignores_and_an_environment_string_are_read_as_circleci_reads_them() {
    lenient(
        "job keys and environment string",
        "version: 2
jobs:
  doc:
    docker: [{image: a}]
    filters:
      branches: {only: main}
    environment:
      TEST_PROJECT=common
    steps: [checkout]
workflows:
  version: 2
  main:
    jobs: [doc]
",
        &[
            (
                5,
                5,
                "unknown key `filters` in job `doc`; CircleCI ignores it",
            ),
            (8, 7, "the `NAME=value` string is read as one"),
        ],
        &["environment:\n      TEST_PROJECT: common"],
    );
}
