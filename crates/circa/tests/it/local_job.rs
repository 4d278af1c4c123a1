//! `circa local execute` as CircleCI's CLI habits have it: `--job NAME` as well as `NAME`, a
//! job under `jobs:` that workflows invoke by other names run by its own name with `--param`
//! for its parameters, and names that match nothing answered with the names of each kind.

use super::local::{Repo, text};
use serde_json::Value;

const CONFIG: &str = r#"
version: 2.1
parameters:
  deploy: {type: boolean, default: false}
jobs:
  build:
    machine: true
    parameters:
      greeting: {type: string, default: hello}
    steps:
      - run: echo "<< parameters.greeting >> from $CIRCLE_JOB"
      - run:
          name: Second
          command: printf 'line one\nline two\n'
  test:
    machine: true
    parameters:
      suite: {type: string}
      count: {type: integer, default: 2}
      loud: {type: boolean, default: false}
    steps:
      - run: echo "suite=<< parameters.suite >> count=<< parameters.count >> loud=<< parameters.loud >> deploy=<< pipeline.parameters.deploy >>"
workflows:
  main:
    jobs:
      - build
      - test: {name: unit, suite: unit, requires: [build]}
      - test: {name: lint, suite: lint, count: 5, requires: [build]}
"#;

/// The JSON events of a run, without what differs between runs: durations, folders, and how
/// a step's output happened to be cut into chunks (consecutive chunks are joined).
fn events(out: &std::process::Output) -> Vec<Value> {
    let mut events: Vec<Value> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut e: Value = serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}"));
        if let Value::Object(map) = &mut e {
            map.retain(|k, _| !k.ends_with("_ms") && k != "description");
            if let Some(Value::Array(jobs)) = map.get_mut("jobs") {
                for job in jobs.iter_mut().filter_map(Value::as_object_mut) {
                    job.retain(|k, _| !k.ends_with("_ms"));
                }
            }
        }
        match events.last_mut() {
            Some(last)
                if e["event"] == "output"
                    && last["event"] == "output"
                    && last["step"] == e["step"] =>
            {
                let joined = format!(
                    "{}{}",
                    last["text"].as_str().unwrap_or_default(),
                    e["text"].as_str().unwrap_or_default()
                );
                last["text"] = Value::String(joined);
            }
            _ => events.push(e),
        }
    }
    events
}

/// The output a run printed, in order.
fn printed(out: &std::process::Output) -> String {
    events(out)
        .iter()
        .filter(|e| e["event"] == "output")
        .filter_map(|e| e["text"].as_str())
        .collect()
}

#[test]
fn the_job_option_runs_the_job_exactly_as_the_name_does() {
    let repo = Repo::new(CONFIG);
    let by_name = repo.execute(&["build", "--json"]);
    let by_option = repo.execute(&["--job", "build", "--json"]);
    assert_eq!(by_name.status.code(), Some(0), "{}", text(&by_name));
    assert_eq!(by_option.status.code(), Some(0), "{}", text(&by_option));
    let (a, b) = (events(&by_name), events(&by_option));
    assert!(a.len() >= 6, "{a:?}");
    assert_eq!(a, b);
    assert_eq!(
        printed(&by_option),
        "hello from build\nline one\nline two\n"
    );

    // Both forms at once: fine when they agree, an error when they do not.
    let same = repo.execute(&["build", "--job", "build", "--json"]);
    assert_eq!(same.status.code(), Some(0), "{}", text(&same));
    assert_eq!(events(&same), a);
    let differ = repo.execute(&["build", "--job", "test"]);
    assert_eq!(differ.status.code(), Some(2));
    assert!(
        text(&differ).contains("two different jobs named: `build` and --job `test`"),
        "{}",
        text(&differ)
    );
    let with_workflow = repo.execute(&["--job", "build", "--workflow", "main"]);
    assert_eq!(with_workflow.status.code(), Some(2));
    assert!(text(&with_workflow).contains("cannot be used with"));
}

#[test]
fn a_job_invoked_by_other_names_runs_by_its_own_name_with_typed_params() {
    let repo = Repo::new(CONFIG);
    let out = repo.execute(&[
        "test",
        "--json",
        "--param",
        "suite=unit",
        "--param",
        "count=3",
        "--param",
        "loud=yes",
        "--param",
        "deploy=true",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        printed(&out),
        "suite=unit count=3 loud=true deploy=true\n",
        "the integer and boolean are bound as CircleCI binds them, `deploy` is the pipeline's"
    );
    let out = repo.execute(&["--job", "test", "--json", "--param", "suite=smoke"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        printed(&out),
        "suite=smoke count=2 loud=false deploy=false\n"
    );

    // The names the workflow gives it run as the workflow binds them.
    let out = repo.execute(&["lint", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        printed(&out),
        "suite=lint count=5 loud=false deploy=false\n"
    );
}

#[test]
fn bad_job_arguments_are_refused_with_where_and_how() {
    let repo = Repo::new(CONFIG);
    let out = repo.execute(&["test"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains(
            ".circleci/config.yml:15:3: error: missing required parameter `suite` (string) for job `test`"
        ),
        "{log}"
    );
    assert!(
        log.contains("give a job's parameters with --param NAME=VALUE"),
        "{log}"
    );
    assert!(!log.contains("suite="), "nothing ran: {log}");

    for (bad, says) in [
        (
            "count=many",
            "error: parameter `count` of job `test` is of type integer, but was given a string `many`",
        ),
        (
            "nope=1",
            "error: parameter `nope` is not defined in job `test`; its parameters are suite, count, loud",
        ),
    ] {
        let out = repo.execute(&["test", "--param", "suite=a", "--param", bad]);
        assert_eq!(out.status.code(), Some(1), "{bad}");
        assert!(text(&out).contains(says), "{bad}: {}", text(&out));
    }
    let out = repo.execute(&["unit", "--param", "suite=other"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains(
            "--param suite: `suite` is not a pipeline parameter, and job `unit` runs as its \
             workflow binds it; to give a job's parameters, run it by its name under `jobs:`"
        ),
        "{}",
        text(&out)
    );
    let out = repo.execute(&["test", "--param", "suite"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--param takes KEY=VALUE, got `suite`"));
}

#[test]
fn a_name_that_matches_nothing_lists_the_names_of_each_kind() {
    let repo = Repo::new(CONFIG);
    for args in [&["tset"][..], &["--job", "tset"][..]] {
        let out = repo.execute(args);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            text(&out).contains(
                "no job named `tset`; jobs under `jobs:` (run with --param for their parameters): \
                 build, test; jobs as the workflows invoke them: build, unit, lint"
            ),
            "{}",
            text(&out)
        );
    }
}

#[test]
fn an_orbs_job_runs_by_its_alias_and_name_with_params() {
    let repo = Repo::new(super::processed_roundtrip::FEATURES);
    let out = repo.execute(&["tools/greet", "--param", "who=you", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(printed(&out), "hi you\n");
    let out = repo.execute(&["--job", "greet-two", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(printed(&out), "hi two\n");
    let out = repo.execute(&["tools/nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("job `tools/nope` is not defined"),
        "{}",
        text(&out)
    );
}
