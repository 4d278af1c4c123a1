use super::*;
use crate::pattern::Pattern;
use crate::testing::{read, read_clean};

fn messages(diagnostics: &[circa_config::Diagnostic]) -> Vec<String> {
    diagnostics.iter().map(ToString::to_string).collect()
}

#[test]
fn reads_every_form_of_job_entry() {
    let workflows = read_clean(
        r#"
workflows:
  version: 2
  main:
    max_auto_reruns: 3
    jobs:
      - build
      - test:
          name: test-linux
          requires: build
          context: [org, aws]
          serial-group: my/group
          matrix-alias: test
      - hold:
          type: approval
          requires: [test-linux]
      - deploy:
          requires:
            - hold
            - build: failed
            - test-linux: [success, canceled]
          context: prod
          filters:
            branches:
              only: [main, /release-.*/]
              ignore: wip
            tags:
              only: /v.*/
"#,
    );
    assert_eq!(workflows.len(), 1);
    let main = &workflows[0];
    assert_eq!(main.name, "main");
    assert_eq!(main.span.line, 4);
    assert_eq!(main.max_auto_reruns, Some(3));
    let names: Vec<&str> = main.jobs.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names, ["build", "test-linux", "hold", "deploy"]);

    let test = &main.jobs[1];
    assert_eq!(test.job_key, "test");
    assert_eq!(
        test.requires,
        vec![Requirement {
            span: test.requires[0].span,
            ..Requirement::success("build")
        }]
    );
    assert_eq!(test.contexts, ["org", "aws"]);
    assert_eq!(test.serial_group.as_deref(), Some("my/group"));
    assert_eq!(test.matrix_alias.as_deref(), Some("test"));
    assert!(main.jobs[2].approval);

    let deploy = &main.jobs[3];
    let requires: Vec<(&str, &[JobStatus])> = deploy
        .requires
        .iter()
        .map(|r| (r.name.as_str(), r.statuses.as_slice()))
        .collect();
    assert_eq!(
        requires,
        [
            ("hold", &[JobStatus::Success][..]),
            ("build", &[JobStatus::Failed][..]),
            ("test-linux", &[JobStatus::Success, JobStatus::Canceled][..]),
        ]
    );
    assert_eq!(deploy.requires[1].span.line, 20);
    assert_eq!(deploy.contexts, ["prod"]);
    let Filters::Map {
        branches: Some(branches),
        tags: Some(tags),
        ..
    } = &deploy.filters
    else {
        panic!("{:?}", deploy.filters);
    };
    assert_eq!(branches.only.len(), 2);
    assert_eq!(branches.ignore, [Pattern::Exact("wip".into())]);
    assert!(tags.admits("v1.0"));
}

#[test]
fn terminal_expands_to_the_five_finished_statuses() {
    let workflows = read_clean(
        "workflows:\n  w:\n    jobs:\n      - a\n      - b:\n          requires: [{a: terminal}]\n",
    );
    assert_eq!(
        workflows[0].jobs[1].requires[0].statuses,
        Requirement::TERMINAL
    );
}

#[test]
fn string_filters_are_expressions() {
    let workflows = read_clean(
        "workflows:\n  w:\n    jobs:\n      - a:\n          filters: 'pipeline.git.branch == \"main\"'\n",
    );
    assert_eq!(
        workflows[0].jobs[0].filters,
        Filters::Expression("pipeline.git.branch == \"main\"".into())
    );
}

#[test]
fn keeps_when_unless_and_legacy_triggers() {
    let workflows = read_clean(
        r#"
workflows:
  nightly:
    when: true
    unless: { equal: [a, b] }
    triggers:
      - schedule:
          cron: "0 0 * * *"
          filters:
            branches:
              only: [main]
    jobs: [build]
"#,
    );
    let nightly = &workflows[0];
    assert!(nightly.when.is_some());
    assert!(nightly.unless.as_ref().and_then(|n| n.as_map()).is_some());
    assert_eq!(nightly.triggers.len(), 1);
    assert_eq!(nightly.triggers[0].cron, "0 0 * * *");
    assert!(nightly.triggers[0].branches.admits("main"));
    assert!(!nightly.triggers[0].branches.admits("dev"));
}

#[test]
fn no_workflows_is_no_error() {
    let (workflows, diagnostics) = read("version: 2.1\njobs: {}\n");
    assert!(workflows.is_empty());
    assert!(diagnostics.is_empty());
}

#[test]
fn requires_naming_a_missing_job_is_an_error() {
    let (_, diagnostics) = read(
        "workflows:\n  main:\n    jobs:\n      - build\n      - deploy:\n          requires: [buld]\n",
    );
    assert_eq!(
        messages(&diagnostics),
        [
            "6:22: error: job `deploy` requires `buld`, but cannot find a declaration for job invocation `buld` in workflow `main`"
        ]
    );
}

#[test]
fn cycles_are_named() {
    let (workflows, diagnostics) = read(
        r#"
workflows:
  main:
    jobs:
      - a: {requires: [b]}
      - b: {requires: [a]}
      - c: {requires: [c]}
      - d: {requires: [a]}
"#,
    );
    assert_eq!(workflows.len(), 1, "the workflow is still returned");
    assert_eq!(
        messages(&diagnostics),
        [
            "5:9: error: job `a` is part of a requires cycle: a -> b -> a (in workflow `main`)",
            "7:9: error: job `c` is part of a requires cycle: c -> c (in workflow `main`)",
        ]
    );
}

#[test]
fn longer_cycle_is_reported_once() {
    let (_, diagnostics) = read(
        r#"
workflows:
  main:
    jobs:
      - start
      - a: {requires: [start, c]}
      - b: {requires: [a]}
      - c: {requires: [b]}
"#,
    );
    assert_eq!(
        messages(&diagnostics),
        ["6:9: error: job `a` is part of a requires cycle: a -> c -> b -> a (in workflow `main`)"]
    );
}

#[test]
fn duplicate_names_are_errors() {
    let (_, diagnostics) = read(
        r#"
workflows:
  main:
    jobs:
      - test
      - test
      - build: {name: test}
      - build
"#,
    );
    assert_eq!(
        messages(&diagnostics),
        [
            "6:9: error: workflow `main` has two jobs named `test` (the first at line 5); give one a different `name:`",
            "7:9: error: workflow `main` has two jobs named `test` (the first at line 5); give one a different `name:`",
        ]
    );
}

#[test]
fn unknown_statuses_are_errors() {
    let (workflows, diagnostics) = read(
        r#"
workflows:
  main:
    jobs:
      - a
      - b: {requires: [{a: sucess}]}
      - c: {requires: [{a: [failed, running]}]}
"#,
    );
    assert_eq!(
        messages(&diagnostics),
        [
            "6:28: error: unknown status `sucess` required of `a`; expected success, failed, canceled, unauthorized, not_run or terminal",
            "7:37: error: unknown status `running` required of `a`; expected success, failed, canceled, unauthorized, not_run or terminal",
        ]
    );
    assert!(workflows[0].jobs[1].requires.is_empty());
}

#[test]
fn malformed_filters_are_errors() {
    let (_, diagnostics) = read(
        r#"
workflows:
  main:
    jobs:
      - a:
          filters:
            branch: {only: main}
      - b:
          filters:
            branches: {only: "/(oops/", except: dev}
      - c:
          filters:
            tags: [v1]
      - d:
          filters: [x]
"#,
    );
    let messages = messages(&diagnostics);
    assert_eq!(messages.len(), 5, "{messages:#?}");
    assert_eq!(
        messages[0],
        "7:13: error: unknown filter `branch`; expected `branches`, `tags` or `pull_requests`"
    );
    assert!(
        messages[1].starts_with("10:30: error: `/(oops/` is not a valid regular expression: "),
        "{}",
        messages[1]
    );
    assert_eq!(
        messages[2],
        "10:41: error: unknown key `except` in `branches` filter; expected `only` or `ignore`"
    );
    assert_eq!(
        messages[3],
        "13:19: error: `tags` filter must be a map with `only` and/or `ignore`, found a list"
    );
    assert_eq!(
        messages[4],
        "15:20: error: `filters` must be a map (`branches`, `tags`) or an expression string, found a list"
    );
}

#[test]
fn workflow_without_jobs_runs_nothing_and_the_rest_runs() {
    let (workflows, diagnostics) = read(
        "workflows:\n  empty:\n    when: true\n  listless:\n    jobs: []\n  scalar: 3\n  main:\n    jobs: [a]\n",
    );
    let names: Vec<&str> = workflows.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["main"]);
    assert_eq!(
        messages(&diagnostics),
        ["6:11: error: workflow `scalar` must be a map, found an integer"]
    );
}

#[test]
fn misindented_job_options_get_a_hint() {
    let (_, diagnostics) =
        read("workflows:\n  main:\n    jobs:\n      - build:\n        requires: [x]\n");
    assert_eq!(
        messages(&diagnostics),
        [
            "4:9: error: a job entry must be a map with one key (the job), found 2 keys: `build`, `requires`; is `requires` meant to be indented under the job?"
        ]
    );
}

#[test]
fn max_auto_reruns_must_be_one_to_five() {
    let (workflows, diagnostics) =
        read("workflows:\n  main:\n    max_auto_reruns: 9\n    jobs: [a]\n");
    assert_eq!(workflows[0].max_auto_reruns, None);
    assert_eq!(
        messages(&diagnostics),
        [
            "3:22: error: `max_auto_reruns` of workflow `main` must be an integer from 1 to 5, found `9`"
        ]
    );
}

#[test]
fn unsupported_job_type_is_a_warning() {
    let (workflows, diagnostics) =
        read("workflows:\n  main:\n    jobs:\n      - a: {type: no-op}\n");
    assert!(!workflows[0].jobs[0].approval);
    assert_eq!(
        messages(&diagnostics),
        ["4:19: warning: job type `no-op` is not supported; `a` runs as a normal job"]
    );
}

#[test]
fn requirement_accepts_failures_as_failed() {
    let requirement = Requirement {
        statuses: vec![JobStatus::Failed],
        ..Requirement::success("a")
    };
    assert!(requirement.accepts(JobStatus::Timedout));
    assert!(requirement.accepts(JobStatus::InfrastructureFail));
    assert!(!requirement.accepts(JobStatus::Success));
}

#[test]
fn empty_requires_and_context_mean_none() {
    let workflows = read_clean(
        "workflows:\n  w:\n    jobs:\n      - a:\n          requires:\n          context:\n",
    );
    assert!(workflows[0].jobs[0].requires.is_empty());
    assert!(workflows[0].jobs[0].contexts.is_empty());
}
