use super::*;
use JobStatus::*;

/// A workflow under test: jobs with their requirements, driven like the orchestrator drives it.
struct Flow {
    jobs: Vec<PlannedJobState>,
}

impl Flow {
    fn new() -> Self {
        Flow { jobs: Vec::new() }
    }

    /// Adds a job requiring `requires` (each `(name, statuses)`), starting blocked when it has
    /// requirements and queued otherwise.
    fn job(mut self, name: &str, requires: &[(&str, &[JobStatus])]) -> Self {
        self.jobs.push(PlannedJobState {
            name: name.into(),
            status: if requires.is_empty() { Queued } else { Blocked },
            requires: requires
                .iter()
                .map(|(n, s)| Requirement {
                    statuses: s.to_vec(),
                    ..Requirement::success(*n)
                })
                .collect(),
            approval: false,
        });
        self
    }

    fn approval(mut self, name: &str, requires: &[(&str, &[JobStatus])]) -> Self {
        self = self.job(name, requires);
        if let Some(last) = self.jobs.last_mut() {
            last.approval = true;
            last.status = if requires.is_empty() { OnHold } else { Blocked };
        }
        self
    }

    /// Sets `name` to `status`, advances, applies the changes; returns the workflow status.
    fn set(&mut self, name: &str, status: JobStatus) -> WorkflowStatus {
        self.jobs
            .iter_mut()
            .find(|j| j.name == name)
            .unwrap()
            .status = status;
        self.settle(AdvanceRequest::Propagate)
    }

    fn settle(&mut self, request: AdvanceRequest) -> WorkflowStatus {
        let result = advance(&self.jobs, request);
        for change in &result.changes {
            let job = self
                .jobs
                .iter_mut()
                .find(|j| j.name == change.name)
                .unwrap();
            assert_eq!(job.status, change.from);
            job.status = change.to;
        }
        // Applying the changes reaches a fixed point.
        let again = advance(&self.jobs, AdvanceRequest::Propagate);
        assert!(again.changes.is_empty(), "{:?}", again.changes);
        result.workflow_status
    }

    fn status(&self, name: &str) -> JobStatus {
        self.jobs.iter().find(|j| j.name == name).unwrap().status
    }

    fn statuses(&self) -> Vec<(&str, JobStatus)> {
        self.jobs
            .iter()
            .map(|j| (j.name.as_str(), j.status))
            .collect()
    }
}

const OK: &[JobStatus] = &[Success];

#[test]
fn success_chain() {
    let mut flow = Flow::new()
        .job("build", &[])
        .job("test", &[("build", OK)])
        .job("deploy", &[("test", OK)]);
    assert_eq!(
        flow.settle(AdvanceRequest::Propagate),
        WorkflowStatus::Running
    );
    assert_eq!(flow.set("build", Running), WorkflowStatus::Running);
    assert_eq!(flow.status("test"), Blocked);
    assert_eq!(flow.set("build", Success), WorkflowStatus::Running);
    assert_eq!(flow.status("test"), Queued);
    assert_eq!(flow.status("deploy"), Blocked);
    flow.set("test", Success);
    assert_eq!(flow.status("deploy"), Queued);
    assert_eq!(flow.set("deploy", Success), WorkflowStatus::Success);
}

#[test]
fn reports_each_change_once() {
    let flow = Flow::new()
        .job("build", &[])
        .job("a", &[("build", OK)])
        .job("b", &[("a", OK)]);
    let mut jobs = flow.jobs;
    jobs[0].status = Failed;
    let result = advance(&jobs, AdvanceRequest::Propagate);
    assert_eq!(
        result,
        Advance {
            changes: vec![
                StatusChange {
                    name: "a".into(),
                    from: Blocked,
                    to: NotRun
                },
                StatusChange {
                    name: "b".into(),
                    from: Blocked,
                    to: NotRun
                },
            ],
            workflow_status: WorkflowStatus::Failed,
        }
    );
}

#[test]
fn failure_makes_dependents_not_run_transitively() {
    let mut flow = Flow::new()
        .job("build", &[])
        .job("lint", &[])
        .job("test", &[("build", OK)])
        .job("deploy", &[("test", OK), ("lint", OK)]);
    assert_eq!(flow.set("build", Failed), WorkflowStatus::Failing);
    assert_eq!(
        flow.statuses(),
        [
            ("build", Failed),
            ("lint", Queued),
            ("test", NotRun),
            ("deploy", NotRun)
        ]
    );
    assert_eq!(flow.set("lint", Success), WorkflowStatus::Failed);
}

#[test]
fn requires_failed_runs_only_after_a_failure() {
    let flows = [(Failed, Queued), (Success, NotRun)];
    for (build, report) in flows {
        let mut flow = Flow::new()
            .job("build", &[])
            .job("report-failure", &[("build", &[Failed])]);
        flow.set("build", build);
        assert_eq!(flow.status("report-failure"), report, "build {build}");
    }
    let mut flow = Flow::new()
        .job("build", &[])
        .job("report-failure", &[("build", &[Failed])]);
    assert_eq!(
        flow.set("build", Success),
        WorkflowStatus::Success,
        "a not_run cleanup does not fail the workflow"
    );
}

#[test]
fn timeouts_and_infrastructure_failures_count_as_failed() {
    for status in [Timedout, InfrastructureFail] {
        let mut flow = Flow::new()
            .job("build", &[])
            .job("on-fail", &[("build", &[Failed])])
            .job("on-success", &[("build", OK)]);
        assert_eq!(flow.set("build", status), WorkflowStatus::Failing);
        assert_eq!(flow.status("on-fail"), Queued);
        assert_eq!(flow.status("on-success"), NotRun);
    }
}

#[test]
fn terminal_runs_whatever_happened_upstream() {
    for upstream in [Success, Failed, Canceled, Unauthorized, NotRun, Timedout] {
        let mut flow = Flow::new()
            .job("setup", &[])
            .job("tests", &[("setup", OK)])
            .job("cleanup", &[("tests", &Requirement::TERMINAL)]);
        flow.set("setup", Success);
        flow.set("tests", upstream);
        assert_eq!(flow.status("cleanup"), Queued, "tests {upstream}");
    }
    // A not_run caused by an upstream failure reaches the cleanup too.
    let mut flow = Flow::new()
        .job("setup", &[])
        .job("tests", &[("setup", OK)])
        .job("cleanup", &[("tests", &Requirement::TERMINAL)]);
    flow.set("setup", Failed);
    assert_eq!(
        flow.statuses(),
        [("setup", Failed), ("tests", NotRun), ("cleanup", Queued)]
    );
}

#[test]
fn waits_for_every_requirement_before_queueing() {
    let mut flow = Flow::new()
        .job("a", &[])
        .job("b", &[])
        .job("c", &[("a", OK), ("b", &Requirement::TERMINAL)]);
    flow.set("a", Success);
    assert_eq!(flow.status("c"), Blocked);
    flow.set("b", Failed);
    assert_eq!(flow.status("c"), Queued);
}

#[test]
fn a_refused_requirement_rules_out_before_the_others_finish() {
    let mut flow = Flow::new()
        .job("a", &[])
        .job("b", &[])
        .job("c", &[("a", OK), ("b", OK)]);
    assert_eq!(flow.set("a", Failed), WorkflowStatus::Failing);
    assert_eq!(flow.status("c"), NotRun);
}

#[test]
fn approval_goes_on_hold_then_approved() {
    let mut flow = Flow::new()
        .job("build", &[])
        .approval("hold", &[("build", OK)])
        .job("deploy", &[("hold", OK)]);
    assert_eq!(flow.set("build", Success), WorkflowStatus::OnHold);
    assert_eq!(flow.status("hold"), OnHold);
    assert_eq!(flow.status("deploy"), Blocked);
    // A person approves: the orchestrator marks the approval job successful.
    assert_eq!(flow.set("hold", Success), WorkflowStatus::Running);
    assert_eq!(flow.status("deploy"), Queued);
    assert_eq!(flow.set("deploy", Success), WorkflowStatus::Success);
}

#[test]
fn approval_without_requirements_holds_from_the_start() {
    let mut flow = Flow::new()
        .approval("hold", &[])
        .job("deploy", &[("hold", OK)]);
    assert_eq!(
        flow.settle(AdvanceRequest::Propagate),
        WorkflowStatus::OnHold
    );
}

#[test]
fn approval_is_not_run_when_its_requirement_failed() {
    let mut flow = Flow::new()
        .job("build", &[])
        .approval("hold", &[("build", OK)])
        .job("deploy", &[("hold", OK)]);
    assert_eq!(flow.set("build", Failed), WorkflowStatus::Failed);
    assert_eq!(
        flow.statuses(),
        [("build", Failed), ("hold", NotRun), ("deploy", NotRun)]
    );
}

#[test]
fn on_hold_waits_while_others_still_run() {
    let mut flow = Flow::new().job("slow", &[]).approval("hold", &[]);
    flow.set("slow", Running);
    assert_eq!(
        flow.settle(AdvanceRequest::Propagate),
        WorkflowStatus::Running
    );
    assert_eq!(flow.set("slow", Success), WorkflowStatus::OnHold);
}

#[test]
fn cancel_stops_every_unfinished_job() {
    let mut flow = Flow::new()
        .job("done", &[])
        .job("running", &[])
        .job("waiting", &[("running", OK)])
        .approval("hold", &[]);
    flow.set("done", Success);
    flow.set("running", Running);
    assert_eq!(
        flow.settle(AdvanceRequest::Cancel),
        WorkflowStatus::Canceled
    );
    assert_eq!(
        flow.statuses(),
        [
            ("done", Success),
            ("running", Canceled),
            ("waiting", Canceled),
            ("hold", Canceled)
        ]
    );
}

#[test]
fn cancelling_a_finished_workflow_changes_nothing() {
    let mut flow = Flow::new().job("a", &[]);
    flow.set("a", Failed);
    let result = advance(&flow.jobs, AdvanceRequest::Cancel);
    assert!(result.changes.is_empty());
    assert_eq!(result.workflow_status, WorkflowStatus::Failed);
}

#[test]
fn a_canceled_job_can_be_required() {
    let mut flow = Flow::new()
        .job("a", &[])
        .job("after-cancel", &[("a", &[Canceled])])
        .job("after-success", &[("a", OK)]);
    flow.set("a", Canceled);
    assert_eq!(flow.status("after-cancel"), Queued);
    assert_eq!(flow.status("after-success"), NotRun);
    assert_eq!(flow.set("after-cancel", Success), WorkflowStatus::Canceled);
}

#[test]
fn requirements_outside_the_workflow_are_ignored() {
    let mut flow = Flow::new().job("a", &[("filtered-out", OK)]);
    flow.settle(AdvanceRequest::Propagate);
    assert_eq!(flow.status("a"), Queued);
}

#[test]
fn workflow_status_from_job_statuses() {
    let cases: &[(&[JobStatus], WorkflowStatus)] = &[
        (&[], WorkflowStatus::NotRun),
        (&[NotRun, NotRun], WorkflowStatus::NotRun),
        (&[Success, NotRun], WorkflowStatus::Success),
        (&[Queued, Blocked], WorkflowStatus::Running),
        (&[Failed, Running], WorkflowStatus::Failing),
        (&[Failed, OnHold], WorkflowStatus::OnHold),
        (&[OnHold, Blocked], WorkflowStatus::OnHold),
        (&[Success, Unauthorized], WorkflowStatus::Unauthorized),
        (&[Failed, Unauthorized, Canceled], WorkflowStatus::Failed),
        (&[Success, Canceled], WorkflowStatus::Canceled),
        (&[Timedout, Success], WorkflowStatus::Failed),
    ];
    for (statuses, expected) in cases {
        assert_eq!(workflow_status(statuses), *expected, "{statuses:?}");
    }
}

#[test]
fn planned_jobs_convert_to_states() {
    let planned = PlannedJob {
        name: "deploy".into(),
        job_key: "deploy-job".into(),
        status: Blocked,
        requires: vec![Requirement::success("hold")],
        contexts: vec!["prod".into()],
        approval: false,
        serial_group: None,
    };
    let state = PlannedJobState::from(&planned);
    assert_eq!(state.name, "deploy");
    assert_eq!(state.status, Blocked);
    assert_eq!(state.requires, planned.requires);
}
