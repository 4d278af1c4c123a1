use super::*;
use crate::testing::{FakeEval, push, read_clean, schedule, tag_push};

/// Plans `config` for `trigger`, evaluating expressions for the trigger's branch.
fn plan_for(config: &str, trigger: &Trigger) -> Plan {
    let workflows = read_clean(config);
    let eval = FakeEval::on(trigger.branch.as_deref().unwrap_or_default());
    plan(&workflows, trigger, &eval)
}

fn workflow<'a>(plan: &'a Plan, name: &str) -> &'a PlannedWorkflow {
    plan.workflows.iter().find(|w| w.name == name).unwrap()
}

/// `(name, status)` of the planned jobs of the only workflow.
fn jobs(plan: &Plan) -> Vec<(&str, JobStatus)> {
    plan.workflows[0]
        .jobs
        .iter()
        .map(|j| (j.name.as_str(), j.status))
        .collect()
}

/// `(name, reason)` of the skipped jobs of the only workflow.
fn skipped(plan: &Plan) -> Vec<(&str, &str)> {
    plan.workflows[0]
        .skipped
        .iter()
        .map(|s| (s.name.as_str(), s.reason.as_str()))
        .collect()
}

const RELEASE: &str = r#"
workflows:
  release:
    jobs:
      - build
      - test:
          requires: [build]
      - publish:
          requires: [test]
          filters:
            branches:
              only: /release-.*/
"#;

#[test]
fn unfiltered_jobs_run_with_first_statuses() {
    let plan = plan_for(RELEASE, &push("release-1"));
    assert!(plan.workflows[0].runs);
    assert_eq!(plan.workflows[0].reason, None);
    assert_eq!(
        jobs(&plan),
        [
            ("build", JobStatus::Queued),
            ("test", JobStatus::Blocked),
            ("publish", JobStatus::Blocked)
        ]
    );
}

#[test]
fn branch_only_filter_says_why() {
    let plan = plan_for(RELEASE, &push("dev"));
    assert_eq!(
        jobs(&plan),
        [("build", JobStatus::Queued), ("test", JobStatus::Blocked)]
    );
    assert_eq!(
        skipped(&plan),
        [(
            "publish",
            "filtered: branch `dev` does not match /release-.*/"
        )]
    );
}

#[test]
fn only_wins_over_ignore_and_ignore_alone_refuses() {
    let config = r#"
workflows:
  main:
    jobs:
      - both:
          filters: {branches: {only: main, ignore: /.*/}}
      - ignore-wip:
          filters: {branches: {ignore: [/wip-.*/, scratch]}}
"#;
    let on_main = plan_for(config, &push("main"));
    assert_eq!(
        jobs(&on_main),
        [
            ("both", JobStatus::Queued),
            ("ignore-wip", JobStatus::Queued)
        ]
    );
    let on_wip = plan_for(config, &push("wip-x"));
    assert_eq!(
        skipped(&on_wip),
        [
            ("both", "filtered: branch `wip-x` does not match `main`"),
            (
                "ignore-wip",
                "filtered: branch `wip-x` is ignored by /wip-.*/"
            ),
        ]
    );
}

#[test]
fn tags_run_only_jobs_with_a_matching_tag_filter() {
    let config = r#"
workflows:
  main:
    jobs:
      - build:
          filters: {tags: {only: /v.*/}}
      - lint
      - docs:
          filters: {branches: {only: main}}
      - publish:
          requires: [build]
          filters:
            branches: {ignore: /.*/}
            tags: {only: ['/v[0-9]+/'], ignore: v0}
      - never:
          filters: {tags: {}}
"#;
    let plan = plan_for(config, &tag_push("v1"));
    assert_eq!(
        jobs(&plan),
        [
            ("build", JobStatus::Queued),
            ("publish", JobStatus::Blocked)
        ]
    );
    assert_eq!(
        skipped(&plan),
        [
            (
                "lint",
                "filtered: tag `v1` is built only by jobs with a tag filter"
            ),
            (
                "docs",
                "filtered: tag `v1` is built only by jobs with a tag filter"
            ),
            (
                "never",
                "filtered: tag `v1`: the job's tag filter has neither `only` nor `ignore`"
            ),
        ]
    );
    let beta = plan_for(config, &tag_push("beta"));
    assert_eq!(
        beta.workflows[0].skipped[0].reason,
        "filtered: tag `beta` does not match /v.*/"
    );
    assert!(!beta.workflows[0].runs);
    assert_eq!(
        beta.workflows[0].reason.as_deref(),
        Some("none of its jobs runs for this trigger")
    );
}

#[test]
fn a_tag_filter_does_not_stop_branch_builds() {
    let config = "workflows:\n  main:\n    jobs:\n      - a: {filters: {tags: {only: /.*/}}}\n";
    let plan = plan_for(config, &push("feature"));
    assert_eq!(jobs(&plan), [("a", JobStatus::Queued)]);
}

#[test]
fn jobs_whose_requirements_were_all_filtered_out_do_not_run() {
    let config = r#"
workflows:
  main:
    jobs:
      - unit:
          filters: {branches: {only: main}}
      - e2e:
          filters: {branches: {only: main}}
      - lint
      - report:
          requires: [unit, e2e]
      - after-report:
          requires: [report]
      - merge:
          requires: [unit, lint]
"#;
    let plan = plan_for(config, &push("dev"));
    assert_eq!(
        jobs(&plan),
        [("lint", JobStatus::Queued), ("merge", JobStatus::Blocked)]
    );
    assert_eq!(
        skipped(&plan),
        [
            ("unit", "filtered: branch `dev` does not match `main`"),
            ("e2e", "filtered: branch `dev` does not match `main`"),
            (
                "report",
                "its required jobs were all filtered out: unit, e2e"
            ),
            (
                "after-report",
                "its required jobs were all filtered out: report"
            ),
        ]
    );
    let merge = &plan.workflows[0].jobs[1];
    assert_eq!(merge.requires.len(), 1, "filtered requirements are dropped");
    assert_eq!(merge.requires[0].name, "lint");
}

#[test]
fn a_job_whose_requirements_are_filtered_out_becomes_queued() {
    let config = r#"
workflows:
  main:
    jobs:
      - gate:
          filters: {branches: {only: main}}
      - build
      - test:
          requires: [gate, build]
"#;
    let plan = plan_for(config, &push("dev"));
    assert_eq!(
        jobs(&plan),
        [("build", JobStatus::Queued), ("test", JobStatus::Blocked)]
    );
}

#[test]
fn approvals_start_on_hold_or_blocked() {
    let config = r#"
workflows:
  main:
    jobs:
      - hold-first: {type: approval}
      - build
      - hold-after: {type: approval, requires: [build]}
      - deploy: {requires: [hold-first, hold-after], context: [aws, slack], serial-group: deploy/prod}
"#;
    let plan = plan_for(config, &push("main"));
    assert_eq!(
        jobs(&plan),
        [
            ("hold-first", JobStatus::OnHold),
            ("build", JobStatus::Queued),
            ("hold-after", JobStatus::Blocked),
            ("deploy", JobStatus::Blocked),
        ]
    );
    let deploy = &plan.workflows[0].jobs[3];
    assert!(!deploy.approval);
    assert!(plan.workflows[0].jobs[0].approval);
    assert_eq!(deploy.contexts, ["aws", "slack"]);
    assert_eq!(deploy.serial_group.as_deref(), Some("deploy/prod"));
}

#[test]
fn requirements_keep_their_statuses() {
    let config = r#"
workflows:
  main:
    jobs:
      - build
      - on-fail: {requires: [{build: failed}]}
      - cleanup: {requires: [{build: terminal}]}
"#;
    let plan = plan_for(config, &push("main"));
    let on_fail = &plan.workflows[0].jobs[1];
    assert_eq!(on_fail.status, JobStatus::Blocked);
    assert_eq!(on_fail.requires[0].statuses, [JobStatus::Failed]);
    assert_eq!(
        plan.workflows[0].jobs[2].requires[0].statuses,
        Requirement::TERMINAL
    );
}

#[test]
fn expression_filters_decide_alone() {
    let config = r#"
workflows:
  main:
    jobs:
      - deploy:
          filters: 'pipeline.git.branch == "main"'
      - weird:
          filters: 'pipeline.git.tag starts-with "v"'
"#;
    let on_main = plan_for(config, &push("main"));
    assert_eq!(jobs(&on_main), [("deploy", JobStatus::Queued)]);
    assert_eq!(
        skipped(&on_main),
        [(
            "weird",
            "filters: `pipeline.git.tag starts-with \"v\"` could not be evaluated: the fake cannot evaluate `pipeline.git.tag starts-with \"v\"`"
        )]
    );
    let on_dev = plan_for(config, &push("dev"));
    assert_eq!(
        on_dev.workflows[0].skipped[0].reason,
        "filtered: `pipeline.git.branch == \"main\"` is false"
    );
}

#[test]
fn when_and_unless_decide_whether_a_workflow_runs() {
    let config = r#"
workflows:
  always:
    jobs: [a]
  when-true:
    when: true
    jobs: [a]
  when-false:
    when: false
    jobs: [a]
  unless-true:
    unless: true
    jobs: [a]
  when-main:
    when: 'pipeline.git.branch == "main"'
    jobs: [a]
  broken:
    when: {equal: [1, 2]}
    jobs: [a]
"#;
    let plan = plan_for(config, &push("dev"));
    let summary: Vec<(&str, bool, Option<&str>)> = plan
        .workflows
        .iter()
        .map(|w| (w.name.as_str(), w.runs, w.reason.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            ("always", true, None),
            ("when-true", true, None),
            ("when-false", false, Some("when: condition is false")),
            ("unless-true", false, Some("unless: condition is true")),
            ("when-main", false, Some("when: condition is false")),
            (
                "broken",
                false,
                Some("when: could not be evaluated: the fake cannot evaluate a map")
            ),
        ]
    );
    assert!(workflow(&plan, "when-false").jobs.is_empty());
}

const SCHEDULED: &str = r#"
workflows:
  commit:
    jobs: [test]
  nightly:
    triggers:
      - schedule:
          cron: "0 3 * * *"
          filters: {branches: {only: [main]}}
    jobs: [long-test]
"#;

#[test]
fn legacy_scheduled_workflows_do_not_run_on_push() {
    let plan = plan_for(SCHEDULED, &push("main"));
    assert!(workflow(&plan, "commit").runs);
    let nightly = workflow(&plan, "nightly");
    assert!(!nightly.runs);
    assert_eq!(
        nightly.reason.as_deref(),
        Some("has legacy `triggers`: runs only when its own schedule fires")
    );
}

#[test]
fn a_legacy_schedule_runs_only_its_workflow_on_its_branches() {
    let plan = plan_for(SCHEDULED, &schedule("nightly", "main"));
    assert!(workflow(&plan, "nightly").runs);
    assert_eq!(
        workflow(&plan, "commit").reason.as_deref(),
        Some("the legacy schedule of workflow `nightly` runs only that workflow")
    );
    let on_dev = plan_for(SCHEDULED, &schedule("nightly", "dev"));
    assert_eq!(
        workflow(&on_dev, "nightly").reason.as_deref(),
        Some("schedule: branch `dev` is not among the branches its schedule builds")
    );
}

#[test]
fn a_schedule_trigger_runs_workflows_without_legacy_triggers() {
    let plan = plan_for(SCHEDULED, &schedule("daily_build", "main"));
    assert!(workflow(&plan, "commit").runs);
    assert!(!workflow(&plan, "nightly").runs);
}

#[test]
fn without_a_branch_the_default_branch_is_filtered() {
    let trigger = Trigger {
        source: TriggerSource::Api,
        default_branch: Some("release-7".into()),
        ..Trigger::default()
    };
    let plan = plan_for(RELEASE, &trigger);
    assert_eq!(plan.workflows[0].jobs.len(), 3);
    let no_branch = plan_for(RELEASE, &Trigger::default());
    assert_eq!(
        skipped(&no_branch),
        [(
            "publish",
            "filtered: no branch to match against /release-.*/"
        )]
    );
}

#[test]
fn cycles_and_missing_jobs_are_left_out_with_reasons() {
    let (workflows, diagnostics) = crate::testing::read(
        r#"
workflows:
  main:
    jobs:
      - ok
      - a: {requires: [b]}
      - b: {requires: [a]}
      - c: {requires: [a]}
      - d: {requires: [missing]}
"#,
    );
    assert_eq!(diagnostics.len(), 2);
    let plan = plan(&workflows, &push("main"), &FakeEval::on("main"));
    assert_eq!(jobs(&plan), [("ok", JobStatus::Queued)]);
    assert_eq!(
        skipped(&plan),
        [
            ("a", "it is part of a requires cycle, or waits on one"),
            ("b", "it is part of a requires cycle, or waits on one"),
            ("c", "it is part of a requires cycle, or waits on one"),
            (
                "d",
                "it requires `missing`, which is not in workflow `main`"
            ),
        ]
    );
}

#[test]
fn display_of_a_realistic_plan() {
    let config = r#"
workflows:
  version: 2
  build-test-deploy:
    jobs:
      - build:
          context: org-global
      - test:
          name: test-linux
          matrix-alias: test
          requires: [build]
      - test:
          name: test-macos
          matrix-alias: test
          requires: [build]
      - test:
          name: test-windows
          matrix-alias: test
          requires: [build]
      - coverage:
          requires: [{test-linux: [success, failed]}]
      - notify-failure:
          requires: [{build: failed}]
      - hold:
          type: approval
          requires: [test-linux, test-macos, test-windows]
      - deploy:
          requires: [hold]
          context: [aws-prod, slack]
          serial-group: deploy/production
          filters:
            branches:
              only: [main, /release\/.*/]
      - cleanup:
          requires: [{deploy: terminal}]
      - docs:
          filters:
            branches:
              only: gh-pages
  nightly:
    triggers:
      - schedule:
          cron: "0 3 * * *"
          filters: {branches: {only: main}}
    jobs: [long-test]
  docs-only:
    when: false
    jobs: [docs]
"#;
    let plan = plan_for(config, &push("main"));
    insta::assert_snapshot!(plan.to_string());
}

#[test]
fn display_of_no_workflows() {
    assert_eq!(Plan::default().to_string(), "no workflows\n");
}
